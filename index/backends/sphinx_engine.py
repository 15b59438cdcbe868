"""The sharded backend: passages live in RT indexes on Sphinx 2.2.11 / Manticore shards.

Retrieval is the only part that differs from the embedded engine (it subclasses
:class:`index.engine.Engine` and replaces :meth:`_retrieve` and the statistics): the answering
part (cues, distinct sentences, evidence, decline) is the same code.

* **Where passages live.** An article's passages go to one shard, chosen by a stable hash of
  its id; each row holds the passage's index terms as its full-text field, the whole
  paragraph and the article's metadata as string attributes, and ``seq`` (the article's place
  in index order). Row ids are ``seq << 20 | passage number``, so ``id ASC`` is the embedded
  index's order, which both backends use to break score ties.
* **Reading.** Every shard is asked at once (threads) for its best ``5 x candidate_passages``
  passages by its own BM25 (``OR`` semantics through a quorum of 1, ``ORDER BY WEIGHT() DESC,
  id ASC``); the replies are merged, re-tokenised with Newsdesk's tokenizer and rescored
  exactly with the collection statistics Newsdesk keeps for all shards
  (:class:`index.backends.stats.CollectionStats`), then the best ``candidate_passages`` give
  their sentences, scored as in the embedded engine. A shard that does not answer (or whose
  ``SHOW META`` carries a warning) makes the answer *partial*: still given, flagged.
* **Writing.** Adds and removes go to the owning shard with ``REPLACE``/``DELETE`` by id; the
  statistics change only after the shard acknowledged. A row whose ``seq`` is not the one
  Newsdesk holds for its article (left by a failed write, or by a rebuild in progress) is
  never used. A full rebuild writes all rows under new ``seq`` numbers, then deletes the old
  ones, so readers of the old state keep working while it runs.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from index.backends.passages import (
    PASSAGE_BITS,
    PassageDoc,
    article_passages,
    doc_from_row,
    encode_term,
    parse_spans,
    parse_words,
    row_id,
)
from index.backends.sphinx_shards import INDEX, Shard, ShardError, ShardWriteError
from index.backends.stats import CollectionStats
from index.durable import read_json_object, replace_file
from index.engine import (
    TEXT_VERSION,
    Engine,
    EngineParams,
    Progress,
    TermStats,
    answer_key,
    candidate_limit,
)
from index.errors import IndexCorrupt, IndexVersionMismatch
from index.records import Answer, Article, CorpusStats, Response, corpus_fingerprint
from index.text import tokenize

log = logging.getLogger(__name__)

STATE = "sharded-state.json"
FORMAT = "newsdesk-sharded"
FORMAT_VERSION = 1
#: Passages fetched from each shard per question, as a multiple of ``candidate_passages``:
#: the shards rank by their own (local, approximate) BM25, Newsdesk rescores exactly.
FETCH_FACTOR = 5
MAX_PAGES = 8  # at most this many pages from one shard for one question
WRITE_BATCH_BYTES = 1_000_000  # rows per REPLACE statement, by size (max_packet_size is 8 MB)
PAGE = 1000  # ids per SELECT/DELETE page
WARN_EVERY_S = 10.0  # a dead shard is logged at most this often
_FIELDS = (
    "id, body, article, art, seq, para, win, plen, text, spans, terms, title, source, url, "
    "published"
)
_COLUMNS = "id, article, seq, para, win, text, spans, terms, title, source, url, published"
_MASK = (1 << PASSAGE_BITS) - 1
_POOL = ThreadPoolExecutor(max_workers=16, thread_name_prefix="newsdesk-shard")


@dataclass(frozen=True, slots=True)
class _Indexed:
    """What Newsdesk remembers of an indexed article (one small row, not its postings)."""

    seq: int
    content_hash: str
    shard: int
    passages: int
    source: str | None


@dataclass(slots=True)
class _Candidate:
    """A passage from a shard: its paragraph, sentence spans and encoded terms."""

    rid: int
    shard: int  # index of the shard that sent it
    rank: int  # its place in that shard's reply, from 0
    paragraph: int
    window: int
    text: str
    spans_attr: str  # sentence spans, parsed only for the passages that are kept
    terms_attr: str  # encoded terms, " | " between sentences
    counts: Counter[str]  # the passage's encoded term counts
    length: int
    article: str
    title: str
    source: str | None
    url: str | None
    published: str | None


@functools.lru_cache(maxsize=65_536)
def _title_terms(title: str) -> tuple[str, ...]:
    return tuple(tokenize(title))


@functools.lru_cache(maxsize=65_536)
def _encoded_title(title: str) -> Counter[str]:
    """A headline's encoded term counts (added to each of its sentences' own)."""
    return Counter(encode_term(t) for t in _title_terms(title))


def title_terms(title: str) -> list[str]:
    """A headline's index terms (sentences are indexed with them), cached."""
    return list(_title_terms(title))


