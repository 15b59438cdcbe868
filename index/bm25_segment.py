"""Immutable postings segments of the BM25 index, and how to build and merge them.

A segment covers a contiguous range of document ids. It holds an inverted index in CSR form
(per term: sorted doc ids and term frequencies) for querying, and the documents' term-id
streams (a forward index) so that removals can correct document frequencies and merges can
rebuild without the original text. Segments are never modified: adds create new segments,
merges replace several segments by one.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from index import bm25_kernels as kernels
from index.bm25_spill import SpilledParts
from index.spill_file import SpillFile

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
TfArray = npt.NDArray[Any]  # uint16, or uint32 when some tf exceeds 65535

#: Documents tokenized per chunk while building (bounds the temporary memory).
BUILD_CHUNK_DOCS = 65_536
#: Postings a spilling build holds in memory before it moves its parts to disk.
SPILL_POSTINGS = 1 << 23
#: Invert chunks with the compiled counting sort when numba is there (tests switch it off
#: to check the numpy sort path gives the same postings).
USE_KERNEL = True


def new_uid(kind: str) -> str:
    """A file-name-safe unique id for a segment or tombstone file."""
    return f"{kind}-{secrets.token_hex(8)}"


@dataclass(eq=False)
class Segment:
    """Postings and forward index of the documents ``first_id .. first_id + n_docs - 1``."""

    first_id: int
    doc_len: I32  # tokens per document (kept for removed documents too)
    term_offsets: I64  # CSR row pointers over global term ids 0 .. n_terms
    post_docs: I32  # global doc ids, ascending within each term
    post_tf: TfArray  # term frequency of each posting
    fwd_offsets: I64  # per document: slice of fwd_terms
    fwd_terms: I32  # each document's term ids, in text order
    vocab_lo: int  # term ids first introduced by this segment: vocab_lo .. vocab_hi - 1
    new_terms: list[str]
    uid: str = field(default_factory=lambda: new_uid("seg"))
    # Where this exact segment is already stored: {resolved directory: manifest entry}.
    stored_in: dict[str, dict[str, Any]] = field(default_factory=dict)
    _max_tf: npt.NDArray[Any] | None = field(default=None, repr=False)
    # Arrays mapped from a build's unnamed files: saved by copying the file, not the memory.
    backing: dict[str, SpillFile] = field(default_factory=dict, repr=False)

    def postings_of(self, tid: int) -> tuple[int, int]:
        """The slice of ``post_docs``/``post_tf`` holding term ``tid`` (sorted by doc id)."""
        if tid >= self.n_terms:
            return 0, 0
        return int(self.term_offsets[tid]), int(self.term_offsets[tid + 1])

    def max_tf(self) -> npt.NDArray[Any]:
        """Per term, the largest term frequency among its postings here (0 if none).

        Gives MaxScore a tighter bound than tf -> infinity; derived, so not stored.
        """
        if self._max_tf is None:
            counts = np.diff(self.term_offsets)
            present = np.flatnonzero(counts)
            out = np.zeros(self.n_terms, dtype=np.int64)
            if present.size:
                out[present] = np.maximum.reduceat(self.post_tf, self.term_offsets[present])
            self._max_tf = out
        return self._max_tf

    @property
    def n_docs(self) -> int:
        return int(self.doc_len.shape[0])

    @property
    def end_id(self) -> int:
        return self.first_id + self.n_docs

    @property
    def n_terms(self) -> int:
        return int(self.term_offsets.shape[0]) - 1

    @property
    def vocab_hi(self) -> int:
        return self.vocab_lo + len(self.new_terms)

    def term_counts(self, n_terms: int) -> I64:
        """Postings per term (dead documents included), padded to ``n_terms``."""
        counts = np.zeros(n_terms, dtype=np.int64)
        own = np.diff(self.term_offsets)
        counts[: own.shape[0]] = own
        return counts

    def doc_terms(self, doc_id: int) -> I32:
        """The term-id stream of one document of this segment."""
        local = doc_id - self.first_id
        lo, hi = int(self.fwd_offsets[local]), int(self.fwd_offsets[local + 1])
        return self.fwd_terms[lo:hi]


def _narrow_tf(tf: npt.NDArray[Any]) -> TfArray:
    """Term frequencies as uint16 (uint32 if one exceeds 65535)."""
    top = int(tf.max()) if tf.shape[0] else 0
    return tf.astype(np.uint16 if top <= np.iinfo(np.uint16).max else np.uint32)


def _invert_chunk(flat: I32, lens: I64, first_doc: int, n_terms: int) -> Part:
    """A chunk's postings: (postings per term, doc ids, tf), sorted by term then doc."""
    n_docs = int(lens.shape[0])
    if flat.shape[0] == 0 or n_docs == 0:
        return Part(np.zeros(n_terms, np.int64), np.zeros(0, np.int32), np.zeros(0, np.uint16))
    if USE_KERNEL and kernels.AVAILABLE:
        counts, docs, tf = kernels.invert_chunk(
            flat.astype(np.int32, copy=False), lens.astype(np.int64, copy=False), first_doc, n_terms
        )
        return Part(counts, docs, _narrow_tf(tf))
    local = np.repeat(np.arange(n_docs, dtype=np.int64), lens)
    key = flat.astype(np.int64)
    key *= n_docs
    key += local
    del local
    key.sort()
    change = np.empty(key.shape[0], dtype=bool)
    change[0] = True
    np.not_equal(key[1:], key[:-1], out=change[1:])
    starts = np.flatnonzero(change)
    del change
    tf = _narrow_tf(np.diff(np.append(starts, key.shape[0])))
    unique_keys = key[starts]
    del key, starts
    terms = unique_keys // n_docs
    docs = (unique_keys - terms * n_docs + first_doc).astype(np.int32)
    return Part(np.bincount(terms, minlength=n_terms).astype(np.int64), docs, tf)


