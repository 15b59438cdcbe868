"""Benchmark Newsdesk's retrieval against rank_bm25 and bm25s on a synthetic news corpus.

Run (from the repository root):

    .venv/bin/python -m bench.run --sizes 10k,100k,1m

For each size (in passages) it generates a deterministic corpus in FORMATS layout A with
questions (cached under bench/out/), then measures in separate processes, side by side:
build time, size on disk, cold load time, peak memory (RSS), latency p50/p99 of Newsdesk's
full answer path (``Engine.ask``) and of its BM25 ``top_k`` alone, of rank_bm25
(``get_scores`` + top-k, on a sample of the questions at large sizes, as printed), of bm25s,
the time to add one article and answer from it, and the score parity between Newsdesk's
BM25 and rank_bm25 on the sampled questions. Prints a table per size and writes
``bench/results/<date>-<size>.json``.

Options: ``--questions N`` (default 600), ``--rank-sample N`` (rank_bm25 questions; default
all up to 20k passages, 100 up to 200k, 12 above), ``--skip rank_bm25,bm25s,engine`` to
leave parts out.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.corpus import OUT, generate

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"


def parse_size(text: str) -> int:
    text = text.strip().lower()
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text[:-1] if scale > 1 else text) * scale)


def run_task(task: str, args: dict[str, Any], timeout: float = 1800) -> dict[str, Any]:
    """Run one ``bench.worker`` task in a fresh interpreter and return its JSON result."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONHASHSEED="0")
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "bench.worker", task, json.dumps(args)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-5:]
        print(f"  ! {task} failed: {' | '.join(tail)}", file=sys.stderr)
        return {"error": "\n".join(tail), "wall_s": wall}
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    result["wall_s"] = wall
    print(f"  {task}: done in {wall:.1f} s", file=sys.stderr)
    return result


def _tokenizer_digest() -> str:
    """Changes when the tokenizer's source changes, so cached tokens are never stale."""
    text = ROOT / "index" / "text.py"
    data = text.read_bytes() if text.is_file() else b"fallback"
    return hashlib.sha256(data).hexdigest()[:10]


def bench_size(passages: int, args: argparse.Namespace) -> dict[str, Any]:
    t_start = time.perf_counter()
    corpus = generate(passages, seed=args.seed, questions=args.questions)
    tag = corpus.folder.parent.name
    tokens = OUT / f"tokens-{tag}-{_tokenizer_digest()}"
    common = {"cache": str(tokens), "variant": args.variant}
    out: dict[str, Any] = {
        "passages": passages,
        "articles": corpus.articles,
        "questions": args.questions,
        "variant": args.variant,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
    }
    print(f"== {passages:,} passages ({corpus.articles:,} articles)", file=sys.stderr)
    out["tokenize"] = run_task(
        "tokenize",
        {"folder": str(corpus.folder), "questions": str(corpus.questions), "out": str(tokens)},
    )
    index_dir = OUT / f"bm25-{tag}"
    out["newsdesk_bm25_build"] = run_task("bm25_build", {**common, "index": str(index_dir)})
    out["newsdesk_bm25_query"] = run_task("bm25_query", {**common, "index": str(index_dir)})
    if "engine" not in args.skip:
        if (ROOT / "index" / "engine.py").is_file():
            engine_dir = OUT / f"engine-{tag}"
            eargs = {
                "folder": str(corpus.folder),
                "questions": str(corpus.questions),
                "variant": args.variant,
                "index": str(engine_dir),
            }
            out["newsdesk_engine_build"] = run_task("engine_build", eargs)
            out["newsdesk_engine_query"] = run_task("engine_query", eargs)
        else:
            out["newsdesk_engine_build"] = {"error": "index/engine.py not present"}
    if "rank_bm25" not in args.skip:
        default = args.questions if passages <= 20_000 else 100 if passages <= 200_000 else 12
        sample = args.rank_sample or default
        out["rank_bm25"] = run_task("rank_bm25", {**common, "sample": sample})
    if "bm25s" not in args.skip:
        out["bm25s"] = run_task("bm25s", {**common, "index": str(OUT / f"bm25s-{tag}")})
    out["total_s"] = time.perf_counter() - t_start
    return out


