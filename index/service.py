"""The public face of ``index``: one object the bot and the command line talk to.

``Desk`` ties the article store (SQLite, the truth) to the search engine (derived, rebuildable)
and keeps them in step: it imports the articles folder, adds and removes articles live,
rebuilds the index when it is missing, stale or corrupt, and records questions and feedback.
Every method is thread-safe; slow ones are meant to be called through ``asyncio.to_thread``.

SKELETON: signatures agreed between the engine, the store and the bot; bodies land with the
store work (issue 4).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from config import Settings
from index.records import (
    ActivityStats,
    AddOutcome,
    Answer,
    CorpusStats,
    Response,
    StoredArticle,
)

Progress = Callable[[int, int], None]  # (done, total)


class Desk:
    """Store + engine, kept consistent, safe to share between threads."""

    @classmethod
    def open(cls, settings: Settings, progress: Progress | None = None) -> Desk:
        """Open the store, import ``settings.articles_dir``, load or rebuild the index."""
        raise NotImplementedError

    def close(self) -> None:
        """Flush and close the store."""
        raise NotImplementedError

    # --- reading ----------------------------------------------------------------------------
    def ask(self, question: str, *, channel: str = "cli") -> Response:
        """Answer one question and log it (channel, latency, answered or declined)."""
        raise NotImplementedError

    def stats(self) -> CorpusStats:
        """Articles, passages, sentences, sources, last index time."""
        raise NotImplementedError

    def activity(self, hours: float = 24.0) -> ActivityStats:
        """Questions answered and declined, median answer time and feedback in a window."""
        raise NotImplementedError

    def list_articles(self, offset: int = 0, limit: int = 50) -> list[StoredArticle]:
        """Stored articles, newest first."""
        raise NotImplementedError

    def count_articles(self) -> int:
        """How many articles are stored."""
        raise NotImplementedError

    def headlines(self, limit: int = 5) -> list[str]:
        """Recent headlines, for help texts and example questions."""
        raise NotImplementedError

    @property
    def generation(self) -> int:
        """Changes whenever the index changes; lets callers spot stale references."""
        raise NotImplementedError

    def refresh(self) -> bool:
        """Pick up changes another process made (CLI add/reindex); True if anything changed."""
        raise NotImplementedError

    # --- writing ----------------------------------------------------------------------------
    def add_file(
        self, name: str, data: bytes, *, added_by: str, replace: bool = False
    ) -> AddOutcome:
        """Add one article from a file's bytes (.txt in FORMATS layout, or .html/.htm)."""
        raise NotImplementedError

    def add_url(self, url: str, *, added_by: str, replace: bool = False) -> AddOutcome:
        """Fetch an http(s) page and add the article it holds."""
        raise NotImplementedError

    def add_paths(
        self, inputs: Sequence[str | Path], *, added_by: str, replace: bool = False
    ) -> list[AddOutcome]:
        """Add files, folders of files, or URLs; one outcome per input."""
        raise NotImplementedError

    def remove(self, article_id: str) -> bool:
        """Remove one article; False if there was none with that id."""
        raise NotImplementedError

    def reindex(self, progress: Progress | None = None) -> CorpusStats:
        """Re-import the articles folder and rebuild the whole index aside, then swap it in."""
        raise NotImplementedError

    def record_feedback(
        self, question: str, answer: Answer | None, helpful: bool, *, user: str
    ) -> None:
        """Keep a Helpful / Not helpful vote with the question and the answer."""
        raise NotImplementedError
