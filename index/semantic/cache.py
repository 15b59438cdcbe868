"""Sentence embeddings kept on disk, keyed by the sentence's text.

A vector depends only on the text and the model, so the key is a 64-bit BLAKE2b digest of
the text and the store lives in a folder per model: the configured index, every ``--articles``
folder and every restart share it, a rebuild re-embeds only new sentences, and nothing ever
has to be invalidated. (At a million sentences the chance that two texts share a key is
about 3e-8.)

On disk the store is a folder of immutable segment files (keys, then float16 vectors, with a
CRC-32), each written aside and renamed into place, so a kill -9 leaves whole segments only
and several processes can add segments at once. Loading reads every segment (a corrupt or
vanished one is skipped with a log line: its sentences are simply embedded again). When
segments pile up they are merged into one; a merge keeps at most ``max(2 x live, FLOOR)``
vectors, dropping those of sentences no longer indexed first, which is how vectors of removed
articles are bounded.
"""

from __future__ import annotations

import hashlib
import logging
import os
import struct
import threading
import uuid
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from index.durable import fsync_dir, write_file

log = logging.getLogger(__name__)

MAGIC = b"NDEMB001"
HEADER = struct.Struct("<8sQII")  # magic, count, dimension, CRC-32 of the payload
SUFFIX = ".emb"
MAX_SEGMENTS = 16  # more than this and the next flush merges them
FLUSH_EVERY = 2048  # vectors computed on demand are written once this many are pending
FLOOR = 100_000  # a merge never drops vectors while the store holds fewer than this

Keys = npt.NDArray[np.uint64]


