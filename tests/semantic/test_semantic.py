"""The semantic reranker: the packaged model offline, the embedding store, the rerank hook,
the pipeline switch. Skipped with a reason where the ``semantic`` extra is not installed."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from testpaths import SEEDS

from config import SettingsError, load_settings
from index import semantic
from index.engine import Engine, EngineParams
from index.records import Article
from index.semantic import cache as cache_module
from index.semantic import model as model_module
from index.semantic.cache import EmbeddingCache, keys_of
from index.semantic.model import DIMENSION, Encoder, ModelUnavailable
from index.semantic.rerank import RerankParams, SemanticReranker
from index.service import Desk

pytestmark = pytest.mark.skipif(
    not model_module.extra_installed(), reason="the 'semantic' extra is not installed"
)


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    return Encoder(threads=2)


def reranker_in(folder: Path, encoder: Encoder, **params: object) -> SemanticReranker:
    return SemanticReranker(
        encoder,
        EmbeddingCache(folder, DIMENSION),
        RerankParams(**params),  # type: ignore[arg-type]
    )


# --- the model ----------------------------------------------------------------------------------
def test_model_loads_from_the_package_with_the_hub_switched_off(encoder: Encoder) -> None:
    import os

    assert os.environ["HF_HUB_OFFLINE"] == "1"
    vectors = encoder.encode(
        [
            "The company bought its rival for $2bn.",
            "The firm acquired a competitor for two billion dollars.",
            "Heavy rain flooded the valley overnight.",
        ]
    )
    assert vectors.shape == (3, DIMENSION)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    paraphrase, unrelated = vectors[0] @ vectors[1], vectors[0] @ vectors[2]
    assert paraphrase > 0.6 > unrelated + 0.2


def test_a_text_encodes_the_same_alone_and_in_a_batch(encoder: Encoder) -> None:
    texts = ["Short one.", "A much longer sentence that pads the whole batch out quite a lot."]
    alone = encoder.encode(texts[:1])[0]
    assert float(alone @ encoder.encode(texts)[0]) > 0.999


def test_a_missing_model_file_fails_clearly_instead_of_downloading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "model.onnx"
    _, tokenizer = model_module.model_files()
    monkeypatch.setattr(model_module, "model_files", lambda: (missing, tokenizer))
    with pytest.raises(ModelUnavailable, match=r"model\.onnx: cannot be read"):
        Encoder()


def test_a_changed_model_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "model.onnx"
    fake.write_bytes(b"not the model")
    _, tokenizer = model_module.model_files()
    monkeypatch.setattr(model_module, "model_files", lambda: (fake, tokenizer))
    with pytest.raises(ModelUnavailable, match="not the pinned file"):
        Encoder()


# --- choosing the pipeline ----------------------------------------------------------------------
def test_lexical_setting_never_loads_the_model() -> None:
    assert semantic.reranker_for(load_settings(reranker="lexical")) is None


def test_auto_without_the_extra_answers_lexically_and_says_so(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(semantic, "extra_installed", lambda: False)
    monkeypatch.setattr(semantic, "_said_off", [])
    with caplog.at_level(logging.INFO, logger="index.semantic"):
        assert semantic.reranker_for(load_settings(reranker="auto")) is None
        assert semantic.reranker_for(load_settings(reranker="auto")) is None
    lines = [r.getMessage() for r in caplog.records if "semantic reranker off" in r.getMessage()]
    assert len(lines) == 1 and "newsdesk[semantic]" in lines[0]


def test_semantic_without_the_model_is_a_clear_start_up_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        model_module, "model_files", lambda: (tmp_path / "gone.onnx", tmp_path / "gone.json")
    )
    settings = load_settings(reranker="semantic", data_dir=tmp_path / "fresh")
    with pytest.raises(SettingsError, match=r"NEWSDESK_RERANKER=semantic: .*gone\.onnx"):
        semantic.reranker_for(settings)


def test_auto_with_the_extra_answers_semantically_and_says_which(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "data", articles_dir=SEEDS)
    desk = Desk.open(settings)
    try:
        response = desk.ask("When did the missile attacks occur?")
        assert response.pipeline == "bm25+semantic"
        assert response.to_json()["pipeline"] == "bm25+semantic"
        assert "semantic" in desk.stats().pipeline and "MiniLM" in desk.stats().pipeline
    finally:
        desk.close()
    lexical = Desk.open(
        load_settings(data_dir=tmp_path / "lex", articles_dir=SEEDS, reranker="lexical")
    )
    try:
        assert lexical.ask("When did the missile attacks occur?").pipeline == "bm25"
    finally:
        lexical.close()


# --- the embedding store ------------------------------------------------------------------------
def test_store_survives_a_restart_and_skips_a_corrupt_segment(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    store = EmbeddingCache(tmp_path, 4)
    keys = keys_of(["a", "b", "c"])
    vectors = rng.standard_normal((3, 4)).astype(np.float32)
    store.put(keys[:2], vectors[:2], flush=True)
    store.put(keys[2:], vectors[2:], flush=True)
    reopened = EmbeddingCache(tmp_path, 4)
    found, got = reopened.lookup(keys)
    assert found.all()
    assert np.allclose(got, vectors, atol=1e-2)  # stored as float16
    segments = sorted(tmp_path.glob("seg-*.emb"), key=lambda p: p.stat().st_mtime_ns)
    data = bytearray(segments[-1].read_bytes())
    data[-1] ^= 0xFF
    segments[-1].write_bytes(bytes(data))
    found, _ = EmbeddingCache(tmp_path, 4).lookup(keys)
    assert found.tolist() == [True, True, False]


def test_merge_drops_vectors_of_sentences_no_longer_indexed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cache_module, "FLOOR", 4)
    monkeypatch.setattr(cache_module, "MAX_SEGMENTS", 3)
    store = EmbeddingCache(tmp_path, 2)
    texts = [f"sentence {i}" for i in range(10)]
    store.put(keys_of(texts), np.ones((10, 2), dtype=np.float32), flush=True)
    for i in range(3):  # the fourth segment triggers a merge; without a live set, it keeps all
        store.put(keys_of([f"more {i}"]), np.ones((1, 2), dtype=np.float32), flush=True)
    assert len(store) == 13 and len(list(tmp_path.glob("seg-*.emb"))) == 1
    live = keys_of(texts[:2])  # what the index holds now
    for i in range(3):
        store.put(keys_of([f"late {i}"]), np.ones((1, 2), dtype=np.float32))
        store.flush(live=live)
    assert len(list(tmp_path.glob("seg-*.emb"))) == 1
    assert len(store) == 2 and store.lookup(live)[0].all()
    assert len(EmbeddingCache(tmp_path, 2)) == 2
    for i in range(3):  # on-demand additions: later merges remember the live set
        store.put(keys_of([f"asked {i}"]), np.ones((1, 2), dtype=np.float32), flush=True)
    assert len(store) == 2 and store.lookup(live)[0].all()


def test_precomputed_embeddings_are_reused_after_a_restart(
    tmp_path: Path, encoder: Encoder
) -> None:
    from index.articles import load_folder

    articles, _ = load_folder(SEEDS)
    engine = Engine.build(articles, EngineParams())
    first = reranker_in(tmp_path, encoder)
    embedded = first.precompute(engine)
    assert embedded == len(set(engine.sentence_texts())) > 10
    again = reranker_in(tmp_path, encoder)  # a new process: only the disk is shared
    assert again.precompute(engine) == 0
    again.attach(engine)
    engine.ask("How far can the KN-23 fly?")
    assert again.on_demand == 0  # a question costs one encoding plus dot products


def test_a_desk_answers_at_once_and_warms_the_store_in_the_background(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "data", articles_dir=SEEDS, reranker="semantic")
    desk = Desk.open(settings)  # returns before the corpus is embedded
    try:
        warmup = desk._warmup
        reranker = desk._reranker
        assert warmup is not None and warmup.thread is not None and reranker is not None
        response = desk.ask("How far can the KN-23 fly?")  # answered meanwhile, on demand
        assert response.answer is not None and response.pipeline == "bm25+semantic"
        warmup.thread.join(120)
        assert not warmup.thread.is_alive()
        texts = list(dict.fromkeys(desk._engine.sentence_texts()))
        assert len(texts) > 10 and reranker.cache.lookup(keys_of(texts))[0].all()
    finally:
        desk.close()
    again = Desk.open(settings)  # everything is stored: no second warm-up
    try:
        assert again._warmup is None
    finally:
        again.close()


def test_an_answer_is_the_same_from_fresh_and_from_stored_vectors(
    tmp_path: Path, encoder: Encoder
) -> None:
    from index.articles import load_folder

    articles, _ = load_folder(SEEDS)
    engine = Engine.build(articles, EngineParams())
    reranker = reranker_in(tmp_path, encoder)
    reranker.attach(engine)
    question = "Which missiles did Russia use?"
    first = engine.ask(question)  # candidates embedded now (pending in memory)
    assert reranker.on_demand > 0
    reranker.cache.flush()
    again = reranker_in(tmp_path, encoder)  # a new process reads them back from disk
    again.attach(engine)
    second = engine.ask(question)
    assert again.on_demand == 0
    assert [a.sentence for a in second.ranked] == [a.sentence for a in first.ranked]
    assert second.confidence == first.confidence


def test_add_and_remove_keep_the_store_right(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "data", articles_dir=SEEDS, reranker="semantic")
    desk = Desk.open(settings)
    try:
        reranker = desk._reranker
        assert reranker is not None
        text = (
            "Lighthouse keepers strike in Norway\nNordic Wire\n"
            "Keepers of the country's last manned lighthouses walked out on Friday. "
            "They want the coastal agency to restore the night allowance it cut last year.\n"
        )
        assert desk.add_file("keepers.txt", text.encode(), added_by="test").added
        sentence = "They want the coastal agency to restore the night allowance it cut last year."
        assert reranker.cache.lookup(keys_of([sentence]))[0].all()  # embedded at add time
        before = reranker.on_demand
        ranked = desk.ask("Why did the lighthouse keepers walk out?").ranked
        assert ranked and ranked[0].article_id == "keepers"
        assert reranker.on_demand == before
        assert desk.remove("keepers")
        after = desk.ask("Why did the lighthouse keepers walk out?")
        assert all(a.article_id != "keepers" for a in after.ranked)
    finally:
        desk.close()
    # a fresh process sees the embeddings written by the first one
    store = EmbeddingCache(settings.embeddings_dir / model_module.MODEL_ID, DIMENSION)
    assert store.lookup(keys_of([sentence]))[0].all()


# --- reranking ----------------------------------------------------------------------------------
PARAPHRASE = [
    Article(
        id="weather",
        title="News of the day",
        source="Local Wire",
        paragraphs=(
            "Schools close for the weekend on Friday. "
            "Forecasters expect heavy rain and strong winds on Saturday and Sunday.",
        ),
    ),
    Article(
        id="fair",
        title="Summer fair returns",
        source="Local Wire",
        paragraphs=("The summer fair returns to the park with music and food stalls.",),
    ),
]
QUESTION = "What is the weather forecast for the weekend?"


def test_reranker_lifts_a_paraphrase_that_bm25_ranks_lower(
    tmp_path: Path, encoder: Encoder
) -> None:
    engine = Engine.build(PARAPHRASE, EngineParams())
    lexical = engine.ask(QUESTION)
    assert lexical.ranked and lexical.ranked[0].sentence.startswith("Schools close")
    reranker_in(tmp_path, encoder).attach(engine)
    reranked = engine.ask(QUESTION)
    assert reranked.pipeline == "bm25+semantic"
    assert reranked.ranked[0].sentence.startswith("Forecasters expect heavy rain")


def test_weight_zero_keeps_the_lexical_order(tmp_path: Path, encoder: Encoder) -> None:
    engine = Engine.build(PARAPHRASE, EngineParams(rerank_depth=50))
    lexical = [a.sentence for a in engine.ask(QUESTION).ranked]
    reranker_in(tmp_path, encoder, weight=0.0).attach(engine)
    assert [a.sentence for a in engine.ask(QUESTION).ranked] == lexical
