"""The public face of ``index``: one object the bot and the command line talk to.

``Desk`` ties the article store (SQLite, the truth) to the search engine (derived, rebuildable)
and keeps them in step: it imports the articles folder, adds and removes articles live,
rebuilds the index when it is missing, stale or corrupt, and records questions and feedback.
Every method is thread-safe; slow ones are meant to be called through ``asyncio.to_thread``.

Order of writes, so that a kill -9 at any moment leaves the old or the new state:

1. the article is committed to the store (fsynced WAL) and only then acknowledged;
2. the in-memory engine is updated incrementally (under a lock readers also take);
3. the index is saved atomically (the engine writes aside, fsyncs and renames its manifest).

If a process dies between 1 and 3, the saved index's fingerprint (a digest of the indexed
``(id, content hash)`` pairs) no longer matches the store's, and the next :meth:`Desk.open`
rebuilds it from the store. Writers in different processes (the bot, ``newsdesk add``) are
serialised by an exclusive ``flock`` on ``<data_dir>/writer.lock``; a running bot notices a
command-line change through the store's change counter (:meth:`Desk.refresh`).

The articles folder is imported on open and on reindex: a new or changed file is stored, a
file whose content is already stored under another id is reported as a duplicate and not
stored again, a file that has not changed since its last import is skipped, so an article an
admin removed stays removed until its file changes.
"""

from __future__ import annotations

import dataclasses
import fcntl
import logging
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from config import Settings
from index.articles import ArticleError, parse_article
from index.backends import backend_for
from index.backends.sphinx_shards import ShardWriteError
from index.durable import fsync_dir
from index.engine import Engine, EngineParams
from index.errors import IndexMissing, NewsdeskIndexError
from index.intake import Intake, Prepared
from index.records import (
    ActivityStats,
    AddOutcome,
    Answer,
    Article,
    CorpusStats,
    Response,
    StoredArticle,
    corpus_fingerprint,
)
from index.semantic import Warmup, reranker_for
from index.store import ImportRecord, Store, Transaction

Progress = Callable[[int, int], None]  # (done, total)

log = logging.getLogger(__name__)

REBUILD_SHARE = 0.25  # a sync touching more than this share of articles rebuilds instead
QUESTION_LOG_BATCH = 100  # questions are logged in batches: at most this many ...
QUESTION_LOG_INTERVAL_S = 1.0  # ... or this old, so most answers never wait for an fsync


def store_fingerprint(hashes: Mapping[str, str]) -> str:
    """The digest ``Engine.fingerprint()`` gives for an index of exactly these articles."""
    return corpus_fingerprint(hashes.items())