def as_stored(vectors: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """``vectors`` at the precision the store keeps (float16), so an answer does not depend
    on whether a vector was just computed, pending, or read back from disk."""
    return np.asarray(vectors, dtype=np.float16).astype(np.float32)


def text_key(text: str) -> int:
    """The 64-bit content key of a sentence."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")


def keys_of(texts: Iterable[str]) -> Keys:
    """Content keys of many sentences."""
    return np.fromiter((text_key(t) for t in texts), dtype=np.uint64)


class EmbeddingCache:
    """An on-disk, content-keyed store of unit vectors (thread-safe)."""

    def __init__(self, folder: Path, dimension: int) -> None:
        self.folder = folder
        self.dimension = dimension
        self._lock = threading.Lock()
        self._keys: Keys = np.zeros(0, dtype=np.uint64)  # sorted
        self._vecs = np.zeros((0, dimension), dtype=np.float16)
        self._pending: dict[int, npt.NDArray[np.float32]] = {}
        self._files: list[Path] = []  # segments the in-memory arrays came from
        self._live: Keys | None = None  # keys of the sentences last reported indexed
        self._load()

    def __len__(self) -> int:
        return int(self._keys.shape[0]) + len(self._pending)

    # --- reading ------------------------------------------------------------------------------
    def _load(self) -> None:
        if not self.folder.is_dir():
            return
        keys: list[Keys] = []
        vecs: list[npt.NDArray[np.float16]] = []
        for path in sorted(self.folder.glob(f"seg-*{SUFFIX}")):
            try:
                k, v = _read_segment(path, self.dimension)
            except FileNotFoundError:
                continue  # merged away by another process since the listing
            except (OSError, ValueError) as exc:
                log.warning(
                    "embedding segment %s skipped (%s); its sentences are re-embedded",
                    path.name,
                    exc,
                )
                continue
            keys.append(k)
            vecs.append(v)
            self._files.append(path)
        if keys:
            self._keys, self._vecs = _sorted_unique(np.concatenate(keys), np.concatenate(vecs))

    def lookup(self, keys: Keys) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.float32]]:
        """(found mask, vectors) for ``keys``; rows of missing keys are zero."""
        out = np.zeros((keys.shape[0], self.dimension), dtype=np.float32)
        with self._lock:
            found = np.zeros(keys.shape[0], dtype=bool)
            if self._keys.size:
                at = np.minimum(np.searchsorted(self._keys, keys), self._keys.size - 1)
                found = self._keys[at] == keys
                out[found] = self._vecs[at[found]]
            if self._pending:
                for i in np.flatnonzero(~found).tolist():
                    vec = self._pending.get(int(keys[i]))
                    if vec is not None:
                        out[i] = vec
                        found[i] = True
        return found, out

    def missing(self, keys: Keys) -> Keys:
        """The distinct keys of ``keys`` that have no vector yet."""
        found, _ = self.lookup(keys)
        return np.unique(keys[~found])

    # --- writing ------------------------------------------------------------------------------
    def put(self, keys: Keys, vectors: npt.NDArray[np.float32], *, flush: bool = False) -> None:
        """Remember vectors; they reach the disk at the next :meth:`flush` (or when many)."""
        with self._lock:
            for key, vec in zip(keys.tolist(), as_stored(vectors), strict=True):
                self._pending[int(key)] = vec
            due = flush or len(self._pending) >= FLUSH_EVERY
        if due:
            self.flush()

    def flush(self, live: Keys | None = None) -> None:
        """Write pending vectors as a new segment; merge segments when there are many.

        ``live`` (the keys of the sentences now indexed, remembered for later merges) lets a
        merge drop other vectors first when the store has grown past its bound.
        """
        with self._lock:
            if live is not None:
                self._live = live
            if self._pending:
                keys = np.fromiter(self._pending, dtype=np.uint64, count=len(self._pending))
                vecs = np.stack(list(self._pending.values())).astype(np.float16)
                self._pending = {}
                path = self._write(keys, vecs)
                if path is not None:
                    self._files.append(path)
                self._keys, self._vecs = _sorted_unique(
                    np.concatenate((self._keys, keys)), np.concatenate((self._vecs, vecs))
                )
            if len(self._files) > MAX_SEGMENTS:
                self._merge(self._live)

    def _merge(self, live: Keys | None) -> None:
        keys, vecs = self._keys, self._vecs
        bound = max(2 * (live.shape[0] if live is not None else 0), FLOOR)
        if live is not None and keys.shape[0] > bound:
            keep = np.isin(keys, live)
            keys, vecs = keys[keep], vecs[keep]
        path = self._write(keys, vecs)
        if path is None:
            return
        for old in self._files:
            old.unlink(missing_ok=True)
        self._files = [path]
        self._keys, self._vecs = keys, vecs
        log.info("embedding store merged into one segment of %d vectors", keys.shape[0])

    def _write(self, keys: Keys, vecs: npt.NDArray[np.float16]) -> Path | None:
        """Write one segment aside and rename it into place; None if the disk refused."""
        payload = keys.astype("<u8").tobytes() + vecs.astype("<f2").tobytes()
        header = HEADER.pack(MAGIC, keys.shape[0], self.dimension, zlib.crc32(payload))
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            name = f"seg-{uuid.uuid4().hex[:16]}{SUFFIX}"
            tmp = self.folder / f".{name}.{os.getpid()}.tmp"
            write_file(tmp, header + payload)
            os.replace(tmp, self.folder / name)
            fsync_dir(self.folder)
        except OSError as exc:
            log.warning("could not save sentence embeddings in %s (%s)", self.folder, exc)
            return None
        return self.folder / name


def _read_segment(path: Path, dimension: int) -> tuple[Keys, npt.NDArray[np.float16]]:
    data = path.read_bytes()
    if len(data) < HEADER.size:
        raise ValueError("truncated")
    magic, count, dim, crc = HEADER.unpack_from(data)
    payload = memoryview(data)[HEADER.size :]
    if magic != MAGIC or dim != dimension:
        raise ValueError("not an embedding segment of this model")
    if len(payload) != count * (8 + 2 * dim) or zlib.crc32(payload) != crc:
        raise ValueError("checksum mismatch")
    keys = np.frombuffer(payload, dtype="<u8", count=count).astype(np.uint64)
    vecs = np.frombuffer(payload, dtype="<f2", offset=8 * count).reshape(count, dim)
    return keys, vecs.astype(np.float16)


def _sorted_unique(
    keys: Keys, vecs: npt.NDArray[np.float16]
) -> tuple[Keys, npt.NDArray[np.float16]]:
    order = np.argsort(keys, kind="stable")
    keys, vecs = keys[order], vecs[order]
    first = np.ones(keys.shape[0], dtype=bool)
    first[1:] = keys[1:] != keys[:-1]
    return keys[first], vecs[first]


def article_sentence_texts(paragraphs: Sequence[str]) -> list[str]:
    """The sentences the engine indexes for these paragraphs (same folding and spans)."""
    from index.text import sentence_spans

    texts: list[str] = []
    for paragraph in paragraphs:
        text = " ".join(paragraph.split())
        if not text:
            continue
        texts.extend(text[b:e] for b, e in (sentence_spans(text) or [(0, len(text))]))
    return texts
