"""Collection statistics that Newsdesk keeps for a sharded index, so every shard scores alike.

A shard knows only its own documents, so its idf and average length differ from its
neighbours'. Newsdesk keeps, for the whole collection, what BM25 needs besides term counts:
the number of documents, their total length and each term's document frequency. These are
small next to the postings (one number per distinct term, not one per occurrence). Scores are
computed with the same formula functions as the embedded index (:mod:`index.bm25_formula`),
so a passage scores the same on both backends.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence

from index import bm25_formula as formula
from index.bm25 import BM25Params


class CollectionStats:
    """N, total length and document frequencies of one kind of document (passages or
    sentences), with BM25 scoring of documents given as token lists."""

    def __init__(self, params: BM25Params) -> None:
        self.params = params
        self.df: Counter[str] = Counter()
        self._n = 0
        self.total_len = 0
        self._avg_idf: float | None = None

    # --- upkeep ---------------------------------------------------------------------------
    def add(self, docs: Iterable[Sequence[str]]) -> None:
        """Count documents in (each a token list)."""
        for doc in docs:
            self.df.update(set(doc))
            self._n += 1
            self.total_len += len(doc)
        self._avg_idf = None

    def remove(self, docs: Iterable[Sequence[str]]) -> None:
        """Count documents out (the same token lists they were counted in with)."""
        for doc in docs:
            for term in set(doc):
                left = self.df[term] - 1
                if left > 0:
                    self.df[term] = left
                else:
                    del self.df[term]
            self._n -= 1
            self.total_len -= len(doc)
        self._avg_idf = None

    def restore(self, n_docs: int, total_len: int, df: dict[str, int]) -> None:
        """Set the statistics from a saved copy."""
        self._n = n_docs
        self.total_len = total_len
        self.df = Counter(df)
        self._avg_idf = None

    # --- what the answering part reads (index.engine.TermStats) ---------------------------
    @property
    def n_docs(self) -> int:
        return self._n

    @property
    def avgdl(self) -> float:
        return self.total_len / self._n if self._n else 0.0

    def doc_freq(self, term: str) -> int:
        return self.df.get(term, 0)

    def idf(self, term: str) -> float:
        """The variant's idf of ``term`` (0.0 when no document has it), as BM25Index.idf."""
        df = self.df.get(term, 0)
        if df <= 0:
            return 0.0
        if self.params.variant == "plus":
            return formula.plus_idf(self._n, df)
        return formula.okapi_idf(self._n, df, self.params.epsilon, self._average_idf())

    def _average_idf(self) -> float:
        if self._avg_idf is None:
            per_df = Counter(self.df.values())
            self._avg_idf = formula.okapi_average_idf(self._n, sorted(per_df.items()))
        return self._avg_idf

    # --- scoring --------------------------------------------------------------------------
    def scores(self, query: Sequence[str], docs: Sequence[Sequence[str]]) -> list[float]:
        """BM25 score of each document (a token list) for ``query`` (repeated terms count
        each time, unknown terms score 0, BM25Plus adds idf x delta per known query term)."""
        return self.scores_counted(query, [(Counter(doc), len(doc)) for doc in docs])

    def scores_counted(
        self,
        query: Sequence[str],
        docs: Sequence[tuple[Mapping[str, int], int]],
        key: Callable[[str], str] | None = None,
    ) -> list[float]:
        """As :meth:`scores`, documents given as (term counts, length); ``key`` maps a query
        term to the key its counts are under (an encoded form), identity by default."""
        p = self.params
        counts = Counter(t for t in query if self.df.get(t, 0) > 0)
        weights: list[tuple[str, float]] = []
        constant = 0.0
        for term, mult in counts.items():
            idf = self.idf(term)
            if p.variant == "plus":
                constant += mult * idf * p.delta
            weights.append((key(term) if key else term, mult * idf * (p.k1 + 1)))
        avgdl = self.avgdl
        out: list[float] = []
        for tf, length in docs:
            k = formula.length_k(p.k1, p.b, float(length), avgdl)
            total = 0.0
            for term, weight in weights:
                n = tf.get(term)
                if n:
                    total += formula.saturate(weight, float(n), k)
            out.append(total + constant)
        return out
