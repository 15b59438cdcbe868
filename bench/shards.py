"""The sharded backend next to the embedded one: identical answers, and latency, in one run.

    python -m bench.shards --articles DIR QUESTIONS.jsonl [MORE.jsonl ...]
        [--shards HOST:PORT,HOST:PORT] [--repeat N] [--json]

Builds both backends over the same articles (the embedded index in memory, the sharded one
on two local ``searchd`` started in a temporary folder unless ``--shards`` names running
ones), replays every question on both and compares the replies question by question: the
answer (or the decline), every alternative (sentence, article, paragraph) and the scores.
Then it times ``Engine.ask`` on both, the question set repeated ``--repeat`` times, and one
live add + remove through the shards. The machine is shared: quote figures with that caveat.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.searchd import Searchd, start_shards
from index.articles import ArticleError, parse_article
from index.backends import SphinxBackend
from index.backends.sphinx_engine import ShardedEngine
from index.engine import Engine, EngineParams
from index.evaluate import Question, evaluate, load_questions
from index.records import Answer, Article, Response

SCORE_TOLERANCE = 1e-9  # relative; summation order differs, so scores may differ by an ulp


def load_articles(folder: Path) -> list[Article]:
    """The valid articles of a folder, in file-name order (as ``--articles`` loads them)."""
    articles = []
    for path in sorted(folder.glob("*.txt")):
        try:
            articles.append(parse_article(path.name, path.read_bytes()))
        except ArticleError:
            continue
    return articles


def _key(answer: Answer) -> tuple[str, str, int, int]:
    return (answer.sentence, answer.article_id, answer.paragraph, answer.sentence_index)


def same_reply(a: Response, b: Response) -> bool:
    """Same answer or decline, same alternatives in the same order, scores within 1e-9."""
    if (a.answer is None) != (b.answer is None) or len(a.ranked) != len(b.ranked):
        return False
    for x, y in zip(a.ranked, b.ranked, strict=True):
        if _key(x) != _key(y):
            return False
        if abs(x.score - y.score) > SCORE_TOLERANCE * max(abs(x.score), 1.0):
            return False
    return abs(a.confidence - b.confidence) <= SCORE_TOLERANCE


@dataclass
class Replay:
    """The outcome of replaying one question set on both backends."""

    name: str
    questions: int = 0
    identical: int = 0
    differing: list[str] = field(default_factory=list)
    partial: int = 0


def replay(
    name: str,
    questions: Sequence[Question],
    embedded: Callable[[str], Response],
    sharded: Callable[[str], Response],
) -> Replay:
    """Ask every question on both backends and compare the replies."""
    result = Replay(name, questions=len(questions))
    for question in questions:
        mine = sharded(question.question)
        result.partial += mine.partial
        if same_reply(embedded(question.question), mine):
            result.identical += 1
        else:
            result.differing.append(question.id)
    return result


def _latency(ask: Callable[[str], Response], texts: Sequence[str], repeat: int) -> dict[str, float]:
    ask(texts[0])
    times = []
    for _ in range(repeat):
        for text in texts:
            started = time.perf_counter()
            ask(text)
            times.append((time.perf_counter() - started) * 1000.0)
    ordered = sorted(times)
    return {
        "questions": len(times),
        "p50_ms": round(statistics.median(ordered), 2),
        "p99_ms": round(ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))], 2),
        "mean_ms": round(statistics.fmean(ordered), 2),
    }


def _write_timing(engine: ShardedEngine, article: Article) -> dict[str, float]:
    """Replace one article through the shards, then remove it and add it back (ms each)."""
    started = time.perf_counter()
    engine.add([article])
    replaced = (time.perf_counter() - started) * 1000.0
    started = time.perf_counter()
    engine.remove([article.id])
    removed = (time.perf_counter() - started) * 1000.0
    engine.add([article])
    return {
        "replace_one_article_ms": round(replaced, 1),
        "remove_one_article_ms": round(removed, 1),
    }


def run(
    folder: Path,
    question_files: Sequence[Path],
    shards: Sequence[str] | None,
    repeat: int,
    semantic: bool = False,
) -> dict[str, object]:
    """Build both backends, replay and time; the summary as a JSON-able dict. With
    ``semantic``, both answer through the semantic reranker (the ``semantic`` extra; its
    store in the configured data folder)."""
    params = EngineParams()
    articles = load_articles(folder)
    started_shards: list[Searchd] = []
    tmp = tempfile.TemporaryDirectory(prefix="newsdesk-shards-")
    try:
        if not shards:
            started_shards = start_shards(Path(tmp.name), 2)
            shards = [s.address for s in started_shards]
        started = time.perf_counter()
        embedded = Engine.build(articles, params)
        embedded_build = time.perf_counter() - started
        started = time.perf_counter()
        sharded = SphinxBackend(params, tuple(shards), 5.0).build(articles)
        sharded_build = time.perf_counter() - started
        assert isinstance(sharded, ShardedEngine)
        if semantic:
            from config import load_settings
            from index.semantic import reranker_for

            reranker = reranker_for(load_settings(reranker="semantic"))
            assert reranker is not None
            reranker.attach(embedded)
            reranker.attach(sharded)
        per_shard = [
            int(s.run("SELECT COUNT(*) FROM newsdesk_passages")[0][0]) for s in sharded._shards
        ]
        summary: dict[str, object] = {
            "pipeline": embedded.pipeline,
            "articles": len(articles),
            "passages": sharded.stats().passages,
            "passages_per_shard": per_shard,
            "build_s": {"embedded": round(embedded_build, 2), "sharded": round(sharded_build, 2)},
            "sets": [],
        }
        texts: list[str] = []
        for path in question_files:
            questions = load_questions(path)
            texts.extend(q.question for q in questions)
            result = replay(path.name, questions, embedded.ask, sharded.ask)
            scores = {
                backend: evaluate(questions, ask).to_json()
                for backend, ask in (("embedded", embedded.ask), ("sharded", sharded.ask))
            }
            summary["sets"].append(  # type: ignore[attr-defined]
                {
                    "questions": path.name,
                    "count": result.questions,
                    "identical": result.identical,
                    "differing": result.differing[:20],
                    "partial_answers": result.partial,
                    "p_at_1": {k: v["p_at_1"] for k, v in scores.items()},
                    "no_answer_accuracy": {k: v["no_answer_accuracy"] for k, v in scores.items()},
                }
            )
        fetch = {"ms": 0.0, "rounds": 0}
        per_question: list[tuple[float, int]] = []
        search = sharded._search_shards

        def timed(*args: Any) -> dict[int, list[tuple[Any, ...]]]:
            started = time.perf_counter()
            try:
                return search(*args)
            finally:
                fetch["ms"] += (time.perf_counter() - started) * 1000.0
                fetch["rounds"] += 1

        def ask(text: str) -> Response:
            fetch["ms"], fetch["rounds"] = 0.0, 0
            response = sharded.ask(text)
            per_question.append((fetch["ms"], int(fetch["rounds"])))
            return response

        sharded._search_shards = timed  # type: ignore[method-assign]
        summary["latency"] = {
            "embedded": _latency(embedded.ask, texts, repeat),
            "sharded": _latency(ask, texts, repeat),
        }
        sharded._search_shards = search  # type: ignore[method-assign]
        ordered = sorted(ms for ms, _ in per_question)
        rounds = [r for _, r in per_question]
        summary["latency"]["sharded_fetch_only"] = {  # type: ignore[index]
            "p50_ms": round(statistics.median(ordered), 2),
            "p99_ms": round(ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))], 2),
            "questions_needing_more_pages": sum(r > 1 for r in rounds),
            "max_rounds": max(rounds),
        }
        summary["writes"] = _write_timing(sharded, articles[-1])
        state = Path(tmp.name) / "state"
        sharded.save(state)
        summary["newsdesk_state_bytes"] = sum(f.stat().st_size for f in state.iterdir())
        if started_shards:
            summary["shard_rss_mb"] = [_rss_mb(s) for s in started_shards]
            for shard in started_shards:
                shard.stop()  # SIGTERM: searchd writes its RAM chunk to disk
            summary["shard_disk_mb"] = [
                round(sum(f.stat().st_size for f in s.folder.rglob("*") if f.is_file()) / 2**20, 1)
                for s in started_shards
            ]
        return summary
    finally:
        for shard in started_shards:
            shard.stop()
        tmp.cleanup()


def _rss_mb(shard: Searchd) -> float:
    """Resident memory of a running shard's searchd, in MiB."""
    assert shard.process is not None
    status = Path(f"/proc/{shard.process.pid}/status").read_text()
    kib = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS"))
    return round(kib / 1024, 1)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.shards", description=__doc__)
    parser.add_argument("questions", nargs="*", type=Path, help="question fixture files")
    parser.add_argument("--articles", type=Path, help="folder of article files")
    parser.add_argument(
        "--synthetic", type=int, help="generate a synthetic corpus of this many passages instead"
    )
    parser.add_argument("--shards", help="running shards host:port,host:port (default: start 2)")
    parser.add_argument("--repeat", type=int, default=3, help="times each question is timed")
    parser.add_argument(
        "--semantic", action="store_true", help="answer through the semantic reranker on both"
    )
    args = parser.parse_args(argv)
    shards = [s.strip() for s in args.shards.split(",")] if args.shards else None
    folder, questions = args.articles, list(args.questions)
    if args.synthetic:
        from bench.corpus import generate

        corpus = generate(args.synthetic)
        folder, questions = corpus.folder, [corpus.questions, *questions]
    if folder is None or not questions:
        parser.error("give --articles DIR and question files, or --synthetic N")
    summary = run(folder, questions, shards, args.repeat, args.semantic)
    json.dump(summary, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
