"""Private chat end to end: questions, declines, commands, buttons, bad input."""

from __future__ import annotations

import asyncio
from typing import Any

from bot_harness import ask
from fake_bot_api import BOT_USERNAME, FakeBotApi

from index.service import Desk

USER = 1001
MISSILES_Q = "When did the missile attacks occur?"
SEED_TITLE = "Russia Fires North Korean Missiles on Ukraine, Confirms Ukrainian Official"
SEED_SOURCE = "ICARO Media Group"


async def test_question_answered_with_sentence_and_attribution(api: FakeBotApi, bot: Any) -> None:
    call = await ask(api, USER, MISSILES_Q)
    html = call.params["text"]
    assert call.params["parse_mode"] == "HTML"
    assert "<blockquote>" in html and "December 30, 2023, and January 2, 2024" in html
    assert f"<b>{SEED_TITLE}</b>" in html
    assert SEED_SOURCE in html
    msg = api.message(call)
    buttons = [b["text"] for row in msg.reply_markup["inline_keyboard"] for b in row]
    assert buttons == ["Context", "Another answer", "👍 Helpful", "👎 Not helpful"]
    # the sentence comes before the attribution
    assert msg.text.index("December 30") < msg.text.index(SEED_TITLE)


async def test_declined_question(api: FakeBotApi, bot: Any) -> None:
    call = await ask(api, USER, "What is the capital of France?")
    text = api.message(call).text
    assert "couldn't find an answer" in text
    assert "Tip:" in text
    assert "<blockquote>" not in call.params["text"]


async def test_declined_with_closest_headlines(api: FakeBotApi, bot: Any, desk: Desk) -> None:
    question = "Who won the football match in Kyiv?"
    expected = desk.ask(question)
    assert expected.answer is None and expected.suggestions  # the premise of this test
    text = api.message(await ask(api, USER, question)).text
    assert "couldn't find an answer" in text and "Closest articles:" in text
    for headline in expected.suggestions:
        assert headline in text
    if expected.declined_reason:
        assert expected.declined_reason in text


async def test_start_help_about_and_commands(api: FakeBotApi, bot: Any, desk: Desk) -> None:
    assert [c["command"] for c in api.commands] == ["ask", "help", "about", "start"]
    for command in ("/start", "/help"):
        text = api.message(await ask(api, USER, command)).text
        assert "1 article" in text
        assert "What about Russia Fires North Korean Missiles on Ukraine?" in text
    # the example really gets an answer
    example = await ask(api, USER, "What about Russia Fires North Korean Missiles on Ukraine?")
    assert "<blockquote>" in example.params["text"]
    about = api.message(await ask(api, USER, "/about")).text
    assert "Articles: 1" in about and SEED_SOURCE in about and "Last indexed:" in about
    assert desk.stats().pipeline in about
    answer = await ask(api, USER, f"/ask {MISSILES_Q}")
    assert "December 30, 2023" in api.message(answer).text
    usage = api.message(await ask(api, USER, "/ask")).text
    assert usage.startswith("Usage: /ask QUESTION")
    unknown = api.message(await ask(api, USER, "/frobnicate")).text
    assert "/help" in unknown


async def test_context_button(api: FakeBotApi, bot: Any) -> None:
    call = await ask(api, USER, MISSILES_Q)
    msg = api.message(call)
    start = len(api.calls)
    qid = api.press(USER, msg.message_id, "Context")
    edit = await api.reply(USER, method="editMessageText", start=start)
    assert int(edit.params["message_id"]) == msg.message_id
    html = edit.params["text"]
    assert "<b>The missile attacks occurred on December 30, 2023, and January 2, 2024" in html
    assert "Zaporizhzhia region" in html  # the rest of the paragraph is there
    await api.wait_for(
        lambda c: c.method == "answerCallbackQuery" and c.params["callback_query_id"] == qid
    )
    # and back to the answer
    start = len(api.calls)
    api.press(USER, msg.message_id, "Answer only")
    back = await api.reply(USER, method="editMessageText", start=start)
    assert back.params["text"] == call.params["text"]


