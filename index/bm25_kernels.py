"""Compiled document-at-a-time MaxScore for ``BM25Index.top_k`` (numba).

The kernel walks the posting lists of one segment in doc-id order. Terms come in the
index's canonical order (decreasing upper bound), so a document's score is summed in the
same order as ``get_scores`` and ``scores`` sum it, bit for bit. The terms whose bounds
together cannot beat the current k-th best score are "non-essential": a document is only
visited when an essential term holds it, and the non-essential terms are only looked up
(galloping search) while the document can still beat the threshold. Before the walk, the
documents of the leading short lists (rare terms, which hold most of the top k) are scored
in full ("seeding"), so the threshold starts near its final value and the long lists of
common terms turn non-essential early; the walk skips the seeded documents. When only one
list is left essential besides the seeded ones, a tighter loop walks it alone.

Exact: pruning never drops a document that could still enter the top k (every bound
compares with ``<``, and bounds carry a relative slack against rounding); the heap orders
entries by (score, smaller id), so among equal scores the smaller id wins whatever order
the seed pass and the walk meet the documents in.

``AVAILABLE`` is False when numba cannot be imported; ``index.bm25`` then falls back to its
numpy term-at-a-time path.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from index.jit import AVAILABLE as AVAILABLE  # re-exported: callers test it here
from index.jit import njit

SEED_MAX = 8_192  # postings of the leading lists the top-k kernel may score up front


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
def _seed_lists(starts: Any, ends: Any, budget: int) -> int:
    """How many leading lists the seed pass scores: while their postings fit ``budget``."""
    m = starts.shape[0]
    total = 0
    s = 0
    while s < m:
        total += ends[s] - starts[s]
        if total > budget:
            break
        s += 1
    return s


@njit(cache=True, nogil=True)
def _walk_one(
    docs: Any,
    tfs: Any,
    ends: Any,
    weights: Any,
    max_tfs: Any,
    slack: float,
    dls: Any,
    ktab: Any,
    live: Any,
    check_live: bool,
    heap_s: Any,
    heap_i: Any,
    size: int,
    pos: Any,
    rest: Any,
    rest_doc: Any,
    n_seed: int,
    theta: float,
) -> int:
    """The rest of the walk once list ``n_seed`` is the only essential list not seeded:
    a tight loop over its postings (most fail the first bound test), skipping the seeded
    documents. Returns the heap's size."""
    k = heap_s.shape[0]
    m = ends.shape[0]
    big = np.iinfo(np.int64).max
    j = n_seed
    w = weights[j]
    r = rest[j + 1]
    end = ends[j]
    next_seeded = big  # smallest doc still ahead in the seed lists
    for s in range(n_seed):
        if pos[s] < ends[s]:
            next_seeded = min(next_seeded, docs[pos[s]])
    p = pos[j]
    while p < end:
        doc = docs[p]
        t = np.float64(tfs[p])
        p += 1
        if doc >= next_seeded:
            seeded = False
            next_seeded = big
            for s in range(n_seed):
                q = pos[s]
                while q < ends[s] and docs[q] < doc:
                    q += 1
                pos[s] = q
                if q < ends[s]:
                    seeded = seeded or docs[q] == doc
                    next_seeded = min(next_seeded, docs[q])
            if seeded:
                continue
        kd = ktab[dls[doc]]
        score = (t * w) / (t + kd)
        if score + r < theta:
            continue
        if check_live and not live[doc]:
            continue
        acc = 0.0
        for i in range(m - 1, j, -1):
            acc += weights[i] * max_tfs[i] / (max_tfs[i] + kd) * slack
            rest_doc[i] = acc
        hopeful = True
        for i in range(j + 1, m):
            if score + rest_doc[i] < theta:
                hopeful = False
                break
            q = _gallop(docs, pos[i], ends[i], doc)
            pos[i] = q
            if q < ends[i] and docs[q] == doc:
                t = np.float64(tfs[q])
                score += (t * weights[i]) / (t + kd)
        if not hopeful:
            continue
        if size == k and not _worse(heap_s[0], heap_i[0], score, doc):
            continue
        size = _offer(heap_s, heap_i, size, score, doc)
        if size == k:
            theta = heap_s[0]
            if rest[j] < theta:
                break  # no document outside the seed lists can reach the top k any more
    pos[j] = p
    return size


