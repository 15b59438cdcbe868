"""The answer-type checks of :mod:`index.evidence` as they were before the locators (each
pattern run with a plain ``finditer``/``search`` over the whole sentence): the reference
the faster ones must equal. The patterns themselves are shared: they are the definition."""

from __future__ import annotations

from collections.abc import Set

from index.evidence import (
    _CAPITAL,
    _DATE,
    _DIGITS,
    _NUMBER_TOKEN,
    _PURPOSE,
    _REASON,
    _UNIT_ANSWERS,
)
from index.text import tokenize


def novel_of_type(sentence: str, kind: str, question_terms: Set[str]) -> bool:
    """Whether the sentence brings something of the asked-for kind the question lacks."""
    if kind == "number":
        return any(
            not (set(tokenize(m.group(0))) <= question_terms)
            for m in _NUMBER_TOKEN.finditer(sentence)
        )
    if kind == "date":
        return any(
            not (set(tokenize(m.group(0))) <= question_terms)
            for pattern in (_DATE, _DIGITS)
            for m in pattern.finditer(sentence)
        )
    if kind == "name":
        body = sentence.split(" ", 1)[1] if " " in sentence else ""
        return any(
            not (set(tokenize(m.group(0))) <= question_terms) for m in _CAPITAL.finditer(body)
        )
    return True


def has_unit(sentence: str, unit: str) -> bool:
    """Whether ``sentence`` holds a quantity in ``unit``."""
    return bool(_UNIT_ANSWERS[unit].search(sentence))


def gives_reason(sentence: str, question_terms: Set[str]) -> bool:
    """Whether the sentence states a cause or purpose."""
    if _REASON.search(sentence):
        return True
    for match in _PURPOSE.finditer(sentence):
        terms = set(tokenize(match.group(1)))
        if terms and not terms <= question_terms:
            return True
    return False
