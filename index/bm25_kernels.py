"""Compiled document-at-a-time MaxScore for ``BM25Index.top_k`` (numba).

The kernel walks the posting lists of one segment in doc-id order. Terms come in the
index's canonical order (decreasing upper bound), so a document's score is summed in the
same order as ``get_scores`` and ``scores`` sum it, bit for bit. The terms whose bounds
together cannot beat the current k-th best score are "non-essential": a document is only
visited when an essential term holds it, and the non-essential terms are only looked up
(galloping search) while the document can still beat the threshold. Exact: pruning never
drops a document that could enter the top k; among equal scores the smaller id wins because
documents arrive in increasing id order and a newcomer must be strictly better.

``AVAILABLE`` is False when numba cannot be imported; ``index.bm25`` then falls back to its
numpy term-at-a-time path.
"""

from __future__ import annotations

from typing import Any

import numpy as np

try:
    from numba import njit

    AVAILABLE = True
except ImportError:  # pragma: no cover - numba is a dependency; this keeps a clear fallback
    AVAILABLE = False

    def njit(*args: Any, **kwargs: Any) -> Any:  # type: ignore[no-redef]
        def wrap(fn: Any) -> Any:
            return fn

        return wrap


SEED_MAX = 1_024  # longest first-term posting list the top-k kernel scores up front


@njit(cache=True, nogil=True)
def _worse(s_a: float, i_a: int, s_b: float, i_b: int) -> bool:
    """Is (score a, id a) ranked after (score b, id b)?"""
    return s_a < s_b or (s_a == s_b and i_a > i_b)


@njit(cache=True, nogil=True)
def _sift_down(heap_s: Any, heap_i: Any, size: int, pos: int) -> None:
    """Restore the min-heap (worst entry at the root) below ``pos``."""
    while True:
        left = 2 * pos + 1
        if left >= size:
            return
        child = left
        right = left + 1
        if right < size and _worse(heap_s[right], heap_i[right], heap_s[left], heap_i[left]):
            child = right
        if _worse(heap_s[child], heap_i[child], heap_s[pos], heap_i[pos]):
            heap_s[pos], heap_s[child] = heap_s[child], heap_s[pos]
            heap_i[pos], heap_i[child] = heap_i[child], heap_i[pos]
            pos = child
        else:
            return


@njit(cache=True, nogil=True)
def _sift_up(heap_s: Any, heap_i: Any, pos: int) -> None:
    while pos > 0:
        parent = (pos - 1) // 2
        if _worse(heap_s[pos], heap_i[pos], heap_s[parent], heap_i[parent]):
            heap_s[pos], heap_s[parent] = heap_s[parent], heap_s[pos]
            heap_i[pos], heap_i[parent] = heap_i[parent], heap_i[pos]
            pos = parent
        else:
            return


@njit(cache=True, nogil=True)
def _offer(heap_s: Any, heap_i: Any, size: int, score: float, doc: int) -> int:
    """Put (score, doc) in the top-k heap if it ranks before the worst; returns the size."""
    if size < heap_s.shape[0]:
        heap_s[size] = score
        heap_i[size] = doc
        _sift_up(heap_s, heap_i, size)
        return size + 1
    if _worse(heap_s[0], heap_i[0], score, doc):
        heap_s[0] = score
        heap_i[0] = doc
        _sift_down(heap_s, heap_i, size, 0)
    return size


@njit(cache=True, nogil=True)
def _gallop(docs: Any, lo: int, hi: int, target: int) -> int:
    """First index in ``[lo, hi)`` whose doc id is >= target (``hi`` if none)."""
    if lo >= hi or docs[lo] >= target:
        return lo
    step = 1
    p = lo
    while p + step < hi and docs[p + step] < target:
        p += step
        step *= 2
    left = p + 1
    right = min(p + step, hi)
    while left < right:
        mid = (left + right) // 2
        if docs[mid] < target:
            left = mid + 1
        else:
            right = mid
    return left


