"""Indexes for ``--articles DIR``, cached by the folder's content.

``newsdesk ask/eval --articles DIR`` must not read or change the configured store and index,
so the engine for DIR is built in a cache folder of its own, named by a digest of the
folder's files and of the settings that shape the index. Asking again about the same folder
loads the cached index instead of rebuilding; any change to a file gives a new key.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from index.articles import ArticleError, parse_article
from index.engine import TEXT_VERSION, Engine, EngineParams, Progress, Reranker
from index.errors import NewsdeskIndexError
from index.records import Article

log = logging.getLogger(__name__)
KEEP_ENTRIES = 8  # cached folders kept; older ones are deleted
KEEP_NAMES = frozenset({"embeddings"})  # the semantic reranker's store: never pruned


@dataclass(frozen=True, slots=True)
class FolderIndex:
    """An engine for a folder, with the files that were refused on the way."""

    engine: Engine
    refused: tuple[tuple[str, str], ...]
    from_cache: bool


class FolderError(ValueError):
    """The folder cannot be used (missing, not a folder, no valid article)."""


def _read_folder(folder: Path) -> tuple[str, list[tuple[str, bytes]]]:
    if not folder.is_dir():
        raise FolderError(f"{folder}: no such folder")
    digest = hashlib.sha256(f"text-v{TEXT_VERSION}".encode())
    files: list[tuple[str, bytes]] = []
    for path in sorted(folder.glob("*.txt")):
        if not path.is_file():
            continue
        data = path.read_bytes()
        files.append((path.name, data))
        digest.update(path.name.encode() + b"\0" + hashlib.sha256(data).digest())
    return digest.hexdigest(), files


def open_folder(
    folder: Path,
    params: EngineParams,
    cache_root: Path,
    progress: Progress | None = None,
    reranker: Reranker | None = None,
) -> FolderIndex:
    """Load the cached engine for ``folder`` or build (and cache) it; with a ``reranker``
    (which keeps its own content-keyed embeddings) the engine answers through it."""
    found = _open_folder(folder, params, cache_root, progress)
    if reranker is not None:
        reranker.attach(found.engine)
    return found


def _open_folder(
    folder: Path, params: EngineParams, cache_root: Path, progress: Progress | None
) -> FolderIndex:
    key, files = _read_folder(folder)
    key = hashlib.sha256(f"{key}:{params.max_passage_sentences}".encode()).hexdigest()[:32]
    articles: list[Article] = []
    refused: list[tuple[str, str]] = []
    for name, data in files:
        try:
            articles.append(parse_article(name, data))
        except ArticleError as exc:
            refused.append((exc.name, exc.reason))
    if not articles:
        reason = "no .txt article files" if not files else "no valid article file"
        raise FolderError(f"{folder}: {reason}")
    target = cache_root / key
    if target.exists():
        try:
            return FolderIndex(Engine.load(target, params), tuple(refused), True)
        except NewsdeskIndexError as exc:
            log.warning("cached index for %s unusable (%s); rebuilding", folder, exc)
            shutil.rmtree(target, ignore_errors=True)
    engine = Engine.build(articles, params, progress)
    _save_atomically(engine, cache_root, target)
    return FolderIndex(engine, tuple(refused), False)


def _save_atomically(engine: Engine, cache_root: Path, target: Path) -> None:
    """Save aside, then rename into place; a concurrent builder of the same key just wins."""
    cache_root.mkdir(parents=True, exist_ok=True)
    aside = Path(tempfile.mkdtemp(prefix=".build-", dir=cache_root))
    try:
        engine.save(aside)
        os.rename(aside, target)
    except OSError:
        shutil.rmtree(aside, ignore_errors=True)
        return
    entries = sorted(
        (
            p
            for p in cache_root.iterdir()
            if p.is_dir() and not p.name.startswith(".") and p.name not in KEEP_NAMES
        ),
        key=lambda p: p.stat().st_mtime,
    )
    for stale in entries[:-KEEP_ENTRIES]:
        shutil.rmtree(stale, ignore_errors=True)
