"""A build laid out on worker processes gives exactly the index of a serial build."""

from __future__ import annotations

import pytest
from testpaths import FIXTURES, SEEDS

import index.build_pool as build_pool
import index.engine as engine_module
from index.articles import load_folder
from index.engine import Engine, EngineParams
from index.records import Article

QUESTIONS = [
    "How much did the bridge repair cost?",
    "When did the missile attacks occur?",
    "How many steel cables were replaced?",
    "Who credited a warm spring?",
]


def articles() -> list[Article]:
    found = load_folder(SEEDS)[0] + load_folder(FIXTURES / "articles")[0]
    assert len(found) >= 3, "seed and fixture articles are needed for this test"
    return found


def build(monkeypatch: pytest.MonkeyPatch, workers: int) -> Engine:
    monkeypatch.setattr(engine_module, "BUILD_BATCH", 1)
    monkeypatch.setattr(engine_module, "build_workers", lambda: workers)
    monkeypatch.setattr(engine_module, "_lone_thread", lambda: True)  # pytest may run threads
    monkeypatch.setattr(build_pool, "MIN_BATCHES", 1)
    return Engine.build(articles(), EngineParams())


def test_parallel_build_equals_serial_build(monkeypatch: pytest.MonkeyPatch) -> None:
    if "fork" not in build_pool.multiprocessing.get_all_start_methods():
        pytest.skip("worker processes are forked; this platform cannot fork")
    serial = build(monkeypatch, 0)
    parallel = build(monkeypatch, 2)
    assert len(parallel._segments) == len(serial._segments) == 1  # batches joined
    for a, b in zip(serial._segments, parallel._segments, strict=True):
        assert (a.first_passage, a.first_sentence) == (b.first_passage, b.first_sentence)
        assert a.articles == b.articles
        assert bytes(a.blob) == bytes(b.blob)
        for key, array in a.arrays.items():
            assert array.tolist() == b.arrays[key].tolist(), key
    assert serial.fingerprint() == parallel.fingerprint()
    for question in QUESTIONS:
        assert serial.ask(question).to_json() == parallel.ask(question).to_json()
