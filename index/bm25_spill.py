"""Postings under construction kept on disk, then merged into CSR arrays block by block.

A large build inverts its documents chunk by chunk; holding every chunk's postings until
they are concatenated would need the whole postings twice over at the end. Instead the
chunks ("parts", each grouped by term and sorted by doc) are appended to temporary files,
and :meth:`SpilledParts.merge` fills the final arrays one range of terms at a time, reading
back only that range of each part. Memory then holds the result plus one block, whatever
the corpus size. The files are deleted by :meth:`SpilledParts.close`.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]

#: Postings filled per block while merging (bounds the temporary memory).
BLOCK_POSTINGS = 1 << 22


@dataclass(frozen=True)
class _Stored:
    """Where one part lies in the files (positions in elements, not bytes)."""

    posting_start: int
    offsets_start: int
    n_terms: int  # the part's term offsets cover term ids 0 .. n_terms


def _read(handle: IO[bytes], dtype: type[np.generic], start: int, count: int) -> Any:
    handle.seek(start * np.dtype(dtype).itemsize)
    data = np.fromfile(handle, dtype=dtype, count=count)
    if data.shape[0] != count:
        raise OSError(f"spill file {handle.name!r} is shorter than written")
    return data


class SpilledParts:
    """Parts and forward terms appended to files in a temporary directory."""

    def __init__(self, parent: Path | None = None) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="newsdesk-build-", dir=parent))
        self._docs = open(self._dir / "docs.bin", "w+b")  # noqa: SIM115 - closed in close()
        self._tf = open(self._dir / "tf.bin", "w+b")  # noqa: SIM115
        self._offsets = open(self._dir / "offsets.bin", "w+b")  # noqa: SIM115
        self._fwd = open(self._dir / "fwd.bin", "w+b")  # noqa: SIM115
        self._parts: list[_Stored] = []
        self._postings = 0
        self._offsets_written = 0
        self._fwd_written = 0
        self._totals = np.zeros(0, dtype=np.int64)  # postings per term over all parts
        self.wide = False  # some tf needs 32 bits

    def add(self, counts: I64, docs: I32, tf: npt.NDArray[Any], fwd: I32) -> None:
        """Append a part (postings per term, doc ids, tf) and its documents' term ids."""
        offsets = np.zeros(counts.shape[0] + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        self._parts.append(_Stored(self._postings, self._offsets_written, counts.shape[0]))
        docs.astype(np.int32, copy=False).tofile(self._docs)
        tf.astype(np.uint32, copy=False).tofile(self._tf)
        offsets.tofile(self._offsets)
        fwd.astype(np.int32, copy=False).tofile(self._fwd)
        self.wide = self.wide or tf.dtype == np.uint32
        self._postings += int(docs.shape[0])
        self._offsets_written += offsets.shape[0]
        self._fwd_written += int(fwd.shape[0])
        if self._totals.shape[0] < counts.shape[0]:
            grown = np.zeros(counts.shape[0], dtype=np.int64)
            grown[: self._totals.shape[0]] = self._totals
            self._totals = grown
        self._totals[: counts.shape[0]] += counts

    def merge(self, n_terms: int) -> tuple[I64, I32, npt.NDArray[Any], I32]:
        """CSR ``(term_offsets, docs, tf)`` over terms ``0 .. n_terms-1``, and the forward
        terms of every document in order."""
        for handle in (self._docs, self._tf, self._offsets, self._fwd):
            handle.flush()
        totals = np.zeros(n_terms, dtype=np.int64)
        totals[: self._totals.shape[0]] = self._totals
        offsets = np.zeros(n_terms + 1, dtype=np.int64)
        np.cumsum(totals, out=offsets[1:])
        n_post = int(offsets[-1])
        docs = np.empty(n_post, dtype=np.int32)
        tfs = np.empty(n_post, dtype=np.uint32 if self.wide else np.uint16)
        lo = 0
        while lo < n_terms:
            # terms lo .. hi-1 hold about BLOCK_POSTINGS postings (at least one term)
            hi = int(np.searchsorted(offsets, offsets[lo] + BLOCK_POSTINGS, side="right")) - 1
            hi = min(max(hi, lo + 1), n_terms)
            self._merge_block(lo, hi, offsets, docs, tfs)
            lo = hi
        fwd = _read(self._fwd, np.int32, 0, self._fwd_written)
        return offsets, docs, tfs, fwd

    def _merge_block(
        self, lo: int, hi: int, offsets: I64, docs: I32, tfs: npt.NDArray[Any]
    ) -> None:
        base = int(offsets[lo])
        free = offsets[lo:hi] - base  # next free slot of each term, relative to the block
        out_docs = docs[base : int(offsets[hi])]
        out_tf = tfs[base : int(offsets[hi])]
        for part in self._parts:
            top = min(hi, part.n_terms)
            if top <= lo:
                continue
            bounds = _read(self._offsets, np.int64, part.offsets_start + lo, top - lo + 1)
            count = np.diff(bounds)
            first, n = int(bounds[0]), int(bounds[-1] - bounds[0])
            if n == 0:
                continue
            part_docs = _read(self._docs, np.int32, part.posting_start + first, n)
            part_tf = _read(self._tf, np.uint32, part.posting_start + first, n)
            dest = np.repeat(free[: top - lo] - (bounds[:-1] - first), count)
            dest += np.arange(n, dtype=np.int64)
            out_docs[dest] = part_docs
            out_tf[dest] = part_tf
            free[: top - lo] += count

    def close(self) -> None:
        """Close and delete the files (idempotent)."""
        for handle in (self._docs, self._tf, self._offsets, self._fwd):
            handle.close()
        shutil.rmtree(self._dir, ignore_errors=True)
