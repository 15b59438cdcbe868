"""Lay out a batch of articles for a fresh build, with its token streams as term-id arrays.

:func:`index.layout.lay_out` hands back token lists (a Python string reference per token);
at a million passages those lists, pickled from the worker processes and turned into term
ids one token at a time by the caller, cost more than cutting the text up. Here a worker's
:class:`TermCoder` turns each white-space delimited chunk of text into term ids once per
distinct chunk, and a batch's streams are built with numpy: the caller receives a few
integer arrays plus the terms the worker has not reported before, and maps them to its own
vocabulary with :class:`TermMap` (per new term, not per token). The segment is the one
``lay_out`` makes, and the streams hold the same tokens in the same order.

With numba, the per-word work is compiled: white-space folding, splitting and chunk look-up
(:mod:`index.chunk_codes`) and the sentence splitting of ASCII paragraphs
(:mod:`index.split_compiled`); without it, or for a coder made with ``compiled=False``,
Python does the same (the tests compare the two).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from index import bm25_kernels as kernels
from index import chunk_codes
from index.arrays import concat_ranges
from index.chunk_codes import ChunkTable, FoldedBatch
from index.layout import _ARRAYS, _SHIFTS, I32, ArticleMeta, Segment
from index.records import Article
from index.spill_file import SpillFile
from index.split_compiled import split_paragraphs
from index.text import _folded_spans, chunk_terms_many, chunk_terms_uncached

I32Array = npt.NDArray[np.int32]
I64Array = npt.NDArray[np.int64]


class _Growing:
    """An int array that grows by amortised doubling (appends come as Python lists)."""

    def __init__(self, dtype: type[np.integer[Any]]) -> None:
        self._data = np.zeros(1024, dtype=dtype)
        self.size = 0

    def extend(self, values: list[int]) -> None:
        need = self.size + len(values)
        if need > self._data.shape[0]:
            grown = np.zeros(max(need, 2 * self._data.shape[0]), dtype=self._data.dtype)
            grown[: self.size] = self._data[: self.size]
            self._data = grown
        self._data[self.size : need] = values
        self.size = need

    @property
    def view(self) -> npt.NDArray[Any]:
        return self._data[: self.size]


class _ChunkIds(dict[str, int]):
    """Chunk -> chunk id; a chunk seen for the first time is coded by ``new``."""

    def __init__(self, new: Callable[[str], int]) -> None:
        super().__init__()
        self._new = new

    def __missing__(self, chunk: str) -> int:
        return self._new(chunk)


class TermCoder:
    """Chunks of text to term ids, per process: a term gets the next id when first seen.

    ``key`` names the build the coder serves, so a worker reused by another build (or a
    forked copy of a parent's coder) starts afresh. Chunks get ids in order of first
    appearance, from a compiled :class:`~index.chunk_codes.ChunkTable` when numba is there
    (``compiled``) or from a dict.
    """

    def __init__(self, key: str, compiled: bool | None = None) -> None:
        self.key = key
        self.name = uuid.uuid4().hex  # which coder's ids a batch holds
        self.terms: list[str] = []
        self._term_ids: dict[str, int] = {}
        if compiled is None:
            compiled = chunk_codes.AVAILABLE
        self.table = ChunkTable() if compiled else None
        self._chunks = _ChunkIds(self._new_chunk)
        self._starts = _Growing(np.int64)  # chunk id -> first entry in _flat
        self._counts = _Growing(np.int32)  # chunk id -> number of terms
        self._flat = _Growing(np.int32)  # concatenated term ids of all chunks
        self._pending: tuple[list[int], list[int], list[int]] = ([], [], [])
        self.reported = 0  # terms already sent along with an earlier batch

    def _new_chunk(self, chunk: str) -> int:
        cid = self._learn(chunk)
        self._chunks[chunk] = cid
        return cid

    def _learn(self, chunk: str) -> int:
        """Give ``chunk`` the next chunk id and note its term ids; returns the id."""
        ids = self._term_ids
        tids = []
        for term in chunk_terms_uncached(chunk):
            tid = ids.get(term)
            if tid is None:
                tid = ids[term] = len(self.terms)
                self.terms.append(term)
            tids.append(tid)
        starts, counts, flat = self._pending
        cid = self._starts.size + len(starts)
        starts.append(self._flat.size + len(flat))
        counts.append(len(tids))
        flat.extend(tids)
        return cid

    def code(self, words: list[str]) -> tuple[I32Array, I64Array]:
        """(term ids of ``words`` in order, terms per word)."""
        cids = np.fromiter(map(self._chunks.__getitem__, words), dtype=np.int64, count=len(words))
        return self._expand(cids)

    def code_folded(self, folded: FoldedBatch) -> tuple[I32Array, I64Array]:
        """:meth:`code` of the words a :class:`~index.chunk_codes.ChunkTable` interned."""
        ids = self._term_ids
        terms = self.terms
        starts, counts, flat = self._pending
        done = self._flat.size
        for found in chunk_terms_many(folded.new_chunks):
            starts.append(done + len(flat))
            counts.append(len(found))
            for term in found:
                tid = ids.get(term)
                if tid is None:
                    tid = ids[term] = len(terms)
                    terms.append(term)
                flat.append(tid)
        return self._expand(folded.chunk_ids)

    def _expand(self, cids: npt.NDArray[np.integer[Any]]) -> tuple[I32Array, I64Array]:
        starts, counts, flat = self._pending
        self._starts.extend(starts)
        self._counts.extend(counts)
        self._flat.extend(flat)
        self._pending = ([], [], [])
        per_word = self._counts.view[cids].astype(np.int64)
        return gather(self._flat.view, self._starts.view[cids], per_word), per_word


def gather(source: npt.NDArray[Any], starts: I64Array, lens: I64Array) -> npt.NDArray[Any]:
    """``source[starts[0]:starts[0]+lens[0]]``, then the next range, ..., concatenated."""
    out: npt.NDArray[Any] = source[concat_ranges(starts, lens)]
    return out


@dataclass
class CodedBatch:
    """A segment plus its sentence and passage token streams as one coder's term ids."""

    segment: Segment
    coder: str
    new_terms: list[str]  # the coder's terms first sent with this batch, in id order
    first_new: int  # the coder id of new_terms[0]
    sentence_terms: I32Array
    sentence_lens: I64Array
    passage_terms: I32Array
    passage_lens: I64Array


@dataclass
class _Words:
    """A batch's folded text and the term ids of its title and paragraph words."""

    blob: bytes  # the folded paragraphs, concatenated
    para_offset: I64Array
    para_length: I64Array
    texts: list[str] | None  # each folded paragraph (None: decode it from the blob)
    titles: list[bytes]  # each article's folded title, UTF-8
    title_start: I64Array  # word range of each article's title
    title_end: I64Array
    para_base: I64Array  # first word of each paragraph
    flat: I32Array  # term ids of every word, in order
    per_word: I64Array  # terms of each word

    def text(self, para: int) -> str:
        """The folded text of paragraph ``para``."""
        if self.texts is not None:
            return self.texts[para]
        start = int(self.para_offset[para])
        return self.blob[start : start + int(self.para_length[para])].decode("utf-8")


def _words_in_python(articles: Sequence[Article], coder: TermCoder) -> _Words:
    """:class:`_Words` by ``str.split`` and a dict look-up per word."""
    blob = bytearray()
    words: list[str] = []  # every title and paragraph word of the batch, in order
    titles: list[bytes] = []
    texts: list[str] = []
    title_start: list[int] = []
    title_end: list[int] = []
    para_offset: list[int] = []
    para_length: list[int] = []
    para_base: list[int] = []
    for article in articles:
        title_words = article.title.split()
        titles.append(" ".join(title_words).encode("utf-8"))
        title_start.append(len(words))
        words += title_words
        title_end.append(len(words))
        for paragraph in article.paragraphs:
            para_words = paragraph.split()
            text = " ".join(para_words)
            encoded = text.encode("utf-8")
            para_offset.append(len(blob))
            para_length.append(len(encoded))
            blob += encoded
            para_base.append(len(words))
            words += para_words
            texts.append(text)
    flat, per_word = coder.code(words)
    return _Words(
        blob=bytes(blob),
        para_offset=np.asarray(para_offset, dtype=np.int64),
        para_length=np.asarray(para_length, dtype=np.int64),
        texts=texts,
        titles=titles,
        title_start=np.asarray(title_start, dtype=np.int64),
        title_end=np.asarray(title_end, dtype=np.int64),
        para_base=np.asarray(para_base, dtype=np.int64),
        flat=flat,
        per_word=per_word,
    )


def _words_compiled(articles: Sequence[Article], coder: TermCoder, table: ChunkTable) -> _Words:
    """:class:`_Words` from one pass of the compiled :class:`ChunkTable` over the batch."""
    pieces: list[str] = []  # each article's title, then its paragraphs
    for article in articles:
        pieces.append(article.title)
        pieces += article.paragraphs
    sizes = np.fromiter((len(a.paragraphs) + 1 for a in articles), np.int64, len(articles))
    title_at = np.cumsum(sizes) - sizes  # the piece of each title
    is_para = np.ones(len(pieces), dtype=np.bool_)
    is_para[title_at] = False
    folded = table.fold(pieces, is_para)
    del pieces
    flat, per_word = coder.code_folded(folded)
    first_word = np.cumsum(folded.words) - folded.words
    para_offset, para_length = folded.starts[is_para], folded.lens[is_para]
    title_bytes = folded.titles
    titles = [
        title_bytes[start : start + size]
        for start, size in zip(
            folded.starts[title_at].tolist(), folded.lens[title_at].tolist(), strict=True
        )
    ]
    return _Words(
        blob=folded.blob,
        para_offset=para_offset,
        para_length=para_length,
        texts=None,
        titles=titles,
        title_start=first_word[title_at],
        title_end=first_word[title_at] + folded.words[title_at],
        para_base=first_word[is_para],
        flat=flat,
        per_word=per_word,
    )


def _sentences_in_python(laid: _Words) -> tuple[I64Array, I64Array, I64Array]:
    """(sentences of each paragraph, (start, end) of each sentence, words of each
    sentence) by :func:`index.text._folded_spans`."""
    para_sentences: list[int] = []
    spans: list[tuple[int, int]] = []  # every sentence span, paragraph after paragraph
    span_words: list[int] = []  # words in each sentence (sentences tile their paragraph)
    for para in range(laid.para_offset.shape[0]):
        text = laid.text(para)
        found = _folded_spans(text) or [(0, 0)]
        para_sentences.append(len(found))
        spans += found
        span_words += [text.count(" ", b, e) + (e > b) for b, e in found]
    return (
        np.asarray(para_sentences, dtype=np.int64),
        np.asarray(spans, dtype=np.int64).reshape(-1, 2),
        np.asarray(span_words, dtype=np.int64),
    )


def _sentences_compiled(laid: _Words) -> tuple[I64Array, I64Array, I64Array]:
    """:func:`_sentences_in_python` by the compiled splitter, Python doing the paragraphs
    that are not ASCII."""
    counts, starts, ends, words = split_paragraphs(laid.blob, laid.para_offset, laid.para_length)
    spans = np.stack((starts, ends), axis=1)
    odd = np.flatnonzero(counts < 0)
    if odd.shape[0] == 0:
        return counts, spans, words
    split = np.flatnonzero(counts >= 0)  # the paragraphs the kernel split
    found: dict[int, tuple[list[tuple[int, int]], list[int]]] = {}
    for para in odd.tolist():
        text = laid.text(para)
        spans_of = _folded_spans(text) or [(0, 0)]
        counts[para] = len(spans_of)
        found[para] = (spans_of, [text.count(" ", b, e) + (e > b) for b, e in spans_of])
    first = np.cumsum(counts) - counts
    all_spans = np.empty((int(counts.sum()), 2), dtype=np.int64)
    all_words = np.empty(all_spans.shape[0], dtype=np.int64)
    own = counts[split]
    dest = np.repeat(first[split] - (np.cumsum(own) - own), own) + np.arange(int(own.sum()))
    all_spans[dest] = spans
    all_words[dest] = words
    for para, (spans_of, words_of) in found.items():
        at = int(first[para])
        all_spans[at : at + len(spans_of)] = spans_of
        all_words[at : at + len(words_of)] = words_of
    return counts, all_spans, all_words


def lay_out_coded(
    name: str, articles: Sequence[Article], max_passage_sentences: int, coder: TermCoder
) -> CodedBatch:
    """:func:`index.layout.lay_out` at id 0, with the token streams coded by ``coder``."""
    mps = max_passage_sentences
    if coder.table is not None:
        laid = _words_compiled(articles, coder, coder.table)
    else:
        laid = _words_in_python(articles, coder)
    para_sentences, spans, n_words = (
        _sentences_compiled(laid) if coder.table is not None else _sentences_in_python(laid)
    )
    blob = memoryview(laid.blob)
    offsets = laid.para_offset.tolist()
    lengths = laid.para_length.tolist()
    metas: list[ArticleMeta] = []
    para = 0
    for article in articles:
        digest = hashlib.sha256()  # Article.content_hash, from the folded text made here
        digest.update(laid.titles[len(metas)])
        digest.update(b"\x1f")
        digest.update(" ".join((article.source or "").split()).encode("utf-8"))
        digest.update(b"\x1f")
        for _ in article.paragraphs:
            start = offsets[para]
            digest.update(blob[start : start + lengths[para]])
            digest.update(b"\x1f")
            para += 1
        metas.append(ArticleMeta.of(article, digest.hexdigest()))
    del blob
    n_paras = np.fromiter((len(a.paragraphs) for a in articles), np.int64, len(articles))
    para_article = np.repeat(np.arange(len(articles), dtype=np.int64), n_paras)
    para_number = np.arange(para_article.shape[0], dtype=np.int64)
    para_number -= (np.cumsum(n_paras) - n_paras)[para_article]
    arrays, bounds = _columns(
        len(articles),
        para_article,
        para_number,
        laid.para_offset,
        laid.para_length,
        para_sentences,
        spans,
        mps,
    )
    segment = Segment(
        name=name,
        articles=metas,
        first_passage=0,
        first_sentence=0,
        arrays=arrays,
        blob=laid.blob,
    )
    # word ranges of sentences and passages
    before = np.cumsum(n_words) - n_words  # words of the batch's sentences before each one
    para_base = laid.para_base
    sentence_para = np.repeat(np.arange(len(para_base), dtype=np.int64), bounds["para_sentences"])
    first_of_para = bounds["para_first_sentence"]
    w_start = para_base[sentence_para] + before - before[first_of_para][sentence_para]
    w_end = w_start + n_words
    flat, per_word = laid.flat, laid.per_word
    at = np.zeros(per_word.shape[0] + 1, dtype=np.int64)  # term offset of each word
    np.cumsum(per_word, out=at[1:])
    s0, s1 = at[w_start], at[w_end]
    first_sentence = arrays["passage_first_sentence"].astype(np.int64)
    last_sentence = first_sentence + arrays["passage_sentences"] - 1
    p0, p1 = s0[first_sentence], s1[last_sentence]
    owner = para_article[sentence_para]
    t0 = at[laid.title_start][owner]
    t1 = at[laid.title_end][owner]
    # each sentence is indexed as its article's title followed by its own terms
    starts = np.stack((t0, s0), axis=1).reshape(-1)
    lens = np.stack((t1 - t0, s1 - s0), axis=1).reshape(-1)
    new_terms = coder.terms[coder.reported :]
    first_new = coder.reported
    coder.reported = len(coder.terms)
    return CodedBatch(
        segment=segment,
        coder=coder.name,
        new_terms=new_terms,
        first_new=first_new,
        sentence_terms=gather(flat, starts, lens),
        sentence_lens=(t1 - t0) + (s1 - s0),
        passage_terms=gather(flat, p0, p1 - p0),
        passage_lens=p1 - p0,
    )


def _columns(
    n_articles: int,
    para_article: I64Array,
    para_number: I64Array,
    para_offset: I64Array,
    para_length: I64Array,
    para_sentences: I64Array,
    spans: I64Array,
    mps: int,
) -> tuple[dict[str, npt.NDArray[Any]], dict[str, I64Array]]:
    """The segment's arrays (as ``lay_out`` makes them) from per-paragraph columns and the
    sentence spans: passages are windows of ``mps`` sentences of a paragraph."""
    ns = np.asarray(para_sentences, dtype=np.int64)
    n_paras = ns.shape[0]
    npp = (ns + mps - 1) // mps  # passages per paragraph
    para_first_passage = np.cumsum(npp) - npp
    para_first_sentence = np.cumsum(ns) - ns
    passage_para = np.repeat(np.arange(n_paras, dtype=np.int64), npp)
    window = np.arange(passage_para.shape[0], dtype=np.int64) - para_first_passage[passage_para]
    sentence_para = np.repeat(np.arange(n_paras, dtype=np.int64), ns)
    in_para = np.arange(sentence_para.shape[0], dtype=np.int64) - para_first_sentence[sentence_para]
    owner = np.asarray(para_article, dtype=np.int64)
    article_passages = np.bincount(owner, weights=npp, minlength=n_articles).astype(np.int64)
    article_sentences = np.bincount(owner, weights=ns, minlength=n_articles).astype(np.int64)
    span_array = np.asarray(spans, dtype=np.int64).reshape(-1, 2)
    columns: dict[str, npt.NDArray[Any]] = {
        "para_article": owner,
        "para_number": np.asarray(para_number, dtype=np.int64),
        "para_offset": np.asarray(para_offset, dtype=np.int64),
        "para_length": np.asarray(para_length, dtype=np.int64),
        "passage_para": passage_para,
        "passage_first_sentence": para_first_sentence[passage_para] + window * mps,
        "passage_sentences": np.minimum(mps, ns[passage_para] - window * mps),
        "sentence_passage": para_first_passage[sentence_para] + in_para // mps,
        "sentence_start": span_array[:, 0],
        "sentence_end": span_array[:, 1],
        "sentence_number": in_para,
        "article_first_passage": np.cumsum(article_passages) - article_passages,
        "article_passages": article_passages,
        "article_first_sentence": np.cumsum(article_sentences) - article_sentences,
        "article_sentences": article_sentences,
    }
    arrays = {
        key: columns[key].astype(np.int64 if key == "para_offset" else I32) for key in _ARRAYS
    }
    return arrays, {"para_sentences": ns, "para_first_sentence": para_first_sentence}


class SegmentJoin:
    """Batch segments joined into one as they arrive (what ``concat_segments`` makes), the
    text appended to an unnamed file and each batch's own copy dropped: the corpus text
    stays out of the building process's memory, and the single segment needs no merge
    when saved."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._parts: dict[str, list[npt.NDArray[Any]]] = {key: [] for key in _ARRAYS}
        self._offsets = {"articles": 0, "paras": 0, "passages": 0, "sentences": 0, "blob": 0}
        self._articles: list[ArticleMeta] = []
        self._blob = SpillFile()

    def add(self, segment: Segment) -> None:
        offsets = self._offsets
        for key in _ARRAYS:
            array = segment.arrays[key]
            shift = _SHIFTS.get(key)
            self._parts[key].append(array + offsets[shift] if shift else array)
        self._articles += segment.articles
        self._blob.write(segment.blob)
        offsets["articles"] += len(segment.articles)
        offsets["paras"] += int(segment.arrays["para_article"].shape[0])
        offsets["passages"] += segment.n_passages
        offsets["sentences"] += segment.n_sentences
        offsets["blob"] += len(segment.blob)

    def finish(self) -> Segment:
        arrays = {
            key: np.concatenate(chunks).astype(np.int64 if key == "para_offset" else I32)
            if chunks
            else np.zeros(0, dtype=np.int64 if key == "para_offset" else I32)
            for key, chunks in self._parts.items()
        }
        self._parts = {key: [] for key in _ARRAYS}
        return Segment(
            name=self.name,
            articles=self._articles,
            first_passage=0,
            first_sentence=0,
            arrays=arrays,
            blob=self._blob.buffer(),
            blob_file=self._blob,
        )


class TermMap:
    """One coder's term ids to a BM25 vocabulary's, learnt as batches arrive.

    Terms unknown to the vocabulary get its next ids in order of first appearance in the
    batch, which is the order a build fed with token lists gives them.
    """

    def __init__(self) -> None:
        self._terms: list[str] = []
        self._table = np.full(0, -1, dtype=np.int64)

    def learn(self, first_new: int, new_terms: list[str]) -> None:
        if first_new != len(self._terms):
            raise ValueError("coded batches arrived out of order for their coder")
        self._terms += new_terms
        if self._table.shape[0] < len(self._terms):
            grown = np.full(max(len(self._terms), 2 * self._table.shape[0]), -1, dtype=np.int64)
            grown[: self._table.shape[0]] = self._table
            self._table = grown

    def to_vocab(self, coded: I32Array, vocab: dict[str, int]) -> I32Array:
        """``coded`` in ``vocab``'s ids (``vocab[term]`` adds a term it lacks)."""
        if kernels.AVAILABLE:
            ids, new = kernels.map_terms(coded, self._table)
            if new.shape[0]:
                self._learn_ids(new, vocab)
                kernels.fill_unmapped(ids, coded, self._table)
            return ids  # type: ignore[no-any-return]
        mapped = self._table[coded]
        unknown = mapped < 0
        if unknown.any():
            uniq, first = np.unique(coded[unknown], return_index=True)
            self._learn_ids(uniq[np.argsort(first, kind="stable")], vocab)
            mapped = self._table[coded]
        return mapped.astype(np.int32)

    def _learn_ids(self, new: npt.NDArray[np.integer[Any]], vocab: dict[str, int]) -> None:
        """Map coder ids ``new`` (in order of first appearance) into ``vocab``."""
        names = map(self._terms.__getitem__, new.tolist())
        self._table[new] = np.fromiter(map(vocab.__getitem__, names), np.int64, new.shape[0])
