"""``top_k``'s pruning is exact: same ids and the same score bits as scoring everything.

Corpora are larger than the parity tests' and use long documents with repeated terms (so
term frequencies vary and the tf bounds matter), removals (tombstones, then a purge) and adds
(new segments). The compiled kernel is run with several seed budgets, so that the seed pass,
the general walk and the single-list walk all get to decide; the numpy path is checked too.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from index import bm25
from index import bm25_kernels as kernels
from index.bm25 import BM25Index, BM25Params

PARAMS = [BM25Params(), BM25Params(variant="plus", k1=1.5, b=0.75, delta=0.5)]
KS = (1, 10, 30, 100)


def _docs(rng: random.Random, n_docs: int, n_terms: int) -> list[list[str]]:
    """Zipf-ish documents; a third repeat some of their terms several times."""
    weights = [1.0 / (r + 1) ** 1.05 for r in range(n_terms)]
    terms = [f"t{r}" for r in range(n_terms)]
    docs = []
    for _ in range(n_docs):
        doc = rng.choices(terms, weights, k=rng.randint(3, 40))
        if rng.random() < 0.33:
            doc += [rng.choice(doc)] * rng.randint(1, 6)
        docs.append(doc)
    return docs


def _queries(rng: random.Random, n_terms: int, count: int) -> list[list[str]]:
    """Mixes of rare and common terms, sometimes repeated."""
    out = []
    for _ in range(count):
        q = [f"t{min(int(rng.paretovariate(0.6)) - 1, n_terms - 1)}" for _ in range(2)]
        q += [f"t{rng.randrange(n_terms)}" for _ in range(rng.randint(0, 5))]
        if rng.random() < 0.3:
            q.append(q[-1])
        out.append(q)
    return out


def _expected(index: BM25Index, q: list[str], k: int) -> tuple[list[int], np.ndarray]:
    """The top k by scoring every live document that shares a term (no pruning)."""
    dense = index.get_scores(q)
    tids = [index._vocab[t] for t in set(q) if t in index._vocab]
    sharing = np.zeros(dense.shape[0], dtype=bool)
    for seg in index._segments:
        for tid in tids:
            lo, hi = seg.postings_of(tid)
            sharing[np.asarray(seg.post_docs[lo:hi])] = True
    sharing &= index._live
    ids = np.flatnonzero(sharing)
    order = np.lexsort((ids, -dense[ids]))[:k]
    return ids[order].tolist(), dense[ids[order]]


def _check(index: BM25Index, queries: list[list[str]]) -> int:
    checked = 0
    for q in queries:
        for k in KS:
            want_ids, want_scores = _expected(index, q, k)
            ids, scores = index.top_k(q, k)
            assert ids.tolist() == want_ids, (q, k)
            assert scores.tobytes() == want_scores.tobytes(), (q, k)  # same bits
            checked += 1
    return checked


BACKENDS = [(True, 0), (True, 40), (True, 600), (True, kernels.SEED_MAX), (False, 0)]


@pytest.mark.parametrize("params", PARAMS, ids=lambda p: f"k{p.k1}-b{p.b}")
@pytest.mark.parametrize(
    ("use_kernel", "seed_budget"),
    BACKENDS,
    ids=[f"compiled-seed{b}" if kernel else "numpy" for kernel, b in BACKENDS],
)
def test_top_k_equals_exhaustive_after_removals_and_adds(
    params: BM25Params, use_kernel: bool, seed_budget: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    if use_kernel and not kernels.AVAILABLE:
        pytest.skip("numba is not installed")
    monkeypatch.setattr(BM25Index, "use_kernel", use_kernel)
    monkeypatch.setattr(BM25Index, "seed_budget", seed_budget)
    rng = random.Random(11 + seed_budget)
    n_terms = 300
    index = BM25Index.build(_docs(rng, 3_000, n_terms), params)
    queries = _queries(rng, n_terms, 30)
    assert _check(index, queries) == 30 * len(KS)
    index.remove(rng.sample(range(3_000), 300))  # tombstones: postings stay until a merge
    assert index._n_unpurged > 0
    _check(index, queries)
    index.add(_docs(rng, 150, n_terms + 20))  # a second segment, with new terms
    index.add(_docs(rng, 90, n_terms + 20))
    assert len(index._segments) > 1
    _check(index, queries + _queries(rng, n_terms + 20, 10))
    index.remove(range(0, 3_240, 3))  # past the purge share: segments are merged
    _check(index, queries)


def test_ties_go_to_the_smaller_id_across_seed_and_walk(monkeypatch: pytest.MonkeyPatch) -> None:
    """Equal scores across lists: the seed pass holds larger ids when the walk meets equal
    scores with smaller ids, which must still win (ties go to the smaller id)."""
    docs = [["pad", "x", "y"] for _ in range(500)]
    # "a" and "b" have the same df, every document the same length: equal contributions.
    # "a" gets the smaller term id (doc 0), so it leads the canonical order and is seeded.
    for i in [0, *range(400, 409)]:
        docs[i] = ["a", "x", "y"]
    for i in range(1, 11):
        docs[i] = ["b", "x", "y"]
    docs[450] = ["a", "b", "y"]
    docs[451] = ["c", "c", "y"]
    index = BM25Index.build(docs, BM25Params())
    for query in (["a", "b"], ["b", "a"], ["a", "b", "c"], ["a", "b", "x"]):
        for budget in (0, 10, 11, kernels.SEED_MAX):
            monkeypatch.setattr(BM25Index, "seed_budget", budget)
            for k in (*KS, 3, 5, 12):
                want_ids, want_scores = _expected(index, query, k)
                ids, scores = index.top_k(query, k)
                assert ids.tolist() == want_ids, (query, budget, k)
                assert scores.tobytes() == want_scores.tobytes()


@pytest.mark.parametrize("long_doc", [0, 300, 70_000], ids=["uint8", "uint16", "int32"])
def test_length_table_gives_the_bits_of_the_per_document_factor(
    long_doc: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The kernels read K as table[length]: equal bits to K per document, for every width
    of the length array, also after adds and removals move avgdl."""
    monkeypatch.setattr(BM25Index, "seed_budget", 40)
    rng = random.Random(long_doc)
    docs = _docs(rng, 800, 120)
    if long_doc:
        docs[5] = rng.choices([f"t{r}" for r in range(120)], k=long_doc)
    index = BM25Index.build(docs, BM25Params(k1=1.3, b=0.7))
    queries = _queries(rng, 120, 12)
    for step in range(3):
        dls, table = index._k_lookup()
        assert dls.dtype == {0: np.uint8, 300: np.uint16, 70_000: np.int32}[long_doc]
        assert table[dls].tobytes() == index._k().tobytes()
        if kernels.AVAILABLE:
            _check(index, queries)
        if step == 0:
            index.add(_docs(rng, 40, 130))
        else:
            index.remove(rng.sample(range(800), 50))


def test_term_span_cache_is_bounded_and_follows_merges(monkeypatch: pytest.MonkeyPatch) -> None:
    """The per-term span cache stays small, and a merge (which moves every posting) or an add
    (new segment) never leaves stale spans behind."""
    rng = random.Random(3)
    index = BM25Index.build(_docs(rng, 600, 80), BM25Params())
    queries = _queries(rng, 80, 10)
    with monkeypatch.context() as small:
        small.setattr(bm25, "_WHERE_CACHE_MAX", 3)
        _check(index, queries)
        assert 0 < len(index._where_cache) <= 3
    _check(index, queries)  # every queried term cached now
    index.add(_docs(rng, 200, 90))  # more than DELTA_SHARE of the base: merged into one
    assert len(index._segments) == 1
    _check(index, queries)
    index.remove(range(0, 800, 2))  # past DEAD_SHARE: purged by a merge, no add in between
    assert index._n_unpurged == 0
    _check(index, queries)
