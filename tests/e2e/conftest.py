"""Fixtures for end-to-end tests: the fake Bot API, a real Desk on the seeds, a running bot."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_bot_api import FakeBotApi
from telegram.ext import Application

from bot.app import build_application
from bot.logging_setup import install_redaction, quiet_http_loggers
from config import Settings, load_settings
from index.service import Desk

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


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(TOKEN) as server:
        yield server


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def settings(api: FakeBotApi, data_dir: Path) -> Settings:
    return make_settings(api, data_dir)


@pytest.fixture
def desk(settings: Settings) -> Iterator[Desk]:
    opened = Desk.open(settings)
    try:
        yield opened
    finally:
        opened.close()


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


@pytest.fixture(autouse=True)
def _redaction() -> None:
    install_redaction([TOKEN])
    quiet_http_loggers()


@pytest.fixture
async def bot(api: FakeBotApi, settings: Settings, desk: Desk) -> AsyncIterator[BotApp]:
    app = build_application(settings, desk, read_timeout=3.0, refresh_interval_s=0.2)
    async with running_bot(app):
        await api.wait_polling()
        yield app


async def ask(api: FakeBotApi, user_id: int, text: str, **kw: Any) -> Any:
    """Send ``text`` as ``user_id`` and return the bot's reply call."""
    start = len(api.calls)
    api.send_text(user_id, text, **kw)
    chat_id = kw.get("chat_id") or user_id
    return await api.reply(chat_id, start=start)


logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
