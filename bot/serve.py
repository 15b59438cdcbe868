"""``newsdesk serve``: run the bot until SIGINT or SIGTERM, then exit 0.

Long polling by default; webhook mode when ``NEWSDESK_WEBHOOK_URL`` is set (it then needs
``NEWSDESK_WEBHOOK_SECRET``, which Telegram sends back with every update).
"""

from __future__ import annotations

import importlib.util
import logging
import signal
from urllib.parse import urlsplit

from telegram import Update
from telegram.error import InvalidToken, TelegramError

from bot.app import build_application
from bot.logging_setup import configure_logging
from config import Settings, SettingsError
from index.service import Desk

log = logging.getLogger("newsdesk.serve")
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def run(settings: Settings) -> int:
    """Serve until stopped; 0 on a clean stop, 1 if Telegram refuses us.

    Raises :class:`SettingsError` (the CLI prints it and exits 2) when the token is missing
    or webhook mode lacks its secret.
    """
    token = settings.require_token()
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    if settings.webhook_url and not secret:
        raise SettingsError("NEWSDESK_WEBHOOK_SECRET: not set (webhook mode needs a secret token)")
    if settings.webhook_url and importlib.util.find_spec("tornado") is None:
        raise SettingsError(
            "NEWSDESK_WEBHOOK_URL: webhook mode needs the webhooks extra "
            "(pip install 'python-telegram-bot[webhooks]'); unset it to use long polling"
        )
    configure_logging(settings.log_level, [token, *([secret] if secret else [])])
    desk = Desk.open(settings)
    try:
        app = build_application(settings, desk)
        if settings.webhook_url:
            log.info(
                "serving with a webhook on %s:%d", settings.webhook_listen, settings.webhook_port
            )
            app.run_webhook(
                listen=settings.webhook_listen,
                port=settings.webhook_port,
                url_path=urlsplit(settings.webhook_url).path.lstrip("/"),
                webhook_url=settings.webhook_url,
                secret_token=secret,
                allowed_updates=Update.ALL_TYPES,
                stop_signals=STOP_SIGNALS,
                close_loop=False,
            )
        else:
            log.info("serving with long polling")
            app.run_polling(
                allowed_updates=Update.ALL_TYPES, stop_signals=STOP_SIGNALS, close_loop=False
            )
    except InvalidToken:
        log.error("the Bot API rejected the token (check NEWSDESK_TELEGRAM_TOKEN)")
        return 1
    except TelegramError as exc:
        log.error("could not start the bot: %s: %s", type(exc).__name__, exc)
        return 1
    finally:
        desk.close()
    log.info("stopped")
    return 0
