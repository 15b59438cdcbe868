"""Two local ``searchd`` shards for the sharded-backend tests, started once per session.

They run on free loopback ports in a temporary folder and are stopped at the end. Each test
gets them empty and running (a test that killed one gets it restarted). Skipped, with the
reason, only where Sphinx is not installed; CI installs it (.ci/run).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.searchd import Searchd, clear, searchd_path, start_shards
from config import Settings, load_settings


@pytest.fixture(scope="session")
def searchd_pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Searchd]]:
    if searchd_path() is None:
        pytest.skip("searchd is not installed (apt-get install sphinxsearch)")
    shards = start_shards(tmp_path_factory.mktemp("searchd"), 2)
    try:
        yield shards
    finally:
        for shard in shards:
            shard.stop()


@pytest.fixture
def shards(searchd_pair: list[Searchd]) -> Iterator[list[Searchd]]:
    """The two shards, running and empty."""
    for shard in searchd_pair:
        if shard.process is None:
            shard.start()
        clear(shard)
    yield searchd_pair
    for shard in searchd_pair:
        if shard.process is None:
            shard.start()


def sphinx_settings(shards: list[Searchd], articles: Path, **more: object) -> Settings:
    """Settings selecting the sphinx backend on ``shards`` (data dir: the test's own)."""
    return load_settings(
        search_backend="sphinx",
        shards=",".join(s.address for s in shards),
        articles_dir=articles,
        shard_timeout_s=2.0,
        **more,
    )


def rows(shard: Searchd) -> int:
    """Rows in a shard's passage index."""
    import pymysql

    conn = pymysql.connect(host="127.0.0.1", port=shard.port, autocommit=True)
    try:
        cursor = conn.cursor()
        cursor.execute("SELECT COUNT(*) FROM newsdesk_passages")
        return int(cursor.fetchone()[0])
    finally:
        conn.close()
