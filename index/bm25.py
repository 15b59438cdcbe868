"""Exact BM25 (rank_bm25's BM25Plus and BM25Okapi) over an inverted index, in milliseconds.

Scores equal ``rank_bm25``'s for the live documents (same formulas, same quirks: repeated
query terms count each time, BM25Plus adds ``idf * delta`` to every document for each known
query term, BM25Okapi floors negative idf at ``epsilon * average_idf``, unknown terms score
0). Statistics (N, avgdl, df, average idf) are kept live, so adds and removes keep parity
without a rebuild.

Speed comes from touching only the postings of the query's terms, and for ``top_k`` from
MaxScore pruning: the terms with the highest possible contribution are scored over their
postings ("essential" terms); the remaining, common terms are only looked up for candidates
that can still reach the current k-th best score. Every score is summed in the same order
(terms by decreasing bound) on every path, so ``top_k``, ``scores`` and ``get_scores`` agree
bit for bit. Not thread-safe: queries share scratch buffers.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from index import bm25_formula as formula
from index import bm25_kernels as kernels
from index.arrays import concat_ranges
from index.bm25_segment import Segment, SegmentBuilder, TermIds, build_segment, merge_segments
from index.bm25_store import read_index, write_index
from index.errors import IndexCorrupt

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

#: Small segments kept beside the base before they are merged into one.
MAX_DELTAS = 4
#: The deltas are merged into the base once they hold this share of its documents.
DELTA_SHARE = 1 / 8
#: Removed documents whose postings are purged (by a merge) once they reach this share.
DEAD_SHARE = 1 / 4
_UB_SLACK = 1e-9
#: Terms whose segment spans ``_plan`` keeps (queries reuse a small working set of terms).
_WHERE_CACHE_MAX = 1 << 16


@dataclass(frozen=True, slots=True)
class BM25Params:
    """Scoring parameters; defaults are Newsdesk's (BM25Plus, short passages)."""

    variant: Literal["plus", "okapi"] = "plus"
    k1: float = 0.9
    b: float = 0.4
    delta: float = 1.0  # BM25Plus
    epsilon: float = 0.25  # BM25Okapi negative-IDF floor, as rank_bm25

    def __post_init__(self) -> None:
        if self.variant not in ("plus", "okapi"):
            raise ValueError(f"BM25 variant must be 'plus' or 'okapi', not {self.variant!r}")
        if not (self.k1 >= 0 and math.isfinite(self.k1)):
            raise ValueError(f"BM25 k1 must be a finite number >= 0, not {self.k1!r}")
        if not 0 <= self.b <= 1:
            raise ValueError(f"BM25 b must be between 0 and 1, not {self.b!r}")
        if not math.isfinite(self.delta) or not math.isfinite(self.epsilon):
            raise ValueError("BM25 delta and epsilon must be finite numbers")


FEW_DOCS = 4  # doc_terms reads up to this many documents of a segment one by one


@dataclass(slots=True)
class _Term:
    """A known query term, as the scoring loops need it."""

    tid: int
    weight: float  # multiplicity * idf * (k1 + 1): the contribution is weight * tf/(tf+K)
    bound: float  # an upper bound of the contribution, >= 0
    postings: int
    where: tuple[_Where, ...]  # the segments holding the term, in segment order


@dataclass(frozen=True, slots=True)
class _Where:
    """Where one segment holds a term's postings, and their largest tf."""

    segment: int  # index in the segment list
    lo: int
    hi: int
    max_tf: int


