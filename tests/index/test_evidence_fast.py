"""The fast answer-type checks of :mod:`index.evidence` equal the plain regex scans.

The locators stand in for the patterns only where the patterns could start, so these tests
check (1) the premises of that argument over every code point, (2) that each locator and
first test admits every position or sentence its pattern can match, and (3) identical
booleans against the reference copy (tests/index/evidence_reference.py) on real sentences
and on fuzzed strings built from the awkward pieces.
"""

from __future__ import annotations

import random
import re
import string
import sys
from collections.abc import Iterator

import evidence_reference as ref
import pytest
from testpaths import shared_path

from index import evidence as ev
from index import regex_scan as scan
from index.articles import load_folder
from index.text import query_terms, split_sentences

TRAPS = "\u0130\u0131\u017f"  # İ ı ſ
KINDS = ("number", "date", "name", "any")
UNITS = tuple(ev._UNIT_ANSWERS)

# (pattern, locator, pattern is IGNORECASE and its locator reads the lower-cased text)
PAIRS = [
    (ev._NUMBER_TOKEN, ev._NUMBER_AT, True),
    (ev._DATE, ev._DATE_AT, True),
    (ev._DIGITS, ev._FIGURE_AT, False),
    (ev._REASON, ev._REASON_AT, True),
    *((ev._UNIT_ANSWERS[u], ev._UNIT_AT[u], True) for u in UNITS),
]


def _all_characters(skip: str = "") -> str:
    code_points = (chr(i) for i in range(sys.maxunicode + 1) if not 0xD800 <= i <= 0xDFFF)
    return "".join(c for c in code_points if c not in skip)


def test_the_traps_are_exactly_the_characters_lower_gets_wrong() -> None:
    """The characters ``re`` matches to an ASCII letter under IGNORECASE but that do not
    lower-case to it, or whose lower case is longer than one character: İ ı ſ (the Kelvin
    sign K matches k and lower-cases to k, so it needs no plain path)."""
    text = _all_characters()
    wrong = {c for c in text if len(c.lower()) != 1}
    for letter in string.ascii_lowercase:
        for m in re.finditer(letter, text, re.IGNORECASE):
            if m.group(0).lower() != letter:
                wrong.add(m.group(0))
    assert wrong == set(TRAPS)
    assert all(ord(c) > 0xFF for c in TRAPS)  # so no Latin-1 sentence holds one
    assert scan.FOLD_TRAPS.pattern == f"[{TRAPS}]"


def test_lower_keeps_positions_and_what_the_locators_read() -> None:
    """Premise 3 of the argument in index/evidence.py, over every code point but the traps:
    one character per character, the same \\w, \\d and \\s verdicts, and whatever an
    IGNORECASE atom of the patterns matches, the locator's plain atom matches lower-cased."""
    text = _all_characters(skip=TRAPS)
    low = text.lower()
    assert len(low) == len(text)

    def where(pattern: str, s: str, flags: int = 0) -> set[int]:
        return {m.start() for m in re.finditer(pattern, s, flags)}

    for category in (r"\w", r"\d", r"\s", r"[\w-]"):
        assert where(category, text) == where(category, low), category
    atoms = [re.escape(c) for c in string.printable if not c.isupper()] + ["[£$€¥]"]
    for atom in atoms:
        assert where(atom, text, re.IGNORECASE) <= where(atom, low), atom


def test_fold_bytes_sees_latin1_words_and_digits_as_re_does() -> None:
    for b in range(256):
        c = chr(b)
        folded = chr(scan.FOLD_BYTES[b])
        if re.fullmatch(r"\d", c):
            assert folded == "0"
        elif re.fullmatch(r"\w", c):
            assert folded == (c.lower() if c.isascii() else c) and folded != "0"
        else:
            assert folded == " "


WORDS = (
    "january february march april may june july august september october november "
    "december jan feb mar apr jun jul aug sep sept oct nov dec monday tuesday wednesday "
    "thursday friday saturday sunday today yesterday tomorrow ago century decade season "
    "spring summer autumn winter week month year last next o'clock o’clock one two three "
    "four five six seven eight nine ten eleven twelve twenty thirty forty fifty hundred "
    "thousand million billion trillion dozen half quarter third double twice triple single "
    "once several dozens m bn k km kilometres miles metre cm ft feet inch yards euros "
    "dollars pound yen yuan rupees francs roubles rubles cents pence p seconds minutes hours "
    "days weeks months years decades per cent percent aged age of was is at old because due "
    "to owing thanks as a result in order so that an effort attempt bid move aim aimed "
    "reasons caused by led leads resulted from strategy designed intended response meant to "
    "fix to acquire market dismay chicago often someone money"
).split()


