"""What the end-to-end tests share besides fixtures: the test token, settings for a bot that
talks to the fake Bot API, a polling bot as a context manager, and "send a message, await
the reply". A module of its own (not conftest) so that test files import it by a unique name.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fake_bot_api import FakeBotApi
from telegram.ext import Application

from config import Settings, load_settings

REPO = Path(__file__).resolve().parents[2]
SEEDS = REPO / "seeds"
# Shaped like a real token, so the generic redaction pattern is exercised as well.
TOKEN = "987654321:AAH-secretTOKENvalue_ForTests0123456789"

BotApp = Application[Any, Any, Any, Any, Any, Any]


def make_settings(api: FakeBotApi, data_dir: Path, **over: Any) -> Settings:
    values: dict[str, Any] = {
        "telegram_token": TOKEN,
        "telegram_api_url": api.base_url,
        "data_dir": data_dir,
        "articles_dir": SEEDS,
        "admin_ids": "42",
    }
    values.update(over)
    return load_settings(**values)


@contextlib.asynccontextmanager
async def running_bot(app: BotApp) -> AsyncIterator[BotApp]:
    """Run ``app`` in polling mode like ``run_polling`` does, minus the signal handling."""
    async with app:
        if app.post_init:
            await app.post_init(app)
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0.0, timeout=5)
        try:
            yield app
        finally:
            await app.updater.stop()
            await app.stop()
            if app.post_shutdown:
                await app.post_shutdown(app)


async def ask(api: FakeBotApi, user_id: int, text: str, **kw: Any) -> Any:
    """Send ``text`` as ``user_id`` and return the bot's reply call."""
    start = len(api.calls)
    api.send_text(user_id, text, **kw)
    chat_id = kw.get("chat_id") or user_id
    return await api.reply(chat_id, start=start)