def _get(d: dict[str, Any], *path: str) -> Any:
    for key in path:
        if not isinstance(d, dict) or key not in d:
            return None
        d = d[key]
    return d


def _fmt(value: Any, unit: str = "", digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}{unit}"
    return f"{value}{unit}"


def table(r: dict[str, Any]) -> str:
    """A plain-text table of one size's results."""
    nd_b, nd_q = r.get("newsdesk_bm25_build", {}), r.get("newsdesk_bm25_query", {})
    en_b, en_q = r.get("newsdesk_engine_build", {}), r.get("newsdesk_engine_query", {})
    rb, bs = r.get("rank_bm25", {}), r.get("bm25s", {})
    rb_lat = _get(rb, r["variant"], "get_scores_top_k") or {}
    rows = [
        ("", "Newsdesk Engine.ask", "Newsdesk BM25 top_k", "rank_bm25", "bm25s"),
        (
            "build (s)",
            _fmt(en_b.get("build_s")),
            _fmt(nd_b.get("build_s")),
            _fmt(rb.get("build_s")),
            _fmt(bs.get("build_s")),
        ),
        (
            "size on disk (MB)",
            _fmt(en_b.get("size_mb"), digits=1),
            _fmt(nd_b.get("size_mb"), digits=1),
            "- (in memory)",
            _fmt(bs.get("size_mb"), digits=1),
        ),
        (
            "cold load (s)",
            _fmt(en_q.get("load_s"), digits=3),
            _fmt(nd_q.get("load_s"), digits=3),
            "-",
            _fmt(bs.get("load_s"), digits=3),
        ),
        (
            "first answer after load (s)",
            _fmt(en_q.get("first_ask_s"), digits=3),
            _fmt(nd_q.get("first_query_s"), digits=3),
            "-",
            "-",
        ),
        (
            "peak RSS build (MB)",
            _fmt(en_b.get("peak_rss_mb"), digits=0),
            _fmt(nd_b.get("peak_rss_mb"), digits=0),
            _fmt(rb.get("peak_rss_build_mb"), digits=0),
            _fmt(bs.get("peak_rss_build_mb"), digits=0),
        ),
        (
            "peak RSS load+query (MB)",
            _fmt(en_q.get("peak_rss_mb"), digits=0),
            _fmt(nd_q.get("peak_rss_mb"), digits=0),
            "-",
            _fmt(bs.get("peak_rss_mb"), digits=0),
        ),
        (
            "latency p50 (ms)",
            _fmt(_get(en_q, "ask", "p50_ms"), digits=3),
            _fmt(_get(nd_q, "top_k", "p50_ms"), digits=3),
            _fmt(rb_lat.get("p50_ms"), digits=1),
            _fmt(_get(bs, "retrieve", "p50_ms"), digits=3),
        ),
        (
            "latency p99 (ms)",
            _fmt(_get(en_q, "ask", "p99_ms"), digits=3),
            _fmt(_get(nd_q, "top_k", "p99_ms"), digits=3),
            _fmt(rb_lat.get("p99_ms"), digits=1),
            _fmt(_get(bs, "retrieve", "p99_ms"), digits=3),
        ),
        (
            "questions timed",
            _fmt(_get(en_q, "ask", "n")),
            _fmt(_get(nd_q, "top_k", "n")),
            _fmt(rb_lat.get("n")),
            _fmt(_get(bs, "retrieve", "n")),
        ),
        (
            "add 1 article + answer (s)",
            _fmt(en_q.get("add_one_and_answer_s"), digits=3),
            _fmt(nd_q.get("add_one_and_answer_s"), digits=4),
            "-",
            "-",
        ),
    ]
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    notes = []
    tok = r.get("tokenize", {})
    notes.append(
        f"tokenizer {tok.get('tokenizer')}: {_fmt(tok.get('tokenize_s'))} s for "
        f"{tok.get('passages')} passages ({tok.get('tokens')} tokens, vocabulary "
        f"{tok.get('vocabulary')}); Newsdesk BM25 build and rank_bm25/bm25s take these tokens"
    )
    if nd_b.get("input_rss_mb"):
        notes.append(
            f"Newsdesk BM25 build peak {_fmt(nd_b.get('peak_rss_mb'), digits=0)} MB includes "
            f"{_fmt(nd_b.get('input_rss_mb'), digits=0)} MB of input token lists held by the "
            "bench; the index adds the rest"
        )
    for variant in ("plus", "okapi"):
        v = rb.get(variant)
        if v:
            lat = v["get_scores_top_k"]["p50_ms"]
            ours = _get(nd_q, "top_k", "p50_ms")
            ask = _get(en_q, "ask", "p50_ms")
            speed = f", Newsdesk top_k {lat / ours:,.0f}x faster" if ours else ""
            speed += f", Engine.ask {lat / ask:,.0f}x faster" if ask else ""
            notes.append(
                f"rank_bm25 {variant}: {v['parity_questions']} questions, p50 {lat:.1f} ms"
                f"{speed}; parity max rel diff {v['parity_max_rel_diff']:.2e}, "
                f"same top-10 scores on {v['same_top10']}/{v['parity_questions']}"
            )
    if en_b.get("input_rss_mb"):
        notes.append(
            f"Engine.build: {_fmt(en_b.get('build_cpu_s'), digits=1)} s CPU in the building "
            f"process + {_fmt(en_b.get('build_workers_cpu_s'), digits=1)} s in its layout "
            f"workers; peak RSS {_fmt(en_b.get('peak_rss_build_mb'), digits=0)} MB at the end "
            f"of build, {_fmt(en_b.get('peak_rss_mb'), digits=0)} MB with save, of which "
            f"{_fmt(en_b.get('input_rss_mb'), digits=0)} MB the parsed articles the bench "
            f"holds; largest worker {_fmt(en_b.get('peak_rss_workers_mb'), digits=0)} MB "
            "(pages shared with the parent included)"
        )
    if en_q:
        notes.append(
            f"Engine answered {en_q.get('answered')}/{_get(en_q, 'ask', 'n')}, "
            f"from the question's article {en_q.get('answered_from_right_article')}; "
            f"added article found: {en_q.get('added_found')}"
        )
        if en_q.get("rss_file_mb"):
            notes.append(
                f"Engine load+query resident set at the end: "
                f"{_fmt(en_q.get('rss_anon_mb'), digits=0)} MB private + "
                f"{_fmt(en_q.get('rss_file_mb'), digits=0)} MB of mapped index files (the "
                "load checksums them through their maps, so their pages are resident: clean "
                "page cache, shared between processes and reclaimable)"
            )
    if bs:
        notes.append(f"bm25s backend {bs.get('backend')}, method bm25+ (float32 scores)")
    notes.append(f"whole run for this size: {_fmt(r.get('total_s'), digits=0)} s")
    return "\n".join([*lines, *("  * " + n for n in notes)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="10k,100k,1m", help="passages, e.g. 10k,100k,1m")
    parser.add_argument("--questions", type=int, default=600)
    parser.add_argument("--rank-sample", type=int, default=0, help="rank_bm25 questions")
    parser.add_argument("--variant", choices=("plus", "okapi"), default="plus")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip", default="", help="comma list: engine,rank_bm25,bm25s")
    parser.add_argument(
        "--results", type=Path, default=RESULTS, help="folder for the <date>-<size>.json files"
    )
    args = parser.parse_args(argv)
    args.skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    args.results.mkdir(parents=True, exist_ok=True)
    for size_text in args.sizes.split(","):
        passages = parse_size(size_text)
        result = bench_size(passages, args)
        print(table(result))
        name = f"{datetime.now(UTC):%Y-%m-%d}-{size_text.strip().lower()}.json"
        path = args.results / name
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(result, indent=2) + "\n")
        tmp.replace(path)
        print(f"results written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
