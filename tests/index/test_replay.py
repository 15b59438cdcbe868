"""Replay question fixtures through the engine and hold it to the issue's quality bars.

The bars are floors measured with ``newsdesk eval``; a change that drops below one fails here.
The SQuAD and BBC sets live in ``../shared`` (never in this repository) and are skipped with a
reason where that folder is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from testpaths import FIXTURES, SEEDS, shared_path

from index.engine import EngineParams
from index.evaluate import Report, evaluate, load_questions
from index.folder_cache import open_folder


def replay(articles: Path, questions: Path, cache: Path) -> Report:
    folder = open_folder(articles, EngineParams(), cache)
    return evaluate(load_questions(questions), folder.engine.ask)


@pytest.fixture(scope="module")
def seed_plus_bbc(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of links: the seed article plus the BBC corpus (2,226 articles)."""
    bbc = shared_path("corpora", "bbc")
    folder = tmp_path_factory.mktemp("seed-plus-bbc")
    for source in [*SEEDS.glob("*.txt"), *bbc.glob("*.txt")]:
        os.symlink(source, folder / source.name)
    return folder


def test_seed_questions_on_the_seeds(tmp_path: Path) -> None:
    report = replay(SEEDS, shared_path("questions", "seed_dev.jsonl"), tmp_path)
    assert report.p_at_1 == 1.0, report.failures
    assert report.no_answer_accuracy == 1.0


def test_own_fixtures(tmp_path: Path) -> None:
    report = replay(FIXTURES / "articles", FIXTURES / "questions.jsonl", tmp_path)
    assert report.answerable == 8 and report.unanswerable == 2
    assert report.p_at_1 is not None and report.p_at_1 >= 0.75, report.failures
    assert report.recall_at_10 == 1.0
    assert report.no_answer_accuracy == 1.0


def test_seed_questions_among_the_bbc_corpus(seed_plus_bbc: Path, tmp_path: Path) -> None:
    report = replay(seed_plus_bbc, shared_path("questions", "seed_dev.jsonl"), tmp_path)
    assert report.p_at_1 is not None and report.p_at_1 >= 0.9, report.failures
    assert report.no_answer_accuracy is not None and report.no_answer_accuracy >= 0.66


def test_real_user_questions_on_bbc(seed_plus_bbc: Path, tmp_path: Path) -> None:
    report = replay(seed_plus_bbc, shared_path("questions", "bbc_dev.jsonl"), tmp_path)
    assert report.p_at_1 is not None and report.p_at_1 >= 0.45, report.failures
    assert report.no_answer_accuracy is not None and report.no_answer_accuracy >= 0.3


def test_squad_development_half(tmp_path: Path) -> None:
    report = replay(
        shared_path("corpora", "squad-dev-a"),
        shared_path("questions", "squad_dev_a.jsonl"),
        tmp_path,
    )
    assert report.questions == 5397
    assert report.p_at_1 is not None and report.p_at_1 >= 0.64
    assert report.mrr_at_10 is not None and report.mrr_at_10 >= 0.73
