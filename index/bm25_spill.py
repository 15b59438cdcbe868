"""Postings under construction kept on disk, then merged into CSR arrays block by block.

A large build inverts its documents chunk by chunk; holding every chunk's postings until
they are concatenated would need the whole postings twice over at the end. Instead the
chunks ("parts", each grouped by term and sorted by doc) are appended to unnamed temporary
files (in the system's temporary directory, ``TMPDIR``), and :meth:`SpilledParts.merge`
writes the final arrays one range of terms at a time, reading back only that range of each
part, to unnamed files it then memory-maps (:class:`~index.spill_file.SpillFile`). Memory
holds one block at a time, whatever the corpus size; the arrays occupy page cache, not the
process. The part files vanish when :meth:`SpilledParts.close` closes them, or with the
process.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from typing import IO, Any

import numpy as np
import numpy.typing as npt

from index.spill_file import SpillFile

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
        raise OSError("a build's spill file is shorter than what was written to it")
    return data


class SpilledParts:
    """Parts and forward terms appended to unnamed temporary files."""

    def __init__(self) -> None:
        # unnamed files: closing them (or the process dying) deletes them
        self._docs = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        self._tf = tempfile.TemporaryFile()  # noqa: SIM115
        self._offsets = tempfile.TemporaryFile()  # noqa: SIM115
        self._fwd = SpillFile()  # the forward terms are final as written
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
        self._fwd.write(fwd.astype(np.int32, copy=False))
        self.wide = self.wide or tf.dtype == np.uint32
        self._postings += int(docs.shape[0])
        self._offsets_written += offsets.shape[0]
        self._fwd_written += int(fwd.shape[0])
        if self._totals.shape[0] < counts.shape[0]:
            grown = np.zeros(counts.shape[0], dtype=np.int64)
            grown[: self._totals.shape[0]] = self._totals
            self._totals = grown
        self._totals[: counts.shape[0]] += counts

    def merge(self, n_terms: int) -> tuple[I64, dict[str, npt.NDArray[Any]], dict[str, SpillFile]]:
        """CSR term offsets over terms ``0 .. n_terms-1``, and the arrays ``post_docs``,
        ``post_tf`` and ``fwd_terms`` (every document's term ids in order), each mapped
        from the file given for it in the last dict."""
        for handle in (self._docs, self._tf, self._offsets):
            handle.flush()
        totals = np.zeros(n_terms, dtype=np.int64)
        totals[: self._totals.shape[0]] = self._totals
        offsets = np.zeros(n_terms + 1, dtype=np.int64)
        np.cumsum(totals, out=offsets[1:])
        n_post = int(offsets[-1])
        tf_type = np.uint32 if self.wide else np.uint16
        files = {"post_docs": SpillFile(), "post_tf": SpillFile(), "fwd_terms": self._fwd}
        lo = 0
        while lo < n_terms:
            # terms lo .. hi-1 hold about BLOCK_POSTINGS postings (at least one term)
            hi = int(np.searchsorted(offsets, offsets[lo] + BLOCK_POSTINGS, side="right")) - 1
            hi = min(max(hi, lo + 1), n_terms)
            docs, tfs = self._merge_block(lo, hi, offsets, tf_type)
            files["post_docs"].write(docs)
            files["post_tf"].write(tfs)
            lo = hi
        arrays = {
            "post_docs": files["post_docs"].array(np.int32, n_post),
            "post_tf": files["post_tf"].array(tf_type, n_post),
            "fwd_terms": self._fwd.array(np.int32, self._fwd_written),
        }
        return offsets, arrays, files

    def _merge_block(
        self, lo: int, hi: int, offsets: I64, tf_type: type[np.generic]
    ) -> tuple[I32, npt.NDArray[Any]]:
        """The postings of terms ``lo .. hi-1``, grouped by term and sorted by doc."""
        base = int(offsets[lo])
        size = int(offsets[hi]) - base
        free = offsets[lo:hi] - base  # next free slot of each term, relative to the block
        out_docs = np.empty(size, dtype=np.int32)
        out_tf = np.empty(size, dtype=tf_type)
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
        return out_docs, out_tf

    def close(self) -> None:
        """Close and delete the files (idempotent)."""
        for handle in (self._docs, self._tf, self._offsets):
            handle.close()
