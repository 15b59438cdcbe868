"""The answer engine: a question in, the best sentence with its source out.

Retrieval is two exact BM25 indexes over the same text: one over passages (paragraphs, or
windows of long ones) and one over sentences (each with its headline). A question's
candidates are the sentences of its best passages plus its best sentences; each candidate's
score is its own BM25 score plus ``paragraph_weight`` times its passage's, so a sentence that
does not repeat the question's words ("These missiles have a range of 900 km") can still win
on the strength of its paragraph. The best candidate is the answer unless the evidence
(:mod:`index.evidence`) says the articles do not really answer; the next distinct sentences
are the alternatives.

Before that, the head of the list is re-ordered with cues BM25 cannot see (each measured on
the SQuAD, BBC and seed question sets): new content of the asked-for kind (a figure for "how
many", in the asked-for unit for "how far" or "how much did it cost"), the measured thing
named, a stated cause for "why", adjacent question word pairs, and derivational cousins
("acquisitions" for "acquiring") that the stemmer keeps apart.
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from index.arrays import concat_ranges
from index.bm25 import BM25Index, BM25Params
from index.build_engine import build_parts
from index.build_pool import workers as build_workers
from index.durable import read_json_object, replace_file
from index.errors import IndexCorrupt, IndexVersionMismatch
from index.evidence import (
    Evidence,
    asks_reason,
    expected_type,
    expected_unit,
    gather,
    gives_reason,
    has_unit,
    measure_words,
    name_terms,
    novel_of_type,
)
from index.layout import LaidOut, Segment, concat_segments, lay_out
from index.records import Answer, Article, CorpusStats, Response, corpus_fingerprint
from index.spelling import correct_word
from index.text import question_words, split_sentences, tokenize

if TYPE_CHECKING:
    from config import Settings

log = logging.getLogger(__name__)

FORMAT = "newsdesk-engine"
FORMAT_VERSION = 1
TEXT_VERSION = 1  # bump when tokenisation or sentence splitting changes
MANIFEST = "manifest.json"
SENTENCE_INDEX = "bm25-sentences"
PASSAGE_INDEX = "bm25-passages"
SEGMENTS = "segments"
MAX_SEGMENTS = 24  # more than this and a save merges them into one
BUILD_BATCH = 2_000
# Bonus, on a scale where the best candidate scores 1, for a sentence holding new content of
# the asked-for kind; measured on SQuAD, BBC and seed questions (see README).
TYPE_WEIGHTS = {
    "number": 0.1,
    "date": 0.1,
    "name": 0.25,
}
PREFIX_MIN = 5  # letters two terms must share to count as derivational cousins

Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class EngineParams:
    """Everything that shapes retrieval and answering."""

    bm25: BM25Params = field(default_factory=BM25Params)
    paragraph_weight: float = 0.5
    candidate_passages: int = 30
    candidate_sentences: int = 0  # best sentences added to those of the best passages
    alternatives: int = 9
    answer_threshold: float = 0.3
    max_passage_sentences: int = 8
    rerank_depth: int = 30
    proximity_weight: float = 0.05  # bonus for question word pairs found side by side
    focus_weight: float = 0.1  # bonus for the question's focus words in the sentence
    prefix_weight: float = 0.5  # bonus for question words matched only by a long prefix
    reason_weight: float = 0.2  # bonus for a stated cause or purpose, for "why" questions
    unit_weight: float = 0.4  # bonus for a quantity in the unit asked for (money, length...)

    @classmethod
    def from_settings(cls, settings: Settings) -> EngineParams:
        """The engine's share of the settings."""
        return cls(
            bm25=BM25Params(
                variant=settings.bm25_variant,
                k1=settings.bm25_k1,
                b=settings.bm25_b,
                delta=settings.bm25_delta,
                epsilon=settings.bm25_epsilon,
            ),
            paragraph_weight=settings.paragraph_weight,
            candidate_passages=settings.candidate_passages,
            candidate_sentences=settings.candidate_sentences,
            alternatives=settings.alternatives,
            answer_threshold=settings.answer_threshold,
            max_passage_sentences=settings.max_passage_sentences,
        )


class TermStats(Protocol):
    """Collection statistics the answering part reads (BM25Index has them; so do the
    statistics a sharded backend keeps for all its shards)."""

    @property
    def n_docs(self) -> int: ...

    def doc_freq(self, term: str) -> int: ...

    def idf(self, term: str) -> float: ...


def answer_key(sentence: str) -> str:
    """What makes two candidate sentences the same answer (case and spacing ignored)."""
    return " ".join(sentence.casefold().split())


def candidate_limit(params: EngineParams) -> int:
    """How many distinct candidates retrieval keeps: the answer, alternatives, rerank depth."""
    return max(params.alternatives + 1, params.rerank_depth)


class Reranked(Protocol):
    """A reranker's reordering of one question's candidates."""

    answers: list[Answer]

    def confidence(self, evidence: Evidence, at: int = 0) -> float:
        """The decline rule's confidence that ``answers[at]`` answers the question."""
        ...


