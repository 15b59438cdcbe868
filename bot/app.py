"""Build the python-telegram-bot ``Application`` for Newsdesk from settings and a Desk.

One place decides how the bot talks to the Bot API: the configured base URLs, PTB's
``AIORateLimiter`` for outgoing messages (it also retries flood waits), concurrent update
handling so one slow question does not hold up other chats, the command list, and a
background task that picks up index changes made by the command line.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from telegram import BotCommand
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder

from bot.admin import register_admin_handlers
from bot.handlers import COMMANDS, ChatBot
from config import Settings
from index.service import Desk

log = logging.getLogger("newsdesk.bot")

REFRESH_INTERVAL_S = 2.0
CONCURRENT_UPDATES = 64
FLOOD_RETRIES = 5

BotApp = Application[Any, Any, Any, Any, Any, Any]


def build_application(
    settings: Settings,
    desk: Desk,
    *,
    read_timeout: float = 10.0,
    refresh_interval_s: float = REFRESH_INTERVAL_S,
    overall_max_rate: float = 30.0,
) -> BotApp:
    """The configured Application; its ``post_init`` sets the commands and starts refreshing.

    ``overall_max_rate`` is Telegram's global flood limit (messages per second); benchmarks
    raise it to see what the bot itself can do.
    """
    token = settings.require_token()
    chatbot = ChatBot(desk, settings)
    state: dict[str, asyncio.Task[None]] = {}

    async def post_init(app: BotApp) -> None:
        await chatbot.retry(
            "setMyCommands",
            lambda: app.bot.set_my_commands([BotCommand(c, d) for c, d in COMMANDS]),
        )
        state["refresh"] = asyncio.create_task(_refresh_loop(desk, refresh_interval_s))
        log.info("bot @%s ready", app.bot.username)

    async def post_shutdown(app: BotApp) -> None:
        task = state.pop("refresh", None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app: BotApp = (
        ApplicationBuilder()
        .token(token)
        .base_url(settings.telegram_api_url)
        .base_file_url(settings.telegram_file_url or "")
        .rate_limiter(AIORateLimiter(overall_max_rate=overall_max_rate, max_retries=FLOOD_RETRIES))
        .concurrent_updates(CONCURRENT_UPDATES)
        .connection_pool_size(CONCURRENT_UPDATES * 2)
        .connect_timeout(5.0)
        .read_timeout(read_timeout)
        .write_timeout(read_timeout)
        .pool_timeout(read_timeout)
        .post_init(post_init)
        .post_shutdown(post_shutdown)
        .build()
    )
    app.bot_data["chatbot"] = chatbot
    register_admin_handlers(app, desk, settings)  # group 0, before the chat catch-alls
    chatbot.register(app)
    return app


async def _refresh_loop(desk: Desk, interval: float) -> None:
    """Every ``interval`` seconds, let the Desk pick up changes another process made."""
    while True:
        await asyncio.sleep(interval)
        try:
            if await asyncio.to_thread(desk.refresh):
                log.info("index changed on disk: reloaded")
        except Exception as exc:  # keep refreshing; the next round may succeed
            log.warning("index refresh failed: %s: %s", type(exc).__name__, exc)
