"""BM25Index scores equal rank_bm25's (BM25Plus and BM25Okapi), also after adds and removes.

Random corpora with a skewed vocabulary, so some terms sit in more than half the documents
(negative Okapi idf, the epsilon floor), empty documents, repeated and unknown query terms.
``top_k`` is checked against a brute-force ranking of rank_bm25's scores.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rank_bm25

from index import bm25_kernels as kernels
from index.bm25 import BM25Index, BM25Params


@pytest.fixture(autouse=True, params=["compiled", "numpy"])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run every test with the numba MaxScore kernel and with the numpy fallback."""
    if request.param == "compiled" and not kernels.AVAILABLE:
        pytest.skip("numba is not installed")
    monkeypatch.setattr(BM25Index, "use_kernel", request.param == "compiled")
    return str(request.param)


VARIANTS = [
    BM25Params(variant="plus"),
    BM25Params(variant="okapi"),
    BM25Params(variant="plus", k1=1.5, b=0.75, delta=0.5),
    BM25Params(variant="okapi", k1=1.2, b=1.0, epsilon=0.5),
]


def _corpus(rng: random.Random, n_docs: int, n_terms: int) -> list[list[str]]:
    """Documents over a Zipf-ish vocabulary; about one in twenty is empty."""
    weights = [1.0 / (r + 1) ** 1.1 for r in range(n_terms)]
    terms = [f"t{r}" for r in range(n_terms)]
    docs = []
    for _ in range(n_docs):
        length = 0 if rng.random() < 0.05 else rng.randint(1, 25)
        docs.append(rng.choices(terms, weights, k=length))
    return docs


def _queries(rng: random.Random, n_terms: int, count: int) -> list[list[str]]:
    queries = []
    for _ in range(count):
        q = [f"t{int(rng.paretovariate(0.8)) % (n_terms + 5)}" for _ in range(rng.randint(1, 7))]
        if rng.random() < 0.3:
            q.append(q[0])  # repeated term
        if rng.random() < 0.2:
            q.append("never-seen")
        queries.append(q)
    return queries


def _reference(docs: Sequence[Sequence[str]], p: BM25Params) -> rank_bm25.BM25:
    if p.variant == "plus":
        return rank_bm25.BM25Plus(docs, k1=p.k1, b=p.b, delta=p.delta)
    return rank_bm25.BM25Okapi(docs, k1=p.k1, b=p.b, epsilon=p.epsilon)


def _check_scores(
    index: BM25Index, live: list[int], docs: dict[int, list[str]], p: BM25Params, queries
) -> None:
    ref = _reference([docs[i] for i in live], p)
    live_arr = np.array(live, dtype=np.int64)
    assert index.n_docs == len(live)
    assert index.avgdl == pytest.approx(ref.avgdl, rel=1e-12)
    for q in queries:
        expected = np.asarray(ref.get_scores(q), dtype=np.float64)
        dense = index.get_scores(q)
        # rank_bm25 quirk: with b == 1 an empty document gets 0/0 = nan; we give it the
        # score of a document without the terms (0, or the Plus constant).
        nan = np.isnan(expected)
        assert all(p.b == 1 and not docs[live[i]] for i in np.flatnonzero(nan))
        np.testing.assert_allclose(dense[live_arr][~nan], expected[~nan], rtol=1e-9, atol=1e-12)
        assert np.all(np.isfinite(dense[live_arr]))
        dead = np.setdiff1d(np.arange(dense.shape[0]), live_arr)
        assert np.all(np.isneginf(dense[dead]))
        np.testing.assert_array_equal(index.scores(q, live_arr), dense[live_arr])
        for term in set(q):
            assert index.idf(term) == pytest.approx(ref.idf.get(term, 0.0), rel=1e-9, abs=1e-12)
            assert index.doc_freq(term) == sum(term in docs[i] for i in live)
        _check_top_k(index, q, live, docs, dense)


