"""Formatting: escaping, limits, callback data, and the shape of replies."""

from __future__ import annotations

import html
import re

import pytest

from bot import format as fmt
from index.records import Answer, CorpusStats, Response

NASTY = 'AT&T <b>says</b> "x" > y & <script>alert(1)</script> 🎉'


def make_answer(**over: object) -> Answer:
    base: dict[str, object] = {
        "sentence": "The missile attacks occurred on December 30, 2023.",
        "score": 3.2,
        "article_id": "a1",
        "title": "Russia Fires Missiles",
        "source": "ICARO Media Group",
        "paragraph": 3,
        "sentence_index": 0,
        "paragraph_text": (
            "Intro text. The missile attacks occurred on December 30, 2023. More after."
        ),
        "published": "2024-01-05",
        "url": "https://example.com/a?x=1&y=2",
    }
    base.update(over)
    return Answer(**base)  # type: ignore[arg-type]


def well_formed(markup: str) -> None:
    """Every & is an entity, tags balance, only Telegram's tags appear."""
    assert re.search(r"&(?!(amp|lt|gt|quot|#x?[0-9a-fA-F]+);)", markup) is None, markup
    tags = re.findall(r"<(/?)([a-z-]+)[^>]*>", markup)
    stack: list[str] = []
    for closing, name in tags:
        assert name in {"b", "i", "a", "blockquote"}, name
        if closing:
            assert stack.pop() == name
        else:
            stack.append(name)
    assert not stack
    assert "<script" not in markup


def test_answer_text_quotes_sentence_and_attribution() -> None:
    resp = Response("q", make_answer(), (make_answer(sentence="Other."),))
    text = fmt.answer_text(resp, 0)
    well_formed(text)
    assert "<blockquote>The missile attacks occurred on December 30, 2023.</blockquote>" in text
    assert "<b>Russia Fires Missiles</b>" in text
    assert "ICARO Media Group · 5 Jan 2024" in text
    assert 'href="https://example.com/a?x=1&amp;y=2"' in text
    assert "Answer 1 of 2" in text
    assert "Answer 2 of 2" in fmt.answer_text(resp, 1)


def test_everything_from_articles_is_escaped() -> None:
    ans = make_answer(sentence=NASTY, title=NASTY, source=NASTY, paragraph_text=NASTY + " tail")
    resp = Response("q", ans, suggestions=(NASTY,))
    for text in (
        fmt.answer_text(resp, 0),
        fmt.context_text(resp, 0),
        fmt.declined_text(Response("q", None, suggestions=(NASTY,))),
    ):
        well_formed(text)
        assert "AT&amp;T &lt;b&gt;says&lt;/b&gt;" in text


def test_unsafe_url_is_not_linked() -> None:
    text = fmt.answer_text(Response("q", make_answer(url="javascript:alert(1)")), 0)
    assert "href" not in text


@pytest.mark.parametrize("size", [5000, 20000])
def test_huge_fields_stay_under_4096(size: int) -> None:
    long = ("word & <tag> " * size)[:size] + "🎉" * 500
    ans = make_answer(sentence=long, title=long, source=long, paragraph_text=long + long)
    resp = Response("q", ans, (ans,) * 3)
    for text in (fmt.answer_text(resp, 1, note=long), fmt.context_text(resp, 2)):
        well_formed(text)
        assert fmt.visible_len(text) <= fmt.MAX_MESSAGE
    declined = fmt.declined_text(Response("q", None, suggestions=(long,) * 10), note=long)
    assert fmt.visible_len(declined) <= fmt.MAX_MESSAGE


def test_context_marks_sentence_in_huge_paragraph() -> None:
    sentence = "Needle sentence is here."
    para = "x " * 5000 + sentence + " y" * 5000
    text = fmt.context_text(Response("q", make_answer(sentence=sentence, paragraph_text=para)))
    well_formed(text)
    assert f"<b>{sentence}</b>" in text
    assert fmt.visible_len(text) <= fmt.MAX_MESSAGE
    assert "…" in text


