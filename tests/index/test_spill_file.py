"""Unnamed build files: mapped back as written, copied whole, checksummed right."""

from __future__ import annotations

import os
import zlib
from pathlib import Path

import numpy as np
import pytest

from index.spill_file import SpillFile


@pytest.mark.parametrize("kernel_copy", [True, False])
def test_a_spill_file_maps_and_copies_what_was_written(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, kernel_copy: bool
) -> None:
    if not kernel_copy:

        def no_sendfile(*_: object) -> int:
            raise OSError("not between files here")

        monkeypatch.setattr(os, "sendfile", no_sendfile)
    values = np.arange(300_000, dtype=np.int32) * 7
    spill = SpillFile()
    spill.write(values[:100_000])
    spill.write(values[100_000:])
    assert np.array_equal(spill.array(np.int32, values.shape[0]), values)
    with pytest.raises(ValueError, match="holds"):
        spill.array(np.int32, 5)
    crc = spill.copy_to(tmp_path / "copy.bin")
    data = (tmp_path / "copy.bin").read_bytes()
    assert data == values.astype("<i4").tobytes()
    assert crc == zlib.crc32(data)


def test_an_empty_spill_file_gives_empty_results(tmp_path: Path) -> None:
    spill = SpillFile()
    assert spill.array(np.uint16, 0).shape == (0,)
    assert spill.buffer() == b""
    assert spill.copy_to(tmp_path / "empty.bin") == zlib.crc32(b"")
    assert (tmp_path / "empty.bin").read_bytes() == b""
