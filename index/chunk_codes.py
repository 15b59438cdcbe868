"""White-space folding and chunk interning of a build batch in one compiled pass (numba).

A layout worker folds each paragraph's white space (``" ".join(text.split())``), cuts it into
white-space delimited chunks and looks every chunk up in its table of chunks seen before.
In Python that is a ``str.split`` plus a dict look-up per word, a new string object for
each of the tens of millions of words of a large corpus, and most of a worker's time. Here
the batch's UTF-8 bytes are folded and split in one pass, and each chunk is found by its
hash in a table kept as arrays (bytes in an arena): only chunks never seen before become
Python strings, to be tokenised once. White space is exactly what ``str.split`` splits on
(the ASCII controls and spaces plus the Unicode ones, matched on their UTF-8 bytes).

``AVAILABLE`` is False when numba cannot be imported; :mod:`index.build_layout` then splits
and looks chunks up in Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from index.jit import AVAILABLE as AVAILABLE  # re-exported: callers test it here
from index.jit import njit

_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)
_SPACE = 0x20
# Per byte: 0 cannot start white space, 1 is white space, 2 may start a multi-byte one.
_CLASS = np.zeros(256, dtype=np.uint8)
_CLASS[[0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x1F, 0x20]] = 1
_CLASS[[0xC2, 0xE1, 0xE2, 0xE3]] = 2
_TAG_MASK = np.int64(-(1 << 32))  # a table entry's hash bits
_OFFSET_MASK = np.int64((1 << 32) - 1)  # a table entry's record offset plus one


@njit(cache=True, nogil=True)
def _space_len(raw: Any, i: int, end: int) -> int:
    """Bytes of the white-space character at ``raw[i]`` (0 if it is not one); ``raw`` is
    valid UTF-8, so only a lead byte can start one."""
    b = raw[i]
    if b == 0x20 or 0x09 <= b <= 0x0D or 0x1C <= b <= 0x1F:
        return 1
    if b < 0xC2 or b > 0xE3:
        return 0
    if b == 0xC2:  # U+0085, U+00A0
        if i + 1 < end and (raw[i + 1] == 0x85 or raw[i + 1] == 0xA0):
            return 2
        return 0
    if i + 2 >= end:
        return 0
    b1 = raw[i + 1]
    b2 = raw[i + 2]
    if b == 0xE1:  # U+1680
        return 3 if b1 == 0x9A and b2 == 0x80 else 0
    if b == 0xE2:  # U+2000..U+200A, U+2028, U+2029, U+202F, U+205F
        if b1 == 0x80 and (b2 <= 0x8A or b2 == 0xA8 or b2 == 0xA9 or b2 == 0xAF):
            return 3
        return 3 if b1 == 0x81 and b2 == 0x9F else 0
    if b == 0xE3:  # U+3000
        return 3 if b1 == 0x80 and b2 == 0x80 else 0
    return 0


@njit(cache=True, nogil=True)
def _read_u32(arena: Any, at: int) -> Any:
    """The little-endian unsigned 32-bit number at ``arena[at]``."""
    return (
        np.int64(arena[at])
        | (np.int64(arena[at + 1]) << 8)
        | (np.int64(arena[at + 2]) << 16)
        | (np.int64(arena[at + 3]) << 24)
    )


@njit(cache=True, nogil=True)
def _write_u32(arena: Any, at: int, value: int) -> None:
    for k in range(4):
        arena[at + k] = (value >> (8 * k)) & 0xFF


@njit(cache=True, nogil=True)
def _entry(h: Any, record: int) -> Any:
    """A table slot's value: the hash's high half (to skip most mismatches without reading
    the arena) and the record's offset plus one (0 is an empty slot)."""
    return np.int64((h >> np.uint64(32)) << np.uint64(32)) | np.int64(record + 1)


