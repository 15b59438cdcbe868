"""The compiled splitter cuts ASCII paragraphs exactly where ``_folded_spans`` does.

``_folded_spans`` itself is held to the reference splitter in test_build_coded; here the
kernel is held to it on fuzzed ASCII runs of abbreviations, initials, dotted acronyms,
marks and quotes (plus long words, for the 64-character window of the word before a full
stop), on real paragraphs, and it must leave every other paragraph to Python.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from test_build_coded import PIECES, awkward_texts, real_texts

from index import split_compiled
from index.split_compiled import split_paragraphs, word_code
from index.text import _MAYBE_FINAL, _NEVER_FINAL, _STARTERS, _folded_spans

pytestmark = pytest.mark.skipif(not split_compiled.AVAILABLE, reason="numba is not installed")

ASCII_PIECES = [p for p in PIECES if p.isascii()] + [
    "Inc.",
    "Ltd.",
    "al.",
    "etc.",
    "U.S.",
    "However",
    "according",
    "'the",
    '("The',
    "[a",
    "?!",
    "!?",
    "..",
    "'.'",
    '.")',
    "x.y",
    "_.",
    "i.e.",
    "J.",
    "9.",
    "(",
]


def ascii_texts(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    texts = []
    for _ in range(n):
        words = [rng.choice(ASCII_PIECES) for _ in range(rng.randint(0, 30))]
        glue = [rng.choice([" ", " ", " ", ""]) for _ in words]
        text = "".join(w + g for w, g in zip(words, glue, strict=True))
        if rng.random() < 0.15:
            long = "x" * rng.randint(55, 75)
            text = rng.choice(["", "a "]) + long + ". The " + "A" * rng.randint(60, 70) + ". Then"
        elif rng.random() < 0.1:  # a dotted acronym longer than the window
            dotted = ".".join("ABCDEFGHIJ"[: rng.randint(1, 10)] * rng.randint(1, 5))
            text = rng.choice(["", "a ", "(", "x-"]) + dotted + ". " + rng.choice(["Zed", "The"])
        texts.append(text)
    return texts


def check(texts: list[str]) -> int:
    """Split ``texts`` (folded) with the kernel and compare; returns the ASCII ones."""
    folded = [" ".join(text.split()) for text in texts]
    encoded = [text.encode("utf-8") for text in folded]
    lengths = np.asarray([len(e) for e in encoded], dtype=np.int64)
    offsets = np.cumsum(lengths) - lengths
    counts, starts, ends, words = split_paragraphs(b"".join(encoded), offsets, lengths)
    at = 0
    for text, count in zip(folded, counts.tolist(), strict=True):
        if not text.isascii():
            assert count == -1, text
            continue
        want = _folded_spans(text) or [(0, 0)]
        got = list(
            zip(starts[at : at + count].tolist(), ends[at : at + count].tolist(), strict=True)
        )
        assert got == want, text
        assert words[at : at + count].tolist() == [
            text.count(" ", b, e) + (e > b) for b, e in want
        ], text
        at += count
    assert at == starts.shape[0]
    return sum(text.isascii() for text in folded)


@pytest.mark.parametrize("seed", [1, 2])
def test_ascii_fuzz_splits_like_python(seed: int) -> None:
    assert check(ascii_texts(6_000, seed)) == 6_000


def test_real_and_awkward_text_splits_like_python() -> None:
    texts = real_texts() + awkward_texts(3_000) + ["", "é. The end. Done."]
    assert 50 < check(texts) < len(texts)  # some are ASCII, some are left to Python


def test_word_sets_are_coded_both_ways() -> None:
    for words, codes in (
        (_NEVER_FINAL, split_compiled.NEVER_FINAL),
        (_MAYBE_FINAL, split_compiled.MAYBE_FINAL),
        (_STARTERS, split_compiled.STARTERS),
    ):
        assert sorted(word_code(w) for w in words) == codes.tolist()
    assert word_code("The") == word_code("th3") == word_code("") == word_code("a" * 13) == -1
