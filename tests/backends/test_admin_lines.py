"""What admins and users are shown about the sharded backend (pure formatting)."""

from __future__ import annotations

from bot.admin import _backend_lines, outcome_text
from bot.format import PARTIAL_NOTE, reply_text
from index.records import AddOutcome, Answer, Response


def test_stats_lines_name_dead_shards_partial_answers_and_write_errors() -> None:
    assert _backend_lines({"backend": "embedded"}) == []
    lines = _backend_lines(
        {
            "backend": "sphinx",
            "shards": ["h1:9306", "h2:9306"],
            "shards_down": ["h2:9306"],
            "partial_answers": 3,
            "last_index_error": "search shard write failed (shard h2:9306: refused)",
            "stats_drift": True,
        }
    )
    text = "\n".join(lines)
    assert "1 of 2 shards answering (down: h2:9306)" in text
    assert "Partial answers since start: 3" in text
    assert "write failed (shard h2:9306" in text
    assert "/reindex" in text


def test_an_add_that_the_shards_missed_says_so() -> None:
    ok = AddOutcome("a.txt", True, "a", "Title", 2)
    assert "It can be asked about now." in outcome_text(ok)
    missed = AddOutcome("a.txt", True, "a", "Title", 2, index_error="shard h2:9306 is down")
    text = outcome_text(missed)
    assert "NOT yet searchable" in text and "h2:9306" in text
    assert "asked about now" not in text


def test_a_partial_answer_carries_one_line_and_a_json_flag() -> None:
    answer = Answer("It rained.", 1.0, "a", "Weather", None, 0, 0, "It rained.")
    full = Response("Did it rain?", answer)
    partial = Response("Did it rain?", answer, partial=True)
    assert PARTIAL_NOTE not in reply_text(full)
    assert PARTIAL_NOTE in reply_text(partial)
    assert "partial" not in full.to_json()
    assert partial.to_json()["partial"] is True
