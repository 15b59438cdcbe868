"""The fast build path gives exactly what the plain one gives.

The splitter and tokenizer are compared with the reference implementation they replaced
(tests/index/text_reference.py) on real and deliberately awkward text; ``Engine.build``
(term-id arrays from per-worker coders) is compared with the plain path (``lay_out`` token
lists fed to ``BM25Index.build``): same segments, same vocabulary, same postings.
"""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

import numpy as np
import pytest
import text_reference as reference
from testpaths import FIXTURES, SEEDS, shared_path

import index.build_pool as build_pool
import index.engine as engine_module
from index import bm25_segment, bm25_spill
from index.articles import load_folder
from index.bm25 import BM25Builder, BM25Index, BM25Params
from index.bm25_segment import TermIds
from index.build_layout import TermCoder, TermMap, lay_out_coded
from index.engine import Engine, EngineParams
from index.layout import Segment, lay_out
from index.records import Article
from index.text import sentence_spans, split_sentences, tokenize

PIECES = (
    'Mr. U.S. U.S e.g. the The KN-23 2,000 3.5 A. J. Inc. Co. etc. ... … . ! ? ?! " ” ’ ) ( '
    "[ ] ' “ ‘ said. end.” ok?” x… …y no. No. 5 St. it's ’s word_ _ - a.b.c A.B.C. Dr Élan "
    "über. Ünter ١٢ ß. x Y ph.D. Fateh-110. 'Hello (The [A s' don't O'Neil. 3. 12.5% $5bn. "
    "— – done.). end.) !!! …. "
).split()
SPACES = (" ", " ", " ", "", "  ", "\n", "\t", "\u00a0")


def awkward_texts(n: int, seed: int = 5) -> list[str]:
    """Random runs of abbreviations, marks, quotes and odd spacing, plus long words (the
    word before a full stop is looked for within 64 characters)."""
    rng = random.Random(seed)
    texts = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(0, 30)):
            parts += [rng.choice(PIECES), rng.choice(SPACES)]
        text = "".join(parts)
        if rng.random() < 0.1:
            text += "x" * rng.randint(60, 70) + ". The " + "A" * rng.randint(60, 70) + "-b.c. Then"
        texts.append(text)
    return texts


def real_texts() -> list[str]:
    folders = [SEEDS, FIXTURES / "articles"]
    texts = []
    for folder in folders:
        for article in load_folder(folder)[0]:
            texts += [article.title, *article.paragraphs]
    return texts


@pytest.mark.parametrize("source", ["awkward", "real"])
def test_splitter_and_tokenizer_equal_the_reference(source: str) -> None:
    texts = awkward_texts(5_000) if source == "awkward" else real_texts()
    assert len(texts) > 20
    for text in texts:
        assert split_sentences(text) == reference.split_sentences(text), text
        assert sentence_spans(text) == reference.sentence_spans(text), text
        assert tokenize(text) == reference.tokenize(text), text


@pytest.mark.needs_shared
def test_splitter_and_tokenizer_equal_the_reference_on_news() -> None:
    texts = []
    for article in load_folder(shared_path("corpora", "bbc"))[0][::3]:  # a third keeps it quick
        texts += [article.title, *article.paragraphs]
    assert len(texts) > 4_000
    for text in texts:
        assert split_sentences(text) == reference.split_sentences(text), text
        assert tokenize(text) == reference.tokenize(text), text


def corpus() -> list[Article]:
    found = load_folder(SEEDS)[0] + load_folder(FIXTURES / "articles")[0]
    odd = Article(
        id="odd",
        title="Mr. Smith's (KN-23) test…",
        paragraphs=("", "No full stop here", "U.S. officials said so. The end...  Really?!"),
    )
    return [*found, odd, Article(id="empty-title", title="", paragraphs=("One. Two.",))]


def plain_build(articles: list[Article]) -> tuple[BM25Index, BM25Index, list[Segment]]:
    """The plain path: one segment's token lists fed to BM25Index.build."""
    laid = lay_out("s", articles, first_passage=0, first_sentence=0, max_passage_sentences=8)
    params = BM25Params()
    return (
        BM25Index.build(laid.sentence_docs, params),
        BM25Index.build(laid.passage_docs, params),
        [laid.segment],
    )


