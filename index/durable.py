"""Small helpers for writes that survive a crash: fsynced files, directories and renames.

Every on-disk structure of Newsdesk (engine segments, BM25 segments, manifests, the swapped
index link) is written the same way: new files are written and fsynced, then a manifest or
link is replaced with one ``rename``, then the directory is fsynced so the rename itself is
durable. A kill -9 at any moment leaves the old state or the new one.
"""

from __future__ import annotations

import json
import os
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from index.errors import IndexCorrupt, IndexMissing

CHUNK = 1 << 22


def fsync_dir(directory: Path) -> None:
    """Make the directory's entries (new files, renames) durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_file(path: Path, data: bytes | memoryview) -> int:
    """Write ``data`` to ``path`` and fsync it; returns its CRC-32."""
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    return zlib.crc32(data)


def write_chunks(path: Path, chunks: Iterable[bytes]) -> int:
    """:func:`write_file` for data made a piece at a time (never all in memory at once)."""
    crc = 0
    with open(path, "wb") as handle:
        for chunk in chunks:
            handle.write(chunk)
            crc = zlib.crc32(chunk, crc)
        handle.flush()
        os.fsync(handle.fileno())
    return crc


def replace_file(path: Path, data: bytes) -> None:
    """Atomically replace ``path`` with ``data``: write aside, fsync, rename, fsync the folder."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    write_file(tmp, data)
    os.replace(tmp, path)
    fsync_dir(path.parent)


def file_crc32(path: Path) -> int:
    """CRC-32 of a file: catches torn and flipped bytes at memory speed."""
    value = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            value = zlib.crc32(chunk, value)
    return value


def read_json_object(path: Path, missing: str) -> dict[str, Any]:
    """Read a JSON object written by :func:`replace_file` (a manifest, a saved state):
    IndexMissing with ``missing`` when absent, IndexCorrupt when unreadable or not an object."""
    if not path.exists():
        raise IndexMissing(missing)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexCorrupt(f"{path} cannot be read: {exc}") from None
    if not isinstance(data, dict):
        raise IndexCorrupt(f"{path} is not a JSON object")
    return data