def _check_top_k(index: BM25Index, q, live, docs, dense) -> None:
    """top_k equals the brute-force ranking over live docs sharing a query term."""
    qset = set(q)
    sharing = [i for i in live if qset & set(docs[i])]
    brute = sorted(sharing, key=lambda i: (-dense[i], i))
    for k in (1, 3, 10, len(sharing) + 2):
        ids, scores = index.top_k(q, k)
        assert ids.tolist() == brute[:k]
        np.testing.assert_array_equal(scores, dense[ids])


@pytest.mark.parametrize("params", VARIANTS, ids=lambda p: f"{p.variant}-k{p.k1}-b{p.b}")
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_scores_match_rank_bm25(params: BM25Params, seed: int) -> None:
    rng = random.Random(seed)
    corpus = _corpus(rng, n_docs=rng.randint(20, 300), n_terms=rng.randint(5, 120))
    index = BM25Index.build(corpus, params)
    docs = dict(enumerate(corpus))
    _check_scores(index, list(docs), docs, params, _queries(rng, 120, 25))


@pytest.mark.parametrize("params", VARIANTS[:2], ids=lambda p: p.variant)
def test_negative_idf_terms_use_epsilon_floor(params: BM25Params) -> None:
    """Terms in more than half the docs: Okapi floors them at epsilon * average idf."""
    corpus = [["common", "x"], ["common"], ["common", "y"], ["z"], ["common", "common", "w"]]
    index = BM25Index.build(corpus, params)
    ref = _reference(corpus, params)
    assert ref.idf["common"] == pytest.approx(index.idf("common"), rel=1e-12)
    if params.variant == "okapi":
        raw = np.log(5 - 4 + 0.5) - np.log(4 + 0.5)
        assert raw < 0 and index.idf("common") == pytest.approx(0.25 * ref.average_idf)
    for q in (["common"], ["common", "common", "x"], ["nothing"], ["z", "common"]):
        np.testing.assert_allclose(index.get_scores(q), ref.get_scores(q), rtol=1e-9)


@pytest.mark.parametrize("params", VARIANTS, ids=lambda p: f"{p.variant}-k{p.k1}-b{p.b}")
def test_parity_after_add_and_remove(params: BM25Params) -> None:
    rng = random.Random(11)
    corpus = _corpus(rng, 150, 60)
    index = BM25Index.build(corpus[:100], params)
    docs = dict(enumerate(corpus[:100]))
    live = list(range(100))
    queries = _queries(rng, 60, 12)
    for step in range(8):
        batch = _corpus(rng, rng.randint(1, 12), 70)  # new terms appear too
        ids = index.add(batch)
        assert ids.dtype == np.int64
        assert ids.tolist() == list(range(max(docs) + 1, max(docs) + 1 + len(batch)))
        docs.update(zip(ids.tolist(), batch, strict=True))
        live.extend(ids.tolist())
        gone = rng.sample(live, k=min(len(live) - 5, rng.randint(0, 15)))
        index.remove(gone)
        index.remove(gone[:3])  # removing again is a no-op
        live = [i for i in live if i not in set(gone)]
        _check_scores(index, live, docs, params, queries if step % 2 else queries[:4])
        skips = [rng.randint(0, 3) for _ in live]
        assert index.doc_terms(live, skips) == [
            tuple(docs[i][n:]) for i, n in zip(live, skips, strict=True)
        ], "the forward lists give each document's terms in order"
        few = live[-3:]  # read one by one rather than gathered
        assert index.doc_terms(few, [1] * len(few)) == [tuple(docs[i][1:]) for i in few]


def test_removed_ids_never_come_back_and_unknown_ids_refused() -> None:
    index = BM25Index.build([["a", "b"], ["a"], ["b", "c"]], BM25Params())
    index.remove([1])
    ids, _ = index.top_k(["a"], 10)
    assert ids.tolist() == [0]
    assert index.doc_freq("a") == 1
    new = index.add([["a"]])
    assert new.tolist() == [3]  # ids are never reused
    with pytest.raises(ValueError, match="unknown document ids"):
        index.remove([7])
    with pytest.raises(ValueError, match="unknown document ids"):
        index.scores(["a"], np.array([9]))


