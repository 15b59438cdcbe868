"""Settings: one prefix, a .env file, clear one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from testpaths import SEEDS

from config import SettingsError, load_settings


def test_defaults_point_at_the_shipped_seeds() -> None:
    settings = load_settings()
    assert settings.articles_dir == SEEDS
    assert settings.telegram_api_url == "https://api.telegram.org/bot"
    assert settings.telegram_file_url == "https://api.telegram.org/file/bot"
    assert settings.admin_ids == frozenset()


def test_environment_with_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSDESK_ADMIN_IDS", " 12, 34 ,56")
    monkeypatch.setenv("NEWSDESK_TELEGRAM_API_URL", "http://127.0.0.1:9/bot")
    monkeypatch.setenv("NEWSDESK_BM25_K1", "1.2")
    settings = load_settings()
    assert settings.admin_ids == frozenset({12, 34, 56})
    assert settings.telegram_file_url == "http://127.0.0.1:9/file/bot"
    assert settings.bm25_k1 == 1.2


def test_dotenv_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("NEWSDESK_TELEGRAM_TOKEN=123:abc\nNEWSDESK_ALTERNATIVES=3\n")
    settings = load_settings()
    assert settings.require_token() == "123:abc"
    assert settings.alternatives == 3


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("NEWSDESK_ADMIN_IDS", "12,bob", "not a numeric Telegram user id"),
        ("NEWSDESK_BM25_B", "1.5", "less than or equal to 1"),
        ("NEWSDESK_BM25_VARIANT", "bm42", "NEWSDESK_BM25_VARIANT"),
        ("NEWSDESK_TELEGRAM_API_URL", "ftp://x/bot", "http"),
    ],
)
def test_invalid_values_give_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, fragment: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith(name + ":")
    assert fragment in message
    assert "\n" not in message


def test_missing_token_is_a_clear_error_and_the_token_is_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(SettingsError, match="NEWSDESK_TELEGRAM_TOKEN: not set"):
        load_settings().require_token()
    monkeypatch.setenv("NEWSDESK_TELEGRAM_TOKEN", "123456:SECRET-value")
    settings = load_settings()
    assert "SECRET" not in repr(settings)
    assert "SECRET" not in str(settings.model_dump())
