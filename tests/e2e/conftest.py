"""Fixtures for end-to-end tests: the fake Bot API, a real Desk on the seeds, a running bot."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from bot_harness import TOKEN, BotApp, make_settings, running_bot
from fake_bot_api import FakeBotApi

from bot.app import build_application
from bot.logging_setup import install_redaction, quiet_http_loggers
from config import Settings
from index.service import Desk


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


logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