def same_index(a: BM25Index, b: BM25Index) -> None:
    assert a._vocab.terms == b._vocab.terms
    assert len(a._segments) == len(b._segments) == 1
    sa, sb = a._segments[0], b._segments[0]
    for name in ("doc_len", "term_offsets", "post_docs", "post_tf", "fwd_offsets", "fwd_terms"):
        x, y = getattr(sa, name), getattr(sb, name)
        assert x.dtype == y.dtype and np.array_equal(x, y), name


@pytest.mark.parametrize("workers", [0, 2])
def test_engine_build_equals_the_plain_build(monkeypatch: pytest.MonkeyPatch, workers: int) -> None:
    if workers and "fork" not in build_pool.multiprocessing.get_all_start_methods():
        pytest.skip("worker processes are forked; this platform cannot fork")
    articles = corpus()
    monkeypatch.setattr(engine_module, "BUILD_BATCH", 1)  # many batches, several per worker
    monkeypatch.setattr(engine_module, "build_workers", lambda: workers)
    monkeypatch.setattr(engine_module, "_lone_thread", lambda: True)
    monkeypatch.setattr(build_pool, "MIN_BATCHES", 1)
    progress: list[int] = []
    engine = Engine.build(articles, EngineParams(), lambda done, _: progress.append(done))
    assert len(progress) > 4 and progress[-1] == len(articles)  # many batches
    sentences, passages, _ = plain_build(articles)
    same_index(engine._sentences, sentences)
    same_index(engine._passages, passages)
    # the batches are joined into one segment, the one lay_out makes of all the articles
    _, _, (plain,) = plain_build(articles)
    (segment,) = engine._segments
    assert segment.articles == plain.articles
    assert bytes(segment.blob) == bytes(plain.blob)
    for key, array in plain.arrays.items():
        assert array.dtype == segment.arrays[key].dtype
        assert array.tolist() == segment.arrays[key].tolist(), key


def test_coded_streams_hold_the_tokens_of_the_plain_layout() -> None:
    articles = corpus()
    coder = TermCoder("k")
    vocab = TermIds()
    term_map = TermMap()
    sentences: list[list[str]] = []
    passages: list[list[str]] = []
    for start in range(0, len(articles), 3):
        batch = lay_out_coded("b", articles[start : start + 3], 8, coder)
        term_map.learn(batch.first_new, batch.new_terms)
        for coded, lens, out in (
            (batch.sentence_terms, batch.sentence_lens, sentences),
            (batch.passage_terms, batch.passage_lens, passages),
        ):
            ids = term_map.to_vocab(coded, vocab).tolist()
            at = 0
            for n in lens.tolist():
                out.append([vocab.terms[t] for t in ids[at : at + n]])
                at += n
            assert at == len(ids)
    laid = lay_out("x", articles, first_passage=0, first_sentence=0, max_passage_sentences=8)
    assert sentences == laid.sentence_docs
    assert passages == laid.passage_docs


def test_term_map_refuses_batches_out_of_order() -> None:
    term_map = TermMap()
    term_map.learn(0, ["a", "b"])
    with pytest.raises(ValueError, match="out of order"):
        term_map.learn(5, ["c"])