@dataclass(frozen=True)
class Part:
    """Postings of consecutive documents grouped by term: the unit that gets concatenated."""

    counts: I64  # postings per term id (may be shorter than the final vocabulary)
    docs: I32
    tf: TfArray


def concat_postings(parts: Sequence[Part], n_terms: int) -> tuple[I64, I32, TfArray]:
    """Merge parts, each grouped by term and sorted by doc, given in doc-id order.

    Returns CSR ``(term_offsets, docs, tf)``; within a term the postings stay in doc order
    because the parts cover ascending doc ranges.
    """
    total = np.zeros(n_terms, dtype=np.int64)
    for part in parts:
        total[: part.counts.shape[0]] += part.counts
    offsets = np.zeros(n_terms + 1, dtype=np.int64)
    np.cumsum(total, out=offsets[1:])
    n_post = int(offsets[-1])
    wide = any(part.tf.dtype == np.uint32 for part in parts)
    docs = np.empty(n_post, dtype=np.int32)
    tfs = np.empty(n_post, dtype=np.uint32 if wide else np.uint16)
    before = offsets[:-1].copy()  # where the next part's postings of each term go
    for part in parts:
        if part.docs.shape[0] == 0:
            continue
        cnt = part.counts
        part_start = np.cumsum(cnt) - cnt
        shift = before[: cnt.shape[0]] - part_start  # destination minus position in part
        dest = np.arange(part.docs.shape[0], dtype=np.int64)
        dest += np.repeat(shift, cnt)
        docs[dest] = part.docs
        tfs[dest] = part.tf
        del dest
        before[: cnt.shape[0]] += cnt
    return offsets, docs, tfs


class TermIds(dict[str, int]):
    """Vocabulary: a term gets the next id the first time it is looked up with ``[]``."""

    def __init__(self, terms: Iterable[str] = ()) -> None:
        self.terms: list[str] = list(terms)
        super().__init__(zip(self.terms, range(len(self.terms)), strict=True))
        if len(self) != len(self.terms):
            raise ValueError("duplicate terms in a vocabulary")

    def __missing__(self, term: str) -> int:
        if not isinstance(term, str):
            raise TypeError(f"terms must be str, got {type(term).__name__}: {term!r}")
        tid = len(self.terms)
        self[term] = tid
        self.terms.append(term)
        return tid


