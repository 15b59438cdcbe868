"""The BM25 formula pieces, shared by every backend so that all compute the same scores.

:class:`index.bm25.BM25Index` (the embedded index) and the sharded backend's collection
statistics (:mod:`index.backends.stats`) both call these, so a score computed from a shard's
passage text equals the embedded one: same idf, same length normalisation, same saturation.
They work on Python floats and on numpy arrays alike.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TypeVar

import numpy as np
import numpy.typing as npt

Num = TypeVar("Num", float, npt.NDArray[np.float64])


def plus_idf(n: int, df: int) -> float:
    """BM25Plus idf, as rank_bm25: log((N + 1) / df)."""
    return math.log((n + 1) / df)


def okapi_raw_idf(n: int, df: int) -> float:
    """BM25Okapi idf before the floor, as rank_bm25: log(N - df + 0.5) - log(df + 0.5)."""
    return math.log(n - df + 0.5) - math.log(df + 0.5)


def okapi_average_idf(n: int, per_df: Iterable[tuple[int, int]]) -> float:
    """Mean raw Okapi idf over a vocabulary given as (df, number of terms with that df)."""
    terms = 0
    parts: list[float] = []
    for df, count in per_df:
        if df <= 0 or count <= 0:
            continue
        terms += count
        parts.append(count * okapi_raw_idf(n, df))
    return math.fsum(parts) / terms if terms else 0.0


def okapi_idf(n: int, df: int, epsilon: float, average_idf: float) -> float:
    """BM25Okapi idf with rank_bm25's floor for negative values (epsilon x average idf)."""
    idf = okapi_raw_idf(n, df)
    return idf if idf >= 0 else epsilon * average_idf


def length_k(k1: float, b: float, doc_len: Num, avgdl: float) -> Num:
    """k1 * (1 - b + b * dl / avgdl): the document-length part of the denominator."""
    return k1 * (1 - b + b * doc_len / (avgdl or 1.0))


def saturate(weight: float, tf: Num, k: Num) -> Num:
    """One term's contribution: weight * tf / (tf + K), weight = multiplicity*idf*(k1+1)."""
    return tf * weight / (tf + k)
