"""``newsdesk ask`` and ``newsdesk eval`` run as real subprocesses (FORMATS section 3)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from testpaths import FIXTURES, SEEDS

ANSWER_KEYS = {"sentence", "article_id", "title", "source", "paragraph", "score"}
EVAL_KEYS = {
    "questions",
    "answerable",
    "unanswerable",
    "p_at_1",
    "mrr_at_10",
    "recall_at_10",
    "no_answer_accuracy",
    "latency_ms_p50",
    "latency_ms_p99",
    "failures",
}


def newsdesk(*args: str, data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
    clean.update({"NEWSDESK_DATA_DIR": str(data_dir), "NEWSDESK_ARTICLES_DIR": str(SEEDS), **env})
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        capture_output=True,
        text=True,
        env=clean,
        cwd=data_dir.parent,
        timeout=300,
    )


def configured_state(data_dir: Path) -> dict[str, str]:
    """A digest of every file under ``data_dir`` except the ``--articles`` cache."""
    digests: dict[str, str] = {}
    for path in sorted(p for p in data_dir.rglob("*") if p.is_file()):
        relative = path.relative_to(data_dir)
        if relative.parts[0] != "cache":
            digests[str(relative)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def test_ask_json_answers_with_the_contract_shape(data_dir: Path) -> None:
    run = newsdesk("ask", "When did the missile attacks occur?", "--json", data_dir=data_dir)
    assert run.returncode == 0, run.stderr
    reply = json.loads(run.stdout)
    assert reply["question"] == "When did the missile attacks occur?"
    assert set(reply["answer"]) >= ANSWER_KEYS
    assert "December 30, 2023, and January 2, 2024" in reply["answer"]["sentence"]
    assert reply["answer"]["article_id"] == "000_6b510e1d415c7192"
    assert reply["answer"]["source"] == "ICARO Media Group"
    assert isinstance(reply["answer"]["paragraph"], int)
    assert isinstance(reply["alternatives"], list)
    assert all(set(alt) >= ANSWER_KEYS for alt in reply["alternatives"])


def test_ask_declines_with_null_answer(data_dir: Path) -> None:
    run = newsdesk("ask", "What is the capital of France?", "--json", data_dir=data_dir)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["answer"] is None


def test_ask_plain_output_is_sentence_then_attribution(data_dir: Path) -> None:
    run = newsdesk(
        "ask",
        "How much did the bridge repair cost?",
        "--articles",
        str(FIXTURES / "articles"),
        data_dir=data_dir,
    )
    assert run.returncode == 0, run.stderr
    lines = run.stdout.strip().splitlines()
    assert "48 million euros" in lines[0]
    assert lines[1] == "- Harbour bridge reopens after two-year repair, Coastal Herald, 2024-03-14"


def test_articles_option_leaves_the_configured_store_and_index_alone(data_dir: Path) -> None:
    assert newsdesk("ask", "missiles", data_dir=data_dir).returncode == 0
    before = configured_state(data_dir)
    assert before, "the configured store and index exist"
    run = newsdesk(
        "eval",
        str(FIXTURES / "questions.jsonl"),
        "--articles",
        str(FIXTURES / "articles"),
        "--json",
        data_dir=data_dir,
    )
    assert run.returncode == 0, run.stderr
    assert configured_state(data_dir) == before
    assert (data_dir / "cache").is_dir()


def test_articles_option_works_without_any_configured_state(data_dir: Path) -> None:
    run = newsdesk(
        "ask",
        "How many steel cables were replaced?",
        "--articles",
        str(FIXTURES / "articles"),
        "--json",
        data_dir=data_dir,
    )
    assert run.returncode == 0, run.stderr
    assert "312 steel cables" in json.loads(run.stdout)["answer"]["sentence"]
    assert not (data_dir / "newsdesk.sqlite3").exists()


def test_eval_json_has_the_contract_fields(data_dir: Path) -> None:
    run = newsdesk(
        "eval",
        str(FIXTURES / "questions.jsonl"),
        "--articles",
        str(FIXTURES / "articles"),
        "--json",
        data_dir=data_dir,
    )
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert set(report) >= EVAL_KEYS
    assert (report["questions"], report["answerable"], report["unanswerable"]) == (10, 8, 2)
    assert 0.0 <= report["p_at_1"] <= 1.0
    assert isinstance(report["failures"], list)


def test_eval_on_the_configured_corpus(data_dir: Path, tmp_path: Path) -> None:
    fixture = tmp_path / "seed.jsonl"
    fixture.write_text(
        '{"id": "s1", "question": "When did the missile attacks occur?", '
        '"expect": ["December 30, 2023"], "article": "000_6b510e1d415c7192"}\n'
    )
    run = newsdesk("eval", str(fixture), "--json", data_dir=data_dir)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["p_at_1"] == 1.0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        ('{"id": "1", "question": "Q?", "expect": []}\n{oops\n', ":2: not valid JSON"),
        ('{"id": "1", "expect": []}\n', ":1: missing question"),
    ],
)
def test_eval_bad_input_exits_non_zero_with_a_clear_line(
    data_dir: Path, tmp_path: Path, content: str | None, message: str
) -> None:
    fixture = tmp_path / "questions.jsonl"
    if content is not None:
        fixture.write_text(content)
    run = newsdesk("eval", str(fixture), "--articles", str(SEEDS), data_dir=data_dir)
    assert run.returncode != 0
    assert message in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    assert run.stdout == ""


def test_missing_articles_folder_is_a_clear_error(data_dir: Path, tmp_path: Path) -> None:
    run = newsdesk("ask", "anything", "--articles", str(tmp_path / "nope"), data_dir=data_dir)
    assert run.returncode == 2
    assert "no such folder" in run.stderr


def test_refused_article_files_are_reported_and_the_rest_answer(data_dir: Path) -> None:
    run = newsdesk(
        "ask",
        "What is the only paragraph?",
        "--articles",
        str(FIXTURES / "bad_articles"),
        "--json",
        data_dir=data_dir,
    )
    assert run.returncode == 0, run.stderr
    assert "refused empty.txt: the file is empty" in run.stderr
    assert "refused unclosed.txt" in run.stderr


def test_invalid_setting_is_one_line_and_exit_2(data_dir: Path) -> None:
    run = newsdesk("ask", "x", data_dir=data_dir, NEWSDESK_BM25_K1="lots")
    assert run.returncode == 2
    assert run.stderr.strip().count("\n") == 0
    assert "NEWSDESK_BM25_K1" in run.stderr


def test_serve_without_token_exits_2_with_one_line(data_dir: Path) -> None:
    run = newsdesk("serve", data_dir=data_dir)
    assert run.returncode == 2
    assert "NEWSDESK_TELEGRAM_TOKEN" in run.stderr
    assert run.stderr.strip().count("\n") == 0
