"""Fixtures for every test (paths live in ``testpaths.py``).

Every test runs with ``NEWSDESK_*`` variables cleared and ``NEWSDESK_DATA_DIR`` pointing at a
fresh temporary folder, so a developer's environment never leaks into a test and no test
writes to the repository's ``var/``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _isolated_environment(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith("NEWSDESK_"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NEWSDESK_DATA_DIR", str(tmp_path_factory.mktemp("newsdesk-data")))
    yield
