"""How articles are laid out for search: paragraphs, passages and sentences in flat arrays.

A :class:`Segment` holds a batch of articles as numpy arrays plus one UTF-8 blob of paragraph
text, so a million passages cost a few arrays rather than millions of Python objects, and a
segment loads by memory-mapping. Segments are written once and never changed: adding
articles writes a new segment, removing one only marks it dead. Global ids (the BM25 doc ids)
of a segment's passages and sentences are contiguous, starting at ``first_passage`` and
``first_sentence``.
"""

from __future__ import annotations

import json
import mmap
import os
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from index.durable import file_crc32, write_chunks, write_file
from index.errors import IndexCorrupt, IndexMissing
from index.records import Article
from index.spill_file import SpillFile
from index.text import sentence_spans, tokenize

IntArray = npt.NDArray[np.int64]
I32 = np.int32
META_CHUNK = 4096  # articles per piece of a segment's JSON file when it is written

_ARRAYS = (
    "para_article",
    "para_number",
    "para_offset",
    "para_length",
    "passage_para",
    "passage_first_sentence",
    "passage_sentences",
    "sentence_passage",
    "sentence_start",
    "sentence_end",
    "sentence_number",
    "article_first_passage",
    "article_passages",
    "article_first_sentence",
    "article_sentences",
)


@dataclass(frozen=True, slots=True)
class ArticleMeta:
    """What an answer cites about an article (its text lives in the segment blob)."""

    id: str
    title: str
    source: str | None
    url: str | None
    published: str | None
    author: str | None
    paragraphs: int
    content_hash: str

    @classmethod
    def of(cls, article: Article, content_hash: str) -> ArticleMeta:
        """The citation fields of ``article`` (its hash given: builders compute it their way)."""
        return cls(
            article.id,
            article.title,
            article.source,
            article.url,
            article.published,
            article.author,
            len(article.paragraphs),
            content_hash,
        )


@dataclass
class Segment:
    """A batch of articles laid out as arrays (see module docstring)."""

    name: str
    articles: list[ArticleMeta]
    first_passage: int
    first_sentence: int
    arrays: dict[str, np.ndarray]
    blob: bytes | bytearray | mmap.mmap
    saved: bool = False
    dead: set[int] = field(default_factory=set)  # local indexes of removed articles
    blob_file: SpillFile | None = None  # a build's file the blob is mapped from (copied on save)

    @property
    def n_passages(self) -> int:
        return int(self.arrays["passage_para"].shape[0])

    @property
    def n_sentences(self) -> int:
        return int(self.arrays["sentence_passage"].shape[0])

    def paragraph_text(self, para: int) -> str:
        """The (white-space folded) text of the segment's paragraph ``para``."""
        return self.text_at(
            int(self.arrays["para_offset"][para]), int(self.arrays["para_length"][para])
        )

    def text_at(self, offset: int, length: int) -> str:
        """The text of ``length`` bytes at ``offset`` of the segment's blob (a paragraph)."""
        return bytes(self.blob[offset : offset + length]).decode("utf-8")

    # --- persistence --------------------------------------------------------------------------
    def save(self, folder: Path) -> dict[str, object]:
        """Write the segment's three files durably; return its manifest entry."""
        folder.mkdir(parents=True, exist_ok=True)
        files = {
            "arrays": folder / f"{self.name}.npz",
            "blob": folder / f"{self.name}.blob",
            "meta": folder / f"{self.name}.json",
        }
        checksums = {
            "arrays": _write_npz(files["arrays"], self.arrays),
            "blob": (
                self.blob_file.copy_to(files["blob"])
                if self.blob_file is not None
                else write_file(files["blob"], memoryview(self.blob))
            ),
            "meta": write_chunks(files["meta"], self._meta_json()),
        }
        self.saved = True
        return {
            "name": self.name,
            "checksums": checksums,
            "passages": self.n_passages,
            "sentences": self.n_sentences,
        }

    def _meta_json(self) -> Iterator[bytes]:
        """The segment's JSON file ({"first_passage", "first_sentence", "articles": rows})
        a few thousand articles at a time: at a million passages the whole text and its
        rows as Python lists would add some 70 MB to a build's peak memory."""
        head = {"first_passage": self.first_passage, "first_sentence": self.first_sentence}
        yield json.dumps(head)[:-1].encode() + b', "articles": ['
        for start in range(0, len(self.articles), META_CHUNK):
            rows = [list(_meta_row(a)) for a in self.articles[start : start + META_CHUNK]]
            part = json.dumps(rows, ensure_ascii=False)[1:-1]
            yield (", " + part if start else part).encode()
        yield b"]}"

    @classmethod
    def load(cls, folder: Path, entry: dict[str, object]) -> Segment:
        """Read a segment written by :meth:`save`, verifying its checksums."""
        name = str(entry["name"])
        checksums = entry.get("checksums")
        if not isinstance(checksums, dict):
            raise IndexCorrupt(f"segment {name}: manifest entry has no checksums")
        paths = {
            "arrays": folder / f"{name}.npz",
            "blob": folder / f"{name}.blob",
            "meta": folder / f"{name}.json",
        }
        for path in paths.values():
            if not path.exists():
                raise IndexMissing(f"segment file {path.name} is missing")
        blob: bytes | mmap.mmap = b""
        if paths["blob"].stat().st_size:
            with open(paths["blob"], "rb") as handle:
                blob = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        for kind, path in paths.items():
            # the text through its map: read once, and its pages stay mapped for answers
            crc = zlib.crc32(blob) if kind == "blob" else file_crc32(path)
            if crc != checksums.get(kind):
                raise IndexCorrupt(f"segment file {path.name} fails its checksum")
        try:
            with np.load(paths["arrays"]) as npz:
                arrays = {key: npz[key] for key in _ARRAYS}
            meta = json.loads(paths["meta"].read_text(encoding="utf-8"))
            articles = [ArticleMeta(*row) for row in meta["articles"]]
        except (KeyError, ValueError, TypeError, OSError) as exc:
            raise IndexCorrupt(f"segment {name} cannot be read: {exc}") from None
        return cls(
            name=name,
            articles=articles,
            first_passage=int(meta["first_passage"]),
            first_sentence=int(meta["first_sentence"]),
            arrays=arrays,
            blob=blob,
            saved=True,
        )


