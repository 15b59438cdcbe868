"""Lay out article batches on worker processes while the caller indexes earlier batches.

Cutting text into sentences and tokenising it is pure Python and takes most of a build, so
with more than one core it runs in forked workers. The workers read the articles through
the copy-on-write memory of the fork (only the batch bounds travel to them) and send back
each batch's :class:`~index.build_layout.CodedBatch` (a segment and integer arrays);
batches come back in order, so ids and tokens are exactly those of a serial build.
Segments are laid out at id 0 and placed by the caller.
"""

from __future__ import annotations

import multiprocessing
import os
import uuid
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor

from index import chunk_codes, split_compiled
from index.build_layout import CodedBatch, TermCoder, lay_out_coded
from index.records import Article

MIN_BATCHES = 3  # fewer batches than this are laid out in the calling process
IN_FLIGHT = 3  # batches queued or being laid out ahead of the consumer (bounds memory)

_ARTICLES: Sequence[Article] = ()  # the build's articles, inherited by forked workers
_CODER: TermCoder | None = None  # this worker's coder for the build it serves


def _lay_out_batch(
    name: str, start: int, end: int, max_passage_sentences: int, key: str
) -> CodedBatch:
    global _CODER
    if _CODER is None or _CODER.key != key:
        _CODER = TermCoder(key)
    return lay_out_coded(name, _ARTICLES[start:end], max_passage_sentences, _CODER)


def workers() -> int:
    """Worker processes worth starting here (0: lay out in the calling process)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    if cores < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return 0
    return min(cores, 4)


def coded_batches(
    articles: Sequence[Article],
    names: Sequence[str],
    batch: int,
    max_passage_sentences: int,
    n_workers: int,
) -> Iterator[CodedBatch]:
    """``lay_out_coded`` of ``articles[i*batch:(i+1)*batch]`` named ``names[i]``, in order."""
    global _ARTICLES
    bounds = [(i, min(i + batch, len(articles))) for i in range(0, max(len(articles), 1), batch)]
    key = uuid.uuid4().hex
    if n_workers <= 0 or len(bounds) < MIN_BATCHES:
        coder = TermCoder(key)
        for name, (start, end) in zip(names, bounds, strict=True):
            yield lay_out_coded(name, articles[start:end], max_passage_sentences, coder)
        return
    _ARTICLES = articles
    chunk_codes.warm()  # the kernels compiled (or loaded) once here, not once per worker
    split_compiled.warm()
    try:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(n_workers, mp_context=context) as pool:
            pending: deque[Future[CodedBatch]] = deque()
            jobs = iter(zip(names, bounds, strict=True))
            for name, (start, end) in jobs:
                pending.append(
                    pool.submit(_lay_out_batch, name, start, end, max_passage_sentences, key)
                )
                if len(pending) >= n_workers + IN_FLIGHT:
                    break
            while pending:
                laid = pending.popleft().result()
                for name, (start, end) in jobs:
                    pending.append(
                        pool.submit(_lay_out_batch, name, start, end, max_passage_sentences, key)
                    )
                    break
                yield laid
    finally:
        _ARTICLES = ()