async def test_another_answer_until_no_more(api: FakeBotApi, bot: Any) -> None:
    call = await ask(api, USER, MISSILES_Q)
    msg = api.message(call)
    seen = [msg.text.split("\n")[0]]
    total = None
    for _ in range(30):
        start = len(api.calls)
        qid = api.press(USER, msg.message_id, "Another answer")
        answered = await api.wait_for(
            lambda c, q=qid: (
                c.method == "answerCallbackQuery" and c.params["callback_query_id"] == q
            ),
            start=start,
        )
        if answered.params.get("text"):
            assert "last answer" in answered.params["text"]
            break
        edit = next(c for c in api.calls[start:] if c.method == "editMessageText")
        assert int(edit.params["message_id"]) == msg.message_id
        seen.append(msg.text.split("\n")[0])
        total = msg.text
    else:
        raise AssertionError("never told there are no more answers")
    assert len(seen) >= 2 and len(set(seen)) == len(seen)  # each press showed a new sentence
    assert total is not None and f"Answer {len(seen)} of {len(seen)}" in total


async def test_feedback_buttons_recorded(api: FakeBotApi, bot: Any, desk: Desk) -> None:
    call = await ask(api, USER, MISSILES_Q)
    msg = api.message(call)
    before = _votes(desk)
    for label, expect in (
        ("Helpful", "helpful"),
        ("Helpful", "already"),
        ("Not helpful", "not helpful"),
    ):
        start = len(api.calls)
        qid = api.press(USER, msg.message_id, label)
        done = await api.wait_for(
            lambda c, q=qid: (
                c.method == "answerCallbackQuery" and c.params["callback_query_id"] == q
            ),
            start=start,
        )
        assert expect in done.params["text"].lower()
    after = _votes(desk)
    # the repeat was not recorded; the change of mind was
    assert after[0] - before[0] == 1 and after[1] - before[1] == 1


def _votes(desk: Desk) -> tuple[int, int]:
    act = desk.activity(1.0)
    return act.helpful, act.not_helpful


async def test_stale_and_foreign_buttons(api: FakeBotApi, bot: Any) -> None:
    call = await ask(api, USER, MISSILES_Q)
    msg = api.message(call)
    for data in ("c:ZZZZZZZZ:0", "garbage", "n:ZZ:ZZ:1"):
        start = len(api.calls)
        qid = api.press(USER, msg.message_id, "", data=data)
        done = await api.wait_for(
            lambda c, q=qid: (
                c.method == "answerCallbackQuery" and c.params["callback_query_id"] == q
            ),
            start=start,
        )
        assert done.params["text"] == "This answer is out of date, please ask again."
        assert not any(c.method == "editMessageText" for c in api.calls[start:])


async def test_non_text_gets_hint(api: FakeBotApi, bot: Any) -> None:
    for send, word in (
        (api.send_sticker, "stickers"),
        (api.send_photo, "pictures"),
        (api.send_voice, "voice"),
    ):
        start = len(api.calls)
        send(USER)
        call = await api.reply(USER, start=start)
        assert word in call.params["text"] and "question" in call.params["text"]
    start = len(api.calls)
    api.send_document(USER + 1, "notes.txt", b"hello")
    call = await api.reply(USER + 1, start=start)
    assert "files" in call.params["text"]


async def test_empty_text_ignored_and_long_text_cut(api: FakeBotApi, bot: Any) -> None:
    start = len(api.calls)
    api.send_text(USER, "   \n\t  ")
    long_q = MISSILES_Q + " " + "and also please tell me more about everything " * 40
    call = await ask(api, USER, long_q)
    # the blank message got no reply: the first reply is the one to the long question
    assert len(api.sent(USER)) == 1 and api.calls.index(call) > start
    text = api.message(call).text
    assert "Your message was long, so I used only its first" in text
    assert "December 30, 2023" in text


async def test_html_in_question_is_harmless(api: FakeBotApi, bot: Any) -> None:
    call = await ask(api, USER, "<b>missile</b> & attacks <script> occur when?")
    assert call.status == 200  # the strict server accepted the HTML


async def test_bot_username_is_known(bot: Any) -> None:
    assert bot.bot.username == BOT_USERNAME


async def test_admin_documents_are_left_to_the_admin_handlers(api: FakeBotApi, bot: Any) -> None:
    admin = 42  # in the test settings' admin ids
    start = len(api.calls)
    api.send_document(admin, "story.txt", b"Headline\nSource\nParagraph.\n")
    await ask(api, admin, MISSILES_Q)  # processed after the document
    await asyncio.sleep(0.2)
    texts = [c.params["text"] for c in api.calls[start:] if c.method == "sendMessage"]
    assert not any("can't read files" in t for t in texts)
