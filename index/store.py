"""The article store: one SQLite file that is the source of truth for articles and feedback.

Durability: WAL journal with ``synchronous=FULL``, so a commit is fsynced to the WAL before
``commit()`` returns. An acknowledged article therefore survives a kill -9 of the process and,
as far as the disk honours fsync, a power loss. The search index is derived from this store and
can always be rebuilt from it.

Other processes notice changes cheaply through ``meta.changes``, a counter bumped in the same
transaction as every article change.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from index.records import ActivityStats, Article, StoredArticle

SCHEMA_VERSION = 2

_MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE articles (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        title TEXT NOT NULL,
        source TEXT,
        url TEXT,
        published TEXT,
        author TEXT,
        paragraphs TEXT NOT NULL,
        extra TEXT NOT NULL DEFAULT '[]',
        content_hash TEXT NOT NULL,
        added_by TEXT NOT NULL,
        added_at TEXT NOT NULL
    );
    CREATE INDEX articles_content_hash ON articles(content_hash);
    CREATE TABLE questions (
        ts REAL NOT NULL,
        channel TEXT NOT NULL,
        latency_ms REAL NOT NULL,
        answered INTEGER NOT NULL,
        article_id TEXT
    );
    CREATE INDEX questions_ts ON questions(ts);
    CREATE TABLE feedback (
        ts REAL NOT NULL,
        user TEXT NOT NULL,
        question TEXT NOT NULL,
        answer_sentence TEXT,
        article_id TEXT,
        paragraph INTEGER,
        helpful INTEGER NOT NULL
    );
    CREATE INDEX feedback_ts ON feedback(ts);
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    INSERT INTO meta(key, value) VALUES ('changes', '0');
    """,
    2: """
    CREATE TABLE imports (
        name TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        content_hash TEXT,
        status TEXT NOT NULL
    );
    """,
}


class StoreError(Exception):
    """The store file cannot be opened or has a schema newer than this code."""


@dataclass(frozen=True, slots=True)
class ImportRecord:
    """What the last import saw of one file in the articles folder."""

    name: str
    size: int
    mtime_ns: int
    content_hash: str | None
    status: str  # "added", "duplicate:<id>", "refused:<reason>"


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _row_to_article(row: sqlite3.Row) -> Article:
    extra = tuple((str(k), str(v)) for k, v in json.loads(row["extra"]))
    return Article(
        id=row["id"],
        title=row["title"],
        paragraphs=tuple(json.loads(row["paragraphs"])),
        source=row["source"],
        url=row["url"],
        published=row["published"],
        author=row["author"],
        extra=extra,
    )


