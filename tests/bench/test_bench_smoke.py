"""The benchmark runs end to end at 10k passages and 50 questions and writes its fields.

Timings are not checked (speed is judged from bench runs, not from tests).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_runs_and_writes_json(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.run",
            "--sizes",
            "10k",
            "--questions",
            "50",
            "--results",
            str(tmp_path),
        ],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "latency p50 (ms)" in proc.stdout
    (result_file,) = tmp_path.glob("*-10k.json")
    result = json.loads(result_file.read_text())
    assert result["passages"] == 10_000
    assert result["tokenize"]["passages"] == 10_000
    build = result["newsdesk_bm25_build"]
    assert build["size_mb"] > 0 and build["peak_rss_mb"] > 0
    query = result["newsdesk_bm25_query"]
    assert query["top_k"]["n"] == 50 and query["top_k"]["p99_ms"] >= query["top_k"]["p50_ms"]
    assert query["added_found"] is True
    for variant in ("plus", "okapi"):
        rank = result["rank_bm25"][variant]
        assert rank["parity_questions"] == 50
        assert rank["parity_max_rel_diff"] < 1e-9
        assert rank["same_top10"] == 50
    assert result["bm25s"]["retrieve"]["n"] > 0
    engine = result.get("newsdesk_engine_query")
    if engine is not None and "error" not in result["newsdesk_engine_build"]:
        assert "error" not in engine, engine
        assert engine["ask"]["n"] == 50