@dataclass(slots=True)
class ImportReport:
    """What one import of the articles folder did."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (file, stored id)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)
    unchanged: int = 0


class _ProcessLock:
    """An exclusive ``flock`` shared by every Newsdesk process on one data folder.

    Re-entrant within a process (a depth count guarded by the Desk's writer lock), released by
    the kernel if the process dies, so a kill -9 never leaves it held.
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        self._depth = 0

    def acquire(self) -> None:
        if self._depth == 0:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        self._depth += 1

    @property
    def held(self) -> bool:
        """Whether this process holds the lock."""
        return self._depth > 0

    def release(self) -> None:
        self._depth -= 1
        if self._depth == 0:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        os.close(self._fd)


class Desk:
    """Store + engine, kept consistent, safe to share between threads."""

    def __init__(self, settings: Settings, store: Store, params: EngineParams) -> None:
        self.settings = settings
        self.store = store
        self.params = params
        self.last_import = ImportReport()
        self._backend = backend_for(settings, params)  # embedded index or search shards
        self._engine: Engine = self._backend.new()
        self.partial_answers = 0  # answers given while some shard did not answer
        self.last_index_error: str | None = None  # last failed write to the search shards
        self._indexed: dict[str, str] = {}  # what the engine holds: id -> content hash
        self._seen_changes = -1  # the store's change counter the engine reflects
        self._generation = 0
        self._write_lock = threading.RLock()  # one writer at a time in this process
        self._engine_lock = threading.RLock()  # readers vs. in-place engine changes
        self._process_lock = _ProcessLock(settings.data_dir / "writer.lock")
        self._intake = Intake(settings.max_article_bytes, settings.fetch_timeout_s)
        self._closed = False
        self._log_lock = threading.Lock()
        self._pending_questions: list[tuple[str, float, bool, str | None]] = []
        self._last_log_flush = time.monotonic()
        self._reranker = reranker_for(settings)  # None: lexical pipeline
        self._warmup: Warmup | None = None

    # --- opening ----------------------------------------------------------------------------
    @classmethod
    def open(
        cls,
        settings: Settings,
        progress: Progress | None = None,
        *,
        import_folder: bool = True,
        load_index: bool = True,
    ) -> Desk:
        """Open the store, import ``settings.articles_dir``, load or rebuild the index.

        ``load_index=False`` leaves the engine empty, for a caller about to :meth:`reindex`.
        """
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        reranker_for(settings)  # a semantic model that cannot load stops us before the store
        store = Store(settings.store_path)
        desk = cls(settings, store, EngineParams.from_settings(settings))
        try:
            with desk._writing():
                if import_folder:
                    desk.last_import = desk._import_folder(force=False)
                if load_index:
                    desk._load_or_rebuild(progress)
        except BaseException:
            desk.close()
            raise
        return desk

    def _load_or_rebuild(self, progress: Progress | None) -> None:
        """Use the saved index when it matches the store exactly; otherwise rebuild it."""
        changes = self.store.changes()
        hashes = self.store.hashes()
        expected = store_fingerprint(hashes)
        index_dir = self.settings.index_dir
        try:
            engine = self._backend.load(index_dir)
        except IndexMissing:
            log.info("no index at %s yet; rebuilding it from the store", index_dir)
        except Exception as exc:  # corrupt files fail in many ways: all mean "rebuild"
            log.warning(
                "index at %s cannot be used (%s: %s); rebuilding from the store",
                index_dir,
                type(exc).__name__,
                exc,
            )
        else:
            if engine.fingerprint() == expected:
                self._install(engine, hashes, changes)
                self._remove_orphans()
                return
            log.warning(
                "index at %s is stale (%d indexed, %d stored or changed since); "
                "rebuilding from the store",
                index_dir,
                len(engine.article_ids()),
                len(hashes),
            )
        self._rebuild(progress)

    def _rebuild(self, progress: Progress | None) -> CorpusStats:
        """Build a fresh engine from the store aside, save it, then swap it in."""
        changes = self.store.changes()
        articles = self.store.articles()
        started = time.perf_counter()
        engine = self._backend.build(articles, progress)
        self._save_fresh(engine)
        log.info(
            "index rebuilt: %d articles in %.1f s", len(articles), time.perf_counter() - started
        )
        self._install(engine, {a.id: a.content_hash() for a in articles}, changes)
        return engine.stats()

    def _save_fresh(self, engine: Engine) -> None:
        """Save a newly built engine beside the live index, then swap it in atomically.

        ``index`` is a symbolic link to an ``index-<random>`` folder; the new folder is written
        and fsynced completely, then a new link replaces the old one with one ``rename``. A
        kill -9 at any moment leaves the old index or the new one. Old folders are deleted
        afterwards (a process that still maps their files keeps them until it lets go).
        """
        link = self.settings.index_dir
        parent = link.parent
        target = parent / f"{link.name}-{uuid.uuid4().hex[:12]}"
        engine.save(target)
        fsync_dir(parent)
        if link.exists() and not link.is_symlink():
            # an index folder from before links were used: move it out of the way first
            link.rename(parent / f"{link.name}-old-{uuid.uuid4().hex[:12]}")
        tmp_link = parent / f".{link.name}.link-{os.getpid()}"
        tmp_link.unlink(missing_ok=True)
        tmp_link.symlink_to(target.name)
        os.replace(tmp_link, link)
        fsync_dir(parent)
        self._remove_orphans()

    def _remove_orphans(self) -> None:
        """Delete index folders and links that the live link does not point to.

        They are left by an earlier swap or by a kill -9 during one. Called with the writer
        locks held, so no other process is writing one at the same time.
        """
        link = self.settings.index_dir
        if not link.is_symlink():
            return
        live = link.resolve()
        for path in link.parent.glob(f"{link.name}-*"):
            if path.resolve() != live and path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
        for path in link.parent.glob(f".{link.name}.link-*"):
            path.unlink(missing_ok=True)

    def _install(self, engine: Engine, hashes: dict[str, str], changes: int) -> None:
        if self._reranker is not None:
            self._reranker.attach(engine)
        with self._engine_lock:
            self._engine = engine
            self._indexed = hashes
            self._seen_changes = changes
            self._generation += 1
        if self._reranker is not None:  # embed the corpus while questions are answered
            if self._warmup is not None:
                self._warmup.cancel()
            self._warmup = self._reranker.warm_in_background(engine)

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """The writer locks: this process's threads, then every process on the data folder."""
        with self._write_lock:
            self._process_lock.acquire()
            try:
                yield
            finally:
                self._process_lock.release()

    def close(self) -> None:
        """Flush and close the store."""
        with self._write_lock:
            if self._closed:
                return
            self._flush_questions()
            if self._warmup is not None:
                self._warmup.cancel(wait=5.0)
            if self._reranker is not None:
                self._reranker.cache.flush()
            self._closed = True
            self.store.close()
            self._process_lock.close()

    # --- the articles folder ----------------------------------------------------------------
    def _import_folder(self, *, force: bool) -> ImportReport:
        """Store new and changed files of the articles folder (call with the writer locks).

        Unless ``force``, a file whose size and modification time match its last import is
        not even read. Either way a file whose content matches its last import is skipped.
        """
        report = ImportReport()
        folder = self.settings.articles_dir
        if not folder.is_dir():
            log.warning("articles folder %s does not exist; nothing imported", folder)
            return report
        known = self.store.imports()
        with self.store.transaction() as tx:
            for path in sorted(folder.glob("*.txt")):
                try:
                    stat = path.stat()
                except OSError:
                    continue
                if not path.is_file():
                    continue
                name = path.name
                last = known.get(name)
                if (
                    not force
                    and last is not None
                    and last.size == stat.st_size
                    and last.mtime_ns == stat.st_mtime_ns
                ):
                    report.unchanged += 1
                    continue
                status, content_hash = self._import_one(tx, path, stat.st_size, last, report)
                tx.record_import(
                    ImportRecord(name, stat.st_size, stat.st_mtime_ns, content_hash, status)
                )
        if report.added or report.updated or report.duplicates or report.refused:
            log.info(
                "imported %s: %d added, %d updated, %d duplicates, %d refused, %d unchanged",
                folder,
                len(report.added),
                len(report.updated),
                len(report.duplicates),
                len(report.refused),
                report.unchanged,
            )
        for name, other in report.duplicates:
            log.info("%s: same content as stored article %s; not stored twice", name, other)
        for name, reason in report.refused:
            log.warning("%s: refused: %s", name, reason)
        return report

    def _import_one(
        self,
        tx: Transaction,
        path: Path,
        size: int,
        last: ImportRecord | None,
        report: ImportReport,
    ) -> tuple[str, str | None]:
        if size > self.settings.max_article_bytes:
            reason = f"larger than the limit of {self.settings.max_article_bytes:,} bytes"
            report.refused.append((path.name, reason))
            return f"refused:{reason}", None
        try:
            article = parse_article(path.name, path.read_bytes())
        except ArticleError as exc:
            report.refused.append((path.name, exc.reason))
            return f"refused:{exc.reason}", None
        except OSError as exc:
            report.refused.append((path.name, f"cannot be read ({exc.strerror})"))
            return "refused:unreadable", None
        content_hash = article.content_hash()
        if last is not None and last.content_hash == content_hash:
            report.unchanged += 1
            return last.status, content_hash
        stored = tx.hash_of(article.id)
        if stored == content_hash:
            report.unchanged += 1
            return "added", content_hash
        other = tx.find_by_hash(content_hash)
        if other is not None and other != article.id:
            report.duplicates.append((path.name, other))
            return f"duplicate:{other}", content_hash
        tx.put(article, added_by="import")
        (report.updated if stored is not None else report.added).append(article.id)
        return "added", content_hash

    # --- keeping the engine in step with the store ------------------------------------------
    def _sync(self) -> bool:
        """Bring the engine up to the store's state (call with the writer lock held)."""
        changes = self.store.changes()
        if changes == self._seen_changes:
            return False
        hashes = self.store.hashes()
        if self._backend.name != "embedded":
            if self._adopt_shared(hashes, changes):
                return True
            if not self._process_lock.held:
                return False  # another process is writing the shards: look again later
        changed = [i for i, h in hashes.items() if self._indexed.get(i) != h]
        gone = [i for i in self._indexed if i not in hashes]
        if len(changed) + len(gone) > max(50, REBUILD_SHARE * len(hashes)):
            log.info("%d articles changed elsewhere; rebuilding the index in memory", len(changed))
            self._rebuild_in_memory(changes)
            return True
        articles = self.store.articles(changed)
        try:
            self._apply(articles, gone, changed, changes)
        except ShardWriteError as exc:
            self._shard_write_failed(exc, changes)
            return True
        except Exception as exc:
            log.error("could not apply changes to the index (%s); rebuilding it in memory", exc)
            self._rebuild_in_memory(changes)
            return True
        log.info("picked up %d changed and %d removed articles", len(articles), len(gone))
        return True

    def _adopt_shared(self, hashes: dict[str, str], changes: int) -> bool:
        """Search shards are shared by every process: the one that changed the store also
        wrote the shards and saved the statistics, so load those instead of writing again."""
        try:
            engine = self._backend.load(self.settings.index_dir)
        except Exception as exc:  # missing or stale state: this process must write
            log.info("saved search state not usable (%s)", exc)
            return False
        if engine.fingerprint() != store_fingerprint(hashes):
            return False
        self._install(engine, dict(hashes), changes)
        log.info("picked up the search state another process saved")
        return True

    def _apply(
        self, articles: Sequence[Article], gone: Sequence[str], changed: Sequence[str], changes: int
    ) -> None:
        with self._engine_lock:
            self._engine.remove(gone)
            self._engine.add(articles)
            indexed = dict(self._indexed)
            for article_id in gone:
                indexed.pop(article_id, None)
            for article_id in changed:
                indexed.pop(article_id, None)
            indexed.update({a.id: a.content_hash() for a in articles})
            self._indexed = indexed
            self._seen_changes = changes
            self._generation += 1

    def _save_index(self) -> None:
        """Persist the engine (under the engine lock: saving may merge segments)."""
        with self._engine_lock:
            self._engine.save(self.settings.index_dir)

    def refresh(self) -> bool:
        """Pick up changes another process made (CLI add/reindex); True if anything changed."""
        if self._closed:
            return False
        if self._pending_questions and (
            time.monotonic() - self._last_log_flush >= QUESTION_LOG_INTERVAL_S
        ):
            self._flush_questions()  # the bot calls refresh every few seconds: logs stay fresh
        if self.store.changes() == self._seen_changes:
            return False
        if not self._write_lock.acquire(blocking=False):
            return False  # a writer in this process is busy; it syncs itself
        try:
            return self._sync()
        finally:
            self._write_lock.release()

    @property
    def generation(self) -> int:
        """Changes whenever the index changes; lets callers spot stale references."""
        return self._generation

    # --- reading ----------------------------------------------------------------------------
    def ask(self, question: str, *, channel: str = "cli") -> Response:
        """Answer one question and log it (channel, latency, answered or declined)."""
        started = time.perf_counter()
        with self._engine_lock:
            response = self._engine.ask(question)
        latency_ms = (time.perf_counter() - started) * 1000.0
        answer = response.answer
        if response.partial:
            self.partial_answers += 1
            log.info("partial answer: a search shard did not answer (channel %s)", channel)
        with self._log_lock:
            self._pending_questions.append(
                (channel, latency_ms, answer is not None, answer.article_id if answer else None)
            )
            due = (
                len(self._pending_questions) >= QUESTION_LOG_BATCH
                or time.monotonic() - self._last_log_flush >= QUESTION_LOG_INTERVAL_S
            )
        if due:
            self._flush_questions()
        return response

    def _flush_questions(self) -> None:
        """Write the buffered question log in one transaction (one fsync, not one per ask)."""
        with self._log_lock:
            pending, self._pending_questions = self._pending_questions, []
            self._last_log_flush = time.monotonic()
            if not pending or self._closed:
                return
            try:
                self.store.log_questions(pending)
            except Exception:  # a full disk must not stop answers
                log.exception("could not log %d questions", len(pending))

    def stats(self) -> CorpusStats:
        """Articles, passages, sentences, sources, last index time."""
        with self._engine_lock:
            stats = self._engine.stats()
        extra = {"backend": self._backend.name, **stats.extra}
        if extra["backend"] != "embedded":
            extra["partial_answers"] = self.partial_answers
            extra["last_index_error"] = self.last_index_error
        stats = dataclasses.replace(stats, extra=extra)
        if self._reranker is not None:
            stats = dataclasses.replace(stats, pipeline=self._reranker.description)
        return stats

    def activity(self, hours: float = 24.0) -> ActivityStats:
        """Questions answered and declined, median answer time and feedback in a window."""
        self._flush_questions()
        return self.store.activity(hours)

    def list_articles(self, offset: int = 0, limit: int = 50) -> list[StoredArticle]:
        """Stored articles, newest first."""
        return self.store.recent(offset, limit)

    def count_articles(self) -> int:
        """How many articles are stored."""
        return self.store.count()

    def headlines(self, limit: int = 5) -> list[str]:
        """Recent headlines, for help texts and example questions."""
        return [s.article.title for s in self.store.recent(0, limit)]

    def get_article(self, article_id: str) -> StoredArticle | None:
        """One stored article, or None."""
        return self.store.get(article_id)

    # --- writing ----------------------------------------------------------------------------
    def add_file(
        self, name: str, data: bytes, *, added_by: str, replace: bool = False
    ) -> AddOutcome:
        """Add one article from a file's bytes (.txt in FORMATS layout, or .html/.htm)."""
        prepared = self._intake.file(name, data)
        return self._add_prepared([prepared], added_by=added_by, replace=replace)[0]

    def add_url(self, url: str, *, added_by: str, replace: bool = False) -> AddOutcome:
        """Fetch an http(s) page and add the article it holds."""
        prepared = self._intake.url(url)
        return self._add_prepared([prepared], added_by=added_by, replace=replace)[0]

    def add_paths(
        self, inputs: Sequence[str | Path], *, added_by: str, replace: bool = False
    ) -> list[AddOutcome]:
        """Add files, folders of files, or URLs; one outcome per input (per file of a folder)."""
        prepared = self._intake.inputs(inputs)
        return self._add_prepared(prepared, added_by=added_by, replace=replace)

    def _add_prepared(
        self, prepared: Sequence[Prepared], *, added_by: str, replace: bool
    ) -> list[AddOutcome]:
        """Commit the good articles in one transaction, then index them and save the index."""
        outcomes: list[AddOutcome | None] = [None] * len(prepared)
        to_index: list[Article] = []
        with self._writing():
            self._sync()
            with self.store.transaction() as tx:
                for n, item in enumerate(prepared):
                    article = item.article
                    if article is None:
                        outcomes[n] = AddOutcome(item.input, False, reason=item.reason)
                        continue
                    content_hash = article.content_hash()
                    existing = tx.hash_of(article.id)
                    if existing is not None and not replace:
                        why = (
                            f"article {article.id} is already stored with the same content"
                            if existing == content_hash
                            else f"an article with id {article.id} already exists "
                            "(add with replace to overwrite it)"
                        )
                        outcomes[n] = AddOutcome(item.input, False, article.id, reason=why)
                        continue
                    other = tx.find_by_hash(content_hash)
                    if other is not None and other != article.id:
                        why = f"same content as stored article {other}; not stored twice"
                        outcomes[n] = AddOutcome(item.input, False, article.id, reason=why)
                        continue
                    tx.put(article, added_by=added_by)
                    to_index = [a for a in to_index if a.id != article.id] + [article]
                    outcomes[n] = AddOutcome(
                        item.input,
                        True,
                        article.id,
                        article.title,
                        len(article.paragraphs),
                        replaced=existing is not None,
                    )
            # committed: the articles are safe; now make them answerable and save the index
            if to_index:
                try:
                    self._index_committed(to_index, [])
                except ShardWriteError as exc:  # stored, not yet searchable: say so
                    missed = set(exc.articles)
                    outcomes = [
                        dataclasses.replace(o, index_error=str(exc))
                        if o is not None and o.added and o.article_id in missed
                        else o
                        for o in outcomes
                    ]
        for outcome in outcomes:
            if outcome is not None and outcome.added:
                log.info("added article %s by %s", outcome.article_id, added_by)
        return [o for o in outcomes if o is not None]

    def _index_committed(self, added: Sequence[Article], removed: Sequence[str]) -> None:
        """Apply committed store changes to the engine and save it (writer locks held).

        The articles are already safe in the store, so nothing here may lose them: an engine
        that fails to update is rebuilt from the store, and an index that cannot be saved is
        left stale on disk (the next start notices and rebuilds it).
        """
        changes = self.store.changes()
        shard_error: ShardWriteError | None = None
        try:
            with self._engine_lock:
                if removed:
                    self._engine.remove(removed)
                if added:
                    self._engine.add(added)
                indexed = dict(self._indexed)
                for article_id in removed:
                    indexed.pop(article_id, None)
                indexed.update({a.id: a.content_hash() for a in added})
                self._indexed = indexed
                self._seen_changes = changes
                self._generation += 1
        except ShardWriteError as exc:
            self._shard_write_failed(exc, changes)
            shard_error = exc
        except Exception as exc:
            log.error("incremental index update failed (%s); rebuilding from the store", exc)
            self._rebuild_in_memory(changes)
        try:
            self._save_index()
        except NewsdeskIndexError as exc:
            log.warning("index on disk cannot be updated in place (%s); writing it anew", exc)
            try:
                with self._engine_lock:
                    self._save_fresh(self._engine)
            except OSError as err:
                log.error("could not save the index (%s); it is rebuilt at next start", err)
        except OSError as exc:
            log.error("could not save the index (%s); it is rebuilt at next start", exc)
        if shard_error is not None:
            raise shard_error

    def _shard_write_failed(self, exc: ShardWriteError, changes: int) -> None:
        """The store has the change, a shard does not: note it; the next reindex repairs."""
        log.error("%s", exc)
        self.last_index_error = str(exc)
        with self._engine_lock:
            self._indexed = {
                i: h for i, h in self.store.hashes().items() if i in self._engine.article_ids()
            }
            self._seen_changes = changes
            self._generation += 1

    def _rebuild_in_memory(self, changes: int) -> None:
        articles = self.store.articles()
        engine = self._backend.build(articles)
        self._install(engine, {a.id: a.content_hash() for a in articles}, changes)

    def remove(self, article_id: str) -> bool:
        """Remove one article; False if there was none with that id."""
        with self._writing():
            self._sync()
            if not self.store.delete(article_id):
                return False
            self._index_committed([], [article_id])
        log.info("removed article %s", article_id)
        return True

    def reindex(self, progress: Progress | None = None) -> CorpusStats:
        """Re-import the articles folder and rebuild the whole index aside, then swap it in."""
        with self._writing():
            self.last_import = self._import_folder(force=True)
            return self._rebuild(progress)

    def record_feedback(
        self, question: str, answer: Answer | None, helpful: bool, *, user: str
    ) -> None:
        """Keep a Helpful / Not helpful vote with the question and the answer."""
        self.store.log_feedback(
            user=user,
            question=question,
            answer_sentence=answer.sentence if answer else None,
            article_id=answer.article_id if answer else None,
            paragraph=answer.paragraph if answer else None,
            helpful=helpful,
        )
