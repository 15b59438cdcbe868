"""Secrets never reach a log handler, whatever the logger, level or exception."""

from __future__ import annotations

import logging

import pytest

from bot.logging_setup import REDACTED, install_redaction, redact

SECRET = "123456789:AAE-thisIsTheSecretToken_for_unit_tests"


def test_redact_known_and_token_shaped() -> None:
    install_redaction(["hunter2-webhook-secret"])
    assert redact(f"GET https://api/bot{SECRET}/getMe") == f"GET https://api/bot{REDACTED}/getMe"
    assert redact("secret=hunter2-webhook-secret") == f"secret={REDACTED}"
    assert redact("chat 123456789 said hi") == "chat 123456789 said hi"


def test_records_are_scrubbed_before_any_handler(caplog: pytest.LogCaptureFixture) -> None:
    install_redaction([SECRET])
    caplog.set_level(logging.DEBUG)
    log = logging.getLogger("some.library")
    log.debug("url %s", f"http://x/bot{SECRET}/sendMessage")
    try:
        raise ValueError(f"token {SECRET} rejected")
    except ValueError:
        log.exception("failed")
    logging.getLogger("httpx").info("HTTP Request: POST http://x/bot%s/getUpdates", SECRET)
    assert SECRET not in caplog.text
    assert REDACTED in caplog.text
    assert all(SECRET not in r.getMessage() for r in caplog.records)