class BM25Index:
    """Exact BM25 scores over documents given as token lists, with ids 0, 1, 2, ..."""

    #: Use the compiled MaxScore kernel when numba is there (tests switch it off to check
    #: the numpy path too).
    use_kernel = True
    #: Postings of the leading query lists the kernel scores before its walk (tests vary it
    #: so that small corpora exercise the walk too).
    seed_budget = kernels.SEED_MAX

    def __init__(self, params: BM25Params) -> None:
        self.params = params
        self._vocab = TermIds()
        self._segments: list[Segment] = []
        self._next_id = 0
        self._doc_len = np.zeros(0, dtype=np.int32)
        self._live = np.zeros(0, dtype=bool)
        self._df = np.zeros(0, dtype=np.int64)
        self._n_live = 0
        self._total_len = 0
        self._n_unpurged = 0  # removed documents whose postings are still in segments
        self._k_cache: F64 | None = None
        self._k_min = 0.0
        self._dls: npt.NDArray[Any] = np.zeros(0, dtype=np.uint8)
        self._dl_top = 0
        self._ktab: F64 | None = None
        self._avg_idf_cache: float | None = None
        self._scratch = np.zeros(0, dtype=np.float64)
        self._seen = np.zeros(0, dtype=bool)
        self._tomb_cache: dict[str, tuple[bytes, dict[str, Any]]] = {}
        self._term_objects: npt.NDArray[np.object_] = np.zeros(0, dtype=object)
        # per term id: (postings, largest tf, where): depends only on the segment list
        self._where_cache: dict[int, tuple[int, int, tuple[_Where, ...]]] = {}

    # ----------------------------------------------------------------- building
    @classmethod
    def build(cls, docs: Iterable[Sequence[str]], params: BM25Params) -> BM25Index:
        """Index ``docs`` (token lists) with ids ``0 .. n-1`` in order."""
        index = cls(params)
        index._append(build_segment(docs, index._vocab, 0))
        return index

    def add(self, docs: Sequence[Sequence[str]]) -> I64:
        """Index more documents; returns their ids, which continue after every id given."""
        first = self._next_id
        if len(docs) == 0:
            return np.zeros(0, dtype=np.int64)
        self._append(build_segment(docs, self._vocab, first))
        self._maybe_merge()
        return np.arange(first, self._next_id, dtype=np.int64)

    def _append(self, seg: Segment) -> None:
        seg.max_tf()  # derived per-term data, computed now rather than in the first query
        self._segments.append(seg)
        self._where_cache.clear()
        self._next_id = seg.end_id
        self._doc_len = np.concatenate([self._doc_len, np.asarray(seg.doc_len)])
        self._live = np.concatenate([self._live, np.ones(seg.n_docs, dtype=bool)])
        self._grow_df()
        self._df += seg.term_counts(len(self._vocab.terms))
        self._n_live += seg.n_docs
        self._total_len += int(np.asarray(seg.doc_len).sum(dtype=np.int64))
        self._changed()

    def _grow_df(self) -> None:
        n_terms = len(self._vocab.terms)
        if self._df.shape[0] < n_terms:
            grown = np.zeros(n_terms, dtype=np.int64)
            grown[: self._df.shape[0]] = self._df
            self._df = grown

    def _changed(self) -> None:
        self._k_cache = None
        self._ktab = None
        self._avg_idf_cache = None

    def remove(self, ids: Iterable[int]) -> None:
        """Remove documents: they leave N, avgdl and df and are never returned again.

        Ids already removed are ignored; ids never given raise ``ValueError``.
        """
        arr = np.unique(np.fromiter((int(i) for i in ids), dtype=np.int64))
        if arr.size == 0:
            return
        if arr[0] < 0 or arr[-1] >= self._next_id:
            bad = arr[(arr < 0) | (arr >= self._next_id)]
            raise ValueError(f"unknown document ids (never added): {bad[:10].tolist()}")
        arr = arr[self._live[arr]]
        if arr.size == 0:
            return
        self._df -= self._term_doc_counts(arr)
        self._live[arr] = False
        self._n_live -= int(arr.size)
        self._total_len -= int(self._doc_len[arr].sum(dtype=np.int64))
        self._n_unpurged += int(arr.size)
        self._changed()
        if self._n_unpurged > DEAD_SHARE * max(self._next_id, 1):
            self._merge(0, len(self._segments))

    def _term_doc_counts(self, ids: I64) -> I64:
        """For each term, how many of the documents ``ids`` (sorted) contain it."""
        n_terms = len(self._vocab.terms)
        counts = np.zeros(n_terms, dtype=np.int64)
        for seg in self._segments:
            lo, hi = np.searchsorted(ids, [seg.first_id, seg.end_id])
            if lo == hi:
                continue
            local = ids[lo:hi] - seg.first_id
            starts = np.asarray(seg.fwd_offsets)[local]
            lens = np.asarray(seg.fwd_offsets)[local + 1] - starts
            total = int(lens.sum())
            if total == 0:
                continue
            owner = np.repeat(np.arange(local.shape[0], dtype=np.int64), lens)
            first_pos = np.cumsum(lens) - lens
            pos = np.arange(total, dtype=np.int64) - np.repeat(first_pos - starts, lens)
            terms = np.asarray(seg.fwd_terms)[pos].astype(np.int64)
            pairs = np.unique(owner * n_terms + terms)
            counts += np.bincount(pairs % n_terms, minlength=n_terms)
        return counts

    def _maybe_merge(self) -> None:
        if len(self._segments) > 1 + MAX_DELTAS:
            self._merge(1, len(self._segments))
        if len(self._segments) > 1:
            base = self._segments[0].n_docs
            deltas = sum(s.n_docs for s in self._segments[1:])
            if deltas > DELTA_SHARE * base:
                self._merge(0, len(self._segments))

    def _merge(self, lo: int, hi: int) -> None:
        """Replace segments ``lo .. hi-1`` by one, dropping removed documents' postings."""
        dead = ~self._live if self._n_unpurged else None
        merged = merge_segments(self._segments[lo:hi], len(self._vocab.terms), dead)
        self._segments[lo:hi] = [merged]
        self._where_cache.clear()
        self._n_unpurged = self._count_unpurged()

    def _count_unpurged(self) -> int:
        total = 0
        for seg in self._segments:
            dead = ~self._live[seg.first_id : seg.end_id]
            if dead.any():
                has_terms = np.diff(np.asarray(seg.fwd_offsets)) > 0
                total += int((dead & has_terms).sum())
        return total

    # --------------------------------------------------------------- statistics
    @property
    def n_docs(self) -> int:
        """Live documents."""
        return self._n_live

    @property
    def avgdl(self) -> float:
        """Average length (in tokens) of the live documents."""
        return self._total_len / self._n_live if self._n_live else 0.0

    def doc_lengths(self, ids: npt.ArrayLike) -> I64:
        """Tokens in each document of ``ids`` (as indexed; removed documents keep theirs)."""
        return self._doc_len[np.asarray(ids, dtype=np.int64)].astype(np.int64)

    def doc_terms(self, ids: Sequence[int], skip: Sequence[int]) -> list[tuple[str, ...]]:
        """Each live document's terms in text order, without its first ``skip[i]``: read from
        the forward lists kept for removals, so indexed text need not be tokenised again."""
        firsts = [seg.first_id for seg in self._segments]
        spans: list[list[int]] = [[] for _ in self._segments]  # (where, doc, skip) per segment
        for row, (doc, n) in enumerate(zip(ids, skip, strict=True)):
            spans[bisect.bisect_right(firsts, doc) - 1] += (row, doc, n)
        vocab = self._term_array()
        out: list[tuple[str, ...]] = [()] * len(ids)
        for seg, flat in zip(self._segments, spans, strict=True):
            if not flat:
                continue
            if len(flat) <= 3 * FEW_DOCS:  # plain slices cost less than the array set-up
                for row, doc, n in zip(flat[::3], flat[1::3], flat[2::3], strict=True):
                    lo, hi = seg.fwd_offsets[doc - seg.first_id : doc - seg.first_id + 2].tolist()
                    out[row] = tuple(vocab[seg.fwd_terms[lo + n : hi]].tolist())
                continue
            rows = np.asarray(flat, dtype=np.int64).reshape(-1, 3)
            local = rows[:, 1] - seg.first_id
            lo = seg.fwd_offsets[local] + rows[:, 2]
            lens = np.maximum(seg.fwd_offsets[local + 1] - lo, 0)
            terms = vocab[seg.fwd_terms[concat_ranges(lo, lens)]].tolist()
            at = 0
            for i, n in zip(rows[:, 0].tolist(), lens.tolist(), strict=True):
                out[i] = tuple(terms[at : at + n])
                at += n
        return out

    def _term_array(self) -> npt.NDArray[np.object_]:
        """The vocabulary's terms by id as an object array (one gather maps many ids to
        their terms at half the cost of a list comprehension), grown as terms are added."""
        have = self._term_objects.shape[0]
        terms = self._vocab.terms
        if have < len(terms):
            grown = np.empty(len(terms), dtype=object)
            grown[:have] = self._term_objects
            grown[have:] = terms[have:]
            self._term_objects = grown
        return self._term_objects

    def doc_freq(self, term: str) -> int:
        """Live documents containing ``term``."""
        tid = self._vocab.get(term)
        return 0 if tid is None else int(self._df[tid])

    def idf(self, term: str) -> float:
        """rank_bm25's idf of ``term`` for the variant (with Okapi's floor); 0.0 if unknown."""
        tid = self._vocab.get(term)
        return 0.0 if tid is None or self._df[tid] == 0 else self._idf_of(int(self._df[tid]))

    def _idf_of(self, df: int) -> float:
        n = self._n_live
        if self.params.variant == "plus":
            return formula.plus_idf(n, df)
        idf = formula.okapi_raw_idf(n, df)
        return idf if idf >= 0 else self.params.epsilon * self._average_idf()

    def _average_idf(self) -> float:
        """Mean raw Okapi idf over the live vocabulary (terms with df > 0), as rank_bm25."""
        if self._avg_idf_cache is None:
            n = self._n_live
            per_df = np.bincount(self._df)
            per_df[0] = 0
            dfs = np.flatnonzero(per_df)
            self._avg_idf_cache = formula.okapi_average_idf(
                n, ((int(d), int(per_df[d])) for d in dfs)
            )
        return self._avg_idf_cache

    def _k(self) -> F64:
        """Per document: k1 * (1 - b + b * dl / avgdl), the length part of the denominator."""
        if self._k_cache is None or self._k_cache.shape[0] != self._next_id:
            p = self.params
            self._k_cache = formula.length_k(
                p.k1, p.b, self._doc_len.astype(np.float64), self.avgdl
            )
            nonempty = self._doc_len > 0
            self._k_min = float(self._k_cache[nonempty].min()) if nonempty.any() else 0.0
        return self._k_cache

    def _k_lookup(self) -> tuple[npt.NDArray[Any], F64]:
        """(per document its length in the narrowest integer type, K per length): a
        document's K is ``ktab[dls[doc]]``, the same bits as ``_k()[doc]`` (same formula on
        the same numbers), from 1 byte per short document instead of 8."""
        if self._dls.shape[0] != self._next_id:
            top = int(self._doc_len.max()) if self._doc_len.size else 0
            dtype = np.uint8 if top <= 0xFF else np.uint16 if top <= 0xFFFF else np.int32
            self._dls = self._doc_len.astype(dtype)
            self._dl_top = top
            self._ktab = None
        if self._ktab is None:
            p = self.params
            lengths = np.arange(self._dl_top + 1, dtype=np.float64)
            self._ktab = formula.length_k(p.k1, p.b, lengths, self.avgdl)
        return self._dls, self._ktab

    def _bound(self, weight: float, max_tf: int) -> float:
        """Upper bound of weight * tf / (tf + K) over tf <= max_tf and any document's K."""
        if weight <= 0 or max_tf <= 0:
            return 0.0
        self._k()
        return weight * max_tf / (max_tf + self._k_min) * (1 + _UB_SLACK)

    # ----------------------------------------------------------------- querying
    def _plan(self, query: Sequence[str]) -> tuple[list[_Term], float]:
        """Known query terms in canonical order (decreasing bound) and the Plus constant."""
        if isinstance(query, str):
            raise TypeError("query must be a sequence of tokens, not a str")
        counts: dict[int, int] = {}
        get = self._vocab.get
        for token in query:
            tid = get(token)
            if tid is not None:
                counts[tid] = counts.get(tid, 0) + 1
        p = self.params
        terms = []
        constant = 0.0
        for tid, mult in counts.items():
            df = int(self._df[tid])
            if df <= 0:
                continue
            idf = self._idf_of(df)
            if p.variant == "plus":
                constant += mult * idf * p.delta
            weight = mult * idf * (p.k1 + 1)
            postings, max_tf, where = self._where(tid)
            terms.append(_Term(tid, weight, self._bound(weight, max_tf), postings, where))
        terms.sort(key=lambda t: (-t.bound, t.postings, t.tid))
        return terms, constant

    def _where(self, tid: int) -> tuple[int, int, tuple[_Where, ...]]:
        """(postings, largest tf, where) of a term over the segments; cached per term until
        the segment list changes (removals leave postings in place, so they keep it)."""
        found = self._where_cache.get(tid)
        if found is None:
            postings, max_tf, where = 0, 0, []
            for i, seg in enumerate(self._segments):
                lo, hi = seg.postings_of(tid)
                if lo < hi:
                    top = int(seg.max_tf()[tid])
                    postings += hi - lo
                    max_tf = max(max_tf, top)
                    where.append(_Where(i, lo, hi, top))
            found = (postings, max_tf, tuple(where))
            if len(self._where_cache) >= _WHERE_CACHE_MAX:
                self._where_cache.clear()  # crude bound; a term costs ~1 us to look up again
            self._where_cache[tid] = found
        return found

    def _postings(self, term: _Term) -> Iterable[tuple[npt.NDArray[np.int32], F64]]:
        """(doc ids, contributions) of a term, one pair per segment holding it."""
        k = self._k()
        for seg in self._segments:
            lo, hi = seg.postings_of(term.tid)
            if lo == hi:
                continue
            docs = seg.post_docs[lo:hi]
            yield docs, self._contribution(term.weight, seg.post_tf[lo:hi], k[docs])

    @staticmethod
    def _contribution(weight: float, tf: npt.NDArray[Any], k: F64) -> F64:
        tf64 = tf.astype(np.float64)
        out = tf64 * weight
        out /= tf64 + k
        return out

    def _lookup(self, term: _Term, ids: I64) -> F64:
        """Contributions of a term for sorted live ``ids`` (0 where a doc lacks the term)."""
        tf = np.zeros(ids.shape[0], dtype=np.float64)
        for seg in self._segments:
            lo, hi = seg.postings_of(term.tid)
            if lo == hi:
                continue
            a, b = np.searchsorted(ids, [seg.first_id, seg.end_id])
            if a == b:
                continue
            docs = seg.post_docs[lo:hi]
            sub = ids[a:b]
            pos = np.searchsorted(docs, sub)
            np.minimum(pos, docs.shape[0] - 1, out=pos)
            hit = docs[pos] == sub
            tf[a:b][hit] = seg.post_tf[lo:hi][pos[hit]]
        has = np.flatnonzero(tf)
        out = np.zeros(ids.shape[0], dtype=np.float64)
        out[has] = self._contribution(term.weight, tf[has], self._k()[ids[has]])
        return out

    def get_scores(self, query: Sequence[str]) -> F64:
        """Dense scores over every id ever given (removed ids get -inf), as rank_bm25."""
        terms, constant = self._plan(query)
        scores = np.zeros(self._next_id, dtype=np.float64)
        for term in terms:
            for docs, contrib in self._postings(term):
                scores[docs] += contrib
        scores += constant
        scores[~self._live] = -np.inf
        return scores

    def scores(self, query: Sequence[str], ids: npt.ArrayLike) -> F64:
        """Exact scores of ``ids`` (removed ids get -inf)."""
        arr = np.asarray(ids, dtype=np.int64).reshape(-1)
        if arr.size and (arr.min() < 0 or arr.max() >= self._next_id):
            raise ValueError(f"unknown document ids (never added) among {arr[:10].tolist()}")
        order = np.argsort(arr, kind="stable")
        sorted_ids = arr[order]
        terms, constant = self._plan(query)
        acc = np.zeros(arr.shape[0], dtype=np.float64)
        if kernels.AVAILABLE and self.use_kernel:
            dls, ktab = self._k_lookup()
            tids = np.array([t.tid for t in terms], dtype=np.int64)
            weights = np.array([t.weight for t in terms], dtype=np.float64)
            for seg in self._segments:
                a, b = np.searchsorted(sorted_ids, [seg.first_id, seg.end_id])
                if a == b or not terms:
                    continue
                kernels.score_ids_forward(
                    seg.fwd_offsets,
                    seg.fwd_terms,
                    seg.first_id,
                    tids,
                    weights,
                    dls,
                    ktab,
                    sorted_ids[a:b],
                    acc[a:b],
                )
        else:
            for term in terms:
                acc += self._lookup(term, sorted_ids)
        acc += constant
        out = np.empty_like(acc)
        out[order] = acc
        out[~self._live[arr]] = -np.inf
        return out

    def top_k(self, query: Sequence[str], k: int) -> tuple[I64, F64]:
        """The ``k`` best live documents sharing a term with the query: (ids, scores).

        Best first, ties broken by the smaller id; exact (the pruning only skips work).
        """
        terms, constant = self._plan(query)
        if k <= 0 or not terms:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
        if terms[-1].weight < 0:  # Okapi with a negative floor: partial sums are no bound
            ids, scores = _select(*self._exhaustive(terms), k)
        elif kernels.AVAILABLE and self.use_kernel:
            ids, scores = self._max_score_compiled(terms, min(k, max(self._n_live, 1)))
        else:
            ids, scores = _select(*self._max_score(terms, k), k)
        return ids, scores + constant

    def _spans(self, segment: int, terms: list[_Term]) -> list[tuple[int, int, float, float, int]]:
        """(start, end, weight, bound, max tf) in one segment of the terms it holds."""
        spans = []
        for t in terms:
            for w in t.where:
                if w.segment == segment:
                    spans.append((w.lo, w.hi, t.weight, self._bound(t.weight, w.max_tf), w.max_tf))
        return spans

    def _max_score_compiled(self, terms: list[_Term], k: int) -> tuple[I64, F64]:
        """Document-at-a-time MaxScore (numba), one segment after the other; the result is
        sorted best first (ties: smaller id first)."""
        heap_s = np.empty(k, dtype=np.float64)
        heap_i = np.empty(k, dtype=np.int64)
        size = 0
        dls, ktab = self._k_lookup()
        for i, seg in enumerate(self._segments):
            spans = self._spans(i, terms)
            if not spans:
                continue
            size = kernels.max_score_segment(
                seg.post_docs,
                seg.post_tf,
                np.array(spans, dtype=np.float64),
                1 + _UB_SLACK,
                dls,
                ktab,
                self._live,
                self._n_unpurged > 0,
                heap_s,
                heap_i,
                size,
                self.seed_budget,
            )
        kernels.sort_heap(heap_s, heap_i, size)
        return heap_i[:size], heap_s[:size]

    def _scratch_arrays(self) -> tuple[F64, npt.NDArray[np.bool_]]:
        if self._scratch.shape[0] < self._next_id:
            self._scratch = np.zeros(self._next_id, dtype=np.float64)
            self._seen = np.zeros(self._next_id, dtype=bool)
        return self._scratch, self._seen

    def _exhaustive(self, terms: Sequence[_Term]) -> tuple[I64, F64]:
        """Every live document holding a query term, with its full score."""
        scratch, seen = self._scratch_arrays()
        touched = []
        for term in terms:
            for docs, contrib in self._postings(term):
                scratch[docs] += contrib
                new = docs[~seen[docs]]
                seen[new] = True
                touched.append(new)
        if not touched:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
        cand = np.concatenate(touched).astype(np.int64)
        scores = scratch[cand]
        scratch[cand] = 0.0
        seen[cand] = False
        if self._n_unpurged:
            keep = self._live[cand]
            cand, scores = cand[keep], scores[keep]
        return cand, scores

    def _max_score(self, terms: list[_Term], k: int) -> tuple[I64, F64]:
        """Term-at-a-time MaxScore; every term's contribution is >= 0.

        Terms are taken by decreasing bound. While a document not seen yet could still
        reach the k-th best partial score (a lower bound of the final k-th best), a term's
        whole posting list is scored ("OR" phase). After that, no new document can enter
        the top k: the remaining terms are only looked up for the candidates whose partial
        score plus the remaining terms' bounds can still reach the threshold ("AND" phase),
        and the candidates are pruned again after each term.
        """
        rest = [0.0] * (len(terms) + 1)  # rest[j]: sum of the bounds of terms[j:]
        for j in range(len(terms) - 1, -1, -1):
            rest[j] = rest[j + 1] + terms[j].bound
        scratch, seen = self._scratch_arrays()
        touched: list[npt.NDArray[np.int32]] = []
        live_new: list[I64] = []
        cand = np.zeros(0, dtype=np.int64)
        theta = -np.inf
        j = 0
        try:
            while j < len(terms):
                for docs, contrib in self._postings(terms[j]):
                    scratch[docs] += contrib
                    new = docs[~seen[docs]]
                    seen[new] = True
                    touched.append(new)
                    fresh = new.astype(np.int64)
                    live_new.append(fresh[self._live[fresh]] if self._n_unpurged else fresh)
                j += 1
                if j == len(terms):
                    break
                n_cand = sum(a.shape[0] for a in live_new)
                if n_cand >= k:
                    cand = np.concatenate(live_new) if len(live_new) > 1 else live_new[0]
                    live_new = [cand]
                    partial = scratch[cand]
                    theta = float(-np.partition(-partial, k - 1)[k - 1])
                    if theta - _tol(theta) > rest[j]:
                        break  # nobody outside the candidates can reach the top k
            cand = np.concatenate(live_new) if live_new else cand
            partial = scratch[cand]
        finally:
            for docs in touched:
                scratch[docs] = 0.0
                seen[docs] = False
        if j == len(terms):
            return cand, partial
        hopeful = np.flatnonzero(partial + rest[j] >= theta - _tol(theta))
        hopeful = hopeful[np.argsort(cand[hopeful])]  # lookups want ascending ids
        cand, partial = cand[hopeful], partial[hopeful]
        for jj in range(j, len(terms)):
            partial = partial + self._lookup(terms[jj], cand)
            if partial.shape[0] >= k:
                theta = max(theta, float(-np.partition(-partial, k - 1)[k - 1]))
            keep = partial + rest[jj + 1] >= theta - _tol(theta)
            if not keep.all():
                cand, partial = cand[keep], partial[keep]
        return cand, partial

    # -------------------------------------------------------------- persistence
    def save(self, directory: Path) -> None:
        """Persist atomically; only segments the directory lacks are written."""
        dead = np.flatnonzero(~self._live).astype(np.int64)
        write_index(Path(directory), self._segments, self._next_id, dead, self._tomb_cache)

    @classmethod
    def load(cls, directory: Path, params: BM25Params) -> BM25Index:
        """Open a saved index (memory-mapped, checksums verified).

        Raises IndexMissing, IndexCorrupt or IndexVersionMismatch.
        """
        stored = read_index(Path(directory))
        index = cls(params)
        terms: list[str] = []
        for seg in stored.segments:
            terms.extend(seg.new_terms)
        try:
            index._vocab = TermIds(terms)
        except ValueError as exc:
            raise IndexCorrupt(f"index vocabulary in {directory} is damaged: {exc}") from exc
        for seg in stored.segments:
            index._append(seg)
        dead = np.unique(stored.dead_ids)
        if dead.size:
            if dead[0] < 0 or dead[-1] >= index._next_id:
                raise IndexCorrupt(f"tombstones in {directory} name ids outside the index")
            index._df -= index._term_doc_counts(dead)
            index._live[dead] = False
            index._n_live -= int(dead.size)
            index._total_len -= int(index._doc_len[dead].sum(dtype=np.int64))
            index._n_unpurged = index._count_unpurged()
            index._changed()
        return index