def _chunks(docs: Iterable[Sequence[str]], size: int) -> Iterator[list[Sequence[str]]]:
    it = iter(docs)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


class SegmentBuilder:
    """Builds one segment from documents given as term-id arrays, batch by batch.

    Documents are inverted in chunks of about :data:`BUILD_CHUNK_DOCS`, so only one chunk's
    token stream is expanded to 64-bit sort keys at a time.
    """

    def __init__(self, vocab: TermIds, first_id: int, spill: bool = False) -> None:
        self.vocab = vocab
        self.first_id = first_id
        self._vocab_lo = len(vocab.terms)
        self._spill = spill  # move the parts to disk once they hold SPILL_POSTINGS
        self._spilled: SpilledParts | None = None
        self._held = 0  # postings of the parts held in memory
        self._parts: list[Part] = []
        self._fwd: list[I32] = []
        self._lens: list[I64] = []
        self._pending: list[tuple[I32, I64]] = []
        self._pending_docs = 0
        self._next_doc = first_id

    def add(self, flat: I32, lens: I64) -> None:
        """Documents with the next ids: ``lens[i]`` term ids each, concatenated in ``flat``."""
        self._pending.append((flat, lens))
        self._pending_docs += int(lens.shape[0])
        if self._pending_docs >= BUILD_CHUNK_DOCS:
            self._invert_pending()

    def _invert_pending(self) -> None:
        if not self._pending:
            return
        if len(self._pending) == 1:
            flat, lens = self._pending[0]
        else:
            flat = np.concatenate([f for f, _ in self._pending])
            lens = np.concatenate([n for _, n in self._pending])
        self._pending, self._pending_docs = [], 0
        flat = flat.astype(np.int32, copy=False)
        lens = lens.astype(np.int64, copy=False)
        part = _invert_chunk(flat, lens, self._next_doc, len(self.vocab.terms))
        self._lens.append(lens)
        self._next_doc += int(lens.shape[0])
        if (
            self._spilled is None
            and self._spill
            and self._held + part.docs.shape[0] > SPILL_POSTINGS
        ):
            self._spilled = SpilledParts()
            for kept, fwd in zip(self._parts, self._fwd, strict=True):
                self._spilled.add(kept.counts, kept.docs, kept.tf, fwd)
            self._parts, self._fwd, self._held = [], [], 0
        if self._spilled is not None:
            self._spilled.add(part.counts, part.docs, part.tf, flat)
        else:
            self._parts.append(part)
            self._fwd.append(flat)
            self._held += int(part.docs.shape[0])

    @property
    def docs(self) -> int:
        """Documents added so far."""
        return self._next_doc + self._pending_docs - self.first_id

    def close(self) -> None:
        """Delete what was spilled to disk (``finish`` does it too)."""
        if self._spilled is not None:
            self._spilled.close()
            self._spilled = None

    def finish(self) -> Segment:
        self._invert_pending()
        n_terms = len(self.vocab.terms)
        backing: dict[str, SpillFile] = {}
        if self._spilled is not None:
            try:
                offsets, arrays, backing = self._spilled.merge(n_terms)
            finally:
                self.close()
            post_docs, post_tf, fwd_terms = (
                arrays["post_docs"],
                arrays["post_tf"],
                arrays["fwd_terms"],
            )
        else:
            offsets, post_docs, post_tf = concat_postings(self._parts, n_terms)
            self._parts = []
            fwd_terms = np.concatenate(self._fwd) if self._fwd else np.zeros(0, dtype=np.int32)
            self._fwd = []
        doc_len64 = np.concatenate(self._lens) if self._lens else np.zeros(0, dtype=np.int64)
        self._lens = []
        fwd_offsets = np.zeros(doc_len64.shape[0] + 1, dtype=np.int64)
        np.cumsum(doc_len64, out=fwd_offsets[1:])
        return Segment(
            first_id=self.first_id,
            doc_len=doc_len64.astype(np.int32),
            term_offsets=offsets,
            post_docs=post_docs,
            post_tf=post_tf,
            fwd_offsets=fwd_offsets,
            fwd_terms=fwd_terms,
            vocab_lo=self._vocab_lo,
            new_terms=self.vocab.terms[self._vocab_lo :],
            backing=backing,
        )