class Reranker(Protocol):
    """An optional second stage that re-orders BM25's candidates (see index.semantic)."""

    pipeline: str  # what ``Response.pipeline`` and ``/about`` report

    def rerank(
        self, engine: Engine, question: str, terms: list[str], ranked: list[Answer]
    ) -> Reranked:
        """Re-order ``ranked`` (best first) for ``question``."""
        ...

    def indexed(self, articles: Sequence[Article]) -> None:
        """Articles were just added to the engine (precompute what they need)."""
        ...

    def attach(self, engine: Engine) -> None:
        """Make ``engine`` answer through this reranker (sets ``engine.reranker``)."""
        ...


@dataclass(frozen=True, slots=True)
class _Location:
    segment: int
    local: int


class Engine:
    """Exact BM25 retrieval plus sentence choice over a set of articles (not thread-safe)."""

    def __init__(self, params: EngineParams) -> None:
        self.params = params
        self._sentences = BM25Index(params.bm25)
        self._passages = BM25Index(params.bm25)
        self._segments: list[Segment] = []
        self._where: dict[str, _Location] = {}
        self._starts = np.zeros(0, dtype=np.int64)  # first sentence id of each segment
        self._passage_starts = np.zeros(0, dtype=np.int64)
        self._next_passage = 0
        self._next_sentence = 0
        self.indexed_at: str | None = None
        self.reranker: Reranker | None = None  # set by the owner (Desk, folder cache)
        # lexical_keys memo: the question, the answers (held, so their ids stay theirs), keys
        self._last_keys: tuple[str, list[Answer], dict[int, float]] = ("", [], {})

    # --- building -----------------------------------------------------------------------------
    @classmethod
    def build(
        cls, articles: Iterable[Article], params: EngineParams, progress: Progress | None = None
    ) -> Engine:
        """Index ``articles`` from scratch (later duplicates of an id replace earlier ones)."""
        unique = list({a.id: a for a in articles}.values())
        engine = cls(params)
        # Forking a process that runs other threads (the bot) risks a child that inherits a
        # lock held by another thread; builds started on a lone thread (the command line,
        # start-up) lay out in parallel, the others serially.
        workers = build_workers() if _lone_thread() else 0
        segment, engine._sentences, engine._passages = build_parts(
            unique, params.bm25, params.max_passage_sentences, BUILD_BATCH, workers, progress
        )
        engine._place(segment)
        engine._attach(segment)
        engine._touch()
        return engine

    def _lay_out(self, articles: Sequence[Article]) -> LaidOut:
        laid = lay_out(
            _segment_name(),
            articles,
            first_passage=0,
            first_sentence=0,
            max_passage_sentences=self.params.max_passage_sentences,
        )
        self._place(laid.segment)
        return laid

    def _place(self, segment: Segment) -> None:
        """Give a segment laid out at id 0 the next free passage and sentence ids."""
        segment.first_passage = self._next_passage
        segment.first_sentence = self._next_sentence
        self._next_passage += segment.n_passages
        self._next_sentence += segment.n_sentences

    def _attach(self, segment: Segment) -> None:
        index = len(self._segments)
        self._segments.append(segment)
        for local, meta in enumerate(segment.articles):
            if local in segment.dead:
                continue
            previous = self._where.get(meta.id)
            if previous is not None:
                self._kill(previous)
            self._where[meta.id] = _Location(index, local)
        self._starts = np.asarray([s.first_sentence for s in self._segments], dtype=np.int64)
        self._passage_starts = np.asarray([s.first_passage for s in self._segments], dtype=np.int64)

    def _kill(self, where: _Location) -> None:
        """Mark an article dead and take its passages and sentences out of both indexes."""
        segment = self._segments[where.segment]
        arrays = segment.arrays
        p0 = segment.first_passage + int(arrays["article_first_passage"][where.local])
        s0 = segment.first_sentence + int(arrays["article_first_sentence"][where.local])
        self._passages.remove(range(p0, p0 + int(arrays["article_passages"][where.local])))
        self._sentences.remove(range(s0, s0 + int(arrays["article_sentences"][where.local])))
        segment.dead.add(where.local)

    def add(self, articles: Sequence[Article]) -> None:
        """Index more articles without a rebuild; an article with a known id replaces it."""
        if not articles:
            return
        unique = list({a.id: a for a in articles}.values())
        for article in unique:
            where = self._where.pop(article.id, None)
            if where is not None:
                self._kill(where)
        laid = self._lay_out(unique)
        sentence_ids = self._sentences.add(laid.sentence_docs)
        passage_ids = self._passages.add(laid.passage_docs)
        if (len(sentence_ids) and int(sentence_ids[0]) != laid.segment.first_sentence) or (
            len(passage_ids) and int(passage_ids[0]) != laid.segment.first_passage
        ):
            raise IndexCorrupt("index ids are out of step with the article layout")
        self._attach(laid.segment)
        self._touch()
        if self.reranker is not None:
            self.reranker.indexed(unique)

    def remove(self, ids: Iterable[str]) -> int:
        """Take articles out of the index; returns how many were there."""
        removed = 0
        for article_id in ids:
            where = self._where.pop(article_id, None)
            if where is not None:
                self._kill(where)
                removed += 1
        if removed:
            self._touch()
        return removed

    def _touch(self) -> None:
        self.indexed_at = datetime.now(UTC).isoformat(timespec="seconds")

    # --- reading ------------------------------------------------------------------------------
    def article_ids(self) -> frozenset[str]:
        """Ids of the indexed articles."""
        return frozenset(self._where)

    def fingerprint(self) -> str:
        """Order-independent digest of the indexed (id, content hash) pairs."""
        return corpus_fingerprint(self._hashes())

    def _hashes(self) -> Iterable[tuple[str, str]]:
        for article_id, where in self._where.items():
            yield article_id, self._segments[where.segment].articles[where.local].content_hash

    def stats(self) -> CorpusStats:
        """Counts for ``/about`` and ``/stats``."""
        sources = sorted(
            {
                meta.source
                for seg in self._segments
                for local, meta in enumerate(seg.articles)
                if local not in seg.dead and meta.source
            }
        )
        return CorpusStats(
            articles=len(self._where),
            passages=self._passages.n_docs,
            sentences=self._sentences.n_docs,
            sources=tuple(sources),
            indexed_at=self.indexed_at,
            pipeline=self.pipeline,
        )

    @property
    def pipeline(self) -> str:
        """Which pipeline answers: ``bm25`` or the reranker's name."""
        return self.reranker.pipeline if self.reranker is not None else "bm25"

    def sentence_texts(self) -> Iterator[str]:
        """The text of every indexed sentence (for index-time work such as embeddings)."""
        for segment in self._segments:
            arrays = segment.arrays
            paras = arrays["passage_para"][arrays["sentence_passage"]]
            alive = ~np.isin(arrays["para_article"][paras], list(segment.dead))
            texts: dict[int, str] = {}
            for para, begin, end in zip(
                paras[alive].tolist(),
                arrays["sentence_start"][alive].tolist(),
                arrays["sentence_end"][alive].tolist(),
                strict=True,
            ):
                text = texts.get(para)
                if text is None:
                    texts.clear()
                    text = texts[para] = segment.paragraph_text(para)
                yield text[begin:end]

    def ask(self, question: str) -> Response:
        """Answer one question (see the module docstring for how)."""
        ranked, terms = self.rank(question)
        reranked = None
        if ranked and self.reranker is not None:
            reranked = self.reranker.rerank(self, question, terms, ranked)
            ranked = reranked.answers
        if not ranked:
            return Response(
                question=question,
                answer=None,
                pipeline=self.pipeline,
                declined_reason=(
                    "The question has no words to search for."
                    if not terms
                    else "No article mentions what the question asks about."
                ),
            )
        answers = tuple(ranked[: self.params.alternatives + 1])
        evidence = self.evidence(question, terms, answers[0])
        confidence = reranked.confidence(evidence) if reranked else evidence.confidence()
        if confidence >= self.params.answer_threshold and not evidence.type_missing:
            return Response(
                question=question,
                answer=answers[0],
                alternatives=answers[1:],
                confidence=confidence,
                pipeline=self.pipeline,
            )
        reason = (
            "The closest sentences do not contain the kind of fact asked for."
            if evidence.type_missing
            else "The articles do not seem to answer this question."
        )
        return Response(
            question=question,
            answer=None,
            alternatives=answers,
            confidence=confidence,
            declined_reason=reason,
            suggestions=tuple(dict.fromkeys(a.title for a in answers))[:3],
            pipeline=self.pipeline,
        )

    def query_terms(self, question: str) -> list[str]:
        """The question's index terms, with unknown words repaired when one edit away."""
        terms: list[str] = []
        for raw, word_terms in question_words(question):
            if len(word_terms) == 1 and not self._sentence_stats().doc_freq(word_terms[0]):
                fixed = correct_word(raw, self._sentence_stats().doc_freq)
                if fixed:
                    terms.append(fixed)
                    continue
            terms.extend(word_terms)
        return terms

    def rank(self, question: str) -> tuple[list[Answer], list[str]]:
        """Candidate answers for ``question``, best first, distinct sentences only."""
        terms = self.query_terms(question)
        if not terms:
            return [], terms
        return self._rerank(question, terms, self._retrieve(terms)), terms

    def _sentence_stats(self) -> TermStats:
        """Sentence collection statistics (N, df, idf) for spelling, cues and evidence; a
        sharded backend returns the ones it keeps for all shards."""
        return self._sentences

    def _retrieve(self, terms: list[str]) -> list[Answer]:
        """Retrieval, the part a backend replaces (:mod:`index.backends`): distinct candidate
        sentences best first, each scored its BM25 plus ``paragraph_weight`` x its passage's."""
        if not self._where:
            return []
        params = self.params
        top_passages, top_scores = self._passages.top_k(terms, params.candidate_passages)
        if params.candidate_sentences:
            sentence_ids = np.unique(
                np.concatenate(
                    (
                        self._sentences.top_k(terms, params.candidate_sentences)[0],
                        self._sentences_in(top_passages),
                    )
                )
            )
            passage_ids = self._passages_of(sentence_ids)
            unique_passages, inverse = np.unique(passage_ids, return_inverse=True)
            passage_scores = self._passages.scores(terms, unique_passages)[inverse]
        else:  # top_k's scores are the exact scores (same sums, same bits)
            first, count = self._sentence_ranges(top_passages)
            sentence_ids = concat_ranges(first, count)
            passage_ids = np.repeat(top_passages, count)
            passage_scores = np.repeat(top_scores, count)
        if not sentence_ids.size:
            return []
        sentence_scores = self._sentences.scores(terms, sentence_ids)
        fused = sentence_scores + params.paragraph_weight * passage_scores
        order = np.lexsort((sentence_ids, -fused))
        return self._distinct(sentence_ids[order], fused[order], passage_ids[order])

    def _distinct(self, ids: np.ndarray, scores: np.ndarray, passages: np.ndarray) -> list[Answer]:
        """Turn ranked sentence ids (with their passage ids) into answers, skipping repeats of
        the same sentence.

        The array look-ups are done a chunk of candidates at a time (numpy; the first chunk
        is usually enough), and a paragraph shared by several candidates is decoded once;
        only kept sentences become answers, with their terms read from the index
        (:meth:`_own_terms`).
        """
        seen: set[str] = set()
        kept: list[tuple[int, float, str, str, int, int, int, int]] = []
        limit = candidate_limit(self.params)
        texts: dict[tuple[int, int], str] = {}
        segments = self._segments
        for (
            row,
            score,
            seg,
            para,
            begin,
            end,
            number,
            article,
            para_number,
            at,
            size,
        ) in self._located(ids, scores, 2 * limit):
            paragraph = texts.get((seg, para))
            if paragraph is None:
                paragraph = texts[seg, para] = segments[seg].text_at(at, size)
            sentence = paragraph[begin:end]
            key = answer_key(sentence)
            if key in seen:
                continue
            seen.add(key)
            kept.append((row, score, sentence, paragraph, seg, article, para_number, number))
            if len(kept) >= limit:
                break
        rows = [k[0] for k in kept]
        own = self._own_terms(ids[rows], passages[rows])
        ranked = []
        for (row, score, sentence, paragraph, seg, article, para_number, number), terms in zip(
            kept, own, strict=True
        ):
            meta = segments[seg].articles[article]
            ranked.append(
                Answer(
                    sentence=sentence,
                    score=score,
                    article_id=meta.id,
                    title=meta.title,
                    source=meta.source,
                    paragraph=para_number,
                    sentence_index=number,
                    paragraph_text=paragraph,
                    published=meta.published,
                    url=meta.url,
                    terms=terms,
                    sentence_id=int(ids[row]),
                )
            )
        return ranked

    def _located(
        self, ids: np.ndarray, scores: np.ndarray, chunk: int
    ) -> Iterator[tuple[Any, ...]]:
        """(row, score, then the columns of :meth:`_locate`) of each of ``ids`` in order,
        looked up ``chunk`` ids at a time, so a reader that stops early pays for few."""
        for start in range(0, ids.shape[0], chunk):
            stop = start + chunk
            yield from zip(
                range(start, min(stop, ids.shape[0])),
                scores[start:stop].tolist(),
                *self._locate(ids[start:stop]),
                strict=True,
            )

    def _own_terms(self, ids: np.ndarray, passages: np.ndarray) -> list[tuple[str, ...] | None]:
        """Each sentence's own index terms, read from the sentence index's forward lists
        rather than tokenised again (the rerank looks at every candidate's terms).

        A sentence is indexed as its headline's terms followed by its own, and a passage as
        its sentences' own terms (:func:`index.layout.lay_out`), so the headline's share is
        what a passage's sentences hold beyond the passage, split evenly between them. Where
        that does not add up, None: the reader tokenises the text.
        """
        if not ids.size:
            return []
        headline = self._headline_lengths(ids, passages)
        ok = headline >= 0
        got = self._sentences.doc_terms(ids[ok].tolist(), headline[ok].tolist())
        if ok.all():
            return list(got)
        found = iter(got)
        return [next(found) if good else None for good in ok.tolist()]

    def _headline_lengths(self, ids: np.ndarray, passages: np.ndarray) -> np.ndarray:
        """How many of each sentence's indexed terms are its headline's (-1 where that does
        not add up); see :meth:`_own_terms`."""
        first, count = self._sentence_ranges(passages)
        in_sentences = np.add.reduceat(
            self._sentences.doc_lengths(concat_ranges(first, count)), np.cumsum(count) - count
        )
        extra = in_sentences - self._passages.doc_lengths(passages)
        headline = extra // count
        ok = (extra >= 0) & (headline * count == extra)
        ok &= headline <= self._sentences.doc_lengths(ids)
        return np.where(ok, headline, -1)

    def _indexed_context(self, answer: Answer) -> tuple[set[str], set[str]] | None:
        """(headline terms, paragraph terms) of a candidate of this engine, read from the
        forward lists: the headline's are the first terms of the sentence's, the paragraph's
        those of its passages. None when the answer is not this engine's to look up."""
        sentence = answer.sentence_id
        if sentence is None or not 0 <= sentence < self._next_sentence:
            return None
        segment, local = self._segment_of(sentence)
        arrays = segment.arrays
        passage = int(arrays["sentence_passage"][local])
        para = int(arrays["passage_para"][passage])
        if (
            segment.articles[int(arrays["para_article"][para])].id != answer.article_id
            or int(arrays["para_number"][para]) != answer.paragraph
            or int(arrays["sentence_number"][local]) != answer.sentence_index
        ):
            return None
        lo, hi = passage, passage + 1
        while lo > 0 and int(arrays["passage_para"][lo - 1]) == para:
            lo -= 1
        while hi < segment.n_passages and int(arrays["passage_para"][hi]) == para:
            hi += 1
        first = segment.first_sentence + int(arrays["passage_first_sentence"][passage])
        count = int(arrays["passage_sentences"][passage])
        extra = int(self._sentences.doc_lengths(np.arange(first, first + count)).sum()) - int(
            self._passages.doc_lengths([segment.first_passage + passage])[0]
        )
        title = self._sentences.doc_terms([sentence], [0])[0][: extra // count]
        if extra < 0 or extra % count or extra // count > len(title):
            return None  # see _own_terms
        found = self._passages.doc_terms(
            range(segment.first_passage + lo, segment.first_passage + hi), [0] * (hi - lo)
        )
        return set(title), {term for terms in found for term in terms}

    def _per_segment(
        self, ids: np.ndarray, starts: np.ndarray
    ) -> Iterator[tuple[int, np.ndarray | slice]]:
        """(segment index, where in ``ids``) for each segment holding some of the global
        ``ids``, given the segments' first ids ``starts`` (one segment needs no search)."""
        if starts.shape[0] == 1:
            yield 0, slice(None)
            return
        seg = np.searchsorted(starts, ids, side="right") - 1
        for index in np.unique(seg).tolist():
            yield index, seg == index

    def _locate(self, ids: np.ndarray) -> tuple[list[int], ...]:
        """For global sentence ids: (segment index, segment-local paragraph, start, end,
        sentence number in its paragraph, segment-local article, paragraph number in its
        article, paragraph offset and length in the segment's text), each as a list, looked
        up segment by segment."""
        ids = np.asarray(ids, dtype=np.int64)
        seg = np.empty(ids.shape[0], dtype=np.int64)
        para = np.empty_like(seg)
        begin = np.empty_like(seg)
        end = np.empty_like(seg)
        number = np.empty_like(seg)
        article = np.empty_like(seg)
        para_number = np.empty_like(seg)
        offset = np.empty_like(seg)
        length = np.empty_like(seg)
        for index, where in self._per_segment(ids, self._starts):
            segment = self._segments[index]
            arrays = segment.arrays
            local = ids[where] - segment.first_sentence
            paras = arrays["passage_para"][arrays["sentence_passage"][local]]
            seg[where] = index
            para[where] = paras
            begin[where] = arrays["sentence_start"][local]
            end[where] = arrays["sentence_end"][local]
            number[where] = arrays["sentence_number"][local]
            article[where] = arrays["para_article"][paras]
            para_number[where] = arrays["para_number"][paras]
            offset[where] = arrays["para_offset"][paras]
            length[where] = arrays["para_length"][paras]
        return tuple(
            column.tolist()
            for column in (seg, para, begin, end, number, article, para_number, offset, length)
        )

    def _passages_of(self, ids: np.ndarray) -> np.ndarray:
        """Global passage id of each global sentence id."""
        out = np.empty(ids.shape[0], dtype=np.int64)
        for index, where in self._per_segment(ids, self._starts):
            segment = self._segments[index]
            local = ids[where] - segment.first_sentence
            out[where] = segment.first_passage + segment.arrays["sentence_passage"][local]
        return out

    def _sentences_in(self, passages: np.ndarray) -> np.ndarray:
        """Global ids of all sentences of the given global passage ids."""
        return concat_ranges(*self._sentence_ranges(passages))

    def _sentence_ranges(self, passages: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(first global sentence id, number of sentences) of each global passage id."""
        passages = np.asarray(passages, dtype=np.int64)
        first = np.empty(passages.shape[0], dtype=np.int64)
        count = np.empty_like(first)
        for index, where in self._per_segment(passages, self._passage_starts):
            segment = self._segments[index]
            local = passages[where] - segment.first_passage
            first[where] = segment.first_sentence + segment.arrays["passage_first_sentence"][local]
            count[where] = segment.arrays["passage_sentences"][local]
        return first, count

    def _rerank(self, question: str, terms: list[str], ranked: list[Answer]) -> list[Answer]:
        """Re-order the head of the list on its score scaled to the best candidate's plus
        bonuses for what BM25 cannot see (see :meth:`_Cues.bonus`): the kind of thing the
        question asks for, word order, and words that differ only in their suffix."""
        if not ranked:
            return ranked
        head = ranked[: self.params.rerank_depth]
        keyed = [(key, i) for i, key in enumerate(self.lexical_keys(question, terms, head))]
        keyed.sort(key=lambda pair: (-pair[0], pair[1]))
        return [head[i] for _, i in keyed] + ranked[len(head) :]

    def lexical_keys(self, question: str, terms: list[str], ranked: list[Answer]) -> list[float]:
        """The lexical rerank's key of each candidate: its score scaled to the best one's
        (= 1) plus the bonuses of :meth:`_Cues.bonus` (a reranker fuses it with its own)."""
        if not ranked:
            return []
        memo_question, held, memo = self._last_keys
        if (
            memo_question == question
            and len(held) == len(ranked)
            and all(id(a) in memo for a in ranked)
        ):
            return [memo[id(a)] for a in ranked]  # the reranker asks for what _rerank computed
        cues = _Cues.of(question, terms, self._sentence_stats().idf, self.params)
        top = max(a.score for a in ranked) or 1.0
        keys = [answer.score / top + cues.bonus(answer, top) for answer in ranked]
        self._last_keys = (
            question,
            list(ranked),
            {id(a): k for a, k in zip(ranked, keys, strict=True)},
        )
        return keys

    def evidence(self, question: str, terms: list[str], answer: Answer) -> Evidence:
        """What supports ``answer`` as the answer to ``question`` (for the decline rule)."""
        unique_terms = list(dict.fromkeys(terms))
        names = name_terms(question)
        plain = [t for t in unique_terms if t not in names]
        stats = self._sentence_stats()
        ceiling = float(np.log(max(stats.n_docs, 1) + 1.0))
        known = [stats.doc_freq(t) > 0 for t in unique_terms]
        weights = [
            max(stats.idf(t), 0.0) if k else ceiling
            for t, k in zip(unique_terms, known, strict=True)
        ]
        bm25 = self.params.bm25
        ceiling_per_idf = (bm25.k1 + 1.0 + (bm25.delta if bm25.variant == "plus" else 0.0)) * (
            1.0 + self.params.paragraph_weight
        )
        best_possible = sum(weights) * ceiling_per_idf or 1.0
        title, paragraph = self._indexed_context(answer) or (
            set(tokenize(answer.title)),
            set(tokenize(answer.paragraph_text)),
        )
        return gather(
            question,
            unique_terms,
            weights,
            known,
            _with_cousins(set(_context_terms(answer)) | title, plain),
            _with_cousins(paragraph, plain),
            answer.sentence,
            min(max(answer.score / best_possible, 0.0), 1.0),
        )

    def _segment_of(self, sentence_id: int) -> tuple[Segment, int]:
        index = int(np.searchsorted(self._starts, sentence_id, side="right")) - 1
        segment = self._segments[index]
        return segment, sentence_id - segment.first_sentence

    # --- persistence --------------------------------------------------------------------------
    def _merge_if_fragmented(self) -> None:
        """Fold the small segments that live adds leave behind into one.

        Segments cover consecutive id ranges, so neighbours concatenate without renumbering
        and the BM25 indexes are untouched. The first (largest) segment is kept as it is, so
        the cost is that of the recent additions, not of the whole corpus.
        """
        if len(self._segments) <= MAX_SEGMENTS:
            return
        head, tail = self._segments[:1], self._segments[1:]
        merged = concat_segments(f"seg-{uuid.uuid4().hex[:12]}", tail)
        self._segments = []
        self._where = {}
        for segment in (*head, merged):
            self._attach(segment)

    def save(self, directory: Path) -> None:
        """Write what changed since the last save, then the manifest, atomically."""
        self._merge_if_fragmented()
        directory.mkdir(parents=True, exist_ok=True)
        seg_dir = directory / SEGMENTS
        entries: list[dict[str, object]] = []
        previous = _read_manifest(directory) if (directory / MANIFEST).exists() else None
        known_entries = {
            str(e["name"]): e for e in (previous or {}).get("segments", []) if isinstance(e, dict)
        }
        for segment in self._segments:
            entry = known_entries.get(segment.name)
            if not segment.saved or entry is None:
                entry = segment.save(seg_dir)
            entries.append({**entry, "dead": sorted(segment.dead)})
        self._sentences.save(directory / SENTENCE_INDEX)
        self._passages.save(directory / PASSAGE_INDEX)
        manifest = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "text_version": TEXT_VERSION,
            "max_passage_sentences": self.params.max_passage_sentences,
            "segments": entries,
            "next_passage": self._next_passage,
            "next_sentence": self._next_sentence,
            "articles": len(self._where),
            "passages": self._passages.n_docs,
            "sentences": self._sentences.n_docs,
            "fingerprint": self.fingerprint(),
            "indexed_at": self.indexed_at,
        }
        replace_file(directory / MANIFEST, json.dumps(manifest).encode("utf-8"))
        live = {f"{e['name']}{ext}" for e in entries for ext in (".npz", ".blob", ".json")}
        for stale in seg_dir.glob("seg-*"):
            if stale.name not in live:
                stale.unlink(missing_ok=True)

    @classmethod
    def load(cls, directory: Path, params: EngineParams) -> Engine:
        """Open a saved index; raises IndexMissing, IndexCorrupt or IndexVersionMismatch."""
        manifest = _read_manifest(directory)
        if manifest.get("format") != FORMAT:
            raise IndexCorrupt(f"{directory / MANIFEST} is not a Newsdesk index manifest")
        if (
            manifest.get("version") != FORMAT_VERSION
            or manifest.get("text_version") != TEXT_VERSION
        ):
            raise IndexVersionMismatch(
                f"index format {manifest.get('version')}/{manifest.get('text_version')}, "
                f"this Newsdesk reads {FORMAT_VERSION}/{TEXT_VERSION}"
            )
        if manifest.get("max_passage_sentences") != params.max_passage_sentences:
            raise IndexVersionMismatch("index was built with another passage size")
        engine = cls(params)
        # Segment files are read and checksummed on threads (file reads and zlib release the
        # GIL) while the BM25 indexes load.
        with ThreadPoolExecutor(max_workers=2) as pool:
            pending: list[Future[Segment]] = []
            try:
                pending = [
                    pool.submit(Segment.load, directory / SEGMENTS, entry)
                    for entry in manifest["segments"]
                ]
                engine._sentences = BM25Index.load(directory / SENTENCE_INDEX, params.bm25)
                engine._passages = BM25Index.load(directory / PASSAGE_INDEX, params.bm25)
                for entry, future in zip(manifest["segments"], pending, strict=True):
                    segment = future.result()
                    segment.dead = set(entry.get("dead", []))
                    engine._attach(segment)
                engine._next_passage = int(manifest["next_passage"])
                engine._next_sentence = int(manifest["next_sentence"])
                engine.indexed_at = manifest.get("indexed_at")
            except (KeyError, TypeError, ValueError) as exc:
                raise IndexCorrupt(f"index manifest is malformed: {exc}") from None
            finally:
                for future in pending:  # on an error, do not read what is left
                    future.cancel()
        if (
            engine._sentences.n_docs != manifest.get("sentences")
            or engine._passages.n_docs != manifest.get("passages")
            or len(engine._where) != manifest.get("articles")
            or engine.fingerprint() != manifest.get("fingerprint")
        ):
            raise IndexCorrupt("index files are out of step with each other (interrupted save?)")
        return engine


def _segment_name() -> str:
    return f"seg-{uuid.uuid4().hex[:12]}"


def _pairs(terms: Sequence[str]) -> set[tuple[str, str]]:
    """Adjacent term pairs ("john kirbi"), the cheapest signal of phrase matches."""
    return {(a, b) for a, b in itertools.pairwise(terms) if a != b}


def _stem_match(term: str, found: set[str]) -> bool:
    """Whether a sentence term is a derivational cousin of ``term``, as with "acquir" and
    "acquisit", which the Snowball stemmer keeps apart: both share their first
    :data:`PREFIX_MIN` letters and differ in at most the last two of the shorter one (so
    "compani" and "compar" stay apart)."""
    if len(term) < PREFIX_MIN or not term.isalpha():
        return False
    stem = term[:PREFIX_MIN]
    for word in found:  # a plain loop: this runs for every candidate of every question
        if word.startswith(stem) and _shared(term, word) >= min(len(term), len(word)) - 2:
            return True
    return False


def _cousin_among(term: str, stem: str, words: Iterable[str]) -> bool:
    """:func:`_stem_match` for a term already known to qualify, with its stem given."""
    for word in words:
        if word.startswith(stem) and _shared(term, word) >= min(len(term), len(word)) - 2:
            return True
    return False


def _shared(a: str, b: str) -> int:
    """Length of the common prefix of ``a`` and ``b``."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


# Openers that make a sentence lean on the one before: pronouns and linking adverbs.
_ANAPHORS = frozenset(
    """he she it they these this those his her its their however but also furthermore
    moreover meanwhile still yet instead indeed thus therefore nevertheless nonetheless
    besides""".split()
)


def _in_context(answer: Answer) -> str:
    """The answer sentence, preceded by the sentence before it when it opens with a pronoun
    or a linking word ("He was 84.", "These missiles have a range of 900 km.", "However,
    ..."): that is what it talks about."""
    words = answer.sentence.split(maxsplit=1)
    if not words or words[0].casefold().strip("\"'“‘(,") not in _ANAPHORS:
        return answer.sentence
    para = " ".join(answer.paragraph_text.split())
    at = para.find(answer.sentence)
    before = split_sentences(para[:at]) if at > 0 else []
    return f"{before[-1]} {answer.sentence}" if before else answer.sentence


def _context_terms(answer: Answer) -> Sequence[str]:
    """The terms of :func:`_in_context` (the answer's own, read from the index, when it
    needs no context)."""
    context = _in_context(answer)
    if context is answer.sentence and answer.terms is not None:
        return answer.terms
    return tokenize(context)


def _with_cousins(found: set[str], terms: Sequence[str]) -> set[str]:
    """``found`` plus the question terms it holds only as derivational cousins, so that
    "acquisitions" counts as evidence for "acquiring" (pass only non-name terms: "Russian"
    is not evidence for "Russia")."""
    return found | {t for t in terms if t not in found and _stem_match(t, found)}


@dataclass(frozen=True, slots=True)
class _Cues:
    """What the rerank looks for in a candidate, worked out once per question."""

    kind: str
    unit: str | None  # the unit a number question wants (money, length, ...), if it says
    why: bool  # the question asks for a reason
    terms: frozenset[str]
    weights: dict[str, float]  # question term -> IDF-based credit, in BM25 score units
    plain: frozenset[str]  # question terms that are not names (may match by prefix)
    pairs: frozenset[tuple[str, str]]
    focus: tuple[tuple[str, ...], ...]
    params: EngineParams
    stems: tuple[tuple[str, str], ...] = ()  # (term, stem) of ``plain`` terms that may match
    # by prefix (see _stem_match), in ``plain``'s iteration order
    firsts: frozenset[str] = frozenset()  # first terms of ``pairs``

    @classmethod
    def of(
        cls, question: str, terms: list[str], idf: Callable[[str], float], params: EngineParams
    ) -> _Cues:
        unique = list(dict.fromkeys(terms))
        plus = params.bm25.delta if params.bm25.variant == "plus" else 0.0
        kind = expected_type(question)
        plain = frozenset(unique) - name_terms(question)
        pairs = frozenset(_pairs(terms))
        stems = tuple((t, t[:PREFIX_MIN]) for t in plain if len(t) >= PREFIX_MIN and t.isalpha())
        return cls(
            kind=kind,
            unit=expected_unit(question) if kind == "number" else None,
            why=asks_reason(question),
            terms=frozenset(unique),
            weights={t: max(idf(t), 0.0) * (1.0 + plus) for t in unique},
            plain=plain,
            pairs=pairs,
            focus=tuple(tuple(f) for f in measure_words(question)),
            params=params,
            stems=stems,
            firsts=frozenset(a for a, _ in pairs),
        )

    def bonus(self, answer: Answer, top: float) -> float:
        """Bonus, on a scale where the best candidate scores 1: new content of the asked-for
        kind, question word pairs side by side, the measured thing named ("range"), a
        quantity in the unit asked for, a stated cause for "why", and question words found
        only as derivational cousins (credited in BM25 score units, like a match)."""
        p = self.params
        tokens = answer.terms if answer.terms is not None else tokenize(answer.sentence)
        found = set(tokens)
        bonus = 0.0
        type_weight = TYPE_WEIGHTS.get(self.kind, 0.0)
        if type_weight and novel_of_type(answer.sentence, self.kind, self.terms):
            bonus += type_weight
        if self.pairs and p.proximity_weight and not self.firsts.isdisjoint(found):
            side_by_side = sum(
                a in found and b in found and (a, b) in itertools.pairwise(tokens)
                for a, b in self.pairs
            )
            bonus += p.proximity_weight * side_by_side / len(self.pairs)
        if self.focus and p.focus_weight and self.kind != "any":
            hits = sum(not found.isdisjoint(f) for f in self.focus)
            bonus += p.focus_weight * hits / len(self.focus)
        if self.unit and p.unit_weight and has_unit(answer.sentence, self.unit):
            bonus += p.unit_weight
        if self.why and p.reason_weight and gives_reason(answer.sentence, self.terms):
            bonus += p.reason_weight
        missing = [(t, stem) for t, stem in self.stems if t not in found]
        if not (p.prefix_weight and missing):  # otherwise the bonus below is 0.0
            return bonus
        words = " " + " ".join(found)  # " stem" in it: a word starts with stem; most do not
        hopeful = [(t, stem) for t, stem in missing if " " + stem in words]
        if hopeful:
            cousins = [w for w in found - self.terms if len(w) >= PREFIX_MIN]
            missed = [t for t, stem in hopeful if _cousin_among(t, stem, cousins)]
        else:
            missed = []
        bonus += p.prefix_weight * sum(self.weights[t] for t in missed) / top
        return bonus


def _lone_thread() -> bool:
    """Whether this process runs no other thread, so forking build workers is safe."""
    return threading.active_count() == 1


def _read_manifest(directory: Path) -> dict[str, Any]:
    return read_json_object(directory / MANIFEST, f"no index at {directory}")
