"""The semantic reranker: BM25 finds the candidates, the sentence model re-orders them.

For one question: one encoding of the question, the candidates' vectors from the
content-keyed store (embedding on demand the few it lacks), a dot product each, then

    fused = w * cosine + (1 - w) * bm25 / best bm25 + c * cues

where the cues are the engine's own lexical bonuses (new content of the kind asked for, the
unit asked for, a stated reason...), kept at their own weight ``c`` rather than scaled down
with BM25: the model rates a restatement of the question ("The type of missiles has not been
confirmed") as close as the answer, and the cues are what tell them apart. The model never
scans the corpus: it sees the top ``depth`` candidates.
The decline rule gets the model's evidence too (see :mod:`index.semantic.decline`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from index.evidence import Evidence
from index.records import Answer, Article
from index.semantic.cache import EmbeddingCache, article_sentence_texts, as_stored, keys_of
from index.semantic.decline import semantic_confidence, similarity_features
from index.semantic.model import Encoder

if TYPE_CHECKING:
    from index.engine import Engine

log = logging.getLogger(__name__)

PIPELINE = "bm25+semantic"
PRECOMPUTE_BATCH = 4096  # sentences embedded between progress reports and cache writes
WARM_BATCH = 64  # sentences per step of a background warm-up (it checks for a stop between)


@dataclass(frozen=True, slots=True)
class RerankParams:
    """How the model's similarity is fused with the lexical order."""

    weight: float = 0.2  # model share of the fused score (against BM25)
    cue_weight: float = 1.0  # weight of the engine's lexical cue bonuses
    depth: int = 50  # candidates rescored
    precompute_max: int = 50_000  # embed all sentences at index time up to this many


@dataclass(slots=True)
class Warmup:
    """A background warm-up of the embedding store, which its owner can stop."""

    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    def cancel(self, wait: float = 0.0) -> None:
        """Ask the warm-up to stop after its current batch (and wait up to ``wait`` s)."""
        self.stop.set()
        if wait and self.thread is not None:
            self.thread.join(wait)


@dataclass(slots=True)
class SemanticRanking:
    """One question's reranked candidates with their cosine similarities to it."""

    answers: list[Answer]
    similarity: list[float]

    def features(self, evidence: Evidence, at: int = 0) -> tuple[float, ...]:
        """Decline-model inputs for ``answers[at]``: the lexical evidence plus similarity."""
        return evidence.features() + similarity_features(self.similarity, at)

    def confidence(self, evidence: Evidence, at: int = 0) -> float:
        """Probability-like confidence that ``answers[at]`` answers (see decline module)."""
        return semantic_confidence(self.features(evidence, at))


