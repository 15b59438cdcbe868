"""Fixture loading and the metrics of FORMATS section 3, on hand-computed cases."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.evaluate import FixtureError, Question, evaluate, is_correct, load_questions
from index.records import Answer, Response


def answer(sentence: str, article: str = "a", paragraph: int = 0) -> Answer:
    return Answer(
        sentence=sentence,
        score=1.0,
        article_id=article,
        title="T",
        source="S",
        paragraph=paragraph,
        sentence_index=0,
        paragraph_text=sentence,
    )


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "q.jsonl"
    path.write_text(text, encoding="utf-8")
    return path


def test_loads_valid_lines_and_skips_blank_ones(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '{"id": "1", "question": "Q?", "expect": ["x"], "article": "a", "paragraph": 2}\n\n'
        '{"id": "2", "question": "R?", "expect": []}\n',
    )
    questions = load_questions(path)
    assert questions == [
        Question("1", "Q?", ("x",), "a", 2),
        Question("2", "R?", (), None, None),
    ]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ('{"question": "Q?", "expect": []}', "missing id"),
        ('{"id": "1", "expect": []}', "missing question"),
        ('{"id": "1", "question": "Q?"}', "missing expect"),
        ('{"id": "1", "question": "Q?", "expect": "x"}', "'expect' must be a list"),
        ('{"id": 1, "question": "Q?", "expect": []}', "'id' must be"),
        ('{"id": "1", "question": "Q?", "expect": [], "paragraph": 1}', "needs 'article'"),
    ],
)
def test_invalid_lines_name_the_file_line_and_problem(
    tmp_path: Path, line: str, message: str
) -> None:
    path = write(tmp_path, '{"id": "0", "question": "ok?", "expect": []}\n' + line + "\n")
    with pytest.raises(FixtureError) as caught:
        load_questions(path)
    assert f"{path}:2" in str(caught.value)
    assert message in str(caught.value)


def test_duplicate_ids_are_invalid(tmp_path: Path) -> None:
    line = '{"id": "same", "question": "Q?", "expect": []}\n'
    with pytest.raises(FixtureError, match="duplicate id"):
        load_questions(write(tmp_path, line * 2))


def test_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(FixtureError, match="no such file"):
        load_questions(tmp_path / "absent.jsonl")


def test_correctness_folds_case_and_white_space_and_checks_the_source() -> None:
    q = Question("1", "Q?", ("Two  Thousand",), "a", 1)
    assert is_correct(q, answer("about two\tthousand boxes", "a", 1))
    assert not is_correct(q, answer("about two thousand boxes", "b", 1))
    assert not is_correct(q, answer("about two thousand boxes", "a", 0))
    assert not is_correct(q, answer("about three thousand", "a", 1))


def test_metrics_match_a_hand_computed_run() -> None:
    questions = [
        Question("hit", "q1", ("right",)),
        Question("second", "q2", ("right",)),
        Question("declined-but-listed", "q3", ("right",)),
        Question("miss", "q4", ("right",)),
        Question("none-ok", "q5", ()),
        Question("none-bad", "q6", ()),
    ]
    replies = {
        "q1": Response("q1", answer("right"), (answer("wrong"),)),
        "q2": Response("q2", answer("wrong"), (answer("right"),)),
        "q3": Response("q3", None, (answer("x"), answer("y"), answer("right"))),
        "q4": Response("q4", answer("wrong"), ()),
        "q5": Response("q5", None, ()),
        "q6": Response("q6", answer("anything"), ()),
    }
    report = evaluate(questions, lambda q: replies[q])
    assert (report.questions, report.answerable, report.unanswerable) == (6, 4, 2)
    assert report.p_at_1 == pytest.approx(1 / 4)
    assert report.mrr_at_10 == pytest.approx((1 + 1 / 2 + 1 / 3 + 0) / 4)
    assert report.recall_at_10 == pytest.approx(3 / 4)
    assert report.no_answer_accuracy == pytest.approx(1 / 2)
    assert report.failures == ["second", "declined-but-listed", "miss", "none-bad"]
    assert report.latency_ms_p50 is not None and report.latency_ms_p99 is not None


def test_no_unanswerable_questions_gives_null_no_answer_accuracy() -> None:
    report = evaluate([Question("1", "q", ("x",))], lambda q: Response(q, answer("x"), ()))
    assert report.no_answer_accuracy is None
    assert report.to_json()["no_answer_accuracy"] is None
