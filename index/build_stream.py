"""Build a BM25 index on a thread from batches of documents fed as they are produced.

The engine lays out articles once and gets two token streams from it (sentences and
passages). Feeding the passage stream to a builder thread while the sentence index is
built means neither stream is ever held whole in memory.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator

from index.bm25 import BM25Index, BM25Params

QUEUE_BATCHES = 4  # batches waiting for the builder thread (bounds memory)


class BackgroundBuild:
    """``BM25Index.build`` over the documents of every :meth:`feed`, run on a thread."""

    def __init__(self, params: BM25Params) -> None:
        self._queue: queue.Queue[list[list[str]] | None] = queue.Queue(maxsize=QUEUE_BATCHES)
        self._params = params
        self._index: BM25Index | None = None
        self._error: BaseException | None = None
        self._closed = False
        self._ended = False  # the builder thread has taken the end-of-documents mark
        self._thread = threading.Thread(target=self._run, name="bm25-build", daemon=True)
        self._thread.start()

    def _docs(self) -> Iterator[list[str]]:
        while (batch := self._queue.get()) is not None:
            yield from batch
        self._ended = True

    def _run(self) -> None:
        try:
            self._index = BM25Index.build(self._docs(), self._params)
        except BaseException as exc:  # handed to the caller by finish()
            self._error = exc
            while not self._ended:  # keep feed() from blocking until close()
                self._ended = self._queue.get() is None

    def feed(self, docs: list[list[str]]) -> None:
        """Queue a batch of documents (they get the next ids, in order)."""
        if self._error is not None:
            raise self._error
        self._queue.put(docs)

    def close(self) -> None:
        """Signal the end of the documents (idempotent)."""
        if not self._closed:
            self._closed = True
            self._queue.put(None)

    def finish(self) -> BM25Index:
        """Wait for the index; re-raises what the builder thread raised."""
        self.close()
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._index is not None
        return self._index
