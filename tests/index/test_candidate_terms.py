"""Candidates carry their sentence's terms read from the index, and the decline rule reads
their headline's and paragraph's terms from it (instead of tokenising again): they must be
exactly the tokenizer's."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from testpaths import FIXTURES, SEEDS

from index.articles import load_folder, parse_article
from index.engine import Engine, EngineParams
from index.records import Article
from index.text import tokenize

PARAMS = EngineParams()


def _articles() -> list[Article]:
    seeds = load_folder(SEEDS)[0]
    fixtures, refused = load_folder(FIXTURES / "articles")
    assert not refused
    long_paragraph = " ".join(
        f"Dr. Smith's team counted {i},500 birds (KN-{i}) at the U.S. lake on 3 May."
        for i in range(20)
    )
    odd = parse_article(
        "odd.txt",
        (
            "A very long headline: the state-of-the-art “bridge” of 2024, again and again\n"
            f"Desk\n{long_paragraph}\n...\nShort one. Another short one!\n"
        ).encode(),
    )
    return [*seeds, *fixtures, odd]


def _questions(engine: Engine, articles: list[Article]) -> list[str]:
    """A question from the words of every paragraph's sentences, so most sentences are
    candidates of some question."""
    questions = []
    for article in articles:
        for paragraph in article.paragraphs:
            words = paragraph.split()
            questions += [" ".join(words[i : i + 6]) for i in range(0, len(words), 9)]
    return questions


def _check(engine: Engine, questions: list[str]) -> int:
    checked = 0
    for question in questions:
        ranked, _ = engine.rank(question)
        for answer in ranked:
            assert answer.terms == tuple(tokenize(answer.sentence)), answer.sentence
            assert engine._indexed_context(answer) == (
                set(tokenize(answer.title)),
                set(tokenize(answer.paragraph_text)),
            ), answer.sentence
            checked += 1
    return checked


def test_terms_equal_the_tokenizer_after_build_adds_removes_and_reload(tmp_path: Path) -> None:
    articles = _articles()
    engine = Engine.build(articles[:2], PARAMS)
    for article in articles[2:]:
        engine.add([article])  # one segment per add, several passages per paragraph
    engine.remove([articles[1].id])
    engine.add([articles[1]])
    questions = _questions(engine, articles)
    assert _check(engine, questions) > 300
    engine.save(tmp_path / "index")
    assert _check(Engine.load(tmp_path / "index", PARAMS), questions) > 300
    assert _check(Engine.build(articles, PARAMS), questions) > 300


def test_an_answer_from_elsewhere_is_tokenised() -> None:
    articles = _articles()
    engine = Engine.build(articles, PARAMS)
    answer = engine.rank("How many birds did the team count?")[0][0]
    other = Engine.build(articles[::-1], PARAMS)  # other ids for the same sentences
    assert other._indexed_context(answer) in (None, engine._indexed_context(answer))
    unknown = dataclasses.replace(answer, sentence_id=None)
    assert engine._indexed_context(unknown) is None


def test_repeated_sentences_are_skipped_past_the_first_look_up_chunk() -> None:
    """Candidates are looked up a chunk at a time: when the first chunk holds only copies of
    one sentence, the next chunks still fill the list with distinct sentences."""
    notes = [
        parse_article(
            f"note{i}.txt",
            f"Note {i}\nDesk\nThe river rose sharply. Gauge {i} logged the rise.\n".encode(),
        )
        for i in range(120)
    ]
    engine = Engine.build(notes, EngineParams(candidate_passages=120))
    ranked, _ = engine.rank("river rose sharply")
    sentences = [a.sentence for a in ranked]
    assert sentences[0] == "The river rose sharply."
    assert len(sentences) == len(set(sentences)) == 30
    assert all(a.terms == tuple(tokenize(a.sentence)) for a in ranked)
