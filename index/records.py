"""The small typed records that cross package borders: articles in, answers out.

They are frozen dataclasses: cheap, hashable, and impossible to change behind a reader's back.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Article:
    """One news article: a headline, its publisher and its paragraphs, in order."""

    id: str
    title: str
    paragraphs: tuple[str, ...]
    source: str | None = None
    url: str | None = None
    published: str | None = None  # ISO 8601 date or datetime, as given
    author: str | None = None
    extra: tuple[tuple[str, str], ...] = ()  # other metadata keys, kept verbatim

    def content_hash(self) -> str:
        """A digest of what the reader sees (title, source and text), independent of the id.

        Two files with the same content get the same hash, which is how the store spots the
        same article added twice under different names.
        """
        digest = hashlib.sha256()
        for part in (self.title, self.source or "", *self.paragraphs):
            digest.update(" ".join(part.split()).encode("utf-8"))
            digest.update(b"\x1f")
        return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class Answer:
    """One candidate answer sentence with everything needed to cite it."""

    sentence: str
    score: float
    article_id: str
    title: str
    source: str | None
    paragraph: int  # index of the article's paragraph, from 0
    sentence_index: int  # index of the sentence inside that paragraph, from 0
    paragraph_text: str  # the whole paragraph, for "show context"
    published: str | None = None
    url: str | None = None
    # The sentence's index terms in order, when retrieval read them from the index (the
    # rerank then need not tokenise it again); not part of what the answer is.
    terms: tuple[str, ...] | None = field(default=None, compare=False, repr=False)
    # The engine's id of the sentence, where the index it came from can look it up again.
    sentence_id: int | None = field(default=None, compare=False, repr=False)

    def to_json(self) -> dict[str, object]:
        """The shape of ``newsdesk ask --json`` (FORMATS section 3), plus extra fields."""
        return {
            "sentence": self.sentence,
            "article_id": self.article_id,
            "title": self.title,
            "source": self.source,
            "paragraph": self.paragraph,
            "score": round(self.score, 6),
            "published": self.published,
            "url": self.url,
        }


@dataclass(frozen=True, slots=True)
class Response:
    """The engine's reply to one question: an answer (or a decline) and the alternatives."""

    question: str
    answer: Answer | None
    alternatives: tuple[Answer, ...] = ()
    confidence: float = 0.0  # 0..1, how sure the decline rule is that ``answer`` answers
    declined_reason: str | None = None  # why no answer was given, in plain words
    suggestions: tuple[str, ...] = ()  # closest headlines, offered when declining
    pipeline: str = "bm25"
    partial: bool = False  # some shard did not answer (sharded backends)

    @property
    def ranked(self) -> tuple[Answer, ...]:
        """The answer followed by its alternatives (alternatives alone when declined)."""
        return ((self.answer,) if self.answer else ()) + self.alternatives

    def to_json(self) -> dict[str, object]:
        """The ``newsdesk ask --json`` object."""
        out: dict[str, object] = {
            "question": self.question,
            "answer": self.answer.to_json() if self.answer else None,
            "alternatives": [a.to_json() for a in self.alternatives],
            "confidence": round(self.confidence, 4),
            "declined_reason": self.declined_reason,
            "suggestions": list(self.suggestions),
            "pipeline": self.pipeline,
        }
        if self.partial:  # some shard did not answer (sharded backend only)
            out["partial"] = True
        return out


@dataclass(frozen=True, slots=True)
class CorpusStats:
    """What the index holds, for ``/about`` and ``/stats``."""

    articles: int
    passages: int
    sentences: int
    sources: tuple[str, ...] = ()
    indexed_at: str | None = None  # ISO 8601 UTC time of the last index change
    pipeline: str = "bm25"
    extra: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AddOutcome:
    """What happened to one input of an add: added (with what) or refused (with why)."""

    input: str  # the file name, path or URL as given
    added: bool
    article_id: str | None = None
    title: str | None = None
    paragraphs: int = 0
    reason: str | None = None  # why it was refused, one line
    replaced: bool = False
    index_error: str | None = None  # stored, but the search shards could not index it yet


@dataclass(frozen=True, slots=True)
class StoredArticle:
    """A row of the article list: the article plus who added it and when."""

    article: Article
    added_at: str  # ISO 8601 UTC
    added_by: str  # "import", "cli", or "telegram:<user id>"
    content_hash: str


@dataclass(frozen=True, slots=True)
class ActivityStats:
    """Usage over a recent window, for the admin ``/stats`` command."""

    window_hours: float
    answered: int
    declined: int
    median_latency_ms: float | None
    helpful: int
    not_helpful: int


def corpus_fingerprint(hashes: Iterable[tuple[str, str]]) -> str:
    """Order-independent digest of (article id, content hash) pairs.

    The store and the engine both compute it, so a saved index can be matched to the
    articles it was built from without reading them.
    """
    digest = hashlib.sha256()
    for article_id, content_hash in sorted(hashes):
        digest.update(f"{article_id}\x1f{content_hash}\n".encode())
    return digest.hexdigest()
