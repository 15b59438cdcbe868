"""Anonymous temporary files that hold the big arrays of a fresh build.

A build's results (postings, forward terms, the corpus text) are written to files as they
are produced and memory-mapped, so they occupy page cache rather than the building
process's memory, and pages come in only when read. Saving copies a file with
``os.sendfile`` and checksums it with plain reads, so even a save never maps the whole
thing. The files have no name (deleted at creation, or when closed where the platform
cannot create them unnamed): nothing is left behind, whatever happens to the process.
"""

from __future__ import annotations

import mmap
import os
import tempfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from index.durable import CHUNK


class SpillFile:
    """An unnamed temporary file: appended to, then mapped as an array or a byte buffer."""

    def __init__(self) -> None:
        self._handle = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as its maps
        self.size = 0

    def write(self, data: bytes | bytearray | mmap.mmap | memoryview | npt.NDArray[Any]) -> None:
        """Append ``data`` (an array is written in little-endian machine layout)."""
        view = np.ascontiguousarray(data).data if isinstance(data, np.ndarray) else memoryview(data)
        self._handle.write(view.cast("B"))
        self.size += view.nbytes

    def array(self, dtype: type[np.generic], count: int) -> npt.NDArray[Any]:
        """The file as ``count`` items of ``dtype`` (copy-on-write map, like a loaded index)."""
        self._handle.flush()
        if count * np.dtype(dtype).itemsize != self.size:
            raise ValueError(f"spill file holds {self.size} bytes, not {count} x {dtype}")
        if count == 0:
            return np.zeros(0, dtype=dtype)
        return np.asarray(np.memmap(self._handle, dtype=dtype, mode="c", shape=(count,)))

    def buffer(self) -> bytes | mmap.mmap:
        """The file as read-only bytes."""
        self._handle.flush()
        if self.size == 0:
            return b""
        return mmap.mmap(self._handle.fileno(), 0, access=mmap.ACCESS_READ)

    def copy_to(self, path: Path) -> int:
        """Write the file's bytes to ``path`` durably (no mapping); returns their CRC-32."""
        self._handle.flush()
        source = self._handle.fileno()
        with open(path, "wb") as out:
            try:
                _send(out.fileno(), source, self.size)
            except OSError:  # sendfile between files is Linux's; copy through a buffer
                out.seek(0)
                out.truncate()
                for offset in range(0, self.size, CHUNK):
                    out.write(os.pread(source, min(CHUNK, self.size - offset), offset))
            out.flush()
            os.fsync(out.fileno())
        crc = 0
        offset = 0
        while offset < self.size:
            chunk = os.pread(source, min(CHUNK, self.size - offset), offset)
            crc = zlib.crc32(chunk, crc)
            offset += len(chunk)
        return crc


def _send(target: int, source: int, size: int) -> None:
    """Copy ``size`` bytes from the start of ``source`` to ``target`` inside the kernel."""
    offset = 0
    while offset < size:
        sent = os.sendfile(target, source, offset, size - offset)
        if sent == 0:
            raise OSError("sendfile copied nothing")
        offset += sent