def test_everything_removed_then_added_again() -> None:
    index = BM25Index.build([["a"], ["b"]], BM25Params())
    index.remove([0, 1])
    assert index.n_docs == 0 and index.avgdl == 0.0
    assert index.top_k(["a"], 5)[0].size == 0
    assert index.idf("a") == 0.0
    index.add([["a", "c"]])
    ref = rank_bm25.BM25Plus([["a", "c"]], k1=0.9, b=0.4, delta=1.0)
    np.testing.assert_allclose(index.get_scores(["a"])[2:], ref.get_scores(["a"]), rtol=1e-9)


def test_pruned_top_k_is_exact_on_long_posting_lists(
    monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    """MaxScore's pruning phase (look-ups instead of scoring) must give the exact top k."""
    lookups = 0
    real_lookup = BM25Index._lookup

    def counting(self: BM25Index, *args: Any) -> Any:
        nonlocal lookups
        lookups += 1
        return real_lookup(self, *args)

    monkeypatch.setattr(BM25Index, "_lookup", counting)
    rng = random.Random(5)
    corpus = _corpus(rng, 2_000, 400)
    pruned = 0
    for params in VARIANTS:
        index = BM25Index.build(corpus, params)
        index.remove(range(0, 2_000, 7))
        index.add(_corpus(rng, 50, 420))
        live = [i for i in range(2_050) if i >= 2_000 or i % 7]
        docs = dict(enumerate(corpus))
        docs.update({2_000 + j: d for j, d in enumerate(index_docs(index, 2_000, 2_050))})
        for q in _queries(rng, 400, 40):
            dense = index.get_scores(q)
            lookups = 0
            _check_top_k(index, q, live, docs, dense)
            pruned += lookups > 0
    if backend == "numpy":
        assert pruned > 20  # the pruning phase really ran


def index_docs(index: BM25Index, lo: int, hi: int) -> list[list[str]]:
    """The documents ``lo .. hi-1`` as token lists, read back through the forward index."""
    terms = index._vocab.terms
    out = []
    for doc in range(lo, hi):
        seg = next(s for s in index._segments if s.first_id <= doc < s.end_id)
        out.append([terms[t] for t in seg.doc_terms(doc).tolist()])
    return out


def test_query_and_documents_must_be_token_lists() -> None:
    with pytest.raises(TypeError):
        BM25Index.build(["not tokens"], BM25Params())
    index = BM25Index.build([["a"]], BM25Params())
    with pytest.raises(TypeError):
        index.top_k("a", 3)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        BM25Params(variant="l")  # type: ignore[arg-type]


def test_term_frequency_beyond_16_bits(tmp_path: Path) -> None:
    """A term repeated more than 65535 times in one document keeps its exact count."""
    corpus = [["a"] * 70_000 + ["b"], ["a", "b"], ["c"]]
    params = BM25Params()
    index = BM25Index.build(corpus[:1], params)
    index.add(corpus[1:])
    index.save(tmp_path)
    ref = _reference(corpus, params)
    for idx in (index, BM25Index.load(tmp_path, params)):
        np.testing.assert_allclose(
            idx.get_scores(["a", "b"]), ref.get_scores(["a", "b"]), rtol=1e-9
        )
        assert idx.top_k(["a"], 2)[0].tolist() == [0, 1]


def test_okapi_negative_floor_when_most_terms_are_everywhere() -> None:
    """A negative average idf makes the epsilon floor negative: top_k must still be exact."""
    corpus = [["a", "b"], ["a", "b"], ["a", "b", "c"], ["a"], ["a", "b", "d"]]
    params = BM25Params(variant="okapi")
    index = BM25Index.build(corpus, params)
    ref = _reference(corpus, params)
    assert ref.average_idf < 0 and index.idf("a") < 0
    docs = dict(enumerate(corpus))
    for q in (["a"], ["a", "c"], ["b", "d", "a"], ["c", "a", "a"]):
        dense = index.get_scores(q)
        np.testing.assert_allclose(dense, ref.get_scores(q), rtol=1e-9)
        _check_top_k(index, q, list(range(5)), docs, dense)
