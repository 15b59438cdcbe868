"""The SQLite store: durability settings, articles, change counter, logs and migrations."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from index.records import Article
from index.store import SCHEMA_VERSION, Store, StoreError


def _article(i: int, text: str = "") -> Article:
    return Article(
        id=f"a{i}",
        title=f"Headline {i}",
        paragraphs=(f"Paragraph one of {i}. {text}", f"Paragraph two of {i}."),
        source="Daily Planet",
        url=f"https://planet.example/{i}",
        published=f"2024-01-0{i % 9 + 1}",
        author="Lois Lane",
        extra=(("section", "world"),),
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "store.sqlite3")
    yield s
    s.close()


def test_wal_and_full_sync_and_schema_version(store: Store) -> None:
    db = sqlite3.connect(store.path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert store._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_articles_round_trip_with_all_fields(store: Store) -> None:
    article = _article(1)
    store.put(article, added_by="cli")
    got = store.get("a1")
    assert got is not None
    assert got.article == article
    assert got.added_by == "cli"
    assert got.content_hash == article.content_hash()
    assert store.find_by_hash(article.content_hash()) == "a1"
    assert store.hashes() == {"a1": article.content_hash()}


def test_every_change_bumps_the_counter(store: Store) -> None:
    start = store.changes()
    store.put(_article(1), added_by="import")
    store.put(_article(2), added_by="import")
    assert store.changes() == start + 2
    store.put(_article(1, "changed"), added_by="cli")
    assert store.changes() == start + 3
    assert store.delete("a2") is True
    assert store.changes() == start + 4
    assert store.delete("a2") is False
    assert store.changes() == start + 4
    store.log_question(channel="cli", latency_ms=1.0, answered=True, article_id="a1")
    assert store.changes() == start + 4  # questions are not article changes


def test_list_is_newest_first_and_a_replaced_article_moves_up(store: Store) -> None:
    for i in range(1, 6):
        store.put(_article(i), added_by="import")
    assert [s.article.id for s in store.recent()] == ["a5", "a4", "a3", "a2", "a1"]
    assert [s.article.id for s in store.recent(offset=1, limit=2)] == ["a4", "a3"]
    store.put(_article(2, "new text"), added_by="cli")
    assert [s.article.id for s in store.recent(limit=2)] == ["a2", "a5"]
    assert store.count() == 5
    assert [a.id for a in store.articles(["a3", "a1", "zz"])] == ["a1", "a3"]


def test_a_failed_transaction_leaves_nothing(store: Store) -> None:
    store.put(_article(1), added_by="import")
    before = store.changes()
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.put(_article(2), added_by="cli")
        raise RuntimeError("boom")
    assert store.get("a2") is None
    assert store.changes() == before


def test_activity_counts_questions_latency_and_feedback(store: Store) -> None:
    for ms, ok in [(10.0, True), (30.0, True), (20.0, False), (40.0, True)]:
        store.log_question(channel="telegram", latency_ms=ms, answered=ok, article_id=None)
    store.log_feedback(
        user="telegram:7",
        question="Who?",
        answer_sentence="Him.",
        article_id="a1",
        paragraph=0,
        helpful=True,
    )
    store.log_feedback(
        user="telegram:8",
        question="Why?",
        answer_sentence=None,
        article_id=None,
        paragraph=None,
        helpful=False,
    )
    act = store.activity(24)
    assert (act.answered, act.declined) == (3, 1)
    assert act.median_latency_ms == 25.0
    assert (act.helpful, act.not_helpful) == (1, 1)
    store._db.execute("UPDATE questions SET ts = ts - 2 * 86400")
    later = store.activity(24)
    assert (later.answered, later.declined, later.median_latency_ms) == (0, 0, None)


def test_meta_values(store: Store) -> None:
    assert store.get_meta("index_fp") is None
    store.set_meta({"index_fp": "abc", "index_changes": "3"})
    store.set_meta({"index_fp": "def"})
    assert store.get_meta("index_fp") == "def"
    assert store.get_meta("index_changes") == "3"


def test_migrates_a_version_1_store(tmp_path: Path) -> None:
    from index.store import _MIGRATIONS

    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(_MIGRATIONS[1] + "; PRAGMA user_version=1;")
    db.close()
    store = Store(path)
    assert store._db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert store.imports() == {}
    store.close()


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite3"
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 5}")
    db.close()
    with pytest.raises(StoreError, match="newer"):
        Store(path)


def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "junk.sqlite3"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="cannot open"):
        Store(path)


def test_a_commit_survives_kill_9(tmp_path: Path) -> None:
    """A child commits, prints, and is killed before it can close anything."""
    path = tmp_path / "store.sqlite3"
    code = f"""
import os, signal, sys
sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
from index.store import Store
from index.records import Article
s = Store(__import__('pathlib').Path({str(path)!r}))
s.put(Article(id='kept', title='T', paragraphs=('p',)), added_by='cli')
print('committed', flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == -9
    assert "committed" in proc.stdout
    store = Store(path)
    assert store.get("kept") is not None
    store.close()