def test_spilled_build_equals_the_in_memory_build(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(bm25_segment, "SPILL_POSTINGS", 40)  # spill after a few chunks
    monkeypatch.setattr(bm25_segment, "BUILD_CHUNK_DOCS", 7)
    monkeypatch.setattr(bm25_spill, "BLOCK_POSTINGS", 13)  # many blocks, some one term wide
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    rng = np.random.default_rng(3)
    words = [f"w{i}" for i in range(60)]
    docs = [
        [words[int(w)] for w in rng.zipf(1.3, size=int(rng.integers(0, 12))) % 60]
        for _ in range(300)
    ]
    docs[150] = ["wide"] * 70_000 + ["w1"]  # a tf above 65535 makes tf 32-bit
    builder = BM25Builder(BM25Params())
    for start in range(0, len(docs), 11):
        batch = docs[start : start + 11]
        flat = np.asarray([builder.vocab[t] for d in batch for t in d], dtype=np.int32)
        builder.add(flat, np.asarray([len(d) for d in batch], dtype=np.int64))
    assert builder._segment._spilled is not None, "the build should have spilled to disk"
    built = builder.finish()
    assert builder._segment._spilled is None
    assert not any(tmp_path.iterdir()), "spill files have no names"
    direct = BM25Index.build(docs, BM25Params())
    same_index(built, direct)
    assert built._segments[0].post_tf.dtype == np.uint32
    for query in (["w1"], ["w2", "w5"], ["wide", "w3"]):
        assert built.top_k(query, 10)[1].tolist() == direct.top_k(query, 10)[1].tolist()


def test_an_abandoned_build_leaves_no_files(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(bm25_segment, "SPILL_POSTINGS", 1)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    builder = BM25Builder(BM25Params())
    flat = np.asarray([builder.vocab["a"], builder.vocab["b"]], dtype=np.int32)
    for _ in range(3):
        builder.add(flat, np.asarray([2], dtype=np.int64))
    builder._segment._invert_pending()
    spilled = builder._segment._spilled
    assert spilled is not None
    builder.close()
    assert builder._segment._spilled is None and spilled._docs.closed
    assert not any(tmp_path.iterdir())


def test_a_spilled_engine_build_saves_and_loads_the_same_index(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    articles = corpus()
    plain = Engine.build(articles, EngineParams())
    monkeypatch.setattr(bm25_segment, "SPILL_POSTINGS", 10)
    monkeypatch.setattr(bm25_segment, "BUILD_CHUNK_DOCS", 3)
    monkeypatch.setattr(bm25_spill, "BLOCK_POSTINGS", 7)
    spilled = Engine.build(articles, EngineParams())
    assert spilled._sentences._segments[0].backing, "the build should have spilled"
    assert spilled._segments[0].blob_file is not None
    same_index(spilled._sentences, plain._sentences)
    same_index(spilled._passages, plain._passages)
    spilled.save(tmp_path / "spilled")
    plain.save(tmp_path / "plain")
    loaded = Engine.load(tmp_path / "spilled", EngineParams())
    same_index(loaded._sentences, plain._sentences)
    same_index(loaded._passages, plain._passages)
    assert bytes(loaded._segments[0].blob) == bytes(plain._segments[0].blob)
    questions = ["How much did the bridge repair cost?", "When did the missile attacks occur?"]
    for question in questions:
        assert loaded.ask(question).to_json() == plain.ask(question).to_json()
        assert spilled.ask(question).to_json() == plain.ask(question).to_json()


def test_counting_sort_inversion_equals_the_sort_path(monkeypatch: pytest.MonkeyPatch) -> None:
    if not bm25_segment.kernels.AVAILABLE:
        pytest.skip("numba is not installed: only the sort path exists")
    rng = np.random.default_rng(11)
    lens = rng.integers(0, 30, size=500).astype(np.int64)
    lens[7] = 70_000  # a tf above 65535
    flat = (rng.zipf(1.2, size=int(lens.sum())) % 300).astype(np.int32)
    flat[int(lens[:7].sum()) : int(lens[:8].sum())] = 5
    fast = bm25_segment._invert_chunk(flat, lens, 1000, 320)
    monkeypatch.setattr(bm25_segment, "USE_KERNEL", False)
    slow = bm25_segment._invert_chunk(flat, lens, 1000, 320)
    assert fast.counts.tolist() == slow.counts.tolist()
    assert fast.docs.dtype == slow.docs.dtype and np.array_equal(fast.docs, slow.docs)
    assert fast.tf.dtype == slow.tf.dtype == np.uint32 and np.array_equal(fast.tf, slow.tf)


@pytest.mark.parametrize("compiled", [True, False])
def test_term_map_gives_new_terms_ids_in_order_of_first_appearance(
    monkeypatch: pytest.MonkeyPatch, compiled: bool
) -> None:
    if compiled and not bm25_segment.kernels.AVAILABLE:
        pytest.skip("numba is not installed")
    monkeypatch.setattr(bm25_segment.kernels, "AVAILABLE", compiled)
    term_map = TermMap()
    term_map.learn(0, ["a", "b", "c", "d", "e"])
    vocab = TermIds(["c"])  # known to the vocabulary, not yet to the map
    ids = term_map.to_vocab(np.asarray([4, 2, 4, 0, 2, 1, 0], dtype=np.int32), vocab)
    assert vocab.terms == ["c", "e", "a", "b"]
    assert ids.tolist() == [1, 0, 1, 2, 0, 3, 2]
    term_map.learn(5, ["f"])
    assert term_map.to_vocab(np.asarray([5, 4, 3], dtype=np.int32), vocab).tolist() == [4, 1, 5]
    assert vocab.terms == ["c", "e", "a", "b", "f", "d"]
