"""Logging for ``newsdesk serve``: one format, quiet HTTP libraries, and no secrets, ever.

The bot token travels inside every Bot API URL (``.../bot<token>/sendMessage``), so httpx's
request log and some Telegram errors would print it. Redaction happens in the log record
factory, i.e. before any handler (stderr, a file, pytest's caplog) sees the record.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from typing import Any

REDACTED = "<redacted>"
# The shape of a Bot API token: "<bot id>:<35 url-safe characters>".
TOKEN_RE = re.compile(r"(?<![0-9])[0-9]{5,16}:[A-Za-z0-9_-]{30,}")
_secrets: set[str] = set()
_installed = False
_formatter = logging.Formatter()


def redact(text: str) -> str:
    """``text`` with every known secret and anything shaped like a token replaced."""
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return TOKEN_RE.sub(REDACTED, text)


def _needs_redaction(text: str) -> bool:
    return any(s in text for s in _secrets) or TOKEN_RE.search(text) is not None


def _scrub(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: keep the record, the handler will say so
        return
    if _needs_redaction(message):
        record.msg, record.args = redact(message), None
    if record.exc_info and record.exc_info[0] is not None:
        text = _formatter.formatException(record.exc_info)
        if _needs_redaction(text):
            record.exc_text = redact(text)
    if record.stack_info and _needs_redaction(record.stack_info):
        record.stack_info = redact(record.stack_info)


def install_redaction(secrets: Iterable[str]) -> None:
    """Redact ``secrets`` (and token-shaped strings) from every log record from now on."""
    global _installed
    _secrets.update(s for s in secrets if s and len(s) >= 6)
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        _scrub(record)
        return record

    logging.setLogRecordFactory(factory)
    _installed = True


def forget_secrets() -> None:
    """Drop the registered secrets (tests); the token pattern stays active."""
    _secrets.clear()


def configure_logging(level: str, secrets: Iterable[str]) -> None:
    """Log to stderr at ``level``; httpx/httpcore only from WARNING; secrets redacted."""
    install_redaction(secrets)
    root = logging.getLogger()
    root.setLevel(level)
    if not root.handlers:  # the CLI may have configured a handler already: reuse it
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    quiet_http_loggers()


def quiet_http_loggers() -> None:
    """httpx logs every request URL (with the token) at INFO: keep it to warnings."""
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
