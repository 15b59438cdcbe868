"""The optional semantic reranker (the ``newsdesk[semantic]`` extra).

``NEWSDESK_RERANKER`` chooses: ``auto`` (the default) uses it when the extra is installed and
says in one log line when it is not; ``semantic`` requires it (a clear start-up error
otherwise); ``lexical`` never loads it. :func:`reranker_for` is the one entry point.
"""

from __future__ import annotations

import logging
import threading

from config import Settings, SettingsError
from index.semantic.model import ModelUnavailable, extra_installed
from index.semantic.rerank import (
    PIPELINE,
    RerankParams,
    SemanticRanking,
    SemanticReranker,
    Warmup,
)

__all__ = [
    "PIPELINE",
    "ModelUnavailable",
    "RerankParams",
    "SemanticRanking",
    "SemanticReranker",
    "Warmup",
    "extra_installed",
    "reranker_for",
]

log = logging.getLogger(__name__)
_shared: dict[tuple[object, ...], SemanticReranker] = {}
_lock = threading.Lock()
_said_off: list[bool] = []  # the "reranker off" line is logged once per process


def reranker_for(settings: Settings) -> SemanticReranker | None:
    """The reranker the settings ask for, or None for the lexical pipeline.

    Raises :class:`SettingsError` (one line) when ``semantic`` is asked for and cannot load.
    One model per process: Desks and folder indexes with the same settings share it.
    """
    choice = settings.reranker
    if choice == "lexical":
        return None
    if choice == "auto" and not extra_installed():
        with _lock:
            if not _said_off:
                log.info(
                    "semantic reranker off: the 'semantic' extra is not installed (pip "
                    "install 'newsdesk[semantic]'); answering with BM25 only"
                )
                _said_off.append(True)
        return None
    key = (
        settings.embeddings_dir.resolve(),
        settings.semantic_weight,
        settings.semantic_depth,
        settings.semantic_precompute_max,
        settings.semantic_threads,
    )
    with _lock:
        if key in _shared:
            return _shared[key]
        try:
            from index.semantic.cache import EmbeddingCache
            from index.semantic.model import DIMENSION, MODEL_ID, Encoder

            encoder = Encoder(settings.semantic_threads)
            cache = EmbeddingCache(settings.embeddings_dir / MODEL_ID, DIMENSION)
        except ModelUnavailable as exc:
            raise SettingsError(f"NEWSDESK_RERANKER={choice}: the semantic model: {exc}") from None
        reranker = SemanticReranker(
            encoder,
            cache,
            RerankParams(
                weight=settings.semantic_weight,
                depth=settings.semantic_depth,
                precompute_max=settings.semantic_precompute_max,
            ),
        )
        _shared[key] = reranker
        log.info("semantic reranker on: %s", reranker.description)
        return reranker
