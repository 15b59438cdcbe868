"""Time the semantic pipeline: index build with embeddings, and answer latency.

    python -m bench.semantic ARTICLES_DIR [ARTICLES_DIR ...] --questions Q.jsonl [Q.jsonl ...]
        [--throughput-sample 2000] [--store DIR] [--json OUT]

1. Builds the BM25 engine for the folders (timed), then embeds every sentence into the
   embedding store (``--store``, default a temporary folder, so the time is that of a cold
   build; pass the configured ``NEWSDESK_DATA_DIR/cache/embeddings`` to time a warm one)
   and reports sentences per second. ``--throughput-sample N`` embeds only N sentences for
   the throughput figure (a cold BBC build takes minutes on 2 cores) and the rest on demand.
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--questions", nargs="+", type=Path, required=True)
    parser.add_argument("--store", type=Path, help="embedding store (default: a fresh one)")
    parser.add_argument("--throughput-sample", type=int, default=0)
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
        store = EmbeddingCache(args.store or Path(tmp), DIMENSION)
        started = time.perf_counter()
        encoder = Encoder(args.threads)
        figures["model_load_s"] = round(time.perf_counter() - started, 3)
        reranker = SemanticReranker(
            encoder,
            store,
            RerankParams(
                weight=settings.semantic_weight,
                depth=settings.semantic_depth,
                precompute_max=args.throughput_sample or settings.semantic_precompute_max,
            ),
        )
        todo = texts[: args.throughput_sample] if args.throughput_sample else texts
        missing = int((~store.lookup(keys_of(todo))[0]).sum())
        started = time.perf_counter()
        if args.throughput_sample:
            reranker.vectors(todo)
            store.flush()
        else:
            reranker.precompute(engine)
        seconds = time.perf_counter() - started
        figures["embedded"] = missing
        figures["embed_s"] = round(seconds, 2)
        figures["embed_sentences_per_s"] = round(missing / seconds, 1) if missing else None
        if not args.throughput_sample:
            figures["build_with_embeddings_s"] = round(
                float(figures["bm25_build_s"]) + seconds,
                2,  # type: ignore[arg-type]
            )
        reranker.attach(engine)  # with a sample, the other sentences are embedded on demand

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
