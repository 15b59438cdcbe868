"""A fresh build of the engine's parts: one layout segment and the two BM25 indexes.

Batches of articles are laid out (on worker processes when there are cores to spare, see
:mod:`index.build_pool`) and come back in order as a segment plus term-id streams; the
segments are joined into one, and the streams are mapped to each index's vocabulary and fed
to builders that keep their postings on disk until the end (:mod:`index.bm25_spill`).
Memory thus holds the text and the finished arrays, not the token lists of the corpus.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence

from index.bm25 import BM25Builder, BM25Index, BM25Params
from index.build_layout import CodedBatch, SegmentJoin, TermMap
from index.build_pool import coded_batches
from index.layout import Segment
from index.records import Article


def build_parts(
    articles: Sequence[Article],
    bm25: BM25Params,
    max_passage_sentences: int,
    batch: int,
    workers: int,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[Segment, BM25Index, BM25Index]:
    """(segment, sentence index, passage index) of ``articles``, ids from 0 in order."""
    names = [f"seg-{uuid.uuid4().hex[:12]}" for _ in range(0, max(len(articles), 1), batch)]
    sentences = BM25Builder(bm25)
    passages = BM25Builder(bm25)
    joined = SegmentJoin(names[0])
    try:
        batches = coded_batches(articles, names, batch, max_passage_sentences, workers)
        _feed(batches, joined, sentences, passages, progress, len(articles))
        return joined.finish(), sentences.finish(), passages.finish()
    finally:
        sentences.close()
        passages.close()


def _feed(
    batches: Iterable[CodedBatch],
    joined: SegmentJoin,
    sentences: BM25Builder,
    passages: BM25Builder,
    progress: Callable[[int, int], None] | None,
    total: int,
) -> None:
    """Feed laid-out batches to the segment and the two index builders, in order."""
    maps: dict[str, tuple[TermMap, TermMap]] = {}  # per coder: to each index's term ids
    done = 0
    for batch in batches:
        joined.add(batch.segment)
        to_sentence, to_passage = maps.setdefault(batch.coder, (TermMap(), TermMap()))
        for term_map in (to_sentence, to_passage):
            term_map.learn(batch.first_new, batch.new_terms)
        sentences.add(
            to_sentence.to_vocab(batch.sentence_terms, sentences.vocab), batch.sentence_lens
        )
        passages.add(to_passage.to_vocab(batch.passage_terms, passages.vocab), batch.passage_lens)
        done += len(batch.segment.articles)
        del batch
        if progress:
            progress(done, total)