class SemanticReranker:
    """Rescores BM25 candidates with sentence embeddings (thread-safe)."""

    pipeline = PIPELINE

    def __init__(self, encoder: Encoder, cache: EmbeddingCache, params: RerankParams) -> None:
        self.encoder = encoder
        self.cache = cache
        self.params = params
        self.on_demand = 0  # sentences embedded at question time (not precomputed)

    @property
    def description(self) -> str:
        """One line for /about."""
        info = self.encoder.info
        return f"BM25 + semantic reranker ({info.model}, {info.runtime})"

    # --- index time ---------------------------------------------------------------------------
    def attach(self, engine: Engine) -> None:
        """Make ``engine`` answer through this reranker. Nothing is embedded here: candidates
        missing from the store are embedded when a question needs them (and kept), and a
        long-running process warms the store with :meth:`warm_in_background`."""
        if engine.params.rerank_depth < self.params.depth:
            engine.params = replace(engine.params, rerank_depth=self.params.depth)
        engine.reranker = self

    def warm_in_background(self, engine: Engine) -> Warmup | None:
        """Embed the engine's sentences the store lacks in a daemon thread, a small batch at
        a time, so a bot answers at once after a (re)start instead of waiting minutes for a
        cold corpus; questions meanwhile embed their own missing candidates. Returns None
        when there is nothing to do or the corpus is above ``precompute_max``."""
        sentences = engine.stats().sentences  # counted before any text is read
        if sentences > self.params.precompute_max:
            log.info(
                "%d sentences: more than NEWSDESK_SEMANTIC_PRECOMPUTE_MAX; embedding on demand",
                sentences,
            )
            return None
        texts = list(dict.fromkeys(engine.sentence_texts()))  # snapshot, in this thread
        keys = keys_of(texts)
        found, _ = self.cache.lookup(keys)
        todo = sorted(np.flatnonzero(~found).tolist(), key=lambda i: len(texts[i]))
        if not todo:
            self.cache.flush(live=keys)
            return None
        warmup = Warmup()
        warmup.thread = threading.Thread(
            target=self._warm,
            args=(texts, keys, todo, warmup.stop),
            name="embeddings-warmup",
            daemon=True,
        )
        warmup.thread.start()
        return warmup

    def _warm(
        self,
        texts: list[str],
        keys: npt.NDArray[np.uint64],
        todo: list[int],
        stop: threading.Event,
    ) -> None:
        log.info("embedding %d sentences in the background (of %d)", len(todo), len(texts))
        try:
            for start in range(0, len(todo), WARM_BATCH):
                if stop.is_set():
                    return
                chunk = todo[start : start + WARM_BATCH]
                self.cache.put(keys[chunk], self.encoder.encode([texts[i] for i in chunk]))
            self.cache.flush(live=keys)
            log.info("embedded %d sentences in the background", len(todo))
        except Exception:  # a failed warm-up costs speed only: questions embed on demand
            log.exception("background embedding stopped")

    def precompute(self, engine: Engine) -> int:
        """Embed the engine's sentences the store lacks; returns how many were embedded."""
        texts = list(dict.fromkeys(engine.sentence_texts()))
        keys = keys_of(texts)  # the live set, which bounds what a merge of the store keeps
        done = 0
        if len(texts) <= self.params.precompute_max:
            done = self._embed_missing(texts, keys)
        else:
            log.info(
                "%d sentences: more than NEWSDESK_SEMANTIC_PRECOMPUTE_MAX; embedding on demand",
                len(texts),
            )
        self.cache.flush(live=keys)
        return done

    def indexed(self, articles: Sequence[Article]) -> None:
        """Embed the sentences of newly added articles (called by ``Engine.add``)."""
        texts = list(
            dict.fromkeys(t for a in articles for t in article_sentence_texts(a.paragraphs))
        )
        if texts and len(texts) <= self.params.precompute_max:
            self._embed_missing(texts, keys_of(texts))
            self.cache.flush()

    def _embed_missing(self, texts: list[str], keys: npt.NDArray[np.uint64]) -> int:
        found, _ = self.cache.lookup(keys)
        todo = np.flatnonzero(~found).tolist()
        if not todo:
            return 0
        log.info("embedding %d new sentences (of %d)", len(todo), len(texts))
        for start in range(0, len(todo), PRECOMPUTE_BATCH):
            chunk = todo[start : start + PRECOMPUTE_BATCH]
            vectors = self.encoder.encode([texts[i] for i in chunk])
            self.cache.put(keys[chunk], vectors)
        return len(todo)

    # --- question time ------------------------------------------------------------------------
    def vectors(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Vectors of candidate sentences: from the store, embedding (and keeping) the rest."""
        keys = keys_of(texts)
        found, vectors = self.cache.lookup(keys)
        if not found.all():
            missing = np.flatnonzero(~found)
            fresh = as_stored(self.encoder.encode([texts[i] for i in missing.tolist()]))
            vectors[missing] = fresh
            self.cache.put(keys[missing], fresh)
            self.on_demand += int(missing.size)
        return vectors

    def similarities(self, question: str, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Cosine similarity of the question to each text."""
        query = self.encoder.encode([question])[0]
        return np.asarray(self.vectors(texts) @ query, dtype=np.float32)

    def rerank(
        self, engine: Engine, question: str, terms: list[str], ranked: list[Answer]
    ) -> SemanticRanking:
        """Re-order the top ``depth`` candidates on the fused score (the rest keep their
        order after them)."""
        head = ranked[: self.params.depth]
        lexical = np.asarray(engine.lexical_keys(question, terms, head), dtype=np.float64)
        scores = np.asarray([a.score for a in head], dtype=np.float64)
        bm25 = scores / (scores.max() or 1.0)
        cosine = self.similarities(question, [a.sentence for a in head]).astype(np.float64)
        w = self.params.weight
        fused = w * cosine + (1.0 - w) * bm25 + self.params.cue_weight * (lexical - bm25)
        order = np.lexsort((np.arange(len(head)), -fused)).tolist()
        answers = [head[i] for i in order] + ranked[len(head) :]
        similarity = [float(cosine[i]) for i in order] + [0.0] * (len(ranked) - len(head))
        return SemanticRanking(answers, similarity)
