"""Time the semantic pipeline: index build with embeddings, and answer latency.

    python -m bench.semantic ARTICLES_DIR [ARTICLES_DIR ...] --questions Q.jsonl [Q.jsonl ...]
        [--throughput-sample 2000] [--store DIR] [--json OUT]

1. Builds the BM25 engine for the folders (timed), then embeds every sentence the embedding
   store lacks (``--store``, default a fresh temporary one, so the time is that of a cold
   build; pass the configured ``NEWSDESK_DATA_DIR/cache/embeddings/<model>`` for a warm one)
   and reports sentences per second. ``--throughput-sample N`` also embeds the first N
   sentences into a scratch store, for a throughput figure that does not need a cold build.
2. Answers every question of the fixture files through ``Engine.ask`` with the reranker on
   (after one warm-up question) and reports p50/p99 latency and the share of candidate
   sentences that had to be embedded at question time.

Speed is judged from runs of this script, never from timed unit tests.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from config import load_settings
from index.articles import load_folder
from index.engine import Engine, EngineParams
from index.evaluate import load_questions
from index.semantic import RerankParams, SemanticReranker
from index.semantic.cache import EmbeddingCache, keys_of
from index.semantic.model import DIMENSION, Encoder


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(share * (len(ordered) - 1))))]


def figures_float(figures: dict[str, object], key: str) -> float:
    value = figures[key]
    assert isinstance(value, int | float)
    return float(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--questions", nargs="+", type=Path, required=True)
    parser.add_argument("--store", type=Path, help="embedding store (default: a fresh one)")
    parser.add_argument(
        "--throughput-sample",
        type=int,
        default=0,
        help="also embed N sentences into a scratch store",
    )
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    settings = load_settings()
    articles = [a for folder in args.folders for a in load_folder(folder)[0]]
    figures: dict[str, object] = {"articles": len(articles)}

    started = time.perf_counter()
    engine = Engine.build(articles, EngineParams.from_settings(settings))
    figures["bm25_build_s"] = round(time.perf_counter() - started, 2)
    texts = list(dict.fromkeys(engine.sentence_texts()))
    figures["sentences"] = len(texts)

    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        encoder = Encoder(args.threads)
        figures["model_load_s"] = round(time.perf_counter() - started, 3)
        params = RerankParams(
            weight=settings.semantic_weight,
            depth=settings.semantic_depth,
            precompute_max=settings.semantic_precompute_max,
        )
        if args.throughput_sample:
            sample = texts[: args.throughput_sample]
            scratch = SemanticReranker(
                encoder, EmbeddingCache(Path(tmp) / "sample", DIMENSION), params
            )
            started = time.perf_counter()
            scratch.vectors(sample)
            scratch.cache.flush()
            seconds = time.perf_counter() - started
            figures["sample_embedded"] = len(sample)
            figures["sample_sentences_per_s"] = round(len(sample) / seconds, 1)
        store = EmbeddingCache(args.store or Path(tmp) / "store", DIMENSION)
        reranker = SemanticReranker(encoder, store, params)
        missing = int((~store.lookup(keys_of(texts))[0]).sum())
        started = time.perf_counter()
        reranker.attach(engine)  # embeds what the store lacks (all of it when fresh)
        seconds = time.perf_counter() - started
        figures["embedded_at_build"] = missing
        figures["embed_s"] = round(seconds, 2)
        if missing:
            figures["embed_sentences_per_s"] = round(missing / seconds, 1)
        figures["build_with_embeddings_s"] = round(
            figures_float(figures, "bm25_build_s") + seconds, 2
        )

        questions = [q.question for path in args.questions for q in load_questions(path)]
        engine.ask(questions[0])
        before = reranker.on_demand
        latencies: list[float] = []
        for question in questions:
            t = time.perf_counter()
            engine.ask(question)
            latencies.append((time.perf_counter() - t) * 1000.0)
        figures["questions"] = len(questions)
        figures["latency_ms_p50"] = round(statistics.median(latencies), 2)
        figures["latency_ms_p99"] = round(_percentile(latencies, 0.99), 2)
        figures["embedded_at_question_time"] = reranker.on_demand - before
        store.flush()
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
