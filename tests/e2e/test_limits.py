"""Articles full of markup characters and giant paragraphs still make valid Telegram replies."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from bot_harness import ask, make_settings, running_bot
from fake_bot_api import FakeBotApi

from bot.app import build_application
from config import Settings
from index.service import Desk

USER = 8001
NEEDLE = "The zebrafish <b>&amp;</b> laboratory in Ghent counted 4,711 larvae & 12 eggs on Tuesday."
FILLER = "Researchers wrote notes about tanks, <tags>, ampersands & emoji 🐟 in every log. "


@pytest.fixture
def nasty_settings(api: FakeBotApi, tmp_path: Path) -> Settings:
    folder = tmp_path / "articles"
    folder.mkdir()
    big = FILLER * 150 + NEEDLE + " " + FILLER * 150  # ~24,000 characters in one paragraph
    title = "Fish & <Chips>: \"quotes\" 'and' </b> tags " * 12
    (folder / "nasty.txt").write_text(
        f"{title}\n<script>alert('src')</script> & Co\n{big}\nA short second paragraph.\n",
        encoding="utf-8",
    )
    return make_settings(api, tmp_path / "data", articles_dir=folder)


@pytest.fixture
def nasty_desk(nasty_settings: Settings) -> Iterator[Desk]:
    desk = Desk.open(nasty_settings)
    try:
        yield desk
    finally:
        desk.close()


@pytest.fixture
async def nasty_bot(
    api: FakeBotApi, nasty_settings: Settings, nasty_desk: Desk
) -> AsyncIterator[Any]:
    app = build_application(nasty_settings, nasty_desk, read_timeout=3.0)
    async with running_bot(app):
        await api.wait_polling()
        yield app


async def test_markup_and_giant_paragraphs_are_escaped_and_cut(
    api: FakeBotApi, nasty_bot: Any
) -> None:
    call = await ask(api, USER, "How many zebrafish larvae did the laboratory in Ghent count?")
    assert call.status == 200
    msg = api.message(call)
    assert "4,711 larvae & 12 eggs" in msg.text  # the visible text shows the raw characters
    assert "<script>alert('src')</script> & Co" in msg.text
    start = len(api.calls)
    api.press(USER, msg.message_id, "Context")
    edit = await api.reply(USER, method="editMessageText", start=start)
    shown = api.message(edit).text
    assert "4,711 larvae" in shown and len(shown.encode("utf-16-le")) // 2 <= 4096
    assert "…" in shown  # the 24,000-character paragraph was cut around the sentence
    assert "<b>The zebrafish &lt;b&gt;&amp;amp;&lt;/b&gt; laboratory" in edit.params["text"]
    # nothing the bot sent was refused by the strict server
    assert all(c.status == 200 for c in api.calls if c.method != "getUpdates")
