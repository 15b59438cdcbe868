"""``newsdesk add | remove | list | reindex`` run as real subprocesses on a tmp corpus."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "index"))

from newsserver import STORM_TITLE, news_server  # noqa: E402


def article(title: str, source: str, *paragraphs: str) -> str:
    return "\n".join([title, source, *paragraphs]) + "\n"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    articles = tmp_path / "articles"
    articles.mkdir()
    (articles / "seed1.txt").write_text(
        article("Quellton opens a bridge", "Gazette", "The Quellton bridge opened in 1987."),
        encoding="utf-8",
    )
    (articles / "seed2.txt").write_text(
        article("Marbrook library", "Courier", "The Marbrook library holds 90,000 books."),
        encoding="utf-8",
    )
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")},
        "NEWSDESK_DATA_DIR": str(tmp_path / "data"),
        "NEWSDESK_ARTICLES_DIR": str(articles),
        "PYTHONPATH": str(REPO),
    }


def newsdesk(
    env: dict[str, str], *args: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env=env,
        cwd=cwd or Path(env["NEWSDESK_DATA_DIR"]).parent,
        capture_output=True,
        text=True,
        timeout=120,
    )


def listed(env: dict[str, str]) -> dict[str, dict[str, object]]:
    proc = newsdesk(env, "list", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert isinstance(rows, list)
    return {str(r["id"]): r for r in rows}


@pytest.fixture
def files(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "incoming"
    folder.mkdir()
    yield folder


def test_list_json_has_the_imported_articles(env: dict[str, str]) -> None:
    rows = listed(env)
    assert set(rows) == {"seed1", "seed2"}
    assert rows["seed1"]["title"] == "Quellton opens a bridge"
    assert rows["seed1"]["source"] == "Gazette"
    assert rows["seed1"]["paragraphs"] == 1


def test_add_prints_one_line_per_input_and_exits_1_if_any_refused(
    env: dict[str, str], files: Path
) -> None:
    good = files / "ferry.txt"
    good.write_text(
        article("New ferry", "Port News", "The ferry Aurora sails at 9.", "It seats 300."),
        encoding="utf-8",
    )
    empty = files / "empty.txt"
    empty.write_bytes(b"")
    proc = newsdesk(env, "add", str(good), str(empty), str(files / "missing.txt"))
    lines = proc.stdout.splitlines()
    assert proc.returncode == 1
    assert lines[0] == "added ferry: New ferry (2 paragraphs)"
    assert lines[1].startswith(f"refused {empty}:") and "empty" in lines[1]
    assert lines[2] == f"refused {files / 'missing.txt'}: no such file"
    assert len(lines) == 3
    assert "refused" in proc.stderr
    rows = listed(env)
    assert "ferry" in rows and rows["ferry"]["paragraphs"] == 2
    assert next(iter(rows)) == "ferry"  # newest first


def test_existing_id_needs_replace(env: dict[str, str], files: Path) -> None:
    path = files / "seed1.txt"
    path.write_text(
        article("Quellton bridge reopens", "Gazette", "The bridge reopened in 2024."),
        encoding="utf-8",
    )
    refused = newsdesk(env, "add", str(path))
    assert refused.returncode == 1
    assert "already exists" in refused.stdout
    assert listed(env)["seed1"]["title"] == "Quellton opens a bridge"
    replaced = newsdesk(env, "add", "--replace", str(path))
    assert replaced.returncode == 0, replaced.stdout + replaced.stderr
    assert replaced.stdout.startswith("added seed1 (replaced): Quellton bridge reopens")
    assert listed(env)["seed1"]["title"] == "Quellton bridge reopens"


def test_add_url_and_a_bad_url(env: dict[str, str]) -> None:
    with news_server() as base:
        proc = newsdesk(env, "add", f"{base}/news/storm.html", f"{base}/missing", "ftp://x/y")
    lines = proc.stdout.splitlines()
    assert proc.returncode == 1
    assert lines[0].startswith("added storm-elena") and STORM_TITLE in lines[0]
    assert lines[1].startswith(f"refused {base}/missing:") and "404" in lines[1]
    assert lines[2].startswith("refused ftp://x/y:") and "only http and https" in lines[2]
    rows = listed(env)
    storm = [r for r in rows.values() if r["title"] == STORM_TITLE]
    assert len(storm) == 1 and storm[0]["source"] == "The Harbour Herald"


def test_remove_known_and_unknown(env: dict[str, str]) -> None:
    ok = newsdesk(env, "remove", "seed2")
    assert ok.returncode == 0 and ok.stdout.strip() == "removed seed2"
    assert set(listed(env)) == {"seed1"}
    bad = newsdesk(env, "remove", "nope")
    assert bad.returncode != 0
    assert "no article with id nope" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


def test_plain_list_and_reindex(env: dict[str, str]) -> None:
    proc = newsdesk(env, "list")
    assert proc.returncode == 0
    assert sorted(line.split("\t")[0] for line in proc.stdout.splitlines()) == ["seed1", "seed2"]
    folder = Path(env["NEWSDESK_ARTICLES_DIR"])
    (folder / "seed3.txt").write_text(
        article("Ostervik stadium", "Herald", "The stadium seats 12,000."), encoding="utf-8"
    )
    (folder / "dup.txt").write_text(
        (folder / "seed1.txt").read_text(encoding="utf-8"), encoding="utf-8"
    )
    re = newsdesk(env, "reindex")
    assert re.returncode == 0, re.stderr
    assert re.stdout.startswith("reindexed 3 articles")
    assert "duplicate dup.txt: same content as seed1" in re.stderr
    assert set(listed(env)) == {"seed1", "seed2", "seed3"}


def test_reindex_shows_a_progress_bar_on_long_runs(env: dict[str, str]) -> None:
    folder = Path(env["NEWSDESK_ARTICLES_DIR"])
    for i in range(260):
        (folder / f"bulk{i:03d}.txt").write_text(
            article(f"Bulk story {i}", "Wire", f"Item {i} of the bulk set, code K{i * 7}."),
            encoding="utf-8",
        )
    proc = newsdesk(env, "reindex")
    assert proc.returncode == 0, proc.stderr
    assert "reindexing [" in proc.stderr and "100%" in proc.stderr
    assert proc.stdout.startswith("reindexed 262 articles")


def test_a_broken_store_is_a_one_line_error(env: dict[str, str]) -> None:
    data = Path(env["NEWSDESK_DATA_DIR"])
    data.mkdir(parents=True)
    (data / "newsdesk.sqlite3").write_bytes(b"not a database at all" * 200)
    proc = newsdesk(env, "list")
    assert proc.returncode != 0
    assert proc.stderr.strip().startswith("newsdesk list: cannot open the article store")
    assert len(proc.stderr.strip().splitlines()) == 1
