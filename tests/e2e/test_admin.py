"""Admin flows end to end: uploads via getFile, /add URL, /remove, /articles, /reindex, /stats.

The bot runs against the fake Bot API server; /add URL fetches from a real HTTP server on
127.0.0.1; every admin command is also tried by a non-admin.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bot_harness import TOKEN, ask, make_settings, running_bot
from fake_bot_api import FakeBotApi

from bot.admin import PAGE_SIZE, REFUSAL
from bot.app import build_application
from index.service import Desk

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "index"))
from newsserver import NEWS_PAGE, STORM_FACT, STORM_TITLE, news_server

ADMIN = 42  # in the e2e settings' admin ids
USER = 7001  # not an admin
FENWICK = (
    b"Fenwick observatory names a new director\nStar Tribune\n"
    b"Astronomer Odile Brankov was named director of the Fenwick observatory on Monday.\n"
    b"She replaces Tomas Ekdal, who led the observatory for 22 years.\n"
)


@pytest.fixture
def news() -> Iterator[str]:
    with news_server(slow_s=3) as base:
        yield base


async def upload(api: FakeBotApi, user: int, name: str, data: bytes, **kw: Any) -> Any:
    start = len(api.calls)
    api.send_document(user, name, data, **kw)
    return await api.reply(user, start=start, timeout=10)


async def test_txt_upload_is_downloaded_added_and_answered(
    api: FakeBotApi, bot: Any, desk: Desk
) -> None:
    start = len(api.calls)
    call = await upload(api, ADMIN, "fenwick.txt", FENWICK)
    text = api.message(call).text
    assert text.startswith("Added article fenwick: Fenwick observatory names a new director")
    assert "(2 paragraphs)" in text
    assert any(c.method == "getFile" for c in api.calls[start:])
    stored = desk.get_article("fenwick")
    assert stored is not None and stored.added_by == f"telegram:{ADMIN}"
    answer = await ask(api, USER, "Who was named director of the Fenwick observatory?")
    assert "Odile Brankov" in api.message(answer).text


async def test_html_upload_is_extracted(api: FakeBotApi, bot: Any, desk: Desk) -> None:
    call = await upload(api, ADMIN, "storm.html", NEWS_PAGE.encode(), mime_type="text/html")
    assert api.message(call).text.startswith(f"Added article storm: {STORM_TITLE}")
    answer = await ask(api, USER, "How many households lost power in Storm Elena?")
    assert STORM_FACT in api.message(answer).text


async def test_same_id_is_refused_unless_the_caption_says_replace(
    api: FakeBotApi, bot: Any, desk: Desk
) -> None:
    await upload(api, ADMIN, "fenwick.txt", FENWICK)
    changed = FENWICK.replace(b"22 years", b"23 years")
    refused = api.message(await upload(api, ADMIN, "fenwick.txt", changed)).text
    assert refused.startswith("Nothing added from fenwick.txt: an article with id fenwick")
    replaced = api.message(await upload(api, ADMIN, "fenwick.txt", changed, caption="replace"))
    assert replaced.text.startswith("Replaced article fenwick:")
    stored = desk.get_article("fenwick")
    assert stored is not None and "23 years" in stored.article.paragraphs[1]


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.txt", b"", "the file is empty"),
        ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00" * 20, "binary"),
        ("latin.txt", "Café\nLe Monde\nUn été.".encode("latin-1"), "UTF-8"),
        ("headline.txt", b"Only a headline\n", "no paragraph"),
        ("blank.html", b"<html><body><nav>Home</nav></body></html>", "no article text"),
        ("report.pdf", b"%PDF-1.4 ...", "not an article file"),
    ],
)
async def test_bad_uploads_say_why_and_add_nothing(
    api: FakeBotApi, bot: Any, desk: Desk, name: str, data: bytes, reason: str
) -> None:
    before = desk.count_articles()
    text = api.message(await upload(api, ADMIN, name, data)).text
    assert text.startswith(f"Nothing added from {name}:")
    assert reason in text
    assert desk.count_articles() == before


async def test_oversize_upload_is_refused_before_download(api: FakeBotApi, data_dir: Path) -> None:
    settings = make_settings(api, data_dir, max_article_bytes=2_000)
    desk = Desk.open(settings)
    try:
        app = build_application(settings, desk, read_timeout=3.0, refresh_interval_s=0.2)
        async with running_bot(app):
            await api.wait_polling()
            start = len(api.calls)
            big = b"Big story\nWire\n" + b"A long paragraph of words. " * 200
            text = api.message(await upload(api, ADMIN, "big.txt", big)).text
            assert (
                text == "Nothing added from big.txt: the file is larger than the limit of 0.002 MB."
            )
            assert not any(c.method == "getFile" for c in api.calls[start:])
            assert desk.get_article("big") is None
    finally:
        desk.close()


async def test_add_url(api: FakeBotApi, bot: Any, desk: Desk, news: str) -> None:
    text = api.message(await ask(api, ADMIN, f"/add {news}/news/storm.html")).text
    assert text.startswith("Added article storm-elena") and STORM_TITLE in text
    assert "(4 paragraphs)" in text
    answer = await ask(api, USER, "How many households lost power when Storm Elena hit?")
    assert STORM_FACT in api.message(answer).text
    before = desk.count_articles()
    for url, reason in [
        (f"{news}/missing", "the server answered 404"),
        (f"{news}/loop", "redirect loop"),
        (f"{news}/picture.png", "image/png"),
        (f"{news}/empty.html", "no article text"),
        ("ftp://127.0.0.1/x.html", "only http and https"),
        ("file:///etc/passwd", "only http and https"),
    ]:
        reply = api.message(await ask(api, ADMIN, f"/add {url}")).text
        assert reply.startswith(f"Nothing added from {url}:") and reason in reply, reply
    assert desk.count_articles() == before
    usage = api.message(await ask(api, ADMIN, "/add")).text
    assert usage.startswith("Usage: /add URL")


async def test_remove(api: FakeBotApi, bot: Any, desk: Desk) -> None:
    await upload(api, ADMIN, "fenwick.txt", FENWICK)
    text = api.message(await ask(api, ADMIN, "/remove fenwick")).text
    assert text.startswith("Removed article fenwick: Fenwick observatory names a new director")
    assert desk.get_article("fenwick") is None
    answer = await ask(api, USER, "Who was named director of the Fenwick observatory?")
    assert "Brankov" not in api.message(answer).text
    again = api.message(await ask(api, ADMIN, "/remove fenwick")).text
    assert again == "Nothing removed: there is no article with id fenwick."
    odd = api.message(await ask(api, ADMIN, "/remove <b>x</b>&")).text
    assert odd == "Nothing removed: there is no article with id <b>x</b>&."
    assert api.message(await ask(api, ADMIN, "/remove")).text.startswith("Usage: /remove ID")


async def test_articles_pages_newest_first(api: FakeBotApi, bot: Any, desk: Desk) -> None:
    for i in range(PAGE_SIZE + 3):
        outcome = desk.add_file(
            f"story{i:02d}.txt",
            f"Story number {i} <&>\nWire\nParagraph of story {i}.\n".encode(),
            added_by="cli",
        )
        assert outcome.added
    total = desk.count_articles()
    call = await ask(api, ADMIN, "/articles")
    msg = api.message(call)
    assert msg.text.startswith(f"Articles 1–{PAGE_SIZE} of {total} (newest first)")
    assert msg.text.index("Story number 10 <&>") < msg.text.index("Story number 9 <&>")
    buttons = [b["text"] for row in msg.reply_markup["inline_keyboard"] for b in row]
    assert buttons == ["Next ▶"]
    start = len(api.calls)
    api.press(ADMIN, msg.message_id, "Next")
    await api.wait_for(lambda c: c.method == "editMessageText", start=start)
    assert msg.text.startswith(f"Articles {PAGE_SIZE + 1}–{total} of {total}")
    assert "story00" in msg.text
    buttons = [b["text"] for row in msg.reply_markup["inline_keyboard"] for b in row]
    assert buttons == ["◀ Prev"]
    start = len(api.calls)
    api.press(ADMIN, msg.message_id, "Prev")
    await api.wait_for(lambda c: c.method == "editMessageText", start=start)
    assert msg.text.startswith(f"Articles 1–{PAGE_SIZE} of {total}")


async def test_reindex_edits_one_message_with_progress(
    api: FakeBotApi, bot: Any, desk: Desk
) -> None:
    await upload(api, ADMIN, "fenwick.txt", FENWICK)
    start = len(api.calls)
    first = await ask(api, ADMIN, "/reindex")
    assert api.message(first).text.startswith("Reindexing")
    done = await api.wait_for(
        lambda c: c.method == "editMessageText" and "Reindexed in" in str(c.params.get("text")),
        start=start,
        timeout=30,
    )
    edits = [c for c in api.calls[start:] if c.method == "editMessageText" and c.status == 200]
    assert {int(c.params["message_id"]) for c in edits} == {api.message(first).message_id}
    assert any("100%" in str(c.params["text"]) for c in edits)
    assert f"{desk.count_articles()} articles" in str(done.params["text"])
    assert len(api.sent(ADMIN)) == 2  # the upload's reply and the reindex message
    answer = await ask(api, USER, "Who was named director of the Fenwick observatory?")
    assert "Odile Brankov" in api.message(answer).text


async def test_stats(api: FakeBotApi, bot: Any, desk: Desk) -> None:
    await ask(api, USER, "When did the missile attacks occur?")
    await ask(api, USER, "What is the capital of France?")
    text = api.message(await ask(api, ADMIN, "/stats")).text
    corpus = desk.stats()
    activity = desk.activity(24)
    assert f"Articles: {corpus.articles}" in text
    assert f"Passages: {corpus.passages}" in text
    assert activity.answered + activity.declined == 2
    assert f"Questions answered: {activity.answered}" in text
    assert f"Questions declined: {activity.declined}" in text
    assert "Median answer time:" in text and "ms" in text
    assert "Feedback: 0 helpful, 0 not helpful" in text


@pytest.mark.parametrize(
    "command", ["/add http://127.0.0.1:9/x", "/remove 000_6b510e1d415c7192", "/articles",
                "/reindex", "/stats", "/add", "/remove"],
)  # fmt: skip
async def test_non_admins_are_refused_and_logged(
    api: FakeBotApi, bot: Any, desk: Desk, caplog: pytest.LogCaptureFixture, command: str
) -> None:
    before = (desk.count_articles(), desk.store.changes(), desk.generation)
    with caplog.at_level(logging.INFO):
        call = await ask(api, USER, command)
    assert api.message(call).text == REFUSAL
    assert (desk.count_articles(), desk.store.changes(), desk.generation) == before
    name = command.split()[0].lstrip("/")
    assert any(
        f"refused admin command /{name} from non-admin user {USER}" in r.getMessage()
        for r in caplog.records
    )
    assert TOKEN not in caplog.text


async def test_non_admin_upload_and_button_are_refused(
    api: FakeBotApi, bot: Any, desk: Desk, caplog: pytest.LogCaptureFixture
) -> None:
    before = desk.count_articles()
    with caplog.at_level(logging.INFO):
        start = len(api.calls)
        api.send_document(USER, "fenwick.txt", FENWICK)
        reply = await api.reply(USER, start=start)
        assert "Added" not in reply.params["text"]
        assert not any(c.method == "getFile" for c in api.calls[start:])
        assert desk.count_articles() == before
        # an admin's list message forwarded to / pressed by someone else
        for i in range(PAGE_SIZE + 1):
            desk.add_file(f"s{i}.txt", f"S{i}\nW\nBody {i}.\n".encode(), added_by="cli")
        listing = api.message(await ask(api, ADMIN, "/articles"))
        start = len(api.calls)
        qid = api.press(ADMIN, listing.message_id, "Next", user_id=USER)
        answered = await api.wait_for(
            lambda c: c.method == "answerCallbackQuery" and c.params["callback_query_id"] == qid,
            start=start,
        )
    assert answered.params["text"] == REFUSAL
    assert not any(c.method == "editMessageText" for c in api.calls[start:])
    messages = [r.getMessage() for r in caplog.records]
    assert any(f"refused document upload from non-admin user {USER}" in m for m in messages)
    assert any(f"refused admin button from non-admin user {USER}" in m for m in messages)
    assert TOKEN not in caplog.text


async def test_a_slow_add_url_does_not_hold_up_questions(api: FakeBotApi, data_dir: Path) -> None:
    """The fetch runs in a worker thread: other users are answered while it waits."""
    settings = make_settings(api, data_dir, fetch_timeout_s=1.5)
    desk = Desk.open(settings)
    try:
        app = build_application(settings, desk, read_timeout=3.0, refresh_interval_s=0.2)
        async with running_bot(app):
            await api.wait_polling()
            with news_server(slow_s=3) as base:
                start = len(api.calls)
                api.send_text(ADMIN, f"/add {base}/slow")
                answer = await ask(api, USER, "When did the missile attacks occur?")
                assert "December 30, 2023" in api.message(answer).text
                assert not api.sent(ADMIN)  # the admin's fetch is still waiting
                reply = await api.reply(ADMIN, start=start, timeout=10)
            text = api.message(reply).text
            assert text.startswith(f"Nothing added from {base}/slow:")
            assert "did not answer in time (1.5 s)" in text
    finally:
        desk.close()