class BM25Builder:
    """``BM25Index.build`` for documents given as term-id arrays, batch by batch.

    Ids come from :attr:`vocab` (``vocab[term]`` gives a new term the next id), so a caller
    that assigns them in order of first appearance builds exactly the index of
    ``BM25Index.build`` over the same token lists. Postings of a large build wait on disk
    (:mod:`index.bm25_spill`) rather than in memory until :meth:`finish`.
    """

    def __init__(self, params: BM25Params) -> None:
        self._index = BM25Index(params)
        self._segment = SegmentBuilder(self._index._vocab, 0, spill=True)

    @property
    def vocab(self) -> TermIds:
        return self._index._vocab

    def add(self, flat: npt.NDArray[np.int32], lens: I64) -> None:
        """The next documents: ``lens[i]`` term ids each, concatenated in ``flat``."""
        self._segment.add(flat, lens)

    def finish(self) -> BM25Index:
        self._index._append(self._segment.finish())
        return self._index

    def close(self) -> None:
        """Delete the build's temporary files (after an error; ``finish`` does it too)."""
        self._segment.close()


def _tol(theta: float) -> float:
    """Slack for float rounding when comparing sums against the threshold (keeps more)."""
    return 1e-9 * abs(theta) + 1e-300


def _select(ids: I64, scores: F64, k: int) -> tuple[I64, F64]:
    """The k best (ids, scores): higher score first, then smaller id."""
    if ids.shape[0] > k:
        kth = np.partition(-scores, k - 1)[k - 1]
        near = np.flatnonzero(-scores <= kth)
        ids, scores = ids[near], scores[near]
    order = np.lexsort((ids, -scores))[:k]
    return ids[order], scores[order]
