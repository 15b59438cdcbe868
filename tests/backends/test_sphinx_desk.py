"""The Desk on two real ``searchd`` shards: spread, live add/remove, dead and killed shards."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.searchd import Searchd
from bot.format import PARTIAL_NOTE, reply_text
from config import load_settings
from index.backends.sphinx_engine import shard_of
from index.backends.sphinx_shards import ShardWriteError
from index.engine import Engine
from index.evaluate import is_correct, load_questions
from index.service import Desk
from tests.backends.conftest import rows, sphinx_settings
from tests.testpaths import FIXTURES

ARTICLES = FIXTURES / "articles"


def _article(n: int) -> bytes:
    """A small article only the question :func:`_question` (n) matches."""
    return (
        f"Harbour log {n}\nPort Gazette\n\n"
        f"The vessel Kestrel{n} docked at pier {n} on Monday.\n"
        f"Kestrel{n} carried {1000 + n} tonnes of grain for the mills.\n"
    ).encode()


def _question(n: int) -> str:
    return f"How many tonnes of grain did Kestrel{n} carry?"


def _id_on(shard: int, start: int = 0) -> int:
    """A number n whose article ``kestrel-n`` lives on shard ``shard`` (of 2)."""
    n = start
    while shard_of(f"kestrel-{n}", 2) != shard:
        n += 1
    return n


@pytest.fixture
def desk(shards: list[Searchd]) -> Iterator[Desk]:
    desk = Desk.open(sphinx_settings(shards, ARTICLES))
    yield desk
    desk.close()


def test_passages_spread_over_both_shards_and_match_the_embedded_counts(
    desk: Desk, shards: list[Searchd]
) -> None:
    stats = desk.stats()
    held = [rows(s) for s in shards]
    assert all(n > 0 for n in held)
    assert sum(held) == stats.passages
    embedded = Engine.build(desk.store.articles(), desk.params).stats()
    assert (stats.articles, stats.passages, stats.sentences) == (
        embedded.articles,
        embedded.passages,
        embedded.sentences,
    )
    assert stats.extra["backend"] == "sphinx"


def test_add_and_remove_go_to_the_owning_shard(desk: Desk, shards: list[Searchd]) -> None:
    n = _id_on(1)
    before = [rows(s) for s in shards]
    outcome = desk.add_file(f"kestrel-{n}.txt", _article(n), added_by="test")
    assert outcome.added and outcome.index_error is None
    after = [rows(s) for s in shards]
    assert after[0] == before[0] and after[1] == before[1] + 2  # two one-sentence passages
    answer = desk.ask(_question(n)).answer
    assert answer is not None and answer.article_id == f"kestrel-{n}"
    assert f"{1000 + n} tonnes" in answer.sentence
    assert desk.remove(f"kestrel-{n}")
    assert [rows(s) for s in shards] == before
    response = desk.ask(_question(n))
    assert all(a.article_id != f"kestrel-{n}" for a in response.ranked)


def test_a_killed_shard_gives_a_flagged_partial_answer(desk: Desk, shards: list[Searchd]) -> None:
    question = next(q for q in load_questions(FIXTURES / "questions.jsonl") if q.article)
    assert question.article is not None
    home = shard_of(question.article, 2)
    shards[1 - home].kill()  # the other shard dies: this answer is still there
    response = desk.ask(question.question)
    assert response.partial
    assert response.answer is not None and is_correct(question, response.answer)
    assert PARTIAL_NOTE in reply_text(response)
    extra = desk.stats().extra
    assert extra["partial_answers"] == 1
    assert extra["shards_down"] == [shards[1 - home].address]
    shards[home].kill()  # both dead: no answer, still no error
    assert desk.ask(question.question).partial
    for shard in shards:
        shard.start()
    healed = desk.ask(question.question)
    assert not healed.partial and healed.answer is not None
    assert desk.stats().extra["shards_down"] == []


def test_kill_9_and_restart_loses_no_acknowledged_passage(
    shards: list[Searchd], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = sphinx_settings(shards, tmp_path / "empty")
    desk = Desk.open(settings)
    added = []
    for n in range(24):
        outcome = desk.add_file(f"kestrel-{n}.txt", _article(n), added_by="test")
        assert outcome.added and outcome.index_error is None
        added.append(n)
    expected = desk.stats().passages
    desk.close()
    for shard in shards:
        shard.kill()  # SIGKILL right after the last acknowledged write
        shard.start()
    assert sum(rows(s) for s in shards) == expected == 2 * len(added)
    caplog.set_level(logging.INFO, logger="index.service")
    reopened = Desk.open(settings)
    try:
        assert not any("rebuilt" in r.getMessage() for r in caplog.records)  # state matched
        for n in added:
            answer = reopened.ask(_question(n)).answer
            assert answer is not None and answer.article_id == f"kestrel-{n}"
    finally:
        reopened.close()


def test_writes_to_a_dead_shard_fail_clearly_and_reindex_repairs(
    desk: Desk, shards: list[Searchd]
) -> None:
    n = _id_on(0)
    article_id = f"kestrel-{n}"
    shards[0].kill()
    outcome = desk.add_file(f"{article_id}.txt", _article(n), added_by="test")
    assert outcome.added  # safe in the store ...
    assert outcome.index_error is not None  # ... but the admin is told it is not searchable
    assert shards[0].address in outcome.index_error and "reindex" in outcome.index_error
    assert desk.get_article(article_id) is not None
    assert desk.stats().extra["last_index_error"] == outcome.index_error
    assert desk.ask(_question(n)).answer is None
    shards[0].start()
    desk.reindex()
    answer = desk.ask(_question(n)).answer
    assert answer is not None and answer.article_id == article_id

    shards[0].kill()
    with pytest.raises(ShardWriteError, match=shards[0].address.replace(".", r"\.")):
        desk.remove(article_id)
    assert desk.get_article(article_id) is None
    shards[0].start()  # its rows are back with the shard, but never used
    response = desk.ask(_question(n))
    assert not response.partial
    assert all(a.article_id != article_id for a in response.ranked)
    desk.reindex()
    assert sum(rows(s) for s in shards) == desk.stats().passages


def test_a_wiped_shard_is_noticed_at_start_and_rebuilt(
    shards: list[Searchd], caplog: pytest.LogCaptureFixture
) -> None:
    from bench.searchd import clear

    settings = sphinx_settings(shards, ARTICLES)
    Desk.open(settings).close()
    clear(shards[1])
    caplog.set_level(logging.INFO)
    desk = Desk.open(settings)
    try:
        assert any("holds 0 passages" in r.getMessage() for r in caplog.records)
        assert sum(rows(s) for s in shards) == desk.stats().passages > 0
        assert rows(shards[1]) > 0
    finally:
        desk.close()


def test_a_change_made_by_another_process_is_adopted_not_written_twice(
    desk: Desk, shards: list[Searchd]
) -> None:
    other = Desk.open(desk.settings)  # as `newsdesk add` would, beside the running bot
    try:
        assert other.add_file("kestrel-1.txt", _article(1), added_by="cli").added
        expected = other.stats()
    finally:
        other.close()
    owner = shards[shard_of("kestrel-1", 2)]
    owner.kill()  # the bot must not write what the other process already wrote
    assert desk.refresh()
    assert desk.last_index_error is None
    owner.start()
    assert desk.stats().passages == expected.passages == sum(rows(s) for s in shards)
    answer = desk.ask(_question(1)).answer
    assert answer is not None and answer.article_id == "kestrel-1"
    assert desk.add_file("kestrel-2.txt", _article(2), added_by="bot").added  # no id clash
    assert sum(rows(s) for s in shards) == desk.stats().passages
    for n in (1, 2):
        found = desk.ask(_question(n)).answer
        assert found is not None and found.article_id == f"kestrel-{n}"


def test_a_shard_with_a_dead_replica_answers_from_the_other(
    shards: list[Searchd], tmp_path: Path
) -> None:
    import shutil

    replica = Searchd(tmp_path / "replica")  # shard 0's second replica, down for now
    entries = [f"{shards[0].address}|{replica.address}", shards[1].address]
    settings = load_settings(
        search_backend="sphinx", shards=",".join(entries), articles_dir=ARTICLES
    )
    desk = Desk.open(settings)  # the writes reach the first replica
    try:
        question = next(
            q
            for q in load_questions(FIXTURES / "questions.jsonl")
            if q.article and shard_of(q.article, 2) == 0
        )
        shards[0].stop()  # a clean stop writes the RT index out; the replica gets a copy
        for path in shards[0].folder.glob("newsdesk_passages.*"):
            shutil.copy2(path, replica.folder / path.name)
        replica.start()
        response = desk.ask(question.question)
        assert not response.partial
        assert response.answer is not None and is_correct(question, response.answer)
        replica.kill()  # now no replica of shard 0 answers
        assert desk.ask(question.question).partial
    finally:
        desk.close()
        replica.kill()


def test_writes_name_the_replication_cluster(shards: list[Searchd], tmp_path: Path) -> None:
    entries = [f"shard0/{shards[0].address}", f"shard1/{shards[1].address}"]
    settings = load_settings(
        search_backend="sphinx", shards=",".join(entries), articles_dir=ARTICLES
    )
    with pytest.raises(
        ShardWriteError, match=r"shard[01]/127\.0\.0\.1:\d+: .*near ':newsdesk_passages"
    ):
        Desk.open(settings)  # Sphinx 2.2.11 has no clusters: the cluster:table name is refused
