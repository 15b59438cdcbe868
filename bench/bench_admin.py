"""Time the admin paths on a real corpus: first import + build, reopen, add one, reindex.

Usage: python bench/bench_admin.py ARTICLES_DIR [ARTICLES_DIR ...]
The folders are linked into a temporary articles folder; store and index live in a temporary
data folder, so the configured corpus is never touched.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from config import load_settings
from index.service import Desk

NEW_ARTICLE = (
    "Fenwick observatory names a new director\n"
    "Star Tribune\n"
    "Astronomer Odile Brankov was named director of the Fenwick observatory on Monday.\n"
    "She replaces Tomas Ekdal, who led the observatory for 22 years.\n"
)
QUESTION = "Who was named director of the Fenwick observatory?"
CLI_ARTICLE = (
    "Harbour bridge reopens after repairs\nCoastal Gazette\n"
    "Engineers replaced 340 steel cables on the old harbour bridge.\n"
)
CLI_QUESTION = "How many steel cables did engineers replace on the harbour bridge?"
REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--adds", type=int, default=5, help="single-article adds to time")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        articles = Path(tmp) / "articles"
        articles.mkdir()
        for folder in args.folders:
            for path in sorted(folder.glob("*.txt")):
                (articles / path.name).symlink_to(path.resolve())
        settings = load_settings(data_dir=Path(tmp) / "data", articles_dir=articles)

        t0 = time.perf_counter()
        desk = Desk.open(settings)
        print(
            f"first open (import + build + save): {time.perf_counter() - t0:.2f} s, "
            f"{desk.count_articles()} articles stored, "
            f"{len(desk.last_import.duplicates)} duplicates reported"
        )
        desk.close()

        t0 = time.perf_counter()
        desk = Desk.open(settings)
        print(f"reopen (load saved index): {time.perf_counter() - t0:.2f} s")

        add_ms: list[float] = []
        answer_ms: list[float] = []
        for i in range(args.adds):
            t0 = time.perf_counter()
            outcome = desk.add_file(
                f"fenwick{i}.txt",
                NEW_ARTICLE.replace("Monday", f"day {i}").encode(),
                added_by="bench",
            )
            t1 = time.perf_counter()
            response = desk.ask(QUESTION)
            t2 = time.perf_counter()
            assert outcome.added, outcome
            assert response.answer is not None and "Brankov" in response.answer.sentence
            add_ms.append((t1 - t0) * 1000)
            answer_ms.append((t2 - t1) * 1000)
        print(
            f"add one article (commit + index + save), median of {args.adds}: "
            f"{statistics.median(add_ms):.0f} ms (min {min(add_ms):.0f}, max {max(add_ms):.0f})"
        )
        print(f"then answer from it, median: {statistics.median(answer_ms):.1f} ms")

        # another process (the command line) adds; the running Desk picks it up on refresh
        cli_file = Path(tmp) / "harbour.txt"
        cli_file.write_text(CLI_ARTICLE, encoding="utf-8")
        env = {
            **os.environ,
            "NEWSDESK_DATA_DIR": str(settings.data_dir),
            "NEWSDESK_ARTICLES_DIR": str(articles),
            "PYTHONPATH": str(REPO),
        }
        t0 = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "bot.cli", "add", str(cli_file)],
            env=env,
            check=True,
            capture_output=True,
        )
        t1 = time.perf_counter()
        changed = desk.refresh()
        t2 = time.perf_counter()
        response = desk.ask(CLI_QUESTION)
        assert changed and response.answer is not None and "340" in response.answer.sentence
        print(
            f"newsdesk add in another process: {t1 - t0:.2f} s wall (incl. Python start-up); "
            f"running Desk refresh: {(t2 - t1) * 1000:.0f} ms, then answers from it"
        )

        t0 = time.perf_counter()
        stats = desk.reindex()
        print(
            f"full reindex: {time.perf_counter() - t0:.2f} s "
            f"({stats.articles} articles, {stats.passages} passages, "
            f"{stats.sentences} sentences)"
        )
        desk.close()


if __name__ == "__main__":
    main()
