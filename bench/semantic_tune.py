"""Tune the semantic reranker's fusion weight on question fixtures.

    python -m bench.semantic_tune DIR:QUESTIONS.jsonl [DIR:QUESTIONS.jsonl ...] [--depth 50]

For every question the engine's top ``depth`` BM25 candidates are scored once (lexical key
and cosine to the question; embeddings come from and go to the configured store), then
P@1 / MRR@10 of the ranking alone (no decline) are printed for each model weight, per set,
so a weight is chosen on all sets together rather than on any one.
"""

from __future__ import annotations

import argparse
import pickle
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from config import load_settings
from index.articles import load_folder
from index.engine import Engine, EngineParams
from index.evaluate import is_correct, load_questions
from index.semantic import reranker_for

Rows = list[tuple[np.ndarray, ...]]  # lexical key, cosine, correct, BM25 scaled to the best


def collect(folder: Path, questions: Path, depth: int) -> Rows:
    """Lexical keys, cosines and correctness of each answerable question's candidates."""
    settings = load_settings(reranker="semantic")
    reranker = reranker_for(settings)
    assert reranker is not None
    articles, _ = load_folder(folder)
    params = replace(EngineParams.from_settings(settings), rerank_depth=depth)
    engine = Engine.build(articles, params)
    reranker.precompute(engine)
    rows: Rows = []
    for q in load_questions(questions):
        if not q.answerable:
            continue
        ranked, terms = engine.rank(q.question)
        head = ranked[:depth]
        if not head:
            rows.append((np.zeros(0), np.zeros(0), np.zeros(0, dtype=bool), np.zeros(0)))
            continue
        lexical = np.asarray(engine.lexical_keys(q.question, terms, head))
        cosine = reranker.similarities(q.question, [a.sentence for a in head]).astype(float)
        correct = np.asarray([is_correct(q, a) for a in head])
        scores = np.asarray([a.score for a in head])
        rows.append((lexical, cosine, correct, scores / (scores.max() or 1.0)))
    reranker.cache.flush()
    return rows


def score(rows: Rows, weight: float) -> tuple[float, float]:
    """P@1 and MRR@10 of the fused order."""
    hits = rr = 0.0
    for lexical, cosine, correct, _ in rows:
        if not correct.size:
            continue
        fused = weight * cosine + (1.0 - weight) * lexical
        order = np.lexsort((np.arange(fused.size), -fused))[:10]
        ranks = np.flatnonzero(correct[order])
        if ranks.size:
            rr += 1.0 / (ranks[0] + 1)
            hits += ranks[0] == 0
    return hits / len(rows), rr / len(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("sets", nargs="+", metavar="DIR:QUESTIONS.jsonl")
    parser.add_argument("--depth", type=int, default=50)
    parser.add_argument("--dump", type=Path, help="also pickle the collected rows here")
    args = parser.parse_args(argv)
    data = {}
    for item in args.sets:
        folder, _, questions = item.partition(":")
        name = f"{Path(folder).name}:{Path(questions).stem}"
        data[name] = collect(Path(folder), Path(questions), args.depth)
        print(f"{name}: {len(data[name])} answerable", file=sys.stderr)
    if args.dump:
        args.dump.write_bytes(pickle.dumps(data))
    print("weight  " + "  ".join(f"{name:>24}" for name in data))
    for weight in np.arange(0.0, 1.01, 0.05):
        cells = [f"{p:.3f}/{m:.3f}" for p, m in (score(r, weight) for r in data.values())]
        print(f"{weight:5.2f}   " + "  ".join(f"{c:>24}" for c in cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
