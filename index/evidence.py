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
from collections.abc import Iterator, Sequence, Set
from dataclasses import dataclass
from functools import lru_cache

from index.regex_scan import (
    figure_starts,
    fold,
    found,
    found_all,
    locator,
    lowered,
    matches,
    may_hold,
)
from index.text import tokenize

_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december|"
    "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
)
_DAYS = "monday|tuesday|wednesday|thursday|friday|saturday|sunday"
_DATE = re.compile(
    rf"\b(?:{_MONTHS}|{_DAYS}|1\d{{3}}|20\d\d|today|yesterday|tomorrow|last (?:week|month|year)|"
    r"next (?:week|month|year)|ago|century|decade|season|spring|summer|autumn|winter|"
    r"(?:\d{1,2}(?:am|pm|\.\d\d))|o'clock|week|month|year)s?\b",
    re.IGNORECASE,
)


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
    r"^\W*(?:\w+ )?when\b|\b(?:what|which) (?:year|date|day|month|time|decade|century|season)\b|"
    r"\bin (?:what|which) (?:year|month)\b|\bhow long ago\b"
)
_NAME_Q = re.compile(r"\bwhich \w+s\b")  # "which types of missiles": named members


@lru_cache(maxsize=1024)  # asked by the rerank and by the decline rule for each question
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


_NUMBER_TOKEN = re.compile(
    r"(?<![\w-])\d[\d.,]*\w*|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|"
    r"twelve|twenty|thirty|forty|fifty|hundred|thousand|million|billion|trillion|dozen|half|quarter|"
    r"double|twice|triple|single|once|several|dozens|hundreds|thousands|millions|billions)\b",
    re.IGNORECASE,
)
_DIGITS = re.compile(r"(?<![\w-])\d[\d.,]*\w*")
_CAPITAL = re.compile(r"\b[A-Z][\w'’-]*|\b\w*\d[\w-]*")


_NUMBER_WORDS = frozenset(
    b"one two three four five six seven eight nine ten eleven twelve twenty thirty forty fifty "
    b"hundred thousand million billion trillion dozen half quarter double twice triple single "
    b"once several dozens hundreds thousands millions billions".split()
)
_DATE_WORDS = frozenset(
    w + s
    for w in f"{_MONTHS}|{_DAYS}".encode().split(b"|")
    + b"today yesterday tomorrow ago century decade season spring summer autumn winter week "
    b"month year".split()
    for s in (b"", b"s")
) | {b"last", b"next", b"o"}


# Where _DATE (a digit, or the first letters of a word alternative), _NUMBER_TOKEN and
# _DIGITS (a digit not after a word character or "-") can start.
_DATE_AT = locator(
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    "mon", "tue", "wed", "thu", "fri", "sat", "sun", "tod", "yes", "tom", "las", "nex",
    "ago", "cen", "sea", "spr", "sum", "aut", "win", "o'c", "wee", "yea",
)  # fmt: skip
_FIGURE_AT = re.compile(r"\d(?<![\w-].)")  # before the digit: nothing, or not [\w-]
_NUMBER_AT = locator(
    "one", "two", "thr", "fou", "fiv", "six", "sev", "eig", "nin", "ten", "ele", "twe",
    "thi", "for", "fif", "hun", "tho", "mil", "bil", "tri", "doz", "hal", "qua", "dou",
    "twi", "sin", "onc",
)  # fmt: skip


_KINDS = {  # kind: (its words for the first test, its pattern besides _DIGITS, locator)
    "number": (_NUMBER_WORDS, _NUMBER_TOKEN, _NUMBER_AT),
    "date": (_DATE_WORDS, _DATE, _DATE_AT),
}


def novel_of_type(sentence: str, kind: str, question_terms: Set[str]) -> bool:
    """Whether the sentence brings something of the asked-for kind the question lacks.

    A sentence that only restates the question ("The type of missiles has not been
    confirmed") names nothing new; the answer does ("... the KN-23 and KN-24").
    """

    def new(match: re.Match[str]) -> bool:
        return not (set(tokenize(match.group(0))) <= question_terms)

    if kind in _KINDS:
        # A new figure, or a new word of the kind ("in 1521", "for 380 years", "the 10th
        # century", "last week"). Figures first, as "is any new" does not depend on the
        # order: for "date" they are _DIGITS's own matches; for "number" every match of
        # _DIGITS.finditer is one of _NUMBER_TOKEN.finditer, whose first alternative is
        # _DIGITS, tried first at each position, while its number-word matches hold no
        # digit, so they never cover where a _DIGITS match starts.
        words, pattern, starts = _KINDS[kind]
        folded = fold(sentence)
        if folded is not None and b"0" not in folded:
            if words.isdisjoint(folded.split()):
                return False  # no figure and no listed word: no match (see may_hold)
        elif any(map(new, _figures(sentence, folded))):
            return True
        return any(map(new, matches(pattern, starts, sentence, lowered(sentence))))
    if kind == "name":
        body = sentence.split(" ", 1)[1] if " " in sentence else ""
        return any(map(new, _CAPITAL.finditer(body)))
    return True


