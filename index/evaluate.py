"""Replay question fixtures (FORMATS section 2) and score the answers.

Metrics follow FORMATS section 3: P@1 over answerable questions (a decline is wrong),
MRR@10 and recall@10 over the answer followed by its alternatives, the share of unanswerable
questions declined, and per-question latency with the index already loaded.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from index.records import Answer, Response

RANK_DEPTH = 10


class FixtureError(ValueError):
    """A fixture file or line that is not valid; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class Question:
    """One fixture line."""

    id: str
    question: str
    expect: tuple[str, ...]
    article: str | None = None
    paragraph: int | None = None

    @property
    def answerable(self) -> bool:
        return bool(self.expect)


def _fold(text: str) -> str:
    return " ".join(text.casefold().split())


def load_questions(path: Path) -> list[Question]:
    """Read a JSON Lines fixture file; raise :class:`FixtureError` on the first bad line."""
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FixtureError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FixtureError(f"{path}: cannot be read ({exc})") from None
    questions: list[Question] = []
    seen: set[str] = set()
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise FixtureError(f"{where}: not valid JSON ({exc.msg})") from None
        if not isinstance(item, dict):
            raise FixtureError(f"{where}: a line must be a JSON object")
        missing = [key for key in ("id", "question", "expect") if key not in item]
        if missing:
            raise FixtureError(f"{where}: missing {', '.join(missing)}")
        qid, text, expect = item["id"], item["question"], item["expect"]
        if not isinstance(qid, str) or not qid:
            raise FixtureError(f"{where}: 'id' must be a non-empty string")
        if qid in seen:
            raise FixtureError(f"{where}: duplicate id {qid!r}")
        if not isinstance(text, str):
            raise FixtureError(f"{where}: 'question' must be a string")
        if not isinstance(expect, list) or not all(isinstance(e, str) for e in expect):
            raise FixtureError(f"{where}: 'expect' must be a list of strings")
        article = item.get("article")
        paragraph = item.get("paragraph")
        if article is not None and not isinstance(article, str):
            raise FixtureError(f"{where}: 'article' must be a string")
        if paragraph is not None and (
            not isinstance(paragraph, int) or isinstance(paragraph, bool) or article is None
        ):
            raise FixtureError(f"{where}: 'paragraph' must be an integer and needs 'article'")
        seen.add(qid)
        questions.append(Question(qid, text, tuple(expect), article, paragraph))
    return questions


def is_correct(question: Question, answer: Answer) -> bool:
    """Whether ``answer`` satisfies the fixture (text, and article/paragraph when given)."""
    sentence = _fold(answer.sentence)
    if not any(_fold(expected) in sentence for expected in question.expect):
        return False
    if question.article is not None and answer.article_id != question.article:
        return False
    return question.paragraph is None or answer.paragraph == question.paragraph


@dataclass
class Report:
    """What ``newsdesk eval --json`` prints."""

    questions: int = 0
    answerable: int = 0
    unanswerable: int = 0
    p_at_1: float | None = None
    mrr_at_10: float | None = None
    recall_at_10: float | None = None
    no_answer_accuracy: float | None = None
    latency_ms_p50: float | None = None
    latency_ms_p99: float | None = None
    failures: list[str] = field(default_factory=list)
    pipeline: str = "bm25"
    mean_answer_chars: float | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "questions": self.questions,
            "answerable": self.answerable,
            "unanswerable": self.unanswerable,
            "p_at_1": _round(self.p_at_1),
            "mrr_at_10": _round(self.mrr_at_10),
            "recall_at_10": _round(self.recall_at_10),
            "no_answer_accuracy": _round(self.no_answer_accuracy),
            "latency_ms_p50": _round(self.latency_ms_p50),
            "latency_ms_p99": _round(self.latency_ms_p99),
            "failures": self.failures,
            "pipeline": self.pipeline,
            "mean_answer_chars": _round(self.mean_answer_chars),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(share * (len(ordered) - 1))))
    return ordered[rank]


def evaluate(
    questions: Sequence[Question], ask: Callable[[str], Response], pipeline: str = "bm25"
) -> Report:
    """Ask every question and score the replies."""
    report = Report(questions=len(questions), pipeline=pipeline)
    hits = reciprocal = recalled = declined = 0.0
    latencies: list[float] = []
    answer_chars: list[int] = []
    warm_up = next((q.question for q in questions if any(c.isalnum() for c in q.question)), None)
    if warm_up is not None:
        ask(warm_up)  # warm caches and compiled kernels: latency is measured with the index ready
    for question in questions:
        start = time.perf_counter()
        response = ask(question.question)
        latencies.append((time.perf_counter() - start) * 1000.0)
        report.pipeline = response.pipeline  # which pipeline answered (lexical or semantic)
        if response.answer is not None:
            answer_chars.append(len(response.answer.sentence))
        if not question.answerable:
            report.unanswerable += 1
            if response.answer is None:
                declined += 1
            else:
                report.failures.append(question.id)
            continue
        report.answerable += 1
        if response.answer is not None and is_correct(question, response.answer):
            hits += 1
        else:
            report.failures.append(question.id)
        for rank, candidate in enumerate(response.ranked[:RANK_DEPTH], start=1):
            if is_correct(question, candidate):
                reciprocal += 1.0 / rank
                recalled += 1
                break
    if report.answerable:
        report.p_at_1 = hits / report.answerable
        report.mrr_at_10 = reciprocal / report.answerable
        report.recall_at_10 = recalled / report.answerable
    if report.unanswerable:
        report.no_answer_accuracy = declined / report.unanswerable
    if latencies:
        report.latency_ms_p50 = statistics.median(latencies)
        report.latency_ms_p99 = _percentile(latencies, 0.99)
    if answer_chars:
        report.mean_answer_chars = statistics.fmean(answer_chars)
    return report
