"""The backend setting is validated at start-up with one clear line."""

from __future__ import annotations

import pytest

from config import SettingsError, load_settings
from index.backends import EmbeddedBackend, SphinxBackend, backend_for
from index.engine import EngineParams


def test_embedded_is_the_default() -> None:
    settings = load_settings()
    assert settings.search_backend == "embedded"
    assert isinstance(backend_for(settings, EngineParams()), EmbeddedBackend)


def test_sphinx_takes_a_list_of_shards(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSDESK_SEARCH_BACKEND", "sphinx")
    monkeypatch.setenv("NEWSDESK_SHARDS", "127.0.0.1:9306, shard-b.local:9307")
    settings = load_settings()
    assert settings.shards == ("127.0.0.1:9306", "shard-b.local:9307")
    monkeypatch.setenv("NEWSDESK_SHARDS", "shard_0/h1:9306|h2:9306, h3:9306")
    assert load_settings().shards == ("shard_0/h1:9306|h2:9306", "h3:9306")
    backend = backend_for(settings, EngineParams())
    assert isinstance(backend, SphinxBackend) and backend.shards == settings.shards


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"NEWSDESK_SEARCH_BACKEND": "sphinx"}, "NEWSDESK_SHARDS=host:port"),
        ({"NEWSDESK_SEARCH_BACKEND": "elastic"}, "NEWSDESK_SEARCH_BACKEND"),
        ({"NEWSDESK_SHARDS": "127.0.0.1"}, "'127.0.0.1' is not "),
        ({"NEWSDESK_SHARDS": "h:1,h:99999"}, "'h:99999' is not "),
        ({"NEWSDESK_SHARDS": "h:1|h:x"}, "'h:1|h:x' is not "),
        ({"NEWSDESK_SHARDS": "c-1/h:1"}, "cluster name 'c-1' is not a plain name"),
        ({"NEWSDESK_SHARDS": "h:1,h:1"}, "listed twice"),
        (
            {
                "NEWSDESK_SEARCH_BACKEND": "sphinx",
                "NEWSDESK_SHARDS": "h:1",
                "NEWSDESK_CANDIDATE_SENTENCES": "10",
            },
            "NEWSDESK_CANDIDATE_SENTENCES must be 0",
        ),
    ],
)
def test_bad_backend_settings_are_refused(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=message) as caught:
        load_settings()
    assert "\n" not in str(caught.value)