@njit(cache=True, nogil=True)
def max_score_segment(
    docs: Any,
    tfs: Any,
    starts: Any,
    ends: Any,
    weights: Any,
    bounds: Any,
    max_tfs: Any,
    slack: float,
    kvals: Any,
    live: Any,
    check_live: bool,
    heap_s: Any,
    heap_i: Any,
    size: int,
) -> int:
    """Add one segment's documents to the top-k heap; returns the heap's new size.

    ``starts``/``ends`` delimit each query term's postings in ``docs``/``tfs`` (canonical
    order), ``weights`` are idf * (k1+1) * multiplicity, ``bounds`` their upper bounds over
    all documents and ``max_tfs`` their largest tf; ``kvals`` is the per-document length
    factor k1 * (1 - b + b * dl / avgdl). For a visited document the look-up terms are
    bounded with its own length factor, weight * max_tf / (max_tf + K_doc) * (1 + slack),
    which is much tighter than the global bound for documents of average length or more.
    """
    k = heap_s.shape[0]
    m = starts.shape[0]
    rest = np.zeros(m + 1)
    for j in range(m - 1, -1, -1):
        rest[j] = rest[j + 1] + bounds[j]
    rest_doc = np.zeros(m + 1)
    pos = starts.copy()
    # Seed: score every document of the first (highest bound, usually rarest) term in full
    # before the walk, so the threshold starts near its final value instead of at the
    # first k documents by id; the walk below then skips those documents.
    seeded = m > 1 and ends[0] - starts[0] <= SEED_MAX
    if seeded:
        for p0 in range(starts[0], ends[0]):
            doc = docs[p0]
            if check_live and not live[doc]:
                continue
            kd = kvals[doc]
            t = np.float64(tfs[p0])
            score = (t * weights[0]) / (t + kd)
            for j in range(1, m):
                p = _gallop(docs, pos[j], ends[j], doc)
                pos[j] = p
                if p < ends[j] and docs[p] == doc:
                    t = np.float64(tfs[p])
                    score += (t * weights[j]) / (t + kd)
            size = _offer(heap_s, heap_i, size, score, doc)
        for j in range(m):
            pos[j] = starts[j]
    theta = heap_s[0] if size == k else -np.inf
    n_ess = m
    if size == k:
        while n_ess > 0 and rest[n_ess - 1] < theta:
            n_ess -= 1
    big = np.iinfo(np.int64).max
    while n_ess > 0:
        doc = big
        for j in range(n_ess):
            p = pos[j]
            if p < ends[j] and docs[p] < doc:
                doc = docs[p]
        if doc == big:
            break
        if seeded and pos[0] < ends[0] and docs[pos[0]] == doc:
            for j in range(n_ess):  # scored by the seed pass: step past it
                p = pos[j]
                if p < ends[j] and docs[p] == doc:
                    pos[j] = p + 1
            continue
        kd = kvals[doc]
        score = 0.0
        for j in range(n_ess):
            p = pos[j]
            if p < ends[j] and docs[p] == doc:
                t = np.float64(tfs[p])
                score += (t * weights[j]) / (t + kd)
                pos[j] = p + 1
        if check_live and not live[doc]:
            continue
        if n_ess < m and score + rest[n_ess] >= theta:
            acc = 0.0
            for j in range(m - 1, n_ess - 1, -1):
                acc += weights[j] * max_tfs[j] / (max_tfs[j] + kd) * slack
                rest_doc[j] = acc
        else:
            for j in range(n_ess, m):
                rest_doc[j] = rest[j]
        hopeful = True
        for j in range(n_ess, m):
            if score + rest_doc[j] < theta:
                hopeful = False
                break
            p = _gallop(docs, pos[j], ends[j], doc)
            pos[j] = p
            if p < ends[j] and docs[p] == doc:
                t = np.float64(tfs[p])
                score += (t * weights[j]) / (t + kd)
        if not hopeful:
            continue
        if size == k and not _worse(heap_s[0], heap_i[0], score, doc):
            continue  # (the seed pass may hold larger ids: a tie with a smaller id wins)
        size = _offer(heap_s, heap_i, size, score, doc)
        if size == k:
            theta = heap_s[0]
            while n_ess > 0 and rest[n_ess - 1] < theta:
                n_ess -= 1
    return size


