"""The same questions over the same articles get the same answers on both backends.

Each fixture set is replayed on the embedded index and on two Sphinx shards, question by
question: the answer or the decline, every alternative (sentence, article, paragraph), the
scores (to 1e-9) and the confidence must all agree.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.searchd import Searchd
from bench.shards import load_articles, replay
from index.backends import SphinxBackend
from index.engine import Engine, EngineParams
from index.evaluate import load_questions
from tests.testpaths import FIXTURES, SEEDS, shared_path


def _replay(folder: Path, questions: Path, shards: list[Searchd]) -> None:
    articles = load_articles(folder)
    params = EngineParams()
    embedded = Engine.build(articles, params)
    sharded = SphinxBackend(params, tuple(s.address for s in shards), 5.0).build(articles)
    fixture = load_questions(questions)
    result = replay(questions.name, fixture, embedded.ask, sharded.ask)
    assert result.partial == 0
    assert result.differing == []
    assert result.identical == result.questions == len(fixture) > 0


def test_fixture_questions(shards: list[Searchd]) -> None:
    _replay(FIXTURES / "articles", FIXTURES / "questions.jsonl", shards)


@pytest.mark.needs_shared
def test_seed_questions(shards: list[Searchd]) -> None:
    _replay(SEEDS, shared_path("questions", "seed_dev.jsonl"), shards)


@pytest.mark.needs_shared
def test_bbc_questions_on_seed_and_bbc(shards: list[Searchd], tmp_path: Path) -> None:
    bbc = shared_path("corpora", "bbc")
    folder = tmp_path / "bbcplus"
    folder.mkdir()
    for source in (*bbc.glob("*.txt"), *SEEDS.glob("*.txt")):
        (folder / source.name).symlink_to(source)
    _replay(folder, shared_path("questions", "bbc_dev.jsonl"), shards)
