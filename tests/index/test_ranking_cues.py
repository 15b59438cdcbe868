"""The rerank and decline cues: what a question asks for and what a sentence offers."""

from __future__ import annotations

import pytest
from testpaths import FIXTURES, SEEDS

from index.articles import load_folder
from index.engine import Engine, EngineParams
from index.evidence import (
    asks_reason,
    expected_type,
    expected_unit,
    gives_reason,
    has_unit,
    measure_words,
    novel_of_type,
)
from index.text import query_terms, tokenize


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("How many containers were shipped?", "number"),
        ("What is the range of the missiles?", "number"),
        ("When did the missile attacks occur?", "date"),
        ("In which year was it built?", "date"),
        ("Which types of missiles were provided?", "name"),
        ("How did Podolyak describe the war?", "any"),
        ("What does it mean when a series diverges?", "any"),  # "when" inside, not a date
    ],
)
def test_expected_type(question: str, kind: str) -> None:
    assert expected_type(question) == kind


def test_new_content_of_the_asked_kind() -> None:
    terms = set(query_terms("What is the range of the missiles from North Korea?"))
    assert novel_of_type("They have a range of approximately 900 kilometers.", "number", terms)
    assert not novel_of_type("The type of missiles has not been confirmed.", "number", terms)
    # digits inside a name are not a quantity
    assert not novel_of_type("They may include the KN-23 and KN-24.", "number", terms)
    assert novel_of_type("It was built in 1868.", "date", set(query_terms("When was it built?")))


@pytest.mark.parametrize(
    ("question", "unit", "yes", "no"),
    [
        ("How far can the KN-23 fly?", "length", "a range of 900 kilometers", "2,000 containers"),
        ("How much did the repair cost?", "money", "cost 48 million euros", "lasted two years"),
        ("How old was he when he died?", "age", "He was 84, and ill", None),
    ],
)
def test_units(question: str, unit: str, yes: str, no: str | None) -> None:
    assert expected_unit(question) == unit
    assert has_unit(yes, unit)
    if no is not None:
        assert not has_unit(no, unit)


def test_reason_questions_and_sentences() -> None:
    question = "Why is Russia acquiring ballistic missiles?"
    terms = set(query_terms(question))
    assert asks_reason(question)
    assert not asks_reason("Who is John Kirby?")
    assert gives_reason("... a strategy by Russia to compensate for the depletion ...", terms)
    assert not gives_reason("... possible attempts to acquire ballistic missiles ...", terms)


def test_measure_words_name_what_is_measured() -> None:
    assert measure_words("What is the range of the missiles?") == [tokenize("range")]
    assert measure_words("How many containers were shipped?") == [tokenize("containers")]
    assert measure_words("How much did the bridge repair cost?") == []


def test_the_issue_example_how_far_can_the_kn23_fly() -> None:
    engine = Engine.build(load_folder(SEEDS)[0], EngineParams())
    answer = engine.ask("How far can the KN-23 fly?").answer
    assert answer is not None
    assert "approximately 900 kilometers" in answer.sentence


def test_related_word_forms_help_only_in_the_rerank() -> None:
    engine = Engine.build(load_folder(SEEDS)[0], EngineParams())
    answer = engine.ask("Why is Russia acquiring ballistic missiles from other countries?").answer
    assert answer is not None
    assert "compensate for the depletion" in answer.sentence


def test_fixture_questions_still_decline_off_topic() -> None:
    engine = Engine.build(load_folder(FIXTURES / "articles")[0], EngineParams())
    assert engine.ask("Who won the chess olympiad in Budapest?").answer is None
