"""The answer engine: attribution, declining, alternatives, live updates and persistence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from testpaths import FIXTURES, SEEDS

from index.articles import load_folder, parse_article
from index.engine import MANIFEST, MAX_SEGMENTS, Engine, EngineParams
from index.errors import IndexCorrupt, IndexMissing, IndexVersionMismatch
from index.records import Article

PARAMS = EngineParams()


def fixture_articles() -> list[Article]:
    articles, refused = load_folder(FIXTURES / "articles")
    assert not refused
    return articles


def seed_and_fixtures() -> list[Article]:
    return load_folder(SEEDS)[0] + fixture_articles()


def signature(engine: Engine, question: str) -> list[tuple[str, str, int, float]]:
    """What a reader sees of a response: sentences, where they come from, scores."""
    response = engine.ask(question)
    return [(a.sentence, a.article_id, a.paragraph, round(a.score, 9)) for a in response.ranked]


QUESTIONS = [
    "How much did the bridge repair cost?",
    "When did the missile attacks occur?",
    "How many steel cables were replaced?",
    "Who credited a warm spring?",
    "What weapons were mentioned in reports of arms deals?",
]


def test_answer_carries_full_attribution() -> None:
    engine = Engine.build(seed_and_fixtures(), PARAMS)
    response = engine.ask("How much did the bridge repair cost?")
    assert response.answer is not None
    answer = response.answer
    assert "48 million euros" in answer.sentence
    assert answer.article_id == "harbour_bridge"
    assert answer.title == "Harbour bridge reopens after two-year repair"
    assert answer.source == "Coastal Herald"
    assert answer.published == "2024-03-14"
    assert answer.url == "https://example.org/news/harbour-bridge"
    assert answer.paragraph == 1
    assert answer.sentence in answer.paragraph_text


def test_answer_is_a_sentence_not_the_paragraph() -> None:
    engine = Engine.build(load_folder(SEEDS)[0], PARAMS)
    answer = engine.ask("When did the missile attacks occur?").answer
    assert answer is not None
    assert "December 30, 2023, and January 2, 2024" in answer.sentence
    assert len(answer.sentence) < len(answer.paragraph_text)
    assert answer.sentence.endswith(".")


def test_off_topic_question_is_declined_with_a_reason() -> None:
    engine = Engine.build(seed_and_fixtures(), PARAMS)
    response = engine.ask("What is the boiling point of mercury?")
    assert response.answer is None
    assert response.declined_reason


def test_question_without_search_words_is_declined() -> None:
    engine = Engine.build(seed_and_fixtures(), PARAMS)
    response = engine.ask("what is it?")
    assert response.answer is None
    assert response.declined_reason == "The question has no words to search for."


def test_alternatives_are_distinct_and_exclude_the_answer() -> None:
    articles = seed_and_fixtures()
    twin = parse_article(
        "twin.txt",
        "\n".join([articles[0].title, articles[0].source or "", *articles[0].paragraphs]).encode(),
    )
    engine = Engine.build([*articles, twin], PARAMS)
    response = engine.ask("When did the missile attacks occur?")
    sentences = [a.sentence for a in response.ranked]
    assert len(sentences) == len(set(sentences)), "the duplicate article must not repeat sentences"
    assert len(response.alternatives) <= PARAMS.alternatives


def test_incremental_add_answers_like_a_rebuild() -> None:
    seeds, extra = load_folder(SEEDS)[0], fixture_articles()
    grown = Engine.build(seeds, PARAMS)
    for article in extra:
        grown.add([article])
    rebuilt = Engine.build(seeds + extra, PARAMS)
    for question in QUESTIONS:
        assert signature(grown, question) == signature(rebuilt, question)
    assert grown.fingerprint() == rebuilt.fingerprint()


def test_remove_answers_like_a_rebuild_without_the_article() -> None:
    everything = seed_and_fixtures()
    engine = Engine.build(everything, PARAMS)
    assert engine.remove(["harbour_bridge", "no_such_id"]) == 1
    rest = Engine.build([a for a in everything if a.id != "harbour_bridge"], PARAMS)
    for question in QUESTIONS:
        assert signature(engine, question) == signature(rest, question)
        assert all(a.article_id != "harbour_bridge" for a in engine.ask(question).ranked)
    assert "harbour_bridge" not in engine.article_ids()


def test_adding_an_existing_id_replaces_it() -> None:
    engine = Engine.build(fixture_articles(), PARAMS)
    changed = parse_article(
        "harbour_bridge.txt",
        b"Harbour bridge closes again\nCoastal Herald\n"
        b"The bridge closed after 3 new cracks were found.\n",
    )
    engine.add([changed])
    assert engine.stats().articles == 3
    answer = engine.ask("How many cracks were found in the bridge?").answer
    assert answer is not None and "3 new cracks" in answer.sentence
    assert all("48 million" not in a.sentence for a in engine.ask("bridge repair cost").ranked)


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    engine = Engine.build(seed_and_fixtures(), PARAMS)
    engine.save(tmp_path / "index")
    loaded = Engine.load(tmp_path / "index", PARAMS)
    for question in QUESTIONS:
        assert signature(loaded, question) == signature(engine, question)
    assert loaded.fingerprint() == engine.fingerprint()
    assert loaded.stats().articles == engine.stats().articles


def test_incremental_saves_write_only_new_segments(tmp_path: Path) -> None:
    directory = tmp_path / "index"
    engine = Engine.build(load_folder(SEEDS)[0], PARAMS)
    engine.save(directory)
    first_segments = set((directory / "segments").iterdir())
    engine.add(fixture_articles()[:1])
    engine.remove(["000_6b510e1d415c7192"])
    engine.save(directory)
    after = set((directory / "segments").iterdir())
    assert first_segments <= after, "the existing segment is kept, not rewritten"
    loaded = Engine.load(directory, PARAMS)
    assert loaded.article_ids() == engine.article_ids()
    for question in QUESTIONS:
        assert signature(loaded, question) == signature(engine, question)


def test_many_small_adds_are_merged_and_still_answer(tmp_path: Path) -> None:
    engine = Engine.build(load_folder(SEEDS)[0], PARAMS)
    for i in range(MAX_SEGMENTS + 3):
        engine.add(
            [
                parse_article(
                    f"n{i}.txt", f"Note {i}\nDesk\nItem {i} says the river rose {i} cm.\n".encode()
                )
            ]
        )
    engine.save(tmp_path / "index")
    loaded = Engine.load(tmp_path / "index", PARAMS)
    assert len(loaded._segments) <= MAX_SEGMENTS
    assert signature(loaded, "How much did the river rise in item 7?") == signature(
        engine, "How much did the river rise in item 7?"
    )


def test_missing_index_is_reported(tmp_path: Path) -> None:
    with pytest.raises(IndexMissing):
        Engine.load(tmp_path / "nothing", PARAMS)


def test_flipped_byte_in_a_segment_is_detected(tmp_path: Path) -> None:
    directory = tmp_path / "index"
    Engine.build(seed_and_fixtures(), PARAMS).save(directory)
    blob = next((directory / "segments").glob("*.blob"))
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0x20
    blob.write_bytes(bytes(data))
    with pytest.raises(IndexCorrupt):
        Engine.load(directory, PARAMS)


def test_truncated_manifest_is_detected(tmp_path: Path) -> None:
    directory = tmp_path / "index"
    Engine.build(seed_and_fixtures(), PARAMS).save(directory)
    manifest = directory / MANIFEST
    manifest.write_text(manifest.read_text()[:40])
    with pytest.raises(IndexCorrupt):
        Engine.load(directory, PARAMS)


def test_other_format_version_is_refused(tmp_path: Path) -> None:
    directory = tmp_path / "index"
    Engine.build(seed_and_fixtures(), PARAMS).save(directory)
    manifest = json.loads((directory / MANIFEST).read_text())
    manifest["version"] = 999
    (directory / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(IndexVersionMismatch):
        Engine.load(directory, PARAMS)


def test_empty_engine_declines() -> None:
    engine = Engine.build([], PARAMS)
    assert engine.ask("Anything at all?").answer is None
    assert engine.stats().articles == 0


def test_segment_metadata_written_in_pieces_reads_back_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import index.layout

    monkeypatch.setattr(index.layout, "META_CHUNK", 2)  # several pieces, a short last one
    engine = Engine.build(seed_and_fixtures(), PARAMS)
    engine.save(tmp_path / "index")
    written = json.loads(next((tmp_path / "index" / "segments").glob("*.json")).read_bytes())
    segment = engine._segments[0]
    assert len(written["articles"]) == len(segment.articles) >= 3
    assert written["first_passage"] == segment.first_passage
    loaded = Engine.load(tmp_path / "index", PARAMS)
    assert loaded._segments[0].articles == segment.articles
    for question in QUESTIONS:
        assert signature(loaded, question) == signature(engine, question)
