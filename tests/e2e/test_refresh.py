"""Changes made by another process (the CLI) reach the running bot; old buttons go stale."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bot_harness import ask
from fake_bot_api import FakeBotApi
from telegram import Bot

from config import Settings
from index.service import Desk

USER = 6001
ARTICLE = (
    "Harbour Bridge Reopens After Two Years of Repairs\n"
    "Coastal Gazette\n"
    "The old harbour bridge reopened to traffic on Monday after two years of repairs.\n"
    "Engineers replaced 340 steel cables and repainted the whole span in signal red.\n"
)


async def test_cli_add_is_picked_up_and_old_buttons_are_stale(
    api: FakeBotApi, bot: Any, settings: Settings
) -> None:
    old = await ask(api, USER, "When did the missile attacks occur?")
    old_msg = api.message(old)
    other = await asyncio.to_thread(Desk.open, settings)  # the CLI, as another process would
    try:
        outcome = await asyncio.to_thread(
            other.add_file, "harbour.txt", ARTICLE.encode(), added_by="cli"
        )
        assert outcome.added, outcome.reason
    finally:
        await asyncio.to_thread(other.close)
    question = "How many steel cables did engineers replace on the harbour bridge?"
    deadline = time.monotonic() + 5
    while True:
        call = await ask(api, USER, question)
        if "340 steel cables" in call.params["text"]:
            break
        assert time.monotonic() < deadline, "the bot never saw the new article"
        await asyncio.sleep(0.2)
    assert "Coastal Gazette" in call.params["text"]
    # the answer from before the change: its buttons answer politely, nothing is edited
    start = len(api.calls)
    qid = api.press(USER, old_msg.message_id, "Another answer")
    done = await api.wait_for(
        lambda c: c.method == "answerCallbackQuery" and c.params["callback_query_id"] == qid,
        start=start,
    )
    assert done.params["text"] == "This answer is out of date, please ask again."
    assert not any(c.method == "editMessageText" for c in api.calls[start:])
    about = await ask(api, USER, "/about")
    assert "Articles: 2" in api.message(about).text


async def test_get_file_and_download_through_ptb(api: FakeBotApi) -> None:
    api.send_document(42, "story.txt", ARTICLE.encode())
    file_id = next(iter(api.files))
    async with Bot(api.token, base_url=api.base_url, base_file_url=api.file_url) as tg:
        tg_file = await tg.get_file(file_id)
        data = await tg_file.download_as_bytearray()
    assert bytes(data) == ARTICLE.encode()
