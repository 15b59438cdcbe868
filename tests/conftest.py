"""Shared test fixtures: where the repository, its fixtures and the shared dev data are.

Every test runs with ``NEWSDESK_*`` variables cleared and ``NEWSDESK_DATA_DIR`` pointing at a
fresh temporary folder, so a developer's environment never leaks into a test and no test
writes to the repository's ``var/``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "seeds"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHARED = (REPO / ".." / "shared").resolve()


def shared_path(*parts: str) -> Path:
    """A path under ``../shared``; skips the calling test when the dev data is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not here: ../shared development data is absent")
    return path


@pytest.fixture(autouse=True)
def _isolated_environment(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith("NEWSDESK_"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NEWSDESK_DATA_DIR", str(tmp_path_factory.mktemp("newsdesk-data")))
    yield
