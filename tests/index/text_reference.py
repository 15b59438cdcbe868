"""The sentence splitter and tokenizer as they were before the build was sped up (regex
search for the word before a full stop, a boundary regex run over every character, one
term look-up per word): the reference the faster ones in :mod:`index.text` must equal."""

from __future__ import annotations

import re

from index.text import (
    _BEFORE_WINDOW,
    _BOUNDARY,
    _DOTTED,
    _MAYBE_FINAL,
    _NEVER_FINAL,
    _NEXT_WORD,
    _STARTERS,
    _TOKEN,
    _expand,
)

_WORD_BEFORE = re.compile(r"([\w.'’-]+)$")


def _is_boundary(text: str, match: re.Match[str]) -> bool:
    """Decide whether the punctuation in ``match`` really ends a sentence.

    Looks only at a few characters on either side, so a paragraph is split in linear time.
    """
    end, close = match.group("end"), match.group("close")
    after = _NEXT_WORD.match(text, match.end())
    start_of_next = after.start(1) if after else match.end()
    if start_of_next >= len(text):
        return False
    first = text[start_of_next]
    next_lower = after.group(1).lower() if after else ""
    if first.islower():
        return False  # "... and so on. then" or "e.g. the": never a new sentence
    if end in ("!", "?") or (len(end) > 1 and "." not in end) or close:
        return first.isupper() or first.isdigit() or not first.isalnum()
    if end in ("...", "…") or len(end) > 1:
        return first.isupper() or first.isdigit()
    before = _WORD_BEFORE.search(text, max(0, match.start() - _BEFORE_WINDOW), match.start())
    word = before.group(1) if before else ""
    bare = word.lower().strip(".'’")
    if bare in _NEVER_FINAL:
        return False
    if len(word) == 1 and word.isupper():
        return False  # an initial: "John F. Kennedy"
    if _DOTTED.fullmatch(word):
        # a dotted acronym ("U.S", the last dot is the match): a boundary only before a
        # word that usually starts a sentence
        return next_lower in _STARTERS
    if bare in _MAYBE_FINAL:
        return next_lower in _STARTERS
    return first.isupper() or first.isdigit() or not first.isalnum()


def split_sentences(paragraph: str) -> list[str]:
    """Cut a paragraph into sentences; text without a full stop is one sentence."""
    text = " ".join(paragraph.split())
    if not text:
        return []
    sentences: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        if _is_boundary(text, match):
            cut = match.end("close")
            piece = text[start:cut].strip()
            if piece:
                sentences.append(piece)
            start = match.end()
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences


def sentence_spans(paragraph: str) -> list[tuple[int, int]]:
    """Character spans of the sentences inside ``paragraph`` (after white-space folding)."""
    text = " ".join(paragraph.split())
    spans: list[tuple[int, int]] = []
    cursor = 0
    for sentence in split_sentences(text):
        begin = text.index(sentence, cursor)
        spans.append((begin, begin + len(sentence)))
        cursor = begin + len(sentence)
    return spans


def tokenize(text: str) -> list[str]:
    """Index terms of a text, one token match at a time."""
    terms: list[str] = []
    for raw in _TOKEN.findall(text):
        terms += _expand(raw)
    return terms
