"""Search backends: where the passages live and how candidates are retrieved.

``embedded`` (the default) is :class:`index.engine.Engine`, the exact BM25 index in the data
folder. ``sphinx`` is :class:`index.backends.sphinx_engine.ShardedEngine`: passages in RT
indexes on Sphinx 2.2.11 or Manticore shards (``NEWSDESK_SHARDS``). Both share the answering
code; the Desk creates, loads and rebuilds engines only through :func:`backend_for`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from index.engine import Engine, EngineParams, Progress
from index.records import Article

if TYPE_CHECKING:
    from config import Settings


class Backend(Protocol):
    """How the Desk gets an engine: empty, loaded from the data folder, or rebuilt."""

    name: str

    def new(self) -> Engine: ...

    def load(self, directory: Path) -> Engine: ...

    def build(self, articles: Iterable[Article], progress: Progress | None = None) -> Engine: ...


class EmbeddedBackend:
    """The built-in exact BM25 index, saved in the data folder."""

    name = "embedded"

    def __init__(self, params: EngineParams) -> None:
        self.params = params

    def new(self) -> Engine:
        return Engine(self.params)

    def load(self, directory: Path) -> Engine:
        return Engine.load(directory, self.params)

    def build(self, articles: Iterable[Article], progress: Progress | None = None) -> Engine:
        return Engine.build(articles, self.params, progress)


class SphinxBackend:
    """Passages on Sphinx/Manticore shards; statistics saved in the data folder."""

    name = "sphinx"

    def __init__(self, params: EngineParams, shards: tuple[str, ...], timeout_s: float) -> None:
        self.params = params
        self.shards = shards
        self.timeout_s = timeout_s

    def new(self) -> Engine:
        from index.backends.sphinx_engine import ShardedEngine

        return ShardedEngine(self.params, self.shards, self.timeout_s)

    def load(self, directory: Path) -> Engine:
        from index.backends.sphinx_engine import ShardedEngine

        return ShardedEngine.open(directory, self.params, self.shards, self.timeout_s)

    def build(self, articles: Iterable[Article], progress: Progress | None = None) -> Engine:
        from index.backends.sphinx_engine import ShardedEngine

        engine = ShardedEngine(self.params, self.shards, self.timeout_s)
        engine.rebuild(articles, progress)
        return engine


def backend_for(settings: Settings, params: EngineParams) -> Backend:
    """The backend the settings select (validated at start-up by config.Settings)."""
    if settings.search_backend == "sphinx":
        return SphinxBackend(params, settings.shards, settings.shard_timeout_s)
    return EmbeddedBackend(params)
