"""The BM25 index on disk: round trip, damage and version detection, small incremental saves,
and a save that dies half way never replacing the good index."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import index.bm25_store as store
from index.bm25 import BM25Index, BM25Params
from index.errors import (
    IndexCorrupt,
    IndexMissing,
    IndexVersionMismatch,
    NewsdeskIndexError,
)

ROOT = Path(__file__).resolve().parents[2]
PARAMS = BM25Params()


def _docs(seed: int, n: int) -> list[list[str]]:
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(300)]
    weights = [1 / (i + 1) for i in range(300)]
    return [rng.choices(words, weights, k=rng.randint(0, 30)) for _ in range(n)]


QUERIES = [["w1", "w7"], ["w3"], ["w50", "w2", "w2"], ["w299", "nothing"], ["w0"]]


def _same(a: BM25Index, b: BM25Index) -> None:
    assert a.n_docs == b.n_docs and a.avgdl == b.avgdl
    for q in QUERIES:
        np.testing.assert_array_equal(a.get_scores(q), b.get_scores(q))
        for x, y in zip(a.top_k(q, 7), b.top_k(q, 7), strict=True):
            np.testing.assert_array_equal(x, y)
        assert a.idf(q[0]) == b.idf(q[0]) and a.doc_freq(q[0]) == b.doc_freq(q[0])


def _files(directory: Path) -> dict[str, int]:
    return {p.name: p.stat().st_size for p in directory.iterdir()}


def test_round_trip_with_adds_and_removes(tmp_path: Path) -> None:
    for params in (BM25Params(), BM25Params(variant="okapi")):
        index = BM25Index.build(_docs(1, 400), params)
        index.add(_docs(2, 30))
        index.remove([0, 5, 401])
        target = tmp_path / params.variant
        index.save(target)
        loaded = BM25Index.load(target, params)
        _same(index, loaded)
        # the loaded index keeps working: add and remove on top of memory-mapped segments
        for idx in (index, loaded):
            assert idx.add(_docs(3, 5)).tolist() == list(range(430, 435))
            idx.remove([7, 431])
        _same(index, loaded)
        loaded.save(target)
        _same(index, BM25Index.load(target, params))


def test_empty_index_round_trip(tmp_path: Path) -> None:
    BM25Index(PARAMS).save(tmp_path / "e")
    loaded = BM25Index.load(tmp_path / "e", PARAMS)
    assert loaded.n_docs == 0 and loaded.top_k(["a"], 3)[0].size == 0
    assert loaded.add([["a"]]).tolist() == [0]


def test_flipped_byte_in_any_file_is_detected(tmp_path: Path) -> None:
    index = BM25Index.build(_docs(4, 200), PARAMS)
    index.add(_docs(5, 10))
    index.remove([3])
    index.save(tmp_path / "good")
    for name, size in _files(tmp_path / "good").items():
        if size == 0:
            continue
        target = tmp_path / f"bad-{name}"
        target.mkdir()
        for f in (tmp_path / "good").iterdir():
            (target / f.name).write_bytes(f.read_bytes())
        data = bytearray((target / name).read_bytes())
        pos = random.Random(name).randrange(len(data))
        data[pos] ^= 0x40
        (target / name).write_bytes(bytes(data))
        with pytest.raises((IndexCorrupt, IndexVersionMismatch)) as info:
            BM25Index.load(target, PARAMS)
        assert str(target) in str(info.value) or name in str(info.value)


def test_truncated_file_is_corrupt(tmp_path: Path) -> None:
    BM25Index.build(_docs(6, 100), PARAMS).save(tmp_path)
    victim = max((p for p in tmp_path.iterdir()), key=lambda p: p.stat().st_size)
    victim.write_bytes(victim.read_bytes()[:-8])
    with pytest.raises(IndexCorrupt, match="bytes, expected"):
        BM25Index.load(tmp_path, PARAMS)


def test_other_version_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    BM25Index.build(_docs(7, 50), PARAMS).save(tmp_path)
    manifest = json.loads((tmp_path / store.MANIFEST).read_text())
    manifest["version"] = store.VERSION + 1
    body = {k: v for k, v in manifest.items() if k != "checksum"}
    manifest["checksum"] = store._checksum(body)
    (tmp_path / store.MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(IndexVersionMismatch, match=r"version 2.*reads version 1"):
        BM25Index.load(tmp_path, PARAMS)


def test_missing_directory_manifest_or_file(tmp_path: Path) -> None:
    with pytest.raises(IndexMissing, match="no index directory"):
        BM25Index.load(tmp_path / "nowhere", PARAMS)
    (tmp_path / "empty").mkdir()
    with pytest.raises(IndexMissing, match="no index manifest"):
        BM25Index.load(tmp_path / "empty", PARAMS)
    BM25Index.build(_docs(8, 50), PARAMS).save(tmp_path / "idx")
    next((tmp_path / "idx").glob("seg-*.post_docs.bin")).unlink()
    with pytest.raises(IndexMissing, match="index file missing") as info:
        BM25Index.load(tmp_path / "idx", PARAMS)
    assert isinstance(info.value, NewsdeskIndexError)


def test_garbage_manifest_is_corrupt(tmp_path: Path) -> None:
    BM25Index.build(_docs(9, 20), PARAMS).save(tmp_path)
    (tmp_path / store.MANIFEST).write_bytes(b"\x00{not json")
    with pytest.raises(IndexCorrupt, match="not valid JSON"):
        BM25Index.load(tmp_path, PARAMS)


def test_small_update_writes_a_small_delta(tmp_path: Path) -> None:
    """Adding or removing a few documents writes new small files; old files stay as they are."""
    index = BM25Index.build(_docs(10, 5_000), PARAMS)
    index.save(tmp_path)
    before = {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in tmp_path.iterdir()}
    base_bytes = sum(size for size, _ in before.values())
    index.add(_docs(11, 3))
    index.remove([17, 4_000])
    index.save(tmp_path)
    after = {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in tmp_path.iterdir()}
    new = {n: after[n][0] for n in after if n not in before or after[n] != before[n]}
    kept = [n for n in before if n.startswith("seg-")]  # the manifest and tombstones change
    assert kept and all(after.get(n) == before[n] for n in kept), "a base file was rewritten"
    written = sum(new.values())
    assert written < base_bytes / 50, (written, base_bytes, new)
    _same(index, BM25Index.load(tmp_path, PARAMS))


def test_deltas_merge_when_they_grow(tmp_path: Path) -> None:
    index = BM25Index.build(_docs(12, 200), PARAMS)
    for i in range(12):
        index.add(_docs(100 + i, 3))
    assert len(index._segments) <= 5  # base + at most four deltas
    for i in range(10):
        index.add(_docs(200 + i, 20))
    assert len(index._segments) <= 5
    index.save(tmp_path)
    names = {p.name.split(".")[0] for p in tmp_path.glob("seg-*")}
    assert len(names) == len(index._segments)  # unreferenced files were cleaned up
    _same(index, BM25Index.load(tmp_path, PARAMS))


def test_failed_save_keeps_the_previous_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = BM25Index.build(_docs(13, 300), PARAMS)
    index.save(tmp_path)
    good = BM25Index.load(tmp_path, PARAMS)
    index.add(_docs(14, 50))
    index.remove(range(0, 300, 3))

    def boom(src: object, dst: object) -> None:
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(store.os, "replace", boom)
    with pytest.raises(OSError, match="simulated"):
        index.save(tmp_path)
    monkeypatch.undo()
    _same(good, BM25Index.load(tmp_path, PARAMS))
    index.save(tmp_path)  # the next save succeeds and cleans the leftovers
    _same(index, BM25Index.load(tmp_path, PARAMS))
    assert not list(tmp_path.glob(f"{store.MANIFEST}.*"))


_SAVER = """
import random, sys
from pathlib import Path
from index.bm25 import BM25Index, BM25Params
target = Path(sys.argv[1])
rng = random.Random(0)
words = [f"w{i}" for i in range(3000)]
index = BM25Index.load(target, BM25Params())
print("ready", flush=True)
while True:
    index.add([rng.choices(words, k=40) for _ in range(rng.randint(1, 400))])
    index.remove(rng.sample(range(index._next_id), 5))
    index.save(target)
"""


def test_killed_mid_save_leaves_a_loadable_index(tmp_path: Path) -> None:
    """SIGKILL a process that keeps saving; every time, the index on disk must load."""
    BM25Index.build(_docs(15, 2_000), PARAMS).save(tmp_path)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    rng = random.Random(1)
    for _ in range(4):
        proc = subprocess.Popen(
            [sys.executable, "-c", _SAVER, str(tmp_path)],
            stdout=subprocess.PIPE,
            env=env,
            cwd=ROOT,
        )
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.05, 0.6))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        loaded = BM25Index.load(tmp_path, PARAMS)
        assert loaded.n_docs >= 2_000 - 100
        loaded.top_k(["w1", "w2"], 5)