def test_fold_reads_past_latin1_only_what_cannot_matter() -> None:
    """Past Latin-1, the characters that match an ASCII letter under IGNORECASE and the
    digits are UNFOLDABLE; every other one folds to a single space."""
    text = "".join(c for c in _all_characters() if ord(c) > 0xFF)
    letters = {m.group(0) for m in re.finditer("[a-z]", text, re.IGNORECASE)}
    assert letters == set("\u0130\u0131\u017f\u212a")
    unfoldable = {m.group(0) for m in scan.UNFOLDABLE.finditer(text)}
    assert unfoldable == letters | {m.group(0) for m in re.finditer(r"\d", text)}
    assert letters == scan.LETTER_LIKE
    assert {c for c in text if c.isdecimal()} == unfoldable - letters  # the short path's \d
    rest = "".join(c for c in text if c not in unfoldable)
    assert scan.fold(rest) == b" " * len(rest)
    for c in sorted(unfoldable):  # alone (the short path) and among many (the regex)
        assert scan.fold(f"a{c}") is None
        assert scan.fold(f"{'’' * 9}{c}") is None
    for sentence in _fuzz(2000, seed=11):
        folded = scan.fold(sentence)
        assert folded is None or len(folded) == len(sentence), sentence


def _fuzz(count: int, seed: int) -> Iterator[str]:
    """Strings glued from the pieces the patterns and their locators must agree on."""
    words = [
        *WORDS,
        *("so that", "so as to", "in a bid", "in an effort to", "as a result", "due to"),
        *("aims at", "caused by", "results in", "in response to", "last month", "next week"),
        *("age of", "years old", "year-old", "per cent", "a million", "an m"),
        *("tenpence", "twop", "amillion", "threekm", "anhour", "amp", "abneuros", "aft"),
        *("is 7", "at 45", "was 30", "aged 8", "age of 9", "5 %", "£ 3", "$5", "7-year-old"),
        *("ten days", "a pound", "one mile", "a week", "an hour", "two euros", "half"),
    ]
    other = (
        "1", "7", "19", "1999", "2024", "2000", "10am", "7.30", "12PM", "3pm", "1,234", "3.5",
        "£", "$", "€", "¥", "%", "-", "'", "’", "_", ".", ",", " ", " ", " ", "  ", "\t", "\u00a0",
        "ſ", "K", "İ", "ı", "ß", "é", "É", "s", "S", "٣", "²", "x", "a", "A", "(", "\"",
    )  # fmt: skip
    rng = random.Random(seed)

    def spell(word: str) -> str:
        roll = rng.random()
        if roll < 0.3:
            word = word.upper() if roll < 0.1 else word.title() if roll < 0.2 else word
        elif roll < 0.4:
            trap = {"s": "ſ", "k": "K", "i": rng.choice("ıİ"), "S": "ſ", "K": "K", "I": "İ"}
            word = "".join(trap.get(c, c) if rng.random() < 0.5 else c for c in word)
        return word

    for _ in range(count):
        parts = []
        for _ in range(rng.randint(1, 7)):
            parts.append(spell(rng.choice(words)) if rng.random() < 0.5 else rng.choice(other))
            if rng.random() < 0.6:
                parts.append(rng.choice((" ", " ", "-", "", "'", ",")))
        yield "".join(parts)


FUZZ_TERMS = [
    frozenset(),
    frozenset(query_terms("How many years ago, in 1999 or 2024, did 5 million people pay £3?")),
    frozenset(query_terms("When in March, last week or next year, did ten of them meet?")),
    frozenset(query_terms("Why did they fix it to acquire the market?")),
]


def _check_all(sentence: str, i: int) -> None:
    terms = FUZZ_TERMS[i % len(FUZZ_TERMS)]
    for kind in KINDS:
        assert ev.novel_of_type(sentence, kind, terms) == ref.novel_of_type(
            sentence, kind, terms
        ), (sentence, kind, sorted(terms))
    for unit in UNITS:
        assert ev.has_unit(sentence, unit) == ref.has_unit(sentence, unit), (sentence, unit)
    assert ev.gives_reason(sentence, terms) == ref.gives_reason(sentence, terms), sentence


def test_fuzzed_strings_give_identical_results() -> None:
    checks = [
        *(
            (lambda s, t, k=kind: ev.novel_of_type(s, k, t) == ref.novel_of_type(s, k, t))
            for kind in ("number", "number", "date", "date", "name")
        ),
        *((lambda s, t, u=unit: ev.has_unit(s, u) == ref.has_unit(s, u)) for unit in UNITS),
        lambda s, t: ev.gives_reason(s, t) == ref.gives_reason(s, t),
    ]
    count = 0
    for i, sentence in enumerate(_fuzz(250_000, seed=20261125)):
        # one check per string keeps the run to a few seconds; all of them every 97th
        terms = FUZZ_TERMS[i % len(FUZZ_TERMS)]
        assert checks[i % len(checks)](sentence, terms), (sentence, i % len(checks))
        if i % 97 == 0:
            _check_all(sentence, i)
        count += 1
    assert count == 250_000


def _starts_of(pattern: re.Pattern[str], text: str) -> set[int]:
    return {at for at in range(len(text) + 1) if pattern.match(text, at)}