def _hash(article_id: str) -> bytes:
    return hashlib.sha256(article_id.encode("utf-8")).digest()


def shard_of(article_id: str, shards: int) -> int:
    """The shard that owns an article: a stable hash of its id, modulo the shard count."""
    return int.from_bytes(_hash(article_id)[:8], "big") % shards


class ShardedEngine(Engine):
    """Retrieval from Sphinx/Manticore shards, answering shared with :class:`Engine`.

    Not thread-safe (like :class:`Engine`): the Desk serialises calls.
    """

    def __init__(self, params: EngineParams, shards: Sequence[str], timeout_s: float) -> None:
        super().__init__(params)
        if not shards:
            raise ValueError("the sharded backend needs at least one shard address")
        self.addresses = tuple(shards)
        self._shards = [Shard(address, timeout_s) for address in self.addresses]
        self._pstats = CollectionStats(params.bm25)
        self._sstats = CollectionStats(params.bm25)
        self._table: dict[str, _Indexed] = {}
        self._next_seq = 1  # row id 0 is not allowed: seq numbers start at 1
        self._partial = False
        self.down: dict[str, str] = {}  # shard address -> why its last request failed
        self.stats_drift = False  # a remove could not read its rows: counts are approximate
        self._warned: dict[str, float] = {}

    # --- reading ------------------------------------------------------------------------------
    def _sentence_stats(self) -> TermStats:
        return self._sstats

    def article_ids(self) -> frozenset[str]:
        return frozenset(self._table)

    def fingerprint(self) -> str:
        return corpus_fingerprint((i, e.content_hash) for i, e in self._table.items())

    def stats(self) -> CorpusStats:
        return CorpusStats(
            articles=len(self._table),
            passages=self._pstats.n_docs,
            sentences=self._sstats.n_docs,
            sources=tuple(sorted({e.source for e in self._table.values() if e.source})),
            indexed_at=self.indexed_at,
            extra={
                "backend": "sphinx",
                "shards": list(self.addresses),
                "shards_down": sorted(self.down),
                "stats_drift": self.stats_drift,
            },
        )

    def ask(self, question: str) -> Response:
        """As :meth:`Engine.ask`, with ``partial`` set when a shard did not answer."""
        self._partial = False
        response = super().ask(question)
        return dataclasses.replace(response, partial=True) if self._partial else response

    def _retrieve(self, terms: list[str]) -> list[Answer]:
        if not self._table:
            return []
        params = self.params
        wanted = dict.fromkeys(encode_term(t) for t in terms if self._pstats.doc_freq(t) > 0)
        if not wanted:
            return []
        match = '"' + " ".join(wanted) + '"/1'
        candidates, passage_scores, best = self._best_passages(terms, match)
        if not best:
            return []
        # the sentences of the best passages: (passage, sentence number in the passage)
        spans: dict[int, tuple[tuple[int, int], ...]] = {}
        pairs: list[tuple[int, int]] = []
        sentence_docs = []
        for i in best:
            cand = candidates[i]
            words = parse_words(cand.terms_attr)
            spans[i] = parse_spans(cand.spans_attr)
            if len(spans[i]) != len(words):
                log.warning("shard row %d is malformed (spans and terms disagree)", cand.rid)
                continue
            title = _encoded_title(cand.title)
            for j, own in enumerate(words):
                pairs.append((i, j))
                sentence_docs.append((title + Counter(own), sum(title.values()) + len(own)))
        sentence_scores = self._sstats.scores_counted(terms, sentence_docs, encode_term)
        fused = [
            s + params.paragraph_weight * passage_scores[i]
            for s, (i, _) in zip(sentence_scores, pairs, strict=True)
        ]
        order = sorted(
            range(len(pairs)),
            key=lambda n: (-fused[n], candidates[pairs[n][0]].rid, pairs[n][1]),
        )
        return self._distinct_answers(
            (fused[n], candidates[pairs[n][0]], spans[pairs[n][0]][pairs[n][1]], pairs[n][1])
            for n in order
        )

    def _best_passages(
        self, terms: list[str], match: str
    ) -> tuple[list[_Candidate], list[float], list[int]]:
        """Candidate passages from every shard, their exact scores, and the indexes of the
        best ``candidate_passages`` of them (best first, ties by row id as the embedded
        index breaks them).

        Each shard sends its best ``FETCH_FACTOR x candidate_passages`` rows by its own
        approximate ranking. Where one of a shard's rows in the second half of what it sent
        makes the exact top, its ranking is not to be trusted that far down: the next page
        is fetched from that shard (up to MAX_PAGES pages).
        """
        k = self.params.candidate_passages
        page = FETCH_FACTOR * k
        ranker = self._ranker()
        fetched = [0] * len(self._shards)
        full = [False] * len(self._shards)
        candidates: list[_Candidate] = []
        scores: list[float] = []
        seen: set[int] = set()
        best: list[int] = []
        todo = list(range(len(self._shards)))
        while todo:
            replies = self._search_shards(todo, match, ranker, fetched, page)
            new: list[_Candidate] = []
            for index, found in replies.items():
                new.extend(self._candidates(index, fetched[index], found, seen))
                fetched[index] += len(found)
                full[index] = len(found) == page
            candidates.extend(new)
            scores.extend(
                self._pstats.scores_counted(terms, [(c.counts, c.length) for c in new], encode_term)
            )
            best = sorted(range(len(candidates)), key=lambda i: (-scores[i], candidates[i].rid))
            best = best[:k]
            deep = {candidates[i].shard for i in best if candidates[i].rank >= page // 2}
            todo = [
                s
                for s in sorted(deep)
                if full[s]
                and fetched[s] < MAX_PAGES * page
                and any(
                    candidates[i].shard == s and candidates[i].rank >= fetched[s] - page // 2
                    for i in best
                )
            ]
        return candidates, scores, best

    def _ranker(self) -> str:
        """The shards' ranking: Newsdesk's BM25, exact when the matched terms occur equally
        often, from their idf (``sum_idf``, the shard's own), their idf-weighted mean count
        (``tf_idf / sum_idf``) and the passage length (the ``plen`` attribute).
        Sphinx 2.2.11's ``bm25a`` cannot normalise length on RT indexes and its ``bm25``
        ranker ignores length, yet among thousands of passages holding one common term only
        length and counts tell the best 30 apart. Newsdesk rescores what comes back exactly,
        so this only has to bring the right rows.
        """
        p = self.params.bm25
        delta = p.delta if p.variant == "plus" else 0.0
        avgdl = self._pstats.avgdl or 1.0
        k = f"{p.k1:.6f}*({1 - p.b:.6f}+{p.b / avgdl:.9f}*plen)"
        tf = "(tf_idf+0.000001)/(sum_idf+0.000001)"  # idf-weighted mean count
        return f"expr('sum(sum_idf*({p.k1 + 1:.6f}*{tf}/({tf}+{k})+{delta:.6f}))*10000')"

    def _distinct_answers(
        self, ranked: Iterable[tuple[float, _Candidate, tuple[int, int], int]]
    ) -> list[Answer]:
        """Answers in order, repeats of the same sentence skipped (as Engine._distinct)."""
        seen: set[str] = set()
        out: list[Answer] = []
        limit = candidate_limit(self.params)
        for score, cand, (begin, end), j in ranked:
            sentence = cand.text[begin:end]
            key = answer_key(sentence)
            if key in seen:
                continue
            seen.add(key)
            out.append(
                Answer(
                    sentence=sentence,
                    score=float(score),
                    article_id=cand.article,
                    title=cand.title,
                    source=cand.source,
                    paragraph=cand.paragraph,
                    sentence_index=cand.window + j,
                    paragraph_text=cand.text,
                    published=cand.published,
                    url=cand.url,
                )
            )
            if len(out) >= limit:
                break
        return out

    def _candidates(
        self, shard: int, first: int, rows: Iterable[tuple[Any, ...]], seen: set[int]
    ) -> list[_Candidate]:
        """Shard rows of current articles as candidates (their rank in the shard's reply
        counted from ``first``); rows of removed or replaced articles are dropped."""
        out: list[_Candidate] = []
        for rank, row in enumerate(rows, start=first):
            rid, article, seq, para, win, text, spans, terms, title, source, url, published = row
            entry = self._table.get(article)
            if entry is None or entry.seq != seq or rid in seen:
                continue
            seen.add(rid)
            flat = terms.split()
            counts = Counter(flat)
            out.append(
                _Candidate(
                    rid,
                    shard,
                    rank,
                    int(para),
                    int(win),
                    text,
                    spans,
                    terms,
                    counts,
                    len(flat) - counts.pop("|", 0),
                    article,
                    title,
                    source or None,
                    url or None,
                    published or None,
                )
            )
        return out

    def _search_shards(
        self, indexes: Sequence[int], match: str, ranker: str, offsets: Sequence[int], count: int
    ) -> dict[int, list[tuple[Any, ...]]]:
        """Ask shards at once for ``count`` rows after their ``offsets``; a shard that fails
        or warns is left out and makes the answer partial."""
        futures = {}
        for index in indexes:
            offset = offsets[index]
            sql = (
                f"SELECT {_COLUMNS}, WEIGHT() AS w FROM {INDEX} WHERE MATCH(%s) "
                f"ORDER BY WEIGHT() DESC, id ASC LIMIT {offset}, {count} "
                f"OPTION ranker={ranker}, idf='plain', max_matches={offset + count}"
            )
            futures[index] = _POOL.submit(self._shards[index].search, sql, (match,))
        replies: dict[int, list[tuple[Any, ...]]] = {}
        for index, future in futures.items():
            shard = self._shards[index]
            try:
                found, warning = future.result()
            except ShardError as exc:
                self._shard_failed(shard.address, exc.reason)
                continue
            replies[index] = [row[:-1] for row in found]  # WEIGHT() dropped: rescored exactly
            if warning:
                self._shard_failed(shard.address, f"partial result: {warning}")
            elif shard.address in self.down:
                log.info("shard %s answers again", shard.address)
                del self.down[shard.address]
        return replies

    def _shard_failed(self, address: str, reason: str) -> None:
        self._partial = True
        self.down[address] = reason
        now = time.monotonic()
        if now - self._warned.get(address, -WARN_EVERY_S) >= WARN_EVERY_S:
            self._warned[address] = now
            log.warning("shard %s did not answer (%s): answers are partial", address, reason)

    # --- writing ------------------------------------------------------------------------------
    def _row(self, article: Article, seq: int, doc: PassageDoc) -> tuple[object, ...]:
        art = int.from_bytes(_hash(article.id)[8:16], "big") >> 1
        return (
            row_id(seq, doc.local),
            " ".join(encode_term(t) for t in doc.terms),
            article.id,
            art,
            seq,
            doc.paragraph,
            doc.window,
            len(doc.terms),
            doc.text,
            doc.spans_attr(),
            doc.terms_attr(),
            article.title,
            article.source or "",
            article.url or "",
            article.published or "",
        )

    def _write_rows(self, shard: Shard, rows: Sequence[tuple[object, ...]]) -> None:
        """REPLACE rows in statements of about WRITE_BATCH_BYTES."""
        batch: list[tuple[object, ...]] = []
        size = 0
        for row in rows:
            batch.append(row)
            size += sum(len(v) for v in row if isinstance(v, str)) + 64
            if size >= WRITE_BATCH_BYTES:
                self._replace(shard, batch)
                batch, size = [], 0
        if batch:
            self._replace(shard, batch)

    @staticmethod
    def _replace(shard: Shard, rows: Sequence[tuple[object, ...]]) -> None:
        marks = "(" + ",".join(["%s"] * len(rows[0])) + ")"
        sql = f"REPLACE INTO {shard.write_table} ({_FIELDS}) VALUES " + ",".join(
            [marks] * len(rows)
        )
        shard.run(sql, [v for row in rows for v in row])

    def _lay_out_one(self, article: Article, seq: int) -> tuple[list[PassageDoc], list[Any]]:
        docs = list(article_passages(article, self.params.max_passage_sentences))
        return docs, [self._row(article, seq, d) for d in docs]

    def _count_in(self, docs: Sequence[PassageDoc]) -> None:
        self._pstats.add(d.terms for d in docs)
        self._sstats.add(s for d in docs for s in d.sentence_terms)

    def _count_out(self, docs: Sequence[PassageDoc]) -> None:
        self._pstats.remove(d.terms for d in docs)
        self._sstats.remove(s for d in docs for s in d.sentence_terms)

    def add(self, articles: Sequence[Article]) -> None:
        """Write articles to their shards (replacing any with the same id).

        Raises :class:`ShardWriteError` after the other shards were written when a shard
        fails; its articles are then not in the index (the store still has them).
        """
        unique = list({a.id: a for a in articles}.values())
        if not unique:
            return
        seqs = {a.id: self._next_seq + n for n, a in enumerate(unique)}
        self._next_seq += len(unique)
        groups: dict[int, list[Article]] = {}
        for article in unique:
            groups.setdefault(shard_of(article.id, len(self._shards)), []).append(article)
        errors: list[ShardError] = []
        failed: list[str] = []
        for index, group in sorted(groups.items()):
            shard = self._shards[index]
            laid = {a.id: self._lay_out_one(a, seqs[a.id]) for a in group}
            try:
                for article in group:
                    if article.id in self._table:
                        self._drop(shard, article.id)
                self._write_rows(shard, [row for a in group for row in laid[a.id][1]])
            except ShardError as exc:
                errors.append(exc)
                failed.extend(a.id for a in group)
                self._forget([a.id for a in group])
                continue
            for article in group:
                docs = laid[article.id][0]
                self._count_in(docs)
                self._table[article.id] = _Indexed(
                    seqs[article.id], article.content_hash(), index, len(docs), article.source
                )
        self._touch()
        if errors:
            raise ShardWriteError(errors, failed)

    def remove(self, ids: Iterable[str]) -> int:
        """Delete articles' passages from their shards; how many were indexed.

        Raises :class:`ShardWriteError` when a shard fails; the article is then no longer
        answered from (its rows are ignored) and the next reindex deletes its rows.
        """
        wanted = [i for i in dict.fromkeys(ids) if i in self._table]
        errors: list[ShardError] = []
        failed: list[str] = []
        for article_id in wanted:
            entry = self._table[article_id]
            try:
                self._drop(self._shards[entry.shard], article_id)
            except ShardError as exc:
                errors.append(exc)
                failed.append(article_id)
                self._forget([article_id])
        if wanted:
            self._touch()
        if errors:
            raise ShardWriteError(errors, failed)
        return len(wanted)

    def _forget(self, ids: Iterable[str]) -> None:
        """Stop answering from articles whose rows could not be removed or rewritten."""
        for article_id in ids:
            if self._table.pop(article_id, None) is not None:
                self.stats_drift = True  # their passages are still counted

    def _drop(self, shard: Shard, article_id: str) -> None:
        """Read an article's rows (to count them out of the statistics), then delete them."""
        entry = self._table[article_id]
        ids = [row_id(entry.seq, n) for n in range(entry.passages)]
        docs: list[PassageDoc] = []
        for start in range(0, len(ids), PAGE):
            page = ids[start : start + PAGE]
            found = shard.run(
                f"SELECT id, para, win, text, spans, terms, title FROM {INDEX} WHERE id IN "
                f"({','.join(map(str, page))}) LIMIT {len(page)} OPTION max_matches={len(page)}"
            )
            for rid, para, win, text, spans, terms, title in found:
                docs.append(
                    doc_from_row(title_terms(title), text, para, win, rid & _MASK, spans, terms)
                )
        for start in range(0, len(ids), PAGE):
            page = ids[start : start + PAGE]
            shard.run(f"DELETE FROM {shard.write_table} WHERE id IN ({','.join(map(str, page))})")
        if len(docs) != entry.passages:
            log.warning(
                "shard %s held %d of article %s's %d passages; statistics are approximate "
                "until the next reindex",
                shard.address,
                len(docs),
                article_id,
                entry.passages,
            )
            self.stats_drift = True
        self._count_out(docs)
        del self._table[article_id]

    def rebuild(self, articles: Iterable[Article], progress: Progress | None = None) -> None:
        """Write every article under new ``seq`` numbers, then delete all older rows.

        Readers of the previous state keep finding its rows until the end; on a shard
        failure nothing of this engine changes and :class:`ShardWriteError` is raised.
        """
        unique = list({a.id: a for a in articles}.values())
        base = max(self._next_seq, self._max_seq() + 1)
        pstats = CollectionStats(self.params.bm25)
        sstats = CollectionStats(self.params.bm25)
        table: dict[str, _Indexed] = {}
        pending: dict[int, list[Any]] = {}
        pending_bytes: dict[int, int] = {}
        shards = len(self._shards)
        try:
            for n, article in enumerate(unique):
                index = shard_of(article.id, shards)
                docs, rows = self._lay_out_one(article, base + n)
                pstats.add(d.terms for d in docs)
                sstats.add(s for d in docs for s in d.sentence_terms)
                table[article.id] = _Indexed(
                    base + n, article.content_hash(), index, len(docs), article.source
                )
                pending.setdefault(index, []).extend(rows)
                pending_bytes[index] = pending_bytes.get(index, 0) + sum(
                    len(str(v)) for row in rows for v in row
                )
                if pending_bytes[index] >= WRITE_BATCH_BYTES:
                    self._write_rows(self._shards[index], pending.pop(index))
                    pending_bytes[index] = 0
                if progress and (n % 200 == 199 or n == len(unique) - 1):
                    progress(n + 1, len(unique))
            for index, rows in pending.items():
                if rows:
                    self._write_rows(self._shards[index], rows)
            for shard in self._shards:
                self._delete_below(shard, base)
        except ShardError as exc:
            raise ShardWriteError([exc], [a.id for a in unique]) from None
        if progress and not unique:
            progress(0, 0)
        self._pstats, self._sstats, self._table = pstats, sstats, table
        self._next_seq = base + len(unique)
        self.stats_drift = False
        self._touch()

    def _max_seq(self) -> int:
        """The highest ``seq`` on any shard (-1 when empty); a shard must answer."""
        top = -1
        for shard in self._shards:
            rows = shard.run(f"SELECT seq FROM {INDEX} ORDER BY seq DESC LIMIT 1")
            if rows:
                top = max(top, int(rows[0][0]))
        return top

    @staticmethod
    def _delete_below(shard: Shard, seq: int) -> None:
        """Delete every row with a ``seq`` below ``seq`` (older generations)."""
        while True:
            rows = shard.run(
                f"SELECT id FROM {INDEX} WHERE seq < {int(seq)} ORDER BY id ASC "
                f"LIMIT {PAGE} OPTION max_matches={PAGE}"
            )
            if not rows:
                return
            ids = ",".join(str(r[0]) for r in rows)
            shard.run(f"DELETE FROM {shard.write_table} WHERE id IN ({ids})")

    # --- persistence: the statistics and the article table ------------------------------------
    def save(self, directory: Path) -> None:
        """Write the statistics and article table (the postings are on the shards)."""
        directory.mkdir(parents=True, exist_ok=True)
        state = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "text_version": TEXT_VERSION,
            "max_passage_sentences": self.params.max_passage_sentences,
            "shards": list(self.addresses),
            "next_seq": self._next_seq,
            "indexed_at": self.indexed_at,
            "stats_drift": self.stats_drift,
            "articles": {
                i: [e.seq, e.content_hash, e.shard, e.passages, e.source]
                for i, e in self._table.items()
            },
            "passages": [self._pstats.n_docs, self._pstats.total_len, self._pstats.df],
            "sentences": [self._sstats.n_docs, self._sstats.total_len, self._sstats.df],
            "fingerprint": self.fingerprint(),
        }
        replace_file(directory / STATE, json.dumps(state, ensure_ascii=False).encode("utf-8"))

    @classmethod
    def open(
        cls, directory: Path, params: EngineParams, shards: Sequence[str], timeout_s: float
    ) -> ShardedEngine:
        """Load the saved statistics and check that the shards hold what they say.

        Raises IndexMissing, IndexCorrupt or IndexVersionMismatch (the Desk then rebuilds);
        a shard that does not answer is logged and left alone (answers are partial).
        """
        path = directory / STATE
        state = read_json_object(path, f"no sharded index state at {directory}")
        if state.get("format") != FORMAT:
            raise IndexCorrupt(f"{path} is not a Newsdesk sharded index state")
        if state.get("version") != FORMAT_VERSION or state.get("text_version") != TEXT_VERSION:
            raise IndexVersionMismatch(f"{path} was written by another Newsdesk version")
        if state.get("max_passage_sentences") != params.max_passage_sentences:
            raise IndexVersionMismatch("index was built with another passage size")
        if state.get("shards") != list(shards):
            raise IndexVersionMismatch("the shard list changed: articles must be re-sharded")
        engine = cls(params, shards, timeout_s)
        try:
            engine._table = {
                i: _Indexed(int(r[0]), str(r[1]), int(r[2]), int(r[3]), r[4])
                for i, r in state["articles"].items()
            }
            engine._pstats.restore(*state["passages"])
            engine._sstats.restore(*state["sentences"])
            engine._next_seq = int(state["next_seq"])
            engine.indexed_at = state.get("indexed_at")
            engine.stats_drift = bool(state.get("stats_drift"))
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise IndexCorrupt(f"{path} is malformed: {exc}") from None
        if engine.fingerprint() != state.get("fingerprint"):
            raise IndexCorrupt(f"{path} is out of step with itself")
        engine._check_shards()
        return engine

    def _check_shards(self) -> None:
        """Each reachable shard must hold exactly the rows of its articles."""
        expected = [0] * len(self._shards)
        for entry in self._table.values():
            expected[entry.shard] += entry.passages
        for index, shard in enumerate(self._shards):
            try:
                rows = shard.run(f"SELECT COUNT(*) FROM {INDEX}")
                top = shard.run(f"SELECT seq FROM {INDEX} ORDER BY seq DESC LIMIT 1")
            except ShardError as exc:
                self.down[shard.address] = exc.reason
                log.warning("%s at start; answers are partial until it is back", exc)
                continue
            held = int(rows[0][0]) if rows else 0
            if held != expected[index]:
                raise IndexCorrupt(
                    f"shard {shard.address} holds {held} passages, expected {expected[index]}"
                )
            if top:
                self._next_seq = max(self._next_seq, int(top[0][0]) + 1)