def _write_npz(path: Path, arrays: dict[str, np.ndarray]) -> int:
    """Write ``arrays`` to ``path`` as .npz, fsynced (straight to the file: no copy of them
    in memory); returns the file's CRC-32."""
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)  # type: ignore[arg-type]  # numpy stub quirk
        handle.flush()
        os.fsync(handle.fileno())
    return file_crc32(path)


def _meta_row(meta: ArticleMeta) -> tuple[object, ...]:
    return (
        meta.id,
        meta.title,
        meta.source,
        meta.url,
        meta.published,
        meta.author,
        meta.paragraphs,
        meta.content_hash,
    )


@dataclass
class LaidOut:
    """A segment plus the token lists its passages and sentences are indexed by."""

    segment: Segment
    passage_docs: list[list[str]]
    sentence_docs: list[list[str]]


def lay_out(
    name: str,
    articles: Sequence[Article],
    *,
    first_passage: int,
    first_sentence: int,
    max_passage_sentences: int,
) -> LaidOut:
    """Cut articles into paragraphs, passages (windows of sentences) and sentences.

    A sentence is indexed with its article's headline, so "the KN-23's range" can find a
    sentence that says only "these missiles"; a passage is indexed by its own words.
    """
    cols: dict[str, list[int]] = {key: [] for key in _ARRAYS}
    blob = bytearray()
    metas: list[ArticleMeta] = []
    passage_docs: list[list[str]] = []
    sentence_docs: list[list[str]] = []
    for local, article in enumerate(articles):
        metas.append(ArticleMeta.of(article, article.content_hash()))
        title_terms = tokenize(article.title)
        cols["article_first_passage"].append(len(passage_docs))
        cols["article_first_sentence"].append(len(sentence_docs))
        for number, paragraph in enumerate(article.paragraphs):
            text = " ".join(paragraph.split())
            encoded = text.encode("utf-8")
            para = len(cols["para_article"])
            cols["para_article"].append(local)
            cols["para_number"].append(number)
            cols["para_offset"].append(len(blob))
            cols["para_length"].append(len(encoded))
            blob += encoded
            spans = sentence_spans(text) or [(0, len(text))]
            for window in range(0, len(spans), max_passage_sentences):
                chunk = spans[window : window + max_passage_sentences]
                passage = len(passage_docs)
                cols["passage_para"].append(para)
                cols["passage_first_sentence"].append(len(sentence_docs))
                cols["passage_sentences"].append(len(chunk))
                passage_terms: list[str] = []
                for offset, (begin, end) in enumerate(chunk):
                    terms = tokenize(text[begin:end])
                    passage_terms.extend(terms)
                    sentence_docs.append(title_terms + terms)
                    cols["sentence_passage"].append(passage)
                    cols["sentence_start"].append(begin)
                    cols["sentence_end"].append(end)
                    cols["sentence_number"].append(window + offset)
                passage_docs.append(passage_terms)
        cols["article_passages"].append(len(passage_docs) - cols["article_first_passage"][-1])
        cols["article_sentences"].append(len(sentence_docs) - cols["article_first_sentence"][-1])
    arrays = {
        key: np.asarray(values, dtype=np.int64 if key == "para_offset" else I32)
        for key, values in cols.items()
    }
    segment = Segment(
        name=name,
        articles=metas,
        first_passage=first_passage,
        first_sentence=first_sentence,
        arrays=arrays,
        blob=bytes(blob),
    )
    return LaidOut(segment, passage_docs, sentence_docs)


# Arrays that hold local indexes into another table, and the table they point into.
_SHIFTS = {
    "para_article": "articles",
    "passage_para": "paras",
    "passage_first_sentence": "sentences",
    "sentence_passage": "passages",
    "article_first_passage": "passages",
    "article_first_sentence": "sentences",
    "para_offset": "blob",
}


def concat_segments(name: str, segments: Sequence[Segment]) -> Segment:
    """One segment holding consecutive ``segments``, local indexes shifted to match."""
    parts: dict[str, list[np.ndarray]] = {key: [] for key in _ARRAYS}
    offsets = {"articles": 0, "paras": 0, "passages": 0, "sentences": 0, "blob": 0}
    articles: list[ArticleMeta] = []
    dead: set[int] = set()
    for segment in segments:
        for key in _ARRAYS:
            array = segment.arrays[key]
            shift = _SHIFTS.get(key)
            parts[key].append(array + offsets[shift] if shift else array)
        dead.update(local + offsets["articles"] for local in segment.dead)
        articles.extend(segment.articles)
        offsets["articles"] += len(segment.articles)
        offsets["paras"] += int(segment.arrays["para_article"].shape[0])
        offsets["passages"] += segment.n_passages
        offsets["sentences"] += segment.n_sentences
        offsets["blob"] += len(segment.blob)
    arrays = {
        key: np.concatenate(chunks).astype(np.int64 if key == "para_offset" else I32)
        for key, chunks in parts.items()
    }
    return Segment(
        name=name,
        articles=articles,
        first_passage=segments[0].first_passage,
        first_sentence=segments[0].first_sentence,
        arrays=arrays,
        blob=b"".join(segment.blob for segment in segments),  # one copy of the text
        dead=dead,
    )
