"""Replay the question fixtures through the semantic pipeline and hold it to issue 7's bars.

The bars are floors measured with ``newsdesk eval --json`` (reranker on). SQuAD and BBC live
in ``../shared`` and are skipped with a reason where it is absent. On BBC the sentences are
embedded on demand (only the candidates of the 50 questions, not the 40,000 sentences of the
corpus: the same vectors, so the same scores, in seconds instead of minutes on 2 cores).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from testpaths import SEEDS, shared_path

from config import load_settings
from index.engine import EngineParams
from index.evaluate import Report, evaluate, load_questions
from index.folder_cache import open_folder
from index.semantic import reranker_for
from index.semantic.model import extra_installed

pytestmark = pytest.mark.skipif(
    not extra_installed(), reason="the 'semantic' extra is not installed"
)


def replay(articles: Path, questions: Path, data: Path, **settings: object) -> Report:
    config = load_settings(data_dir=data, reranker="semantic", **settings)
    reranker = reranker_for(config)
    assert reranker is not None
    folder = open_folder(
        articles, EngineParams.from_settings(config), config.cache_dir, reranker=reranker
    )
    report = evaluate(load_questions(questions), folder.engine.ask)
    assert report.pipeline == "bm25+semantic"
    return report


def test_seed_questions_on_the_seeds(tmp_path: Path) -> None:
    report = replay(SEEDS, shared_path("questions", "seed_dev.jsonl"), tmp_path)
    assert report.p_at_1 == 1.0, report.failures
    assert report.no_answer_accuracy == 1.0


def test_real_user_questions_on_seed_plus_bbc(tmp_path: Path) -> None:
    bbc = shared_path("corpora", "bbc")
    folder = tmp_path / "seed-plus-bbc"
    folder.mkdir()
    for source in [*SEEDS.glob("*.txt"), *bbc.glob("*.txt")]:
        os.symlink(source, folder / source.name)
    report = replay(
        folder,
        shared_path("questions", "bbc_dev.jsonl"),
        tmp_path / "data",
        semantic_precompute_max=0,
    )
    assert report.p_at_1 is not None and report.p_at_1 >= 0.60, report.failures
    assert report.no_answer_accuracy is not None and report.no_answer_accuracy >= 0.5


def test_squad_development_half(tmp_path: Path) -> None:
    report = replay(
        shared_path("corpora", "squad-dev-a"),
        shared_path("questions", "squad_dev_a.jsonl"),
        tmp_path,
    )
    assert report.questions == 5397
    assert report.p_at_1 is not None and report.p_at_1 >= 0.69
    assert report.mrr_at_10 is not None and report.mrr_at_10 >= 0.78