def _figures(sentence: str, folded: bytes | None) -> Iterator[re.Match[str]]:
    """``_DIGITS.finditer(sentence)``, trying only at digits: the "0"s of ``folded`` (see
    :func:`fold`), else where _FIGURE_AT (_DIGITS's own start condition) matches."""
    end = 0
    if folded is None:
        for start in _FIGURE_AT.finditer(sentence):
            at = start.start()
            if at >= end and (found := _DIGITS.match(sentence, at)):
                yield found
                end = found.end()
        return
    at = folded.find(b"0")
    while at >= 0:
        if found := _DIGITS.match(sentence, at):
            yield found
            end = found.end()
        at = folded.find(b"0", max(at + 1, end))


_NUM = r"(?:\d[\d.,]*|one|two|three|four|five|six|seven|eight|nine|ten|a|an)"
_SCALE = r"(?:\s?(?:m|bn|k|million|billion|trillion|thousand|hundred))?"
_LENGTH = (
    r"(?:km|kilomet(?:er|re)s?|miles?|m|metres?|meters?|cm|centimet(?:er|re)s?|mm|ft|feet|"
    r"foot|inch(?:es)?|yards?)"
)
_UNIT_ANSWERS = {
    "money": re.compile(
        rf"[£$€¥]\s?\d|\b{_NUM}{_SCALE}\s?(?:euros?|dollars?|pounds?|yen|yuan|rupees?|francs?|"
        r"roubles?|rubles?|cents?|pence|p)\b|\b\d[\d.,]*(?:m|bn)\b",
        re.IGNORECASE,
    ),
    "length": re.compile(rf"\b{_NUM}{_SCALE}\s?{_LENGTH}\b|\b\d[\d.,]*{_LENGTH}\b", re.IGNORECASE),
    "age": re.compile(
        r"\b(?:aged|age of|was|is|at)\s\d{1,3}\b|\b\d{1,3}[- ]years?[- ]old\b", re.IGNORECASE
    ),
    "duration": re.compile(
        rf"\b{_NUM}\s?(?:seconds?|minutes?|hours?|days?|weeks?|months?|years?|decades?)\b",
        re.IGNORECASE,
    ),
    "share": re.compile(
        r"\d\s?%|\bper ?cent\b|\bpercent\b|\b(?:half|third|quarter)\b", re.IGNORECASE
    ),
}


def _quantity_starts(follow: str, lead: str = "") -> re.Pattern[str]:
    """A locator for _NUM at a word start (a figure, a number word up to ten, "a" or "an")
    when ``follow`` (the start of what the pattern needs next) comes right after it."""
    words = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
    return locator(
        *(word + follow for word in (*words, "an?")),
        lead=rf"{lead}\b(?:\d(?=[\d.,]*{follow})|",
    )


_UNIT_AT = {  # where each _UNIT_ANSWERS pattern can start (see locator): after the number
    # come \s? and the first letters of a _SCALE word or of a unit (m, bn, mi(llion), ...)
    "money": _quantity_starts(
        r"\s?(?:[mkp]|b[ni]|t[rh]|hu|eu|do|y[eu]|r[uo]|fr|ce)", lead=r"[£$€¥](?=\s?\d)|"
    ),
    "length": _quantity_starts(r"\s?(?:[mk]|b[ni]|t[rh]|hu|c[me]|f[teo]|in|ya)"),
    "age": locator(
        *(word + r"\s\d" for word in ("aged", "age of", "was", "is", "at")),
        lead=r"\b(?:\d(?=\d{0,2}[- ]year)|",
    ),
    "duration": _quantity_starts(r"\s?(?:se|mi|ho|da|we|mo|ye|de)"),
    "share": locator("per", "half", "third", "quarter", lead=r"\d(?=\s?%)|\b(?:"),
}


