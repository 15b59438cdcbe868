"""Evidence that a candidate sentence really answers a question, for the decline rule.

Raw BM25 scores cannot be compared across questions, so the decision looks at *what*
matched: how much of the question's information (IDF mass) the sentence and its paragraph
cover, whether the rarest question word is there, how much of the question no article
mentions at all, and whether the sentence holds the kind of thing asked for (a number for
"how many", a date for "when", a name for "who").
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december|"
    "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
)
_DAYS = "monday|tuesday|wednesday|thursday|friday|saturday|sunday"
_DATE = re.compile(
    rf"\b(?:{_MONTHS}|{_DAYS}|(?:1[5-9]|20)\d\d|today|yesterday|tomorrow|last (?:week|month|year)|"
    r"next (?:week|month|year)|ago|century|decade|season|spring|summer|autumn|winter|"
    r"(?:\d{1,2}(?:am|pm|\.\d\d))|o'clock|week|month|year)s?\b",
    re.IGNORECASE,
)
_NUMBER = re.compile(
    r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|"
    r"forty|fifty|hundred|thousand|million|billion|trillion|dozen|half|quarter|double|twice|"
    r"triple)\b",
    re.IGNORECASE,
)
_NAME = re.compile(r"(?<!^)(?<![.!?] )\b[A-Z][a-zà-ÿ]+|\b[A-Z]{2,}\b")

ANSWER_TYPES = ("number", "date", "name", "any")

_MEASURES = (
    r"percentage|share|proportion|number|amount|price|cost|age|rate|score|scoreline|range|"
    r"distance|size|height|weight|length|population|salary|fee|value|total|figure|sum|budget|"
    r"capacity|speed|temperature|margin|debt|profit|loss|revenue|turnover|fine|bill"
)
_NUMBER_Q = re.compile(
    r"\bhow (?:many|much|long|far|old|big|tall|high|often|fast|large|heavy|deep|wide)\b|"
    rf"\b(?:what|which) (?:is |was |were |are )?(?:the |a |an |its |their |his |her )?"
    rf"(?:\w+ )?(?:{_MEASURES})\b"
)
_DATE_Q = re.compile(
    r"\bwhen\b|\b(?:what|which) (?:year|date|day|month|time|decade|century|season)\b|"
    r"\bin (?:what|which) (?:year|month)\b|\bhow long ago\b"
)
_NAME_Q = re.compile(r"\bwhich \w+s\b")  # "which types of missiles": named members


def expected_type(question: str) -> str:
    """What kind of answer the question asks for: number, date, name or any."""
    q = question.casefold()
    if _NUMBER_Q.search(q):
        return "number"
    if _DATE_Q.search(q):
        return "date"
    if _NAME_Q.search(q):
        return "name"
    return "any"


def has_type(sentence: str, kind: str) -> bool:
    """Whether ``sentence`` contains something of the ``kind`` asked for."""
    if kind == "number":
        return bool(_NUMBER.search(sentence))
    if kind == "date":
        return bool(_DATE.search(sentence))
    if kind == "name":
        return bool(_NAME.search(sentence))
    return True


_NUMBER_TOKEN = re.compile(
    r"\d[\d.,]*\w*|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
    r"twenty|thirty|forty|fifty|hundred|thousand|million|billion|trillion|dozen|half|quarter|"
    r"double|twice|triple)\b",
    re.IGNORECASE,
)
_CAPITAL = re.compile(r"\b[A-Z][\w'’-]*|\b\w*\d[\w-]*")


def novel_of_type(sentence: str, kind: str, question_terms: set[str]) -> bool:
    """Whether the sentence brings something of the asked-for kind the question lacks.

    A sentence that only restates the question ("The type of missiles has not been
    confirmed") names nothing new; the answer does ("... the KN-23 and KN-24").
    """
    from index.text import tokenize

    if kind == "number":
        return any(
            not (set(tokenize(m.group(0))) <= question_terms)
            for m in _NUMBER_TOKEN.finditer(sentence)
        )
    if kind == "date":
        return any(
            not (set(tokenize(m.group(0))) <= question_terms) for m in _DATE.finditer(sentence)
        )
    if kind == "name":
        body = sentence.split(" ", 1)[1] if " " in sentence else ""
        return any(
            not (set(tokenize(m.group(0))) <= question_terms) for m in _CAPITAL.finditer(body)
        )
    return True


@dataclass(frozen=True, slots=True)
class Evidence:
    """Features of one (question, best sentence) pair; all shares are in 0..1."""

    coverage: float  # IDF share of question terms found in the sentence, headline or paragraph
    sentence_coverage: float  # ... found in the sentence or headline alone
    unknown_share: float  # IDF share of question terms that no article contains
    rarest_matched: bool  # the question's most informative term is in sentence/paragraph
    type_matched: bool  # the sentence holds what the question asks for
    terms: int  # distinct question terms

    def confidence(self) -> float:
        """A 0..1 score; the engine declines below the configured threshold."""
        z = (
            -6.0
            + 6.5 * self.coverage
            + 2.5 * self.sentence_coverage
            - 4.0 * self.unknown_share
            + 1.0 * self.rarest_matched
            + 1.5 * self.type_matched
        )
        return 1.0 / (1.0 + math.exp(-z))


def gather(
    question: str,
    terms: Sequence[str],
    weights: Sequence[float],
    known: Sequence[bool],
    sentence_terms: set[str],
    passage_terms: set[str],
    sentence: str,
) -> Evidence:
    """Compute :class:`Evidence` for one candidate."""
    total = sum(weights) or 1.0
    near = sentence_terms | passage_terms
    coverage = sum(w for t, w in zip(terms, weights, strict=True) if t in near) / total
    sentence_cov = sum(w for t, w in zip(terms, weights, strict=True) if t in sentence_terms) / total
    unknown = sum(w for w, k in zip(weights, known, strict=True) if not k) / total
    rarest = max(range(len(terms)), key=lambda i: weights[i]) if terms else -1
    return Evidence(
        coverage=coverage,
        sentence_coverage=sentence_cov,
        unknown_share=unknown,
        rarest_matched=rarest >= 0 and terms[rarest] in near,
        type_matched=has_type(sentence, expected_type(question)),
        terms=len(terms),
    )
