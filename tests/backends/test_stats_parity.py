"""The sharded backend scores with the same formulas as the embedded index (no searchd)."""

from __future__ import annotations

import random

import pytest

from index.articles import parse_article
from index.backends.passages import (
    article_passages,
    decode_term,
    doc_from_row,
    encode_term,
    row_id,
)
from index.backends.stats import CollectionStats
from index.bm25 import BM25Index, BM25Params
from index.layout import lay_out
from tests.testpaths import FIXTURES, SEEDS

WORDS = [f"w{n}" for n in range(40)] + ["kn-23", "3.5", "münchen", "a_b"]


def _corpus(rng: random.Random, n: int) -> list[list[str]]:
    return [
        [rng.choice(WORDS[: rng.randint(3, len(WORDS))]) for _ in range(rng.randint(0, 30))]
        for _ in range(n)
    ]


@pytest.mark.parametrize("variant", ["plus", "okapi"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_scores_equal_the_embedded_index(variant: str, seed: int) -> None:
    rng = random.Random(seed)
    params = BM25Params(variant=variant, k1=rng.uniform(0.5, 2), b=rng.uniform(0, 1))  # type: ignore[arg-type]
    docs = _corpus(rng, 300)
    index = BM25Index.build(docs, params)
    stats = CollectionStats(params)
    stats.add(docs)
    gone = sorted(rng.sample(range(len(docs)), 40))
    index.remove(gone)
    stats.remove([docs[i] for i in gone])
    live = [i for i in range(len(docs)) if i not in set(gone)]
    assert stats.n_docs == index.n_docs
    assert stats.avgdl == pytest.approx(index.avgdl, rel=1e-15)
    for _ in range(25):
        query = [rng.choice([*WORDS, "unknown"]) for _ in range(rng.randint(1, 6))]
        expected = index.scores(query, live)
        got = stats.scores(query, [docs[i] for i in live])
        for e, g in zip(expected.tolist(), got, strict=True):
            assert g == pytest.approx(e, rel=1e-12, abs=1e-12)
        for term in query:
            assert stats.doc_freq(term) == index.doc_freq(term)
            assert stats.idf(term) == pytest.approx(index.idf(term), rel=1e-15)


def test_terms_are_encoded_one_to_one() -> None:
    terms = ["missil", "kn-23", "3.5", "münchen", "zxab", "a_b", "2000", "o'neil"]
    encoded = [encode_term(t) for t in terms]
    assert len(set(encoded)) == len(terms)
    assert all(e.isascii() and e.isalnum() and e == e.lower() for e in encoded)
    assert [decode_term(e) for e in encoded] == terms
    assert encode_term("missil") == "missil"


def test_row_ids_follow_index_order_and_refuse_zero() -> None:
    assert row_id(1, 0) < row_id(1, 5) < row_id(2, 0)
    with pytest.raises(ValueError):
        row_id(0, 0)


def test_passages_are_cut_as_the_embedded_layout_cuts_them() -> None:
    for folder in (SEEDS, FIXTURES / "articles"):
        for path in sorted(folder.glob("*.txt")):
            article = parse_article(path.name, path.read_bytes())
            laid = lay_out(
                "s", [article], first_passage=0, first_sentence=0, max_passage_sentences=2
            )
            docs = list(article_passages(article, 2))
            assert [list(d.terms) for d in docs] == laid.passage_docs
            assert [list(s) for d in docs for s in d.sentence_terms] == laid.sentence_docs
            for doc in docs:  # what a shard row stores reads back the same
                back = doc_from_row(
                    list(
                        doc.sentence_terms[0][: len(doc.sentence_terms[0]) - len(doc.own_terms[0])]
                    ),
                    doc.text,
                    doc.paragraph,
                    doc.window,
                    doc.local,
                    doc.spans_attr(),
                    doc.terms_attr(),
                )
                assert back == doc
