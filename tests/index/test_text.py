"""The sentence splitter and the tokenizer on the cases news text throws at them."""

from __future__ import annotations

import pytest

from index.text import query_terms, sentence_spans, split_sentences, tokenize


@pytest.mark.parametrize(
    ("paragraph", "expected"),
    [
        # a full stop followed by a closing quote
        (
            'He called it "an outright war." Then he left.',
            ['He called it "an outright war."', "Then he left."],
        ),
        ("She asked: 'Why now?' Nobody answered.", ["She asked: 'Why now?'", "Nobody answered."]),
        # abbreviations and titles
        (
            "Dr. Smith met Mr. Jones on Jan. 5 in the city. They talked.",
            ["Dr. Smith met Mr. Jones on Jan. 5 in the city.", "They talked."],
        ),
        (
            "The U.S. and the U.K. signed it. Markets rose.",
            ["The U.S. and the U.K. signed it.", "Markets rose."],
        ),
        (
            "Sales rose in the U.S. The firm was pleased.",
            ["Sales rose in the U.S.", "The firm was pleased."],
        ),
        # initials
        (
            "John F. Kennedy was elected in 1960. He was 43.",
            ["John F. Kennedy was elected in 1960.", "He was 43."],
        ),
        # decimals and thousands
        (
            "Shares rose 3.997 points to 2,000.5 on Monday. Trading was thin.",
            ["Shares rose 3.997 points to 2,000.5 on Monday.", "Trading was thin."],
        ),
        (
            "About 2,000 containers were shipped. More followed.",
            ["About 2,000 containers were shipped.", "More followed."],
        ),
        # ellipses
        ("He paused... and then went on. The end.", ["He paused... and then went on.", "The end."]),
        ("Wait for it... The answer came.", ["Wait for it...", "The answer came."]),
        # headline without a full stop
        ("Missiles hit Kyiv overnight", ["Missiles hit Kyiv overnight"]),
        ("Is it over? Yes! Finally.", ["Is it over?", "Yes!", "Finally."]),
        ("Apple Inc. The company said so.", ["Apple Inc.", "The company said so."]),
        ("", []),
    ],
)
def test_split_sentences(paragraph: str, expected: list[str]) -> None:
    assert split_sentences(paragraph) == expected


def test_sentence_spans_point_into_the_folded_paragraph() -> None:
    text = "First  one.   Second one!"
    folded = " ".join(text.split())
    spans = sentence_spans(text)
    assert [folded[a:b] for a, b in spans] == ["First one.", "Second one!"]


def test_tokens_are_case_folded_and_stemmed() -> None:
    assert tokenize("MISSILES Missile missiles") == ["missil"] * 3
    assert tokenize("STRASSE") == tokenize("straße")  # Unicode case folding, not lower()


def test_hyphenated_names_are_found_whole_and_by_parts() -> None:
    terms = tokenize("the KN-23 and Fateh-110")
    for term in ("kn-23", "kn", "23", "fateh-110", "fateh", "110"):
        assert term in terms
    assert "kn-23" in query_terms("How far can the KN-23 fly?")


def test_numbers_are_kept_and_thousands_separators_ignored() -> None:
    assert "2000" in tokenize("about 2,000 containers")
    assert "2000" in tokenize("about 2000 containers")
    assert "3.997" in tokenize("rose 3.997 points")
    assert "900" in tokenize("a range of 900 kilometers")
    assert "130" in tokenize("growing to 130cm")


def test_stop_words_and_possessives_are_dropped() -> None:
    assert tokenize("the of and") == []
    assert tokenize("Podolyak's statement") == tokenize("Podolyak statement")


def test_question_filler_words_are_not_search_terms() -> None:
    assert query_terms("How many containers were shipped?") == tokenize("containers shipped")