def test_context_marks_sentence_with_spacing_kept() -> None:
    ans = make_answer()
    text = fmt.context_text(Response("q", ans))
    assert (
        "Intro text. <b>The missile attacks occurred on December 30, 2023.</b> More after." in text
    )


def test_context_when_sentence_not_in_paragraph() -> None:
    text = fmt.context_text(Response("q", make_answer(paragraph_text="Something else entirely.")))
    well_formed(text)
    assert "<b>The missile attacks" in text and "Something else entirely." in text


def test_visible_len_counts_utf16() -> None:
    assert fmt.visible_len("<b>a&amp;b</b>") == 3
    assert fmt.visible_len("🎉") == 2


def test_callback_roundtrip_and_limits() -> None:
    data = fmt.encode_callback(fmt.ACTION_NEXT, "AbC-_123", 7)
    assert len(data.encode()) <= 64
    assert fmt.decode_callback(data) == fmt.Callback("n", "AbC-_123", 7)
    for bad in (
        None,
        "",
        "x:tok:1",
        "n:tok",
        "n:to:k:1",
        "n:tok:-1",
        "n:" + "t" * 80 + ":1",
        "n:t%k:1",
    ):
        assert fmt.decode_callback(bad) is None
    with pytest.raises(ValueError):
        fmt.encode_callback("z", "tok", 1)
    with pytest.raises(ValueError):
        fmt.encode_callback("n", "bad:token", 1)


def test_keyboards_fit_callback_limit() -> None:
    for kb in (
        fmt.answer_keyboard("AAAAAAAA", 999),
        fmt.answer_keyboard("AAAAAAAA", 0, context_shown=True),
        fmt.declined_keyboard("AAAAAAAA"),
    ):
        for row in kb.inline_keyboard:
            for button in row:
                assert button.callback_data and len(str(button.callback_data).encode()) <= 64
    labels = [b.text for row in fmt.answer_keyboard("t", 0).inline_keyboard for b in row]
    assert labels == ["Context", "Another answer", "👍 Helpful", "👎 Not helpful"]


def test_declined_lists_suggestions_and_tip() -> None:
    text = fmt.declined_text(
        Response(
            "q", None, declined_reason="No <match>.", suggestions=("Headline one", "Headline two")
        )
    )
    assert "<i>No &lt;match&gt;.</i>" in text
    assert "couldn't find an answer" in text
    assert "<b>Headline one</b>" in text and "<b>Headline two</b>" in text
    assert "Tip:" in text


def test_dates() -> None:
    assert fmt.format_date("2024-01-05") == "5 Jan 2024"
    assert fmt.format_date("2024-01-05T10:00:00Z") == "5 Jan 2024"
    assert fmt.format_date("last week") == "last week"
    assert fmt.format_date(None) is None


def test_help_and_about() -> None:
    stats = CorpusStats(2, 10, 40, ("A & B", "C"), "2026-01-01T10:00:00+00:00", "bm25")
    examples = fmt.example_questions(["Big News: Something Happened", "x", "Another Story - Site"])
    assert examples == ["What about Big News?", "What about Another Story?"]
    text = fmt.help_text(stats, examples)
    well_formed(text)
    assert "2 articles" in text and "2 sources" in text
    assert "What about Big News?" in text
    assert "/ask What about" in fmt.help_text(stats, examples, group=True)
    about = fmt.about_text(stats)
    well_formed(about)
    assert "A &amp; B" in about and "2026-01-01 10:00 UTC" in about and "Articles: 2" in about
    many = CorpusStats(1, 1, 1, tuple(f"S{i}" for i in range(40)), None)
    assert "and 25 more" in fmt.about_text(many) and "never" in fmt.about_text(many)


def test_clip() -> None:
    assert fmt.clip("a  b\n c", 10) == "a b c"
    clipped = fmt.clip("x" * 50, 10)
    assert len(clipped) == 10 and clipped.endswith("…")
    assert html.unescape(fmt.esc(NASTY)) == NASTY