def _glued(units: str, scales: str = "") -> frozenset[bytes]:
    """The words that can end a _NUM[_SCALE]\\s?unit match with no digit: the unit, maybe
    glued to a number word and a scale word before it (each \\s? may be empty)."""
    numbers = [b"", *b"one two three four five six seven eight nine ten a an".split()]
    return frozenset(
        n + s + u
        for n in numbers
        for s in [b"", *scales.encode().split()]
        for u in units.encode().split()
    )


# Units whose every match holds a digit or one of these whole words (see may_hold): an
# age has a figure; a share a figure before "%", or "per(cent)", "half", "third", "quarter";
# the others, when their number is a word, end with a word of _glued.
_SCALES = "m bn k million billion trillion thousand hundred"
_UNIT_WORDS = {
    "money": _glued(
        "euro euros dollar dollars pound pounds yen yuan rupee rupees franc francs rouble "
        "roubles ruble rubles cent cents pence p",
        _SCALES,
    ),
    "length": _glued(
        "km kilometer kilometers kilometre kilometres mile miles m metre metres meter meters "
        "cm centimeter centimeters centimetre centimetres mm ft feet foot inch inches yard yards",
        _SCALES,
    ),
    "age": frozenset[bytes](),
    "duration": _glued(
        "second seconds minute minutes hour hours day days week weeks month months year years "
        "decade decades"
    ),
    "share": frozenset(b"per percent half third quarter".split()),
}
# How far before a figure (a digit after a non-word character) a match of each pattern
# starts when no word of _UNIT_WORDS is there: at the figure ("5 km", "20 years", "25-year-
# old"), at a currency sign before it, or at "aged ", "age of ", "was ", "is ", "at " (a
# share is then "5%" or "5 %": one or two characters before the "%").
_UNIT_BACK = {"money": (0, 1, 2), "length": (0,), "duration": (0,), "age": (0, 5, 7, 4, 3)}
_UNIT_QUESTIONS = (
    (
        "money",
        re.compile(
            r"\b(?:how much|what)\b.*\b(?:cost|costs|pay|paid|price|spend|spent|fee|worth|sell|"
            r"sold|money|offer|offered|fetch|earn|earned|raise|raised|fine|fined|budget|salary|bid)\b"
            r"|\bwhat (?:price|fee|sum|salary|fine|bid)\b"
        ),
    ),
    (
        "length",
        re.compile(
            r"\bhow (?:far|tall|high|long is|deep|wide)\b|"
            r"\bwhat (?:is |was )?the (?:range|distance|height|length)\b"
        ),
    ),
    ("age", re.compile(r"\bhow old\b|\bwhat age\b|\bat what age\b")),
    ("duration", re.compile(r"\bhow long (?:did|does|do|will|has|have|had|would|was|were)\b")),
    (
        "share",
        re.compile(
            r"\bwhat (?:\w+ )?(?:share|percentage|proportion|rate|fraction)\b|\bwhat per ?cent"
        ),
    ),
)


def expected_unit(question: str) -> str | None:
    """The unit a number question wants, when it says: money for "how much did X pay",
    a length for "how far", an age for "how old", a share for "what percentage"."""
    q = question.casefold()
    for unit, pattern in _UNIT_QUESTIONS:
        if pattern.search(q):
            return unit
    return None


def has_unit(sentence: str, unit: str) -> bool:
    """Whether ``sentence`` holds a quantity in ``unit`` (see :func:`expected_unit`)."""
    pattern = _UNIT_ANSWERS[unit]
    folded = fold(sentence)
    words = _UNIT_WORDS[unit]
    if folded is None or (words and not words.isdisjoint(folded.split())):
        return found(pattern, _UNIT_AT[unit], sentence)
    # Without those words every match is anchored at a figure (see _UNIT_BACK); none
    # when the sentence has no digit.
    if unit == "share":
        starts = [at - back for at in found_all(sentence, "%") for back in (1, 2)]
    else:
        starts = [at - back for at in figure_starts(folded) for back in _UNIT_BACK[unit]]
    return any(at >= 0 and pattern.match(sentence, at) for at in starts)


