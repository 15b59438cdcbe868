"""Talking to the shards: SphinxQL over the MySQL protocol, one connection per shard.

The client is PyMySQL: pure Python (no C library to build or match to the server), small,
maintained, and it speaks the plain text protocol that Sphinx 2.2.11 and Manticore
implement; connections are opened with ``autocommit`` on because the engines treat every
statement outside BEGIN/COMMIT as its own transaction. A connection broken by a restarted
shard is reopened once per statement; every failure becomes a :class:`ShardError` that names
the shard.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Sequence
from typing import Any

import pymysql

log = logging.getLogger(__name__)

#: The RT index each shard holds (declared in the shard's config, see docs/manticore.md).
INDEX = "newsdesk_passages"


class ShardError(Exception):
    """A shard did not answer or refused a statement; the message names the shard."""

    def __init__(self, address: str, reason: str) -> None:
        super().__init__(f"shard {address}: {reason}")
        self.address = address
        self.reason = reason


class ShardWriteError(Exception):
    """Some articles could not be written to (or removed from) their shard.

    The store (the truth) has the change; the next reindex applies it. The message says which.
    """

    def __init__(self, errors: Sequence[ShardError], articles: Sequence[str]) -> None:
        shards = "; ".join(str(e) for e in errors)
        shown = ", ".join(articles[:5]) + (" ..." if len(articles) > 5 else "")
        super().__init__(
            f"search shard write failed ({shards}); {len(articles)} article(s) not yet "
            f"changed in the search index ({shown}); the article store has the change and "
            "the next reindex repairs the index"
        )
        self.errors = list(errors)
        self.articles = list(articles)


def parse_shard(entry: str) -> tuple[str | None, list[tuple[str, int]]]:
    """``[cluster/]host:port[|host:port...]`` -> (replication cluster, replica addresses).

    Replicas of one shard hold the same rows (a Manticore replication cluster); writes to a
    replicated table must name it ``cluster:table``.
    """
    cluster, _, hosts = entry.rpartition("/")
    replicas = []
    for item in hosts.split("|"):
        host, _, port = item.strip().rpartition(":")
        replicas.append((host, int(port)))
    return cluster or None, replicas


class Shard:
    """One shard (one or more replica addresses); statements are serialised on a single
    connection to the first replica that accepts it."""

    def __init__(self, address: str, timeout_s: float) -> None:
        self.address = address
        cluster, self._replicas = parse_shard(address)
        #: the table name writes use (``cluster:table`` when the shard is replicated)
        self.write_table = f"{cluster}:{INDEX}" if cluster else INDEX
        self._current = 0
        self._timeout = timeout_s
        self._conn: Any = None
        self._lock = threading.Lock()

    def _connect(self) -> Any:
        """A connection to the current replica, else to the next ones in turn."""
        failure: BaseException | None = None
        for step in range(len(self._replicas)):
            index = (self._current + step) % len(self._replicas)
            host, port = self._replicas[index]
            try:
                conn = pymysql.connect(
                    host=host,
                    port=port,
                    autocommit=True,
                    charset="utf8mb4",
                    connect_timeout=self._timeout,
                    read_timeout=self._timeout,
                    write_timeout=self._timeout,
                )
            except (pymysql.err.MySQLError, OSError) as exc:
                failure = exc
                continue
            if index != self._current:
                log.warning("shard %s: using replica %s:%d", self.address, host, port)
            self._current = index
            return conn
        assert failure is not None
        raise failure

    def run(self, sql: str, args: Sequence[object] | None = None) -> list[tuple[Any, ...]]:
        """Execute one statement; its rows (empty for writes). Raises :class:`ShardError`."""
        with self._lock:
            return self._run(sql, args)

    def search(self, sql: str, args: Sequence[object]) -> tuple[list[tuple[Any, ...]], str]:
        """Run a SELECT and then ``SHOW META`` on the same connection: (rows, warning).

        A distributed index with a dead agent still answers, with fewer rows; the warning
        in SHOW META is the only sign, so the caller must look at it.
        """
        with self._lock:
            rows = self._run(sql, args)
            meta = self._run("SHOW META", None, retry=False)
        warning = next((str(v) for k, v in meta if k == "warning" and v), "")
        return rows, warning

    def _run(
        self, sql: str, args: Sequence[object] | None, *, retry: bool = True
    ) -> list[tuple[Any, ...]]:
        for attempt in (1, 2):
            fresh = self._conn is None
            try:
                if self._conn is None:
                    self._conn = self._connect()
                with self._conn.cursor() as cursor:
                    cursor.execute(sql, args)
                    return list(cursor.fetchall())
            except pymysql.err.ProgrammingError as exc:
                raise ShardError(self.address, _reason(exc)) from None
            except (pymysql.err.MySQLError, OSError) as exc:
                self._drop()
                if fresh or attempt == 2 or not retry:
                    raise ShardError(self.address, _reason(exc)) from None
                # an old connection may have been cut by a restart: retry on a new one
        raise AssertionError("unreachable")

    def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):  # already broken: nothing to close cleanly
                self._conn.close()
        self._conn = None

    def close(self) -> None:
        with self._lock:
            self._drop()


def _reason(exc: BaseException) -> str:
    """The server's message, one line, cut short (a syntax error quotes the statement)."""
    args: tuple[Any, ...] = tuple(getattr(exc, "args", ()))
    if len(args) >= 2 and isinstance(args[1], str):
        text = f"{_short(args[1])} (error {args[0]})"
    else:
        text = f"{type(exc).__name__}: {_short(str(exc))}"
    return text


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.replace("\x00", " ").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