@njit(cache=True, nogil=True)
def score_ids_segment(
    docs: Any,
    tfs: Any,
    starts: Any,
    ends: Any,
    weights: Any,
    kvals: Any,
    ids: Any,
    acc: Any,
) -> None:
    """Add each term's contribution to ``acc[i]`` for the sorted doc ids ``ids`` of a segment.

    Terms are taken in canonical order, so each document's sum has the same order (and the
    same bits) as in ``get_scores`` and ``top_k``.
    """
    n = ids.shape[0]
    for j in range(starts.shape[0]):
        p = starts[j]
        hi = ends[j]
        w = weights[j]
        for i in range(n):
            doc = ids[i]
            p = _gallop(docs, p, hi, doc)
            if p >= hi:
                break
            if docs[p] == doc:
                t = np.float64(tfs[p])
                acc[i] += (t * w) / (t + kvals[doc])


@njit(cache=True, nogil=True)
def invert_chunk(flat: Any, lens: Any, first_doc: int, n_terms: int) -> Any:
    """Postings of a chunk of documents by counting sort: (postings per term, doc ids, tf).

    ``flat`` holds the documents' term ids one document after the other, so placing each
    token at its term's next free slot leaves every term's documents in ascending order,
    with a document's repeats side by side; runs of one document become one posting.
    Linear time, where a comparison sort of (term, doc) keys is not.
    """
    tokens = np.zeros(n_terms + 1, dtype=np.int64)
    for i in range(flat.shape[0]):
        tokens[flat[i] + 1] += 1
    for t in range(n_terms):
        tokens[t + 1] += tokens[t]
    slot = tokens[:-1].copy()
    placed = np.empty(flat.shape[0], dtype=np.int32)
    i = 0
    for d in range(lens.shape[0]):
        doc = first_doc + d
        for _ in range(lens[d]):
            t = flat[i]
            placed[slot[t]] = doc
            slot[t] += 1
            i += 1
    counts = np.zeros(n_terms, dtype=np.int64)
    docs = np.empty(flat.shape[0], dtype=np.int32)
    tf = np.empty(flat.shape[0], dtype=np.int64)
    n = 0
    for t in range(n_terms):
        lo = tokens[t]
        hi = tokens[t + 1]
        j = lo
        while j < hi:
            doc = placed[j]
            k = j + 1
            while k < hi and placed[k] == doc:
                k += 1
            docs[n] = doc
            tf[n] = k - j
            n += 1
            counts[t] += 1
            j = k
    return counts, docs[:n].copy(), tf[:n].copy()


@njit(cache=True, nogil=True)
def map_terms(coded: Any, table: Any) -> Any:
    """``table[coded]`` as int32, and the values ``c`` of ``coded`` with ``table[c] < 0``
    (still unmapped) in order of first appearance, in one pass."""
    out = np.empty(coded.shape[0], dtype=np.int32)
    seen = np.zeros(table.shape[0], dtype=np.bool_)
    new = np.empty(coded.shape[0], dtype=np.int64)
    n = 0
    for i in range(coded.shape[0]):
        c = coded[i]
        t = table[c]
        out[i] = t
        if t < 0 and not seen[c]:
            seen[c] = True
            new[n] = c
            n += 1
    return out, new[:n].copy()


@njit(cache=True, nogil=True)
def fill_unmapped(out: Any, coded: Any, table: Any) -> None:
    """Set the entries of ``out`` still negative from ``table`` (after it learnt them)."""
    for i in range(out.shape[0]):
        if out[i] < 0:
            out[i] = table[coded[i]]
