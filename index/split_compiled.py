"""The sentence splitter of :mod:`index.text`, compiled (numba) for ASCII paragraphs.

A build cuts every paragraph into sentences; in Python that is a regex scan plus a few
string operations per full stop, a quarter of a layout worker's time. Most paragraphs are
ASCII, where a character is a byte and its class is a comparison: this kernel takes a
batch's folded paragraphs as bytes and gives the spans ``_folded_spans`` gives (it follows
that function step by step: candidates, the usual ". " case, the last run of end marks of
a longer candidate, and ``_boundary_at``'s rules with the abbreviation and starter word
sets coded as integers). A paragraph with any other character is left to Python.

``AVAILABLE`` is False when numba cannot be imported.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from index.jit import AVAILABLE as AVAILABLE  # re-exported: callers test it here
from index.jit import njit
from index.text import _MAYBE_FINAL, _NEVER_FINAL, _STARTERS

_MAX_CODED = 12  # letters of the longest word a code holds (5 bits a letter)


def word_code(word: str) -> int:
    """A lower-case a-z word of at most 12 letters as an integer (-1 for any other)."""
    if not 0 < len(word) <= _MAX_CODED or not (word.isascii() and word.isalpha()):
        return -1
    if not word.islower():
        return -1
    code = 0
    for char in word:
        code = code * 32 + ord(char) - 96
    return code


def _codes(words: frozenset[str]) -> npt.NDArray[np.int64]:
    codes = sorted(word_code(word) for word in words)
    if codes[0] < 0:
        raise ValueError("the splitter's word sets must be lower-case a-z words")
    return np.asarray(codes, dtype=np.int64)


NEVER_FINAL = _codes(_NEVER_FINAL)
MAYBE_FINAL = _codes(_MAYBE_FINAL)
STARTERS = _codes(_STARTERS)

# Byte classes (ASCII): end marks, closing marks, opening marks, word characters.
_END = np.zeros(256, dtype=np.bool_)
_END[[ord(c) for c in ".!?"]] = True
_CLOSE = np.zeros(256, dtype=np.bool_)
_CLOSE[[ord(c) for c in "\"')]"]] = True
_OPEN = np.zeros(256, dtype=np.bool_)
_OPEN[[ord(c) for c in "\"'(["]] = True
_WORDISH = np.zeros(256, dtype=np.bool_)  # [\w.'-] in ASCII
_WORDISH[[c for c in range(128) if chr(c).isalnum() or chr(c) in "_.'-"]] = True
_WORD_AT = np.zeros(256, dtype=np.bool_)  # [\w'] in ASCII
_WORD_AT[[c for c in range(128) if chr(c).isalnum() or chr(c) in "_'"]] = True
_SPACE = 0x20
_BEFORE_WINDOW = 64  # as index.text._BEFORE_WINDOW


@njit(cache=True, nogil=True)
def _in(codes: Any, code: int) -> bool:
    if code < 0:
        return False
    at = np.searchsorted(codes, code)
    return bool(at < codes.shape[0] and codes[at] == code)


@njit(cache=True, nogil=True)
def _code_of(t: Any, lo: int, hi: int) -> int:
    """:func:`word_code` of ``t[lo:hi]`` lower-cased."""
    size = hi - lo
    if size <= 0 or size > _MAX_CODED:
        return -1
    code = 0
    for k in range(lo, hi):
        c = t[k]
        if 65 <= c <= 90:
            c += 32
        if not 97 <= c <= 122:
            return -1
        code = code * 32 + (c - 96)
    return code


@njit(cache=True, nogil=True)
def _upper(c: int) -> bool:
    return 65 <= c <= 90


@njit(cache=True, nogil=True)
def _lower(c: int) -> bool:
    return 97 <= c <= 122


@njit(cache=True, nogil=True)
def _digit(c: int) -> bool:
    return 48 <= c <= 57


@njit(cache=True, nogil=True)
def _next_lower_code(t: Any, size: int, start: int) -> int:
    """Code of the lower-cased ``[\\w']*`` run at ``start`` (``index.text._next_lower``)."""
    end = start
    while end < size and _WORD_AT[t[end]]:
        end += 1
    return _code_of(t, start, end)


@njit(cache=True, nogil=True)
def _dotted(t: Any, lo: int, hi: int) -> bool:
    """``(?:[A-Za-z]\\.)+[A-Za-z]`` matches all of ``t[lo:hi]``."""
    size = hi - lo
    if size < 3 or size % 2 == 0:
        return False
    for k in range(size):
        c = t[lo + k]
        if k % 2 == 0:
            if not (_upper(c) or _lower(c)):
                return False
        elif c != 46:
            return False
    return True


@njit(cache=True, nogil=True)
def _boundary(
    t: Any,
    size: int,
    end_start: int,
    end_len: int,
    end_dot: bool,
    close: bool,
    next_start: int,
    never: Any,
    maybe: Any,
    starters: Any,
) -> bool:
    """``index.text._boundary_at`` for ASCII text ``t[:size]``; the end marks are
    ``t[end_start:end_start+end_len]`` (``end_dot``: one of them is a full stop)."""
    if next_start >= size:
        return False
    start_of_next = next_start
    first = t[next_start]
    if _OPEN[first]:
        while start_of_next < size and _OPEN[t[start_of_next]]:
            start_of_next += 1
        if start_of_next >= size:
            return False
        first = t[start_of_next]
    if _lower(first):
        return False
    alnum = _upper(first) or _lower(first) or _digit(first)
    if (end_len == 1 and not end_dot) or (end_len > 1 and not end_dot) or close:
        return _upper(first) or _digit(first) or not alnum
    if end_len > 1:
        return _upper(first) or _digit(first)
    # the word before the full stop (index.text._word_before)
    floor = max(0, end_start - _BEFORE_WINDOW)
    lo = end_start
    while lo > floor and t[lo - 1] != _SPACE:
        lo -= 1
    if lo == floor:
        lo = 0  # no space in the window: str.rfind gives -1, the word starts at 0
    whole = True
    for k in range(lo, end_start):
        if not _WORDISH[t[k]]:
            whole = False
            break
    if not whole:
        lo = end_start
        while lo > floor and _WORDISH[t[lo - 1]]:
            lo -= 1
    # bare: lower-cased, stripped of full stops and apostrophes
    b0, b1 = lo, end_start
    while b0 < b1 and (t[b0] == 46 or t[b0] == 39):
        b0 += 1
    while b1 > b0 and (t[b1 - 1] == 46 or t[b1 - 1] == 39):
        b1 -= 1
    bare = _code_of(t, b0, b1)
    if _in(never, bare):
        return False
    if end_start - lo == 1 and _upper(t[lo]):
        return False  # an initial
    has_dot = False
    for k in range(lo, end_start):
        if t[k] == 46:
            has_dot = True
            break
    if has_dot and _dotted(t, lo, end_start):
        return _in(starters, _next_lower_code(t, size, start_of_next))
    if _in(maybe, bare):
        return _in(starters, _next_lower_code(t, size, start_of_next))
    return _upper(first) or _digit(first) or not alnum


@njit(cache=True, nogil=True)
def ascii_spans(
    blob: Any, offsets: Any, lengths: Any, never: Any, maybe: Any, starters: Any
) -> Any:
    """Sentence spans of each folded paragraph ``blob[offsets[p]:offsets[p]+lengths[p]]``.

    Returns (sentences of each paragraph, -1 where it is not ASCII; start, end and words of
    each sentence, paragraph after paragraph); an empty paragraph has the span (0, 0).
    """
    n = offsets.shape[0]
    cap = blob.shape[0] // 2 + n + 1
    counts = np.empty(n, dtype=np.int64)
    starts = np.empty(cap, dtype=np.int64)
    ends = np.empty(cap, dtype=np.int64)
    words = np.empty(cap, dtype=np.int64)
    out = 0
    for p in range(n):
        t = blob[offsets[p] : offsets[p] + lengths[p]]
        size = t.shape[0]
        ascii = True
        for k in range(size):
            if t[k] >= 128:
                ascii = False
                break
        if not ascii:
            counts[p] = -1
            continue
        first_out = out
        start = 0
        i = 0
        while i < size:
            if not _END[t[i]]:
                i += 1
                continue
            j = i  # the run of end and closing marks from i
            while j < size and (_END[t[j]] or _CLOSE[t[j]]):
                j += 1
            if j >= size or t[j] != _SPACE:
                i = j  # no candidate starts in this run
                continue
            at = i
            past = j + 1
            if past - at == 2 and past < size:  # the usual ". "
                if _boundary(t, size, at, 1, t[at] == 46, False, past, never, maybe, starters):
                    starts[out] = start
                    ends[out] = at + 1
                    out += 1
                    start = past
            else:
                if past >= size:
                    break  # no word after the space: no boundary from here on
                k = j  # the last run of end marks, then its closing marks
                while k > at and _CLOSE[t[k - 1]]:
                    k -= 1
                e1 = k
                dot = False
                while e1 > at and _END[t[e1 - 1]]:
                    e1 -= 1
                    dot = dot or t[e1] == 46
                if _boundary(t, size, e1, k - e1, dot, j > k, past, never, maybe, starters):
                    if j > start:
                        starts[out] = start
                        ends[out] = j
                        out += 1
                    start = past
            i = past
        if start < size:
            starts[out] = start
            ends[out] = size
            out += 1
        if out == first_out:
            starts[out] = 0
            ends[out] = 0
            out += 1
        for s in range(first_out, out):
            spaces = 0
            for k in range(starts[s], ends[s]):
                if t[k] == _SPACE:
                    spaces += 1
            words[s] = spaces + (1 if ends[s] > starts[s] else 0)
        counts[p] = out - first_out
    return counts, starts[:out], ends[:out], words[:out]


def split_paragraphs(
    blob: bytes, offsets: npt.NDArray[np.int64], lengths: npt.NDArray[np.int64]
) -> tuple[
    npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]
]:
    """:func:`ascii_spans` of a batch's blob of folded paragraphs."""
    result: tuple[
        npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]
    ] = ascii_spans(
        np.frombuffer(blob, dtype=np.uint8),
        offsets,
        lengths,
        NEVER_FINAL,
        MAYBE_FINAL,
        STARTERS,
    )
    return result


def warm() -> None:
    """Compile (or load the cached) kernel, e.g. before forking workers that would each
    do it."""
    if AVAILABLE:
        text = b"Mr. A. B. Smith said so. The end."
        split_paragraphs(text, np.zeros(1, dtype=np.int64), np.full(1, len(text), np.int64))