@njit(cache=True, nogil=True)
def max_score_segment(
    docs: Any,
    tfs: Any,
    spans: Any,
    slack: float,
    dls: Any,
    ktab: Any,
    live: Any,
    check_live: bool,
    heap_s: Any,
    heap_i: Any,
    size: int,
    seed_budget: int,
) -> int:
    """Add one segment's documents to the top-k heap; returns the heap's new size.

    ``spans`` has a row per query term (canonical order): start and end of its postings in
    ``docs``/``tfs``, weight (idf * (k1+1) * multiplicity), upper bound over all documents
    and largest tf (one float array: one argument to pass, not five). A document's length
    factor K = k1 * (1 - b + b * dl / avgdl) is ``ktab[dls[doc]]``: its length, stored in
    the narrowest integer type, indexes a table of K per length (for a million short
    passages 1 MB that stays in cache between queries, not 8 MB of floats that must come
    from memory again). For a visited document the look-up terms are bounded with its own
    length factor, weight * max_tf / (max_tf + K_doc) * (1 + slack), which is much tighter
    than the global bound for documents of average length or more.
    """
    k = heap_s.shape[0]
    m = spans.shape[0]
    starts = spans[:, 0].astype(np.int64)
    ends = spans[:, 1].astype(np.int64)
    weights = spans[:, 2].copy()
    bounds = spans[:, 3].copy()
    max_tfs = spans[:, 4].copy()
    rest = np.zeros(m + 1)
    for j in range(m - 1, -1, -1):
        rest[j] = rest[j + 1] + bounds[j]
    rest_doc = np.zeros(m + 1)
    pos = starts.copy()
    big = np.iinfo(np.int64).max
    # Seed: score in full every document of the leading (highest bound, usually rarest)
    # lists while they are short, one list after the other, before the walk, so the
    # threshold starts near its final value instead of at the first k documents by id; the
    # walk below skips those documents. Seeding stops once the remaining lists cannot bring
    # a new document into the top k on their own (the walk would not visit them).
    theta = heap_s[0] if size == k else -np.inf
    n_seed = 0
    budget = seed_budget
    while n_seed < m and ends[n_seed] - starts[n_seed] <= budget:
        if size == k and rest[n_seed] < theta:
            break
        j = n_seed
        budget -= ends[j] - starts[j]
        for i in range(m):
            pos[i] = starts[i]
        w = weights[j]
        for p0 in range(starts[j], ends[j]):
            doc = docs[p0]
            dup = False
            for i in range(j):  # seeded with an earlier list
                q = _gallop(docs, pos[i], ends[i], doc)
                pos[i] = q
                if q < ends[i] and docs[q] == doc:
                    dup = True
                    break
            if dup or (check_live and not live[doc]):
                continue
            kd = ktab[dls[doc]]
            t = np.float64(tfs[p0])
            score = (t * w) / (t + kd)
            hopeful = True
            for i in range(j + 1, m):
                if score + rest[i] < theta:
                    hopeful = False
                    break
                q = _gallop(docs, pos[i], ends[i], doc)
                pos[i] = q
                if q < ends[i] and docs[q] == doc:
                    t = np.float64(tfs[q])
                    score += (t * weights[i]) / (t + kd)
            if not hopeful:
                continue
            if size == k and not _worse(heap_s[0], heap_i[0], score, doc):
                continue
            size = _offer(heap_s, heap_i, size, score, doc)
            if size == k:
                theta = heap_s[0]
        n_seed += 1
    for i in range(m):
        pos[i] = starts[i]
    n_ess = m
    if size == k:
        while n_ess > 0 and rest[n_ess - 1] < theta:
            n_ess -= 1
    while n_ess > n_seed:
        if n_ess == n_seed + 1:
            size = _walk_one(
                docs,
                tfs,
                ends,
                weights,
                max_tfs,
                slack,
                dls,
                ktab,
                live,
                check_live,
                heap_s,
                heap_i,
                size,
                pos,
                rest,
                rest_doc,
                n_seed,
                theta,
            )
            break
        doc = big
        for j in range(n_ess):
            p = pos[j]
            if p < ends[j] and docs[p] < doc:
                doc = docs[p]
        if doc == big:
            break
        seeded = False
        for j in range(n_seed):  # scored by the seed pass: step past it
            p = pos[j]
            if p < ends[j] and docs[p] == doc:
                seeded = True
                break
        if seeded:
            for j in range(n_ess):
                p = pos[j]
                if p < ends[j] and docs[p] == doc:
                    pos[j] = p + 1
            continue
        kd = ktab[dls[doc]]
        score = 0.0
        for j in range(n_ess):
            p = pos[j]
            if p < ends[j] and docs[p] == doc:
                t = np.float64(tfs[p])
                score += (t * weights[j]) / (t + kd)
                pos[j] = p + 1
        if check_live and not live[doc]:
            continue
        if n_ess < m:
            if score + rest[n_ess] < theta:
                continue
            acc = 0.0
            for j in range(m - 1, n_ess - 1, -1):
                acc += weights[j] * max_tfs[j] / (max_tfs[j] + kd) * slack
                rest_doc[j] = acc
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
def sort_heap(heap_s: Any, heap_i: Any, size: int) -> None:
    """Sort the first ``size`` heap entries in place, best first (ties: smaller id first)."""
    for end in range(size - 1, 0, -1):
        heap_s[0], heap_s[end] = heap_s[end], heap_s[0]
        heap_i[0], heap_i[end] = heap_i[end], heap_i[0]
        _sift_down(heap_s, heap_i, end, 0)


@njit(cache=True, nogil=True)
def score_ids_forward(
    fwd_offsets: Any,
    fwd_terms: Any,
    first_id: int,
    tids: Any,
    weights: Any,
    dls: Any,
    ktab: Any,
    ids: Any,
    acc: Any,
) -> None:
    """Add each query term's contribution to ``acc[i]`` for the doc ids ``ids`` of a
    segment, counting each document's tf of each term (``tids``, canonical order,
    ``weights`` alike) in its own short forward list rather than searching the terms' long
    postings: for a few hundred sentences or passages that touches far less memory. Terms
    are summed in canonical order, so each sum has the same bits as in ``get_scores`` and
    ``top_k``."""
    m = tids.shape[0]
    for i in range(ids.shape[0]):
        doc = ids[i]
        lo = fwd_offsets[doc - first_id]
        hi = fwd_offsets[doc - first_id + 1]
        kd = ktab[dls[doc]]
        for j in range(m):
            tid = tids[j]
            count = 0
            for p in range(lo, hi):
                if fwd_terms[p] == tid:
                    count += 1
            if count:
                t = np.float64(count)
                acc[i] += (t * weights[j]) / (t + kd)


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
