"""The ``newsdesk add | remove | list | reindex`` subcommands (FORMATS section 3).

Each works on the configured corpus through :class:`index.service.Desk`, so a running bot picks
the change up by itself. Results go to stdout, one line per input; reasons for refusals and
the progress bar go to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import TextIO

from config import Settings
from index.backends.sphinx_shards import ShardWriteError
from index.service import Desk
from index.store import StoreError

PROGRESS_MIN_TOTAL = 200  # smaller jobs finish before a bar would be readable


class ProgressBar:
    """A one-line progress bar on stderr (redrawn in place on a terminal, sparse lines else)."""

    def __init__(self, label: str, stream: TextIO | None = None) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self._tty = self.stream.isatty()
        self._last_pct = -1
        self._started = time.perf_counter()

    def __call__(self, done: int, total: int) -> None:
        if total < PROGRESS_MIN_TOTAL:
            return
        pct = int(100 * done / total) if total else 100
        step = 1 if self._tty else 10
        if pct < self._last_pct + step and done < total:
            return
        self._last_pct = pct
        width = 30
        filled = int(width * pct / 100)
        bar = "#" * filled + "-" * (width - filled)
        elapsed = time.perf_counter() - self._started
        line = f"{self.label} [{bar}] {pct:3d}% {done}/{total} {elapsed:.1f}s"
        if self._tty:
            end = "\n" if done >= total else ""
            self.stream.write("\r" + line + end)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


def _open(settings: Settings) -> Desk:
    return Desk.open(settings, progress=ProgressBar("indexing"))


def _fail(command: str, message: str) -> int:
    print(f"newsdesk {command}: {message}", file=sys.stderr)
    return 1


def cmd_add(args: argparse.Namespace, settings: Settings) -> int:
    """Add article files, folders and URLs; one line per input; 1 if any was refused."""
    try:
        desk = _open(settings)
    except (StoreError, OSError, ShardWriteError) as exc:
        return _fail("add", str(exc))
    try:
        outcomes = desk.add_paths(args.inputs, added_by="cli", replace=args.replace)
    finally:
        desk.close()
    refused = 0
    unindexed: set[str] = set()
    for outcome in outcomes:
        if outcome.added:
            note = " (replaced)" if outcome.replaced else ""
            print(
                f"added {outcome.article_id}{note}: {outcome.title} "
                f"({outcome.paragraphs} paragraphs)",
                flush=True,
            )
            if outcome.index_error:
                unindexed.add(outcome.index_error)
        else:
            refused += 1
            print(f"refused {outcome.input}: {outcome.reason}", flush=True)
    for error in sorted(unindexed):  # stored (acknowledged above) but not searchable yet
        print(f"newsdesk add: {error}", file=sys.stderr)
    if refused:
        print(
            f"newsdesk add: {refused} of {len(outcomes)} inputs refused (see above)",
            file=sys.stderr,
        )
        return 1
    return 1 if unindexed else 0


def cmd_remove(args: argparse.Namespace, settings: Settings) -> int:
    """Remove articles by id; non-zero when any id is unknown."""
    try:
        desk = _open(settings)
    except (StoreError, OSError, ShardWriteError) as exc:
        return _fail("remove", str(exc))
    unknown: list[str] = []
    failed = False
    try:
        for article_id in args.ids:
            try:
                removed = desk.remove(article_id)
            except ShardWriteError as exc:  # gone from the store, not yet from a shard
                print(f"removed {article_id}", flush=True)
                print(f"newsdesk remove: {exc}", file=sys.stderr)
                failed = True
                continue
            if removed:
                print(f"removed {article_id}", flush=True)
            else:
                unknown.append(article_id)
    finally:
        desk.close()
    if failed and not unknown:
        return 1
    if unknown:
        return _fail("remove", "no article with id " + ", ".join(unknown))
    return 0


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    """Print the stored articles, newest first (a JSON array with ``--json``)."""
    try:
        desk = Desk.open(settings, load_index=False)  # listing needs the store only
    except (StoreError, OSError, ShardWriteError) as exc:
        return _fail("list", str(exc))
    try:
        rows = desk.list_articles(0, desk.count_articles())
    finally:
        desk.close()
    if args.json:
        out = [
            {
                "id": r.article.id,
                "title": r.article.title,
                "source": r.article.source,
                "paragraphs": len(r.article.paragraphs),
                "url": r.article.url,
                "published": r.article.published,
                "author": r.article.author,
                "added_at": r.added_at,
                "added_by": r.added_by,
            }
            for r in rows
        ]
        print(json.dumps(out, ensure_ascii=False, indent=1))
        return 0
    for r in rows:
        source = r.article.source or "-"
        print(f"{r.article.id}\t{len(r.article.paragraphs)}\t{source}\t{r.article.title}")
    print(f"{len(rows)} articles", file=sys.stderr)
    return 0


def cmd_reindex(args: argparse.Namespace, settings: Settings) -> int:
    """Re-import the articles folder and rebuild the index, with a progress bar."""
    started = time.perf_counter()
    try:
        desk = Desk.open(settings, import_folder=False, load_index=False)
    except (StoreError, OSError, ShardWriteError) as exc:
        return _fail("reindex", str(exc))
    try:
        stats = desk.reindex(progress=ProgressBar("reindexing"))
        report = desk.last_import
    except ShardWriteError as exc:
        return _fail("reindex", f"{exc}; the previous index is kept")
    finally:
        desk.close()
    for name, other in report.duplicates:
        print(f"duplicate {name}: same content as {other}", file=sys.stderr)
    for name, reason in report.refused:
        print(f"refused {name}: {reason}", file=sys.stderr)
    print(
        f"reindexed {stats.articles} articles, {stats.passages} passages, "
        f"{stats.sentences} sentences in {time.perf_counter() - started:.1f} s "
        f"({len(report.added)} new, {len(report.updated)} changed, "
        f"{len(report.duplicates)} duplicate and {len(report.refused)} refused files)"
    )
    return 0


def add_admin_subcommands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``add``, ``remove``, ``list`` and ``reindex`` on the ``newsdesk`` parser."""
    add = subparsers.add_parser(
        "add", help="add articles (article files, folders, HTML pages, http(s) URLs)"
    )
    add.add_argument("inputs", nargs="+", metavar="PATH|URL")
    add.add_argument(
        "--replace", action="store_true", help="overwrite articles whose id already exists"
    )
    add.set_defaults(func=cmd_add)

    remove = subparsers.add_parser("remove", help="remove articles by id")
    remove.add_argument("ids", nargs="+", metavar="ID")
    remove.set_defaults(func=cmd_remove)

    listing = subparsers.add_parser("list", help="list the stored articles, newest first")
    listing.add_argument("--json", action="store_true", help="print a JSON array")
    listing.set_defaults(func=cmd_list)

    reindex = subparsers.add_parser(
        "reindex", help="rebuild the index from the store and the articles folder"
    )
    reindex.set_defaults(func=cmd_reindex)
