"""Quicker scans for the long case-insensitive patterns of :mod:`index.evidence`.

Python's ``re`` tries every alternative of a long IGNORECASE alternation at every word start.
These helpers find where a pattern could start, or rule a sentence out, with cheap
case-sensitive scans, and leave the decision to the pattern itself, so results stay those of
the patterns (the argument is below; tests/index/test_evidence_fast.py checks its premises
over every code point and the results against a reference copy).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

# Locators. Each pattern P keeps its definition; a cheap case-sensitive *locator* run over the
# lower-cased sentence lists the positions where P could start, and P itself decides there
# with ``P.match(sentence, at)``. Why the results are identical:
#   1. ``P.finditer`` tries positions left to right and, at each, does what ``P.match``
#      does there (``\b`` and look-behinds see the text before the position); after a
#      match it goes on from its end (no pattern here can match the empty string). So
#      visiting, in order, any superset of the positions where ``P.match`` succeeds,
#      skipping those inside the last match, yields the same matches; ``P.search`` is
#      the first of them.
#   2. Each locator matches exactly one character at every position where P can start:
#      ``\b`` (or P's own leading class) and then the first character of one of P's
#      alternatives, with a look-ahead on the next few (lower-case, no IGNORECASE), so
#      ``finditer`` visits every such position.
#   3. Lower-casing keeps positions and turns IGNORECASE matching into plain matching:
#      outside the three characters of ``FOLD_TRAPS`` (İ ı ſ, which ``re`` matches to i,
#      i and s but whose ``lower()`` is not that letter), every character has a
#      one-character ``lower()``, whatever matches an ASCII literal x under IGNORECASE
#      lower-cases to x, and ``\w``, ``\d``, ``\s`` keep their verdict under ``lower()``
#      (checked over all code points by tests/index/test_evidence_fast.py). Sentences
#      holding a trap character take the plain ``finditer``/``search`` path.
FOLD_TRAPS = re.compile("[\u0130\u0131\u017f]")


def lowered(text: str) -> str | None:
    """``text.lower()`` when locators may read it (see above), else None."""
    if not text.isascii() and FOLD_TRAPS.search(text):
        return None
    return text.lower()


def locator(*beginnings: str, lead: str = r"\b(?:\d|") -> re.Pattern[str]:
    """A locator: ``lead``, then the first character of one of the (lower-case)
    ``beginnings``, with the rest of it as a look-ahead; it consumes one character."""
    rests: dict[str, list[str]] = {}
    for word in beginnings:
        rests.setdefault(word[0], []).append(word[1:])
    parts = [
        re.escape(first) + (f"(?={'|'.join(rest)})" if all(rest) else "")
        for first, rest in rests.items()
    ]
    return re.compile(lead + "|".join(parts) + ")")


def matches(
    pattern: re.Pattern[str], starts: re.Pattern[str], text: str, low: str | None
) -> Iterator[re.Match[str]]:
    """``pattern.finditer(text)``, trying only where ``starts`` matches ``low``."""
    if low is None:
        yield from pattern.finditer(text)
        return
    end = 0
    for start in starts.finditer(low):
        at = start.start()
        if at >= end and (found := pattern.match(text, at)):
            yield found
            end = found.end()


def found(pattern: re.Pattern[str], starts: re.Pattern[str], text: str) -> bool:
    """``bool(pattern.search(text))``, trying only where ``starts`` matches."""
    low = lowered(text)
    if low is None:
        return bool(pattern.search(text))
    return any(pattern.match(text, start.start()) for start in starts.finditer(low))


# A quicker first test, before any locator. A match of index.evidence's _NUMBER_TOKEN, _DATE
# or _DIGITS holds a digit, or is (starts with, for "last week" and "o'clock") a whole word:
# a maximal run of word characters, between \b and \b, from a word set kept beside the
# pattern there (_NUMBER_WORDS, _DATE_WORDS; _UNIT_WORDS and _REASON_WORDS play the same part
# for has_unit and gives_reason). :func:`fold` maps each
# character to one byte: Latin-1 word characters to themselves (ASCII letters lower-cased),
# digits to "0", everything else to a space. Only four characters besides ASCII letters
# match an ASCII letter under IGNORECASE (İ ı ſ K) and Latin-1's only \d are 0-9; a
# sentence holding one of those four or a digit beyond 0-9 (UNFOLDABLE) is not folded.
# So every listed word of a match is a word of the folded sentence's split(), every digit
# is a "0", and a digit after a non-word character follows a space: no "0" and no listed
# word among its words means no match at all.
FOLD_BYTES = bytes(
    0x30
    if re.fullmatch(r"\d", chr(b))
    else ord(chr(b).lower() if chr(b).isascii() else chr(b))
    if re.fullmatch(r"\w", chr(b))
    else 0x20
    for b in range(256)
)

UNFOLDABLE = re.compile("[\u0130\u0131\u017f\u212a]|[^\\D\x00-\xff]")
LETTER_LIKE = frozenset("\u0130\u0131\u017f\u212a")


def fold(sentence: str) -> bytes | None:
    """The sentence through FOLD_BYTES, one byte per character (a character past Latin-1
    becomes "?", then a space), or None when it holds an UNFOLDABLE character."""
    data = sentence.encode("latin-1", "replace")
    if not sentence.isascii():
        # Look at the few characters that became "?" (str.isdecimal is re's \d); the
        # regex is quicker when there are many.
        if data.count(b"?") > 8:
            if UNFOLDABLE.search(sentence):
                return None
        else:
            at = data.find(b"?")
            while at >= 0:
                if sentence[at] in LETTER_LIKE or sentence[at].isdecimal():
                    return None
                at = data.find(b"?", at + 1)
    return data.translate(FOLD_BYTES)


def may_hold(folded: bytes | None, words: frozenset[bytes], *, digits: bool = True) -> bool:
    """False only when the :func:`fold`-ed sentence has no word in ``words`` and (with
    ``digits``) no digit (see above)."""
    return folded is None or (digits and b"0" in folded) or not words.isdisjoint(folded.split())


def found_all(text: str, part: str) -> Iterator[int]:
    """Where ``part`` occurs in ``text``."""
    at = text.find(part)
    while at >= 0:
        yield at
        at = text.find(part, at + 1)


def figure_starts(folded: bytes) -> Iterator[int]:
    """Where a digit follows a non-word character, or starts the :func:`fold`-ed text."""
    at = folded.find(b"0")
    while at >= 0:
        if at == 0 or folded[at - 1] == 0x20:
            yield at
        at = folded.find(b"0", at + 1)