_WHY_Q = re.compile(r"^\W*(?:why\b|what (?:is|was|are|were) the (?:reason|cause|purpose|aim)s?\b)")
_REASON = re.compile(
    r"\b(?:because|due to|owing to|thanks to|as a result|in order to|so as to|so that|"
    r"in an? (?:effort|attempt|bid|move) to|aim(?:s|ed)? (?:to|at)|reasons?|caused? by|"
    r"led to|leads? to|result(?:s|ed)? (?:in|from)|strategy|designed to|intended to|"
    r"in response to|meant to|in a bid)\b",
    re.IGNORECASE,
)
_PURPOSE = re.compile(r"\bto ([a-z]+)\b")
# Every _REASON match holds one of these as a whole word (see may_hold).
_REASON_WORDS = frozenset(
    b"because due owing thanks result results resulted order so effort attempt bid move aim "
    b"aims aimed reason reasons cause caused led lead leads strategy designed intended "
    b"response meant".split()
)
_REASON_AT = locator(
    "bec", "due", "owi", "tha", "as ", "in ", "so ", "aim", "rea", "cau", "led", "lea",
    "res", "str", "des", "int", "mea", lead=r"\b(?:",
)  # fmt: skip


def asks_reason(question: str) -> bool:
    """Whether the question asks why ("Why is ...", "What was the reason ...")."""
    return bool(_WHY_Q.search(question.casefold()))


def gives_reason(sentence: str, question_terms: Set[str]) -> bool:
    """Whether the sentence states a cause or purpose: a causal phrase, or "to" + a verb the
    question does not already use ("... to compensate for ...", not "... to acquire ...")."""
    if may_hold(fold(sentence), _REASON_WORDS, digits=False) and found(
        _REASON, _REASON_AT, sentence
    ):
        return True
    at = sentence.find("to ")  # every _PURPOSE match starts with "to "
    end = 0
    while at >= 0:
        if at >= end and (match := _PURPOSE.match(sentence, at)):
            terms = set(tokenize(match.group(1)))
            if terms and not terms <= question_terms:
                return True
            end = match.end()
        at = sentence.find("to ", at + 1)
    return False


@dataclass(frozen=True, slots=True)
class Evidence:
    """Features of one (question, best sentence) pair; shares are in 0..1."""

    coverage: float  # IDF share of question terms found in the sentence, headline or paragraph
    sentence_coverage: float  # ... found in the sentence (in context) or headline alone
    unknown_share: float  # IDF share of question terms that no article contains
    rarest_matched: bool  # the question's most informative term is in sentence/paragraph
    type_matched: bool  # the sentence holds new content of the kind the question asks for
    score_ratio: float  # the fused score over the most a sentence could score for this query
    terms: int  # distinct question terms
    predicate_coverage: float  # IDF share of the question's lower-case words in the sentence
    entity_coverage: float  # IDF share of the question's names in the sentence (read with the
    # one before when it leans on it) or headline
    focus_matched: (
        float  # share of the question's focus words (what is asked about) in the sentence
    )
    type_missing: bool  # the question asks for a number or date and the sentence has no new one

    def features(self) -> tuple[float, ...]:
        """The inputs of the decline model, in :data:`WEIGHTS` order."""
        return (
            self.coverage,
            self.sentence_coverage,
            self.unknown_share,
            float(self.rarest_matched),
            float(self.type_matched),
            self.score_ratio,
            1.0 / max(self.terms, 1),
            self.predicate_coverage,
            self.entity_coverage,
            self.focus_matched,
            float(self.type_missing),
        )

    def confidence(self) -> float:
        """Probability-like 0..1 score that the sentence answers; below the threshold the
        engine declines. A logistic model fitted by ``bench/calibrate_decline.py``."""
        z = BIAS + sum(w * x for w, x in zip(WEIGHTS, self.features(), strict=True))
        return 1.0 / (1.0 + math.exp(-z))


# Fitted by bench/calibrate_decline.py (see README "How an answer is chosen") on seed_dev
# (seeds and seeds+BBC), bbc_dev and squad_dev_a. The fitted bias (-4.195) is raised by
# 0.147 so that the default threshold 0.3 sits where 0.27 did: on the dev sets that point
# declines as many unanswerable questions and answers more answerable ones.
WEIGHTS = (1.631, 2.281, 1.058, 0.374, 0.413, 0.080, -3.506, 0.556, 1.339, 0.367, -0.698)
BIAS = -4.048