@njit(cache=True, nogil=True)
def _rehash(chunk_hash: Any, arena: Any, n_chunks: int, size: int) -> Any:
    """A table of ``size`` slots (a power of two) holding chunks ``0 .. n_chunks-1`` (their
    records lie in the arena in id order)."""
    table = np.zeros(size, dtype=np.int64)
    mask = np.uint64(size - 1)
    record = 0
    for c in range(n_chunks):
        h = chunk_hash[c]
        slot = np.int64(h & mask)
        while table[slot] != 0:
            slot = (slot + 1) & (size - 1)
        table[slot] = _entry(h, record)
        record += 8 + _read_u32(arena, record + 4)
    return table


@njit(cache=True, nogil=True)
def fold_and_intern(
    raw: Any,
    starts: Any,
    lens: Any,
    is_para: Any,
    table: Any,
    chunk_hash: Any,
    arena: Any,
    arena_used: int,
    n_chunks: int,
) -> Any:
    """Fold and split pieces ``raw[starts[p]:starts[p]+lens[p]]``; intern their chunks.

    Paragraph pieces (``is_para``) are written folded to one buffer, the others to another;
    every chunk gets its id from the table, a new chunk the next id (its record, id, length
    and bytes, is appended to the arena, and its bytes and a space to a buffer of the
    batch's new chunks). Returns the chunk id of every word in order, the three buffers,
    each piece's folded start, length and word count, and the table's state (arrays may
    have been replaced by larger ones).
    """
    n = starts.shape[0]
    total = raw.shape[0]
    cids = np.empty(total // 2 + n + 1, dtype=np.int32)  # a word takes a byte and a space
    blob = np.empty(total, dtype=np.uint8)
    titles = np.empty(total, dtype=np.uint8)
    fresh = np.empty(total + n + 1, dtype=np.uint8)
    piece_start = np.empty(n, dtype=np.int64)
    piece_len = np.empty(n, dtype=np.int64)
    piece_words = np.empty(n, dtype=np.int64)
    n_words = 0
    blob_used = 0
    titles_used = 0
    fresh_used = 0
    for p in range(n):
        s = starts[p]
        e = s + lens[p]
        buf = blob if is_para[p] else titles
        o = blob_used if is_para[p] else titles_used
        o0 = o
        words = 0
        i = s
        while i < e:
            k = _CLASS[raw[i]]
            if k == 2:
                k = _space_len(raw, i, e)
            if k:
                j = i + k
                while j < e:
                    k2 = _CLASS[raw[j]]
                    if k2 == 2:
                        k2 = _space_len(raw, j, e)
                    if k2 == 0:
                        break
                    j += k2
                i = j
                continue
            if words:
                buf[o] = _SPACE
                o += 1
            j = i
            h = _FNV_OFFSET
            while j < e:
                c = raw[j]
                k = _CLASS[c]
                if k == 1 or (k == 2 and _space_len(raw, j, e)):
                    break
                buf[o] = c
                o += 1
                h = (h ^ np.uint64(c)) * _FNV_PRIME
                j += 1
            size = j - i
            mask = table.shape[0] - 1
            slot = np.int64(h & np.uint64(mask))
            tag = np.int64((h >> np.uint64(32)) << np.uint64(32))
            cid = -1
            while True:
                entry = table[slot]
                if entry == 0:
                    break
                if (entry & _TAG_MASK) == tag:
                    at = (entry & _OFFSET_MASK) - 1
                    if _read_u32(arena, at + 4) == size:
                        at += 8
                        same = True
                        for q in range(size):
                            if arena[at + q] != raw[i + q]:
                                same = False
                                break
                        if same:
                            cid = _read_u32(arena, at - 8)
                            break
                slot = (slot + 1) & mask
            if cid < 0:
                cid = n_chunks
                if cid == chunk_hash.shape[0]:
                    new_hash = np.empty(2 * cid, dtype=chunk_hash.dtype)
                    new_hash[:cid] = chunk_hash[:cid]
                    chunk_hash = new_hash
                if arena_used + size + 8 > arena.shape[0]:
                    new_arena = np.empty(max(2 * arena.shape[0], arena_used + size + 8), np.uint8)
                    new_arena[:arena_used] = arena[:arena_used]
                    arena = new_arena
                if arena_used + size + 8 >= _OFFSET_MASK:
                    raise ValueError("more distinct text than a chunk table can hold")
                _write_u32(arena, arena_used, cid)
                _write_u32(arena, arena_used + 4, size)
                arena[arena_used + 8 : arena_used + 8 + size] = raw[i:j]
                fresh[fresh_used : fresh_used + size] = raw[i:j]
                fresh[fresh_used + size] = _SPACE
                fresh_used += size + 1
                chunk_hash[cid] = h
                table[slot] = _entry(h, arena_used)
                arena_used += size + 8
                n_chunks += 1
                if 2 * n_chunks > table.shape[0]:
                    table = _rehash(chunk_hash, arena, n_chunks, 2 * table.shape[0])
            cids[n_words] = cid
            n_words += 1
            words += 1
            i = j
        piece_start[p] = o0
        piece_len[p] = o - o0
        piece_words[p] = words
        if is_para[p]:
            blob_used = o
        else:
            titles_used = o
    return (
        cids[:n_words],
        blob[:blob_used],
        titles[:titles_used],
        fresh[:fresh_used],
        piece_start,
        piece_len,
        piece_words,
        table,
        chunk_hash,
        arena,
        arena_used,
        n_chunks,
    )


@dataclass
class FoldedBatch:
    """A batch's pieces folded, split and interned by :class:`ChunkTable`."""

    chunk_ids: npt.NDArray[np.int32]  # the chunk id of every word, pieces in order
    new_chunks: list[str]  # chunks first seen in this batch, in id order
    blob: bytes  # the folded paragraph pieces, concatenated
    titles: bytes  # the folded other pieces, concatenated
    starts: npt.NDArray[np.int64]  # each piece's folded start in its buffer
    lens: npt.NDArray[np.int64]  # each piece's folded length in bytes
    words: npt.NDArray[np.int64]  # each piece's number of words


class ChunkTable:
    """Chunk -> chunk id, in first-seen order, kept as arrays for :func:`fold_and_intern`."""

    def __init__(self) -> None:
        self._table = np.zeros(1 << 16, dtype=np.int64)
        self._hash = np.zeros(1 << 15, dtype=np.uint64)
        self._arena = np.zeros(1 << 20, dtype=np.uint8)
        self._arena_used = 0
        self.size = 0  # chunks interned

    def fold(self, pieces: list[str], is_para: npt.NDArray[np.bool_]) -> FoldedBatch:
        """Fold, split and intern ``pieces`` (``is_para`` says which go to the blob)."""
        encoded = [piece.encode("utf-8") for piece in pieces]
        lens = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
        starts = np.cumsum(lens) - lens
        raw = np.frombuffer(b"".join(encoded), dtype=np.uint8)
        del encoded
        (
            cids,
            blob,
            titles,
            fresh,
            piece_start,
            piece_len,
            piece_words,
            self._table,
            self._hash,
            self._arena,
            self._arena_used,
            self.size,
        ) = fold_and_intern(
            raw,
            starts,
            lens,
            is_para,
            self._table,
            self._hash,
            self._arena,
            self._arena_used,
            self.size,
        )
        return FoldedBatch(
            chunk_ids=cids,
            new_chunks=fresh.tobytes().decode("utf-8").split(" ")[:-1],  # a space after each
            blob=blob.tobytes(),
            titles=titles.tobytes(),
            starts=piece_start,
            lens=piece_len,
            words=piece_words,
        )


def warm() -> None:
    """Compile (or load the cached) kernel, e.g. before forking workers that would each
    do it."""
    if AVAILABLE:
        ChunkTable().fold(["a b", " c\u3000a "], np.asarray([False, True]))