@pytest.mark.parametrize(
    ("pattern", "locator", "lowered"),
    PAIRS,
    ids=["number", "date", "digits", "reason", *(f"unit-{u}" for u in UNITS)],
)
def test_locators_admit_every_position_a_pattern_can_start(
    pattern: re.Pattern[str], locator: re.Pattern[str], lowered: bool
) -> None:
    for sentence in _fuzz(4000, seed=7):
        if lowered and any(c in sentence for c in TRAPS):
            continue  # these take the plain scan
        read = sentence.lower() if lowered else sentence
        found = {m.start() for m in locator.finditer(read)}
        assert _starts_of(pattern, sentence) <= found, (sentence, pattern.pattern[:40])
        assert all(m.end() == m.start() + 1 for m in locator.finditer(read))


def test_figure_locator_is_exactly_where_digits_start() -> None:
    for sentence in ["5", "-5", "a5", " 5", "x-1,2.3", "٣ and ²", "_7", *_fuzz(3000, seed=8)]:
        found = {m.start() for m in ev._FIGURE_AT.finditer(sentence)}
        assert found == _starts_of(ev._DIGITS, sentence), sentence


def test_figures_are_the_digits_matches() -> None:
    for sentence in ["5", "-5", "a5", "1,2.3-4 5", "٣ and ²", "7é8", *_fuzz(3000, seed=10)]:
        expected = [m.span() for m in ev._DIGITS.finditer(sentence)]
        assert [m.span() for m in ev._figures(sentence, scan.fold(sentence))] == expected
        assert [m.span() for m in ev._figures(sentence, None)] == expected
        # what lets novel_of_type("number") look at figures first
        assert set(expected) <= {m.span() for m in ev._NUMBER_TOKEN.finditer(sentence)}


def test_first_test_passes_whenever_a_pattern_matches() -> None:
    for sentence in _fuzz(20_000, seed=9):
        if ev._NUMBER_TOKEN.search(sentence):
            assert scan.may_hold(scan.fold(sentence), ev._NUMBER_WORDS), sentence
        if ev._DATE.search(sentence) or ev._DIGITS.search(sentence):
            assert scan.may_hold(scan.fold(sentence), ev._DATE_WORDS), sentence
        if ev._REASON.search(sentence):
            assert scan.may_hold(scan.fold(sentence), ev._REASON_WORDS, digits=False), sentence
        for unit, words in ev._UNIT_WORDS.items():
            if ev._UNIT_ANSWERS[unit].search(sentence):
                assert scan.may_hold(scan.fold(sentence), words), (sentence, unit)


UNIT_SPELLINGS = {  # every spelling the _UNIT_ANSWERS patterns accept, typed out
    "money": "euro euros dollar dollars pound pounds yen yuan rupee rupees franc francs "
    "rouble roubles ruble rubles cent cents pence p m bn",
    "length": "km kilometer kilometers kilometre kilometres mile miles m metre metres meter "
    "meters cm centimeter centimeters centimetre centimetres mm ft feet foot inch inches yard "
    "yards",
    "duration": "second seconds minute minutes hour hours day days week weeks month months "
    "year years decade decades",
}


@pytest.mark.parametrize("unit", ["money", "length", "duration"])
def test_every_number_scale_and_unit_spelling_agrees(unit: str) -> None:
    """Each number word (or figure), scale word and unit, glued or spaced, in a sentence."""
    units = UNIT_SPELLINGS[unit].split()
    numbers = ["", "5", "1,5", *"one two three four five six seven eight nine ten a an".split()]
    scales = ["", *ev._SCALES.split()] if unit != "duration" else [""]
    count = 0
    for number in numbers:
        for scale in scales:
            for name in units:
                for gap1 in ("", " "):
                    for gap2 in ("", " "):
                        phrase = f"{number}{gap1}{scale}{gap2}{name}"
                        for sentence in (phrase, f"It was {phrase.title()}.", f"x{phrase}s"):
                            got = ev.has_unit(sentence, unit)
                            assert got == ref.has_unit(sentence, unit), sentence
                            count += 1
    assert count > 1000


@pytest.mark.parametrize("corpus", ["bbc", "squad-dev-a"])
def test_real_sentences_give_identical_results(corpus: str) -> None:
    articles, _ = load_folder(shared_path("corpora", corpus))
    sentences = [a.title for a in articles] + [
        s for a in articles for p in a.paragraphs for s in split_sentences(p)
    ]
    questions = [
        "How many people were killed?",
        "When did the company report its 2004 profits?",
        "Which countries signed the treaty?",
        "Why did the shares fall in January?",
        "How much did the firm pay for the $1bn deal?",
        "What percentage of voters backed Labour last year?",
    ]
    term_sets = [frozenset(), *(frozenset(query_terms(q)) for q in questions)]
    step = max(1, len(sentences) // 3000)  # a spread sample: a few seconds per corpus
    checked = 0
    for i, sentence in enumerate(sentences[::step]):
        _check_all(sentence, i)
        terms = term_sets[i % len(term_sets)]
        for kind in ("number", "date"):
            assert ev.novel_of_type(sentence, kind, terms) == ref.novel_of_type(
                sentence, kind, terms
            ), (sentence, kind)
        checked += 1
    assert checked >= min(len(sentences), 2000)