class Store:
    """A thread-safe handle on the SQLite store (one connection, serialised by a lock)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.RLock()
        try:
            self._db = sqlite3.connect(
                str(path), timeout=30.0, isolation_level=None, check_same_thread=False
            )
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open the article store {path}: {exc}") from exc

    # --- plumbing ---------------------------------------------------------------------------
    def _migrate(self) -> None:
        version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"the article store {self.path} has schema version {version}, newer than this "
                f"program's {SCHEMA_VERSION}"
            )
        for target in range(version + 1, SCHEMA_VERSION + 1):
            with self.transaction() as db:
                db.executescript_in_tx(_MIGRATIONS[target])
                db.execute(f"PRAGMA user_version={target}")

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """One write transaction (BEGIN IMMEDIATE ... COMMIT), rolled back on any error."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield Transaction(self._db)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def close(self) -> None:
        """Checkpoint the WAL and close the connection."""
        with self._lock:
            with suppress(sqlite3.DatabaseError):
                self._db.execute("PRAGMA wal_checkpoint(PASSIVE)")
            self._db.close()

    # --- change counter and meta ------------------------------------------------------------
    def changes(self) -> int:
        """The article change counter; differs whenever any article changed."""
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key='changes'").fetchone()
        return int(row[0]) if row else 0

    def get_meta(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, values: dict[str, str]) -> None:
        with self.transaction() as tx:
            for key, value in values.items():
                tx.execute(
                    "INSERT INTO meta(key, value) VALUES (?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                    (key, value),
                )

    # --- articles ---------------------------------------------------------------------------
    def get(self, article_id: str) -> StoredArticle | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM articles WHERE id=?", (article_id,)).fetchone()
        return None if row is None else self._stored(row)

    def find_by_hash(self, content_hash: str) -> str | None:
        """The id of a stored article with this content, if any."""
        with self._lock:
            row = self._db.execute(
                "SELECT id FROM articles WHERE content_hash=? LIMIT 1", (content_hash,)
            ).fetchone()
        return None if row is None else str(row[0])

    def hashes(self) -> dict[str, str]:
        """Every stored article id with its content hash."""
        with self._lock:
            rows = self._db.execute("SELECT id, content_hash FROM articles").fetchall()
        return {str(r[0]): str(r[1]) for r in rows}

    def articles(self, ids: Iterable[str] | None = None) -> list[Article]:
        """All articles (oldest first), or those with the given ids."""
        with self._lock:
            if ids is None:
                rows = self._db.execute("SELECT * FROM articles ORDER BY seq").fetchall()
            else:
                rows = []
                wanted = list(ids)
                for start in range(0, len(wanted), 500):
                    chunk = wanted[start : start + 500]
                    marks = ",".join("?" * len(chunk))
                    rows += self._db.execute(
                        f"SELECT * FROM articles WHERE id IN ({marks}) ORDER BY seq", chunk
                    ).fetchall()
        return [_row_to_article(r) for r in rows]

    def recent(self, offset: int = 0, limit: int = 50) -> list[StoredArticle]:
        """Stored articles, newest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM articles ORDER BY seq DESC LIMIT ? OFFSET ?",
                (max(0, limit), max(0, offset)),
            ).fetchall()
        return [self._stored(r) for r in rows]

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM articles").fetchone()[0])

    @staticmethod
    def _stored(row: sqlite3.Row) -> StoredArticle:
        return StoredArticle(
            article=_row_to_article(row),
            added_at=row["added_at"],
            added_by=row["added_by"],
            content_hash=row["content_hash"],
        )

    def put(self, article: Article, *, added_by: str, tx: Transaction | None = None) -> None:
        """Insert or replace an article (a replaced one moves to the top of the list)."""
        if tx is None:
            with self.transaction() as own:
                own.put(article, added_by=added_by)
        else:
            tx.put(article, added_by=added_by)

    def delete(self, article_id: str) -> bool:
        """Remove one article; False when there was none."""
        with self.transaction() as tx:
            return tx.delete(article_id)

    # --- imports of the articles folder -----------------------------------------------------
    def imports(self) -> dict[str, ImportRecord]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM imports").fetchall()
        return {
            r["name"]: ImportRecord(
                r["name"], r["size"], r["mtime_ns"], r["content_hash"], r["status"]
            )
            for r in rows
        }

    # --- questions and feedback -------------------------------------------------------------
    def log_question(
        self, *, channel: str, latency_ms: float, answered: bool, article_id: str | None
    ) -> None:
        self.log_questions([(channel, latency_ms, answered, article_id)])

    def log_questions(self, rows: Sequence[tuple[str, float, bool, str | None]]) -> None:
        """Log (channel, latency ms, answered, article id) rows in one transaction."""
        now = time.time()
        with self.transaction() as tx:
            for channel, latency_ms, answered, article_id in rows:
                tx.execute(
                    "INSERT INTO questions(ts, channel, latency_ms, answered, article_id) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (now, channel, latency_ms, int(answered), article_id),
                )

    def log_feedback(
        self,
        *,
        user: str,
        question: str,
        answer_sentence: str | None,
        article_id: str | None,
        paragraph: int | None,
        helpful: bool,
    ) -> None:
        with self.transaction() as tx:
            tx.execute(
                "INSERT INTO feedback(ts, user, question, answer_sentence, article_id, "
                "paragraph, helpful) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (time.time(), user, question, answer_sentence, article_id, paragraph, int(helpful)),
            )

    def activity(self, hours: float = 24.0) -> ActivityStats:
        """Questions and feedback of the last ``hours``."""
        since = time.time() - hours * 3600.0
        with self._lock:
            answered, declined = self._db.execute(
                "SELECT COALESCE(SUM(answered), 0), COALESCE(SUM(1 - answered), 0) "
                "FROM questions WHERE ts >= ?",
                (since,),
            ).fetchone()
            latencies = [
                float(r[0])
                for r in self._db.execute(
                    "SELECT latency_ms FROM questions WHERE ts >= ? ORDER BY latency_ms", (since,)
                )
            ]
            helpful, not_helpful = self._db.execute(
                "SELECT COALESCE(SUM(helpful), 0), COALESCE(SUM(1 - helpful), 0) "
                "FROM feedback WHERE ts >= ?",
                (since,),
            ).fetchone()
        return ActivityStats(
            window_hours=hours,
            answered=int(answered),
            declined=int(declined),
            median_latency_ms=_median(latencies),
            helpful=int(helpful),
            not_helpful=int(not_helpful),
        )


def _median(sorted_values: Sequence[float]) -> float | None:
    n = len(sorted_values)
    if n == 0:
        return None
    mid = n // 2
    return sorted_values[mid] if n % 2 else (sorted_values[mid - 1] + sorted_values[mid]) / 2.0


class Transaction:
    """The statements allowed inside :meth:`Store.transaction`."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def execute(self, sql: str, params: Sequence[object] = ()) -> sqlite3.Cursor:
        return self._db.execute(sql, params)

    def executescript_in_tx(self, script: str) -> None:
        """Run several statements without the implicit COMMIT of ``executescript``."""
        for statement in script.split(";"):
            if statement.strip():
                self._db.execute(statement)

    def bump(self) -> None:
        self._db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key='changes'")

    def put(self, article: Article, *, added_by: str) -> None:
        self._db.execute("DELETE FROM articles WHERE id=?", (article.id,))
        self._db.execute(
            "INSERT INTO articles(id, title, source, url, published, author, paragraphs, extra, "
            "content_hash, added_by, added_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                article.id,
                article.title,
                article.source,
                article.url,
                article.published,
                article.author,
                json.dumps(list(article.paragraphs), ensure_ascii=False),
                json.dumps([list(kv) for kv in article.extra], ensure_ascii=False),
                article.content_hash(),
                added_by,
                _now_iso(),
            ),
        )
        self.bump()

    def delete(self, article_id: str) -> bool:
        cur = self._db.execute("DELETE FROM articles WHERE id=?", (article_id,))
        if cur.rowcount:
            self.bump()
            return True
        return False

    def record_import(self, record: ImportRecord) -> None:
        self._db.execute(
            "INSERT INTO imports(name, size, mtime_ns, content_hash, status) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET size=excluded.size, "
            "mtime_ns=excluded.mtime_ns, content_hash=excluded.content_hash, "
            "status=excluded.status",
            (record.name, record.size, record.mtime_ns, record.content_hash, record.status),
        )

    def find_by_hash(self, content_hash: str) -> str | None:
        row = self._db.execute(
            "SELECT id FROM articles WHERE content_hash=? LIMIT 1", (content_hash,)
        ).fetchone()
        return None if row is None else str(row[0])

    def hash_of(self, article_id: str) -> str | None:
        row = self._db.execute(
            "SELECT content_hash FROM articles WHERE id=?", (article_id,)
        ).fetchone()
        return None if row is None else str(row[0])
