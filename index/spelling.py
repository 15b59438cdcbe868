"""Typo repair for question words the corpus has never seen ("ferarri" -> "ferrari").

Only words absent from the index are touched, and only into a word one edit away that the
index does contain (the most frequent such word), so a correct question is never changed.
"""

from __future__ import annotations

from collections.abc import Callable

from index.text import STOP_WORDS, stem_word

_LETTERS = "abcdefghijklmnopqrstuvwxyz"
MIN_LENGTH = 4


def _edits1(word: str) -> set[str]:
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    deletes = [a + b[1:] for a, b in splits if b]
    transposes = [a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1]
    replaces = [a + c + b[1:] for a, b in splits if b for c in _LETTERS]
    inserts = [a + c + b for a, b in splits for c in _LETTERS]
    return set(deletes + transposes + replaces + inserts)


def correct_word(word: str, doc_freq: Callable[[str], int]) -> str | None:
    """The index term to use for an unknown plain ``word``, or None to leave it alone."""
    if len(word) < MIN_LENGTH or not word.isalpha() or not word.isascii():
        return None
    best: tuple[int, str] | None = None
    for candidate in _edits1(word):
        if candidate in STOP_WORDS:
            continue
        term = stem_word(candidate)
        df = doc_freq(term)
        if df and (best is None or (df, term) > best):
            best = (df, term)
    return best[1] if best else None