def build_segment(
    docs: Iterable[Sequence[str]],
    vocab: TermIds,
    first_id: int,
    on_chunk: Callable[[int], None] | None = None,
) -> Segment:
    """Index ``docs`` (token lists) as one segment starting at ``first_id``.

    New terms are added to ``vocab`` in order of first appearance.
    """
    getter = vocab.__getitem__
    builder = SegmentBuilder(vocab, first_id)
    for chunk in _chunks(docs, BUILD_CHUNK_DOCS):
        if isinstance(chunk[0], str) or any(isinstance(d, str) for d in chunk):
            raise TypeError("each document must be a sequence of tokens, not a str")
        lens = np.fromiter(map(len, chunk), dtype=np.int64, count=len(chunk))
        flat = np.fromiter(
            itertools.chain.from_iterable(map(getter, d) for d in chunk),
            dtype=np.int32,
            count=int(lens.sum()),
        )
        builder.add(flat, lens)
        if on_chunk is not None:
            on_chunk(builder.docs)
    return builder.finish()


def _segment_part(seg: Segment, dead: npt.NDArray[np.bool_] | None) -> Part:
    """A segment's postings as a part, minus those of dead documents."""
    counts = np.diff(seg.term_offsets)
    docs = np.asarray(seg.post_docs)
    tf = np.asarray(seg.post_tf)
    if dead is not None:
        keep = ~dead[docs]
        if not keep.all():
            terms = np.repeat(np.arange(counts.shape[0], dtype=np.int64), counts)[keep]
            counts = np.bincount(terms, minlength=counts.shape[0]).astype(np.int64)
            docs, tf = docs[keep], tf[keep]
    return Part(counts, docs, tf)


def merge_segments(
    segs: Sequence[Segment], n_terms: int, dead: npt.NDArray[np.bool_] | None
) -> Segment:
    """One segment holding the live postings of consecutive segments ``segs``.

    Dead documents keep their id and length but lose their postings and forward terms, so
    they are no longer subtracted from document frequencies.
    """
    parts = [_segment_part(s, dead) for s in segs]
    offsets, post_docs, post_tf = concat_postings(parts, n_terms)
    del parts
    doc_len = np.concatenate([np.asarray(s.doc_len) for s in segs])
    first = segs[0].first_id
    fwd_lens = np.concatenate([np.diff(s.fwd_offsets) for s in segs])
    fwd_chunks = [np.asarray(s.fwd_terms) for s in segs]
    if dead is not None:
        seg_dead = dead[first : first + doc_len.shape[0]]
        if seg_dead.any():
            keep_tok = ~np.repeat(seg_dead, fwd_lens)
            fwd_lens = np.where(seg_dead, 0, fwd_lens)
            fwd_chunks = [np.concatenate(fwd_chunks)[keep_tok]]
    fwd_offsets = np.zeros(doc_len.shape[0] + 1, dtype=np.int64)
    np.cumsum(fwd_lens, out=fwd_offsets[1:])
    fwd_terms = np.concatenate(fwd_chunks) if fwd_chunks else np.zeros(0, dtype=np.int32)
    new_terms: list[str] = []
    for s in segs:
        new_terms.extend(s.new_terms)
    return Segment(
        first_id=first,
        doc_len=doc_len.astype(np.int32),
        term_offsets=offsets,
        post_docs=post_docs,
        post_tf=post_tf,
        fwd_offsets=fwd_offsets,
        fwd_terms=fwd_terms.astype(np.int32, copy=False),
        vocab_lo=segs[0].vocab_lo,
        new_terms=new_terms,
    )
