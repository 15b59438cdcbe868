"""Groups answer only when addressed; inline mode lists answers with their sources."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from bot_harness import ask
from fake_bot_api import BOT_USERNAME, FakeBotApi

GROUP = -100500
ALICE = 2001
Q = "When did the missile attacks occur?"


async def test_group_rules(api: FakeBotApi, bot: Any) -> None:
    kw: dict[str, Any] = {"chat_type": "supergroup", "chat_id": GROUP}
    # plain chatter is ignored
    start = len(api.calls)
    api.send_text(ALICE, Q, **kw)
    api.send_text(ALICE, "@someone_else " + Q, **kw)
    # /ask is answered, as a reply to the asker
    call = await ask(api, ALICE, f"/ask@{BOT_USERNAME} {Q}", **kw)
    assert "December 30, 2023" in api.message(call).text
    assert json.loads(call.params["reply_parameters"])["message_id"] > 0
    assert len(api.sent(GROUP)) == 1  # the two messages before got nothing
    assert api.calls.index(call) > start
    # a mention is answered, without the mention confusing the question
    call = await ask(api, ALICE, f"@{BOT_USERNAME} {Q}", **kw)
    assert "December 30, 2023" in api.message(call).text
    # a reply to the bot's message is answered
    bot_msg = api.message(call).message_id
    call = await ask(api, ALICE, Q, reply_to=bot_msg, **kw)
    assert "December 30, 2023" in api.message(call).text
    # a reply to somebody else is not
    start = len(api.calls)
    other = api._user_message(ALICE + 1, "supergroup", GROUP, {"text": "hi"})[1]
    api.send_text(ALICE, Q, reply_to=other, **kw)
    await asyncio.sleep(0.3)
    assert not api.sent(GROUP)[3:] and len(api.sent(GROUP)) == 3
    # help in a group explains how to address the bot
    help_call = await ask(api, ALICE, "/help", **kw)
    assert "/ask" in api.message(help_call).text


async def test_group_non_text_is_silent(api: FakeBotApi, bot: Any) -> None:
    api._user_message(ALICE, "group", GROUP, {"sticker": {"file_id": "s", "file_unique_id": "s",
                      "type": "regular", "width": 1, "height": 1, "is_animated": False,
                      "is_video": False}})  # fmt: skip
    call = await ask(api, ALICE, f"/ask {Q}", chat_type="group", chat_id=GROUP)
    assert len(api.sent(GROUP)) == 1 and "December 30" in call.params["text"]


async def test_inline_mode(api: FakeBotApi, bot: Any) -> None:
    qid = api.inline_query(ALICE, Q)
    call = await api.wait_for(lambda c: c.method == "answerInlineQuery")
    assert call.params["inline_query_id"] == qid
    results = json.loads(call.params["results"])
    assert 1 <= len(results) <= 5
    first = results[0]
    assert "December 30, 2023" in first["title"]
    assert "ICARO Media Group" in first["description"]
    assert "Russia Fires North Korean Missiles" in first["description"]
    content = first["input_message_content"]
    assert content["parse_mode"] == "HTML" and "<blockquote>" in content["message_text"]
    assert len({r["id"] for r in results}) == len(results)


async def test_inline_declined_and_empty(api: FakeBotApi, bot: Any) -> None:
    api.inline_query(ALICE, "What is the capital of France?")
    call = await api.wait_for(lambda c: c.method == "answerInlineQuery")
    results = json.loads(call.params["results"])
    assert len(results) == 1 and "don't answer" in results[0]["title"]
    start = len(api.calls)
    api.inline_query(ALICE, "   ")
    call = await api.wait_for(lambda c: c.method == "answerInlineQuery", start=start)
    assert json.loads(call.params["results"]) == []