def gather(
    question: str,
    terms: Sequence[str],
    weights: Sequence[float],
    known: Sequence[bool],
    sentence_terms: set[str],
    passage_terms: set[str],
    sentence: str,
    score_ratio: float,
) -> Evidence:
    """Compute :class:`Evidence` for one candidate."""
    total = sum(weights) or 1.0
    near = sentence_terms | passage_terms
    pairs = list(zip(terms, weights, strict=True))
    coverage = sum(w for t, w in pairs if t in near) / total
    sentence_cov = sum(w for t, w in pairs if t in sentence_terms) / total
    unknown = sum(w for w, k in zip(weights, known, strict=True) if not k) / total
    rarest = max(range(len(terms)), key=lambda i: weights[i]) if terms else -1
    kind = expected_type(question)
    names = name_terms(question)
    entity = [(t, w) for t, w in pairs if t in names]
    predicate = [(t, w) for t, w in pairs if t not in names]
    novel = novel_of_type(sentence, kind, set(terms))
    return Evidence(
        coverage=coverage,
        sentence_coverage=sentence_cov,
        unknown_share=unknown,
        rarest_matched=rarest >= 0 and terms[rarest] in near,
        type_matched=novel,
        score_ratio=score_ratio,
        terms=len(terms),
        predicate_coverage=_share(predicate, sentence_terms),
        entity_coverage=_share(entity, sentence_terms),
        focus_matched=_focus_share(question, sentence_terms),
        type_missing=kind in ("number", "date") and not novel,
    )


_WH = re.compile(r"^\W*(?:how|what|which|who|whom|whose|when|where|why)\b", re.IGNORECASE)


def focus_terms(question: str) -> list[list[str]]:
    """Index terms of the question's first two lower-case content words.

    In "How many votes did X win" or "What loan fee did X pay" those words name what is
    asked; a sentence on the right topic that lacks them is usually a near miss.
    """
    from index.text import QUESTION_WORDS, tokenize

    if not _WH.match(question):
        return []
    focus: list[list[str]] = []
    for word in question.split()[1:]:
        if not word[:1].islower() or word.casefold() in QUESTION_WORDS:
            continue
        terms = tokenize(word)
        if terms:
            focus.append(terms)
        if len(focus) == 2:
            break
    return focus


_LEAD_IN = frozenset("is was are were the a an much many".split())
_META = frozenset("type types kind kinds sort sorts".split())
_MODALS = frozenset("may might can could will would shall should must".split())


def measure_words(question: str) -> list[list[str]]:
    """Index terms of the noun phrase right after the question word, which names the thing
    measured or listed: "range" in "What is the range of ...", "containers" in "How many
    containers ...". Empty when a verb's auxiliary comes first ("How much did X cost?"),
    whose focus is a verb at the end that this does not try to find."""
    from index.text import STOP_WORDS, tokenize

    raw = [w.strip("?,.!:;\"'") for w in question.split()]
    words = [w.casefold() for w in raw]
    if len(words) < 2:
        return []
    if words[0] == "how" and words[1] in ("many", "much"):
        start = 2
    elif words[0] in ("what", "which"):
        start = 1
    else:
        return []  # "How tall is X", "When was X": the noun after them is the subject
    found: list[list[str]] = []
    for word, shown in zip(words[start:], raw[start:], strict=True):
        if not found and (word in _LEAD_IN or word in _META or word == "of"):
            continue
        if word in STOP_WORDS or word in _MODALS or not shown[:1].islower() or len(found) == 2:
            break
        terms = tokenize(word)
        if terms:
            found.append(terms)
    return found


def _focus_share(question: str, found: set[str]) -> float:
    """Share of the question's focus words (see :func:`focus_terms`) found in ``found``."""
    focus = focus_terms(question)
    if not focus:
        return 1.0
    return sum(any(t in found for t in terms) for terms in focus) / len(focus)


def _share(pairs: Sequence[tuple[str, float]], found: set[str]) -> float:
    """IDF share of ``pairs`` found in ``found`` (1.0 when there is nothing to find)."""
    total = sum(w for _, w in pairs)
    return sum(w for t, w in pairs if t in found) / total if total else 1.0


@lru_cache(maxsize=1024)  # asked by the rerank and twice by the decline rule per question
def name_terms(question: str) -> frozenset[str]:
    """Index terms of the question's capitalised words (names), first word excepted."""
    from index.text import tokenize

    words = question.split()[1:]
    return frozenset(
        t for w in words if w[:1].isupper() or any(c.isdigit() for c in w) for t in tokenize(w)
    )
