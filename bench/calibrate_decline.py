"""Fit the decline model (index/evidence.py WEIGHTS, BIAS) on question fixtures.

    python -m bench.calibrate_decline DIR:QUESTIONS.jsonl [DIR:QUESTIONS.jsonl ...] [--limit N]
        [--pipeline lexical|semantic]

For every answerable question two samples are made: the engine's best sentence (positive
when it is correct) and a *near miss*: the best sentence once the gold paragraph is hidden,
which keeps the topic but loses the fact (positive only if the fact is repeated elsewhere).
Unanswerable questions give negatives. A logistic regression over the evidence features is
fitted, and the trade-off (answerable questions still answered correctly against near misses
and unanswerable questions declined) is printed for a range of thresholds.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from index.articles import load_folder
from index.engine import Engine, EngineParams
from index.evaluate import is_correct, load_questions
from index.records import Answer
from index.semantic import SemanticRanking, SemanticReranker

Sample = tuple[tuple[float, ...], int, str, str]  # features, label, kind, set name


def _fold(text: str) -> str:
    return " ".join(text.casefold().split())


def _semantic() -> SemanticReranker:
    from config import load_settings
    from index.semantic import reranker_for

    reranker = reranker_for(load_settings(reranker="semantic"))
    assert reranker is not None
    return reranker


def _features(
    engine: Engine,
    question: str,
    terms: list[str],
    answers: list[Answer],
    similarity: list[float],
    reranker: SemanticReranker | None,
) -> tuple[float, ...]:
    """Decline-model inputs for ``answers[0]`` (plus similarity in the semantic pipeline)."""
    evidence = engine.evidence(question, terms, answers[0])
    if reranker is None:
        return evidence.features()
    return SemanticRanking(answers, similarity).features(evidence)


def collect(
    folder: Path, questions_file: Path, limit: int, pipeline: str = "lexical"
) -> list[tuple[tuple[float, ...], int, str]]:
    """Evidence features and labels for the questions of one fixture file (for the
    semantic pipeline: the reranked order, and the similarity features appended)."""
    articles, _ = load_folder(folder)
    engine = Engine.build(articles, EngineParams())
    reranker = _semantic() if pipeline == "semantic" else None
    if reranker is not None:
        reranker.attach(engine)
    samples: list[tuple[tuple[float, ...], int, str]] = []
    for question in load_questions(questions_file)[:limit]:
        ranked, terms = engine.rank(question.question)
        if not ranked:
            continue
        sims: list[float] = []
        if reranker is not None:
            reranking = reranker.rerank(engine, question.question, terms, ranked)
            ranked, sims = reranking.answers, reranking.similarity

        best = ranked[0]
        features = _features(engine, question.question, terms, ranked, sims, reranker)
        if not question.answerable:
            samples.append((features, 0, "unanswerable"))
            continue
        samples.append((features, int(is_correct(question, best)), "answerable"))
        if question.article is None or question.paragraph is None:
            continue
        kept = [
            i
            for i, a in enumerate(ranked)
            if not (a.article_id == question.article and a.paragraph == question.paragraph)
        ]
        if kept:
            hidden = [ranked[i] for i in kept]
            fact_elsewhere = any(_fold(e) in _fold(hidden[0].sentence) for e in question.expect)
            near_sims = [sims[i] for i in kept] if sims else []
            near = _features(engine, question.question, terms, hidden, near_sims, reranker)
            samples.append((near, int(fact_elsewhere), "near-miss"))
    return samples


def fit(x: np.ndarray, y: np.ndarray, l2: float = 1e-3, steps: int = 4000) -> np.ndarray:
    """Logistic regression by gradient descent (few features: no library needed)."""
    xb = np.hstack([x, np.ones((x.shape[0], 1))])
    w = np.zeros(xb.shape[1])
    pos = y.mean()
    sample_weight = np.where(y == 1, 0.5 / pos, 0.5 / (1 - pos))
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(xb @ w)))
        grad = xb.T @ ((p - y) * sample_weight) / len(y) + l2 * np.r_[w[:-1], 0.0]
        w -= 1.0 * grad
    return w


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("sets", nargs="+", metavar="DIR:QUESTIONS.jsonl")
    parser.add_argument("--limit", type=int, default=2500, help="questions per set")
    parser.add_argument("--pipeline", choices=("lexical", "semantic"), default="lexical")
    args = parser.parse_args(argv)
    samples: list[Sample] = []
    for item in args.sets:
        folder, _, questions = item.partition(":")
        got = [
            (*s, Path(questions).stem)
            for s in collect(Path(folder), Path(questions), args.limit, args.pipeline)
        ]
        print(f"{questions}: {len(got)} samples", file=sys.stderr)
        samples.extend(got)
    x = np.asarray([s[0] for s in samples])
    y = np.asarray([s[1] for s in samples], dtype=float)
    kinds = np.asarray([s[2] for s in samples])
    w = fit(x, y)
    z = np.hstack([x, np.ones((len(x), 1))]) @ w
    conf = 1.0 / (1.0 + np.exp(-z))
    print("WEIGHTS =", "(" + ", ".join(f"{v:.3f}" for v in w[:-1]) + ")")
    print(f"BIAS = {w[-1]:.3f}")
    answerable = kinds == "answerable"
    sets = np.asarray([s[3] for s in samples])
    print("threshold  answered-correct(P@1)  near-miss-declined  unanswerable-declined")
    for threshold in np.arange(0.1, 0.81, 0.05):
        keep = conf >= threshold
        p_at_1 = float(np.mean(keep[answerable] & (y[answerable] == 1)))
        nm = (kinds == "near-miss") & (y == 0)
        un = kinds == "unanswerable"
        nm_declined = float(np.mean(~keep[nm])) if nm.any() else float("nan")
        un_declined = float(np.mean(~keep[un])) if un.any() else float("nan")
        in_set = {name: answerable & (sets == name) for name in dict.fromkeys(sets.tolist())}
        per_set = "  ".join(
            f"{name}:{float(np.mean(keep[mask] & (y[mask] == 1))):.3f}"
            for name, mask in in_set.items()
        )
        per_set += "  unanswerable declined: " + " ".join(
            f"{name}:{float(np.mean(~keep[un & (sets == name)])):.2f}"
            for name in in_set
            if (un & (sets == name)).any()
        )
        print(
            f"{threshold:9.2f}  {p_at_1:21.3f}  {nm_declined:18.3f}  {un_declined:21.3f}  {per_set}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
