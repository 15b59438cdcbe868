"""Desk: the store and the engine kept in step, live adds and removes, recovery, logging."""

from __future__ import annotations

import logging
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from newsserver import STORM_FACT, STORM_TITLE, news_server

from config import Settings, load_settings
from index.records import Article
from index.service import Desk, store_fingerprint

TOWNS = ["Quellton", "Marbrook", "Ostervik", "Pellaton", "Saltholm", "Dunmere", "Kravets"]
THINGS = ["bridge", "library", "stadium", "harbour", "museum", "tunnel", "hospital"]


def article_text(i: int, *, extra: str = "") -> str:
    town, thing = TOWNS[i % len(TOWNS)], THINGS[i % len(THINGS)]
    year = 1950 + i
    return (
        f"{town} opens its new {thing}\n"
        f"Gazette {i}\n"
        f"The new {thing} in {town} was completed in {year} after years of planning.\n"
        f"Mayor Ilse Varnum{i} said the {thing} cost {i + 3} million crowns. {extra}\n"
    )


def write_folder(folder: Path, n: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (folder / f"art{i:03d}.txt").write_text(article_text(i), encoding="utf-8")


def make_settings(tmp_path: Path, **extra: object) -> Settings:
    return load_settings(data_dir=tmp_path / "data", articles_dir=tmp_path / "articles", **extra)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    write_folder(tmp_path / "articles", 5)
    return make_settings(tmp_path)


@pytest.fixture
def desk(settings: Settings) -> Iterator[Desk]:
    d = Desk.open(settings)
    yield d
    d.close()


def answer_id(desk: Desk, question: str) -> str | None:
    response = desk.ask(question)
    return response.answer.article_id if response.answer else None


def test_open_imports_the_folder_and_answers(desk: Desk) -> None:
    assert desk.count_articles() == 5
    assert desk.stats().articles == 5
    assert answer_id(desk, "When was the Marbrook library completed?") == "art001"


def test_second_open_loads_the_saved_index_without_rebuilding(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    Desk.open(settings).close()
    caplog.clear()
    with caplog.at_level(logging.INFO):
        d = Desk.open(settings)
    try:
        assert not [r for r in caplog.records if "rebuil" in r.getMessage()]
        assert d._engine.fingerprint() == store_fingerprint(d.store.hashes())
        assert answer_id(d, "How much did the Ostervik stadium cost?") == "art002"
    finally:
        d.close()


def test_same_content_twice_in_the_folder_is_reported_not_duplicated(tmp_path: Path) -> None:
    write_folder(tmp_path / "articles", 3)
    shutil.copy(tmp_path / "articles" / "art001.txt", tmp_path / "articles" / "zcopy.txt")
    d = Desk.open(make_settings(tmp_path))
    try:
        assert d.count_articles() == 3
        assert d.last_import.duplicates == [("zcopy.txt", "art001")]
    finally:
        d.close()
    d = Desk.open(make_settings(tmp_path))  # unchanged files are not reported again
    try:
        assert d.last_import.duplicates == []
        assert d.count_articles() == 3
    finally:
        d.close()


def test_bad_files_in_the_folder_are_refused_and_the_rest_load(tmp_path: Path) -> None:
    write_folder(tmp_path / "articles", 2)
    (tmp_path / "articles" / "empty.txt").write_bytes(b"")
    (tmp_path / "articles" / "latin1.txt").write_bytes("Caf\xe9\nX\nY".encode("latin-1"))
    d = Desk.open(make_settings(tmp_path))
    try:
        assert d.count_articles() == 2
        assert sorted(name for name, _ in d.last_import.refused) == ["empty.txt", "latin1.txt"]
    finally:
        d.close()


def test_add_file_is_answerable_at_once_and_listed_first(desk: Desk) -> None:
    question = "Who is the head of the Fenwick observatory?"
    before = desk.generation
    outcome = desk.add_file(
        "fenwick.txt",
        b"Fenwick observatory gets a new head\nStar Tribune\n"
        b"Astronomer Odile Brankov was named head of the Fenwick observatory on Monday.\n",
        added_by="telegram:1",
    )
    assert outcome.added and outcome.article_id == "fenwick" and outcome.paragraphs == 1
    assert outcome.title == "Fenwick observatory gets a new head"
    assert desk.generation > before
    assert answer_id(desk, question) == "fenwick"
    assert desk.list_articles(0, 1)[0].article.id == "fenwick"
    assert desk.list_articles(0, 1)[0].added_by == "telegram:1"
    assert desk.headlines(1) == ["Fenwick observatory gets a new head"]


def test_existing_id_is_refused_unless_replace(desk: Desk) -> None:
    new = article_text(1, extra="The ribbon was cut by Princess Amaltea.").encode()
    refused = desk.add_file("art001.txt", new, added_by="cli")
    assert not refused.added and "already exists" in (refused.reason or "")
    stored = desk.get_article("art001")
    assert stored is not None and "Amaltea" not in " ".join(stored.article.paragraphs)
    replaced = desk.add_file("art001.txt", new, added_by="cli", replace=True)
    assert replaced.added and replaced.replaced
    response = desk.ask("Who cut the ribbon at the Marbrook library?")
    assert response.answer is not None and "Amaltea" in response.answer.sentence
    assert desk.count_articles() == 5


def test_same_content_under_another_name_is_refused(desk: Desk) -> None:
    changes = desk.store.changes()
    outcome = desk.add_file("other.txt", article_text(2).encode(), added_by="cli")
    assert not outcome.added
    assert "same content as stored article art002" in (outcome.reason or "")
    assert desk.store.changes() == changes


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.txt", b"", "empty"),
        ("blank.txt", b"\n \r\n", "empty"),
        ("binary.txt", b"\x00\x01\x02PNG\x00" * 20, "binary"),
        ("latin.txt", "Caf\xe9 news\nSource\nText".encode("latin-1"), "UTF-8"),
        ("notitle.txt", b"---\nsource: X\n---\nA paragraph.\n", "no title"),
        ("onlytitle.txt", b"Just a headline\n", "no paragraph"),
        ("open.txt", b"---\ntitle: T\nA paragraph.\n", "never closed"),
        ("page.html", b"<html><body><nav>Home</nav></body></html>", "no article text"),
        ("photo.jpg", b"\xff\xd8\xff\xe0" * 10, "not an article file"),
        ("noext", b"Title\nSource\nText", "not an article file"),
    ],
)
def test_bad_uploads_are_refused_and_nothing_changes(
    desk: Desk, name: str, data: bytes, reason: str
) -> None:
    changes, count, generation = desk.store.changes(), desk.count_articles(), desk.generation
    outcome = desk.add_file(name, data, added_by="telegram:1")
    assert not outcome.added
    assert reason in (outcome.reason or "")
    assert (desk.store.changes(), desk.count_articles(), desk.generation) == (
        changes,
        count,
        generation,
    )


def test_oversize_upload_is_refused(tmp_path: Path) -> None:
    write_folder(tmp_path / "articles", 1)
    d = Desk.open(make_settings(tmp_path, max_article_bytes=2_000))
    try:
        big = b"Big news\nSource\n" + b"word " * 1000
        outcome = d.add_file("big.txt", big, added_by="cli")
        assert not outcome.added and "larger than the limit" in (outcome.reason or "")
        assert d.count_articles() == 1
    finally:
        d.close()


@pytest.mark.parametrize(
    ("name", "expected_id"),
    [("../../etc/evil.txt", "evil"), ("..\\win\\x y.txt", "x_y"), (".hidden.txt", "hidden")],
)
def test_odd_file_names_become_safe_ids(desk: Desk, name: str, expected_id: str) -> None:
    outcome = desk.add_file(
        name, b"Odd name article\nSource\nThe Vellmark ferry sails at noon.\n", added_by="cli"
    )
    assert outcome.added and outcome.article_id == expected_id
    assert not any(p.name == "evil" for p in Path("/etc").parent.iterdir())


def test_unusable_file_name_gets_an_id_from_the_headline(desk: Desk) -> None:
    outcome = desk.add_file(
        ".txt", b"Ferry timetable changes\nPort News\nFerries sail at 9.\n", added_by="cli"
    )
    assert outcome.added and (outcome.article_id or "").startswith("ferry-timetable-changes-")


def test_html_upload_is_extracted(desk: Desk) -> None:
    from newsserver import NEWS_PAGE

    outcome = desk.add_file("storm.html", NEWS_PAGE.encode(), added_by="telegram:1")
    assert outcome.added and outcome.article_id == "storm" and outcome.title == STORM_TITLE
    stored = desk.get_article("storm")
    assert stored is not None and stored.article.source == "The Harbour Herald"
    response = desk.ask("How many households lost power in the storm?")
    assert response.answer is not None and STORM_FACT in response.answer.sentence


def test_add_url_and_bad_urls(desk: Desk) -> None:
    with news_server(slow_s=3) as base:
        ok = desk.add_url(f"{base}/news/storm.html", added_by="telegram:1")
        assert ok.added and ok.title == STORM_TITLE
        stored = desk.get_article(ok.article_id or "")
        assert stored is not None and stored.article.url == f"{base}/news/storm.html"
        again = desk.add_url(f"{base}/moved", added_by="telegram:1")
        assert not again.added and "already stored" in (again.reason or "")
        count = desk.count_articles()
        for path, reason in [
            ("/missing", "404"),
            ("/loop", "redirect loop"),
            ("/picture.png", "image/png"),
            ("/empty.html", "no article text"),
        ]:
            outcome = desk.add_url(base + path, added_by="telegram:1")
            assert not outcome.added and reason in (outcome.reason or ""), outcome
        latin = desk.add_url(f"{base}/news/latin1.txt", added_by="cli")
        assert latin.added and latin.article_id == "latin1"
        assert (latin.title or "").startswith("Størm Elena")
        desk.remove("latin1")
        outcome = desk.add_url("ftp://127.0.0.1/x.html", added_by="cli")
        assert not outcome.added and "only http and https" in (outcome.reason or "")
        assert desk.count_articles() == count
    response = desk.ask("How many households lost power when Storm Elena hit?")
    assert response.answer is not None and response.answer.article_id == ok.article_id


def test_remove_takes_the_article_out_of_answers(desk: Desk) -> None:
    assert answer_id(desk, "When was the Marbrook library completed?") == "art001"
    assert desk.remove("art001") is True
    assert answer_id(desk, "When was the Marbrook library completed?") != "art001"
    assert desk.remove("art001") is False
    assert desk.count_articles() == 4 and desk.stats().articles == 4


def test_removed_folder_article_stays_removed_until_its_file_changes(settings: Settings) -> None:
    d = Desk.open(settings)
    d.remove("art003")
    d.close()
    d = Desk.open(settings)
    try:
        assert d.get_article("art003") is None
    finally:
        d.close()
    path = settings.articles_dir / "art003.txt"
    path.write_text(article_text(3, extra="Updated."), encoding="utf-8")
    d = Desk.open(settings)
    try:
        assert d.get_article("art003") is not None
        assert d.last_import.added == ["art003"]
    finally:
        d.close()


def test_changed_folder_file_updates_the_article(settings: Settings) -> None:
    Desk.open(settings).close()
    path = settings.articles_dir / "art004.txt"
    path.write_text(article_text(4, extra="Chef Ramiro Quast opened the cafe."), encoding="utf-8")
    d = Desk.open(settings)
    try:
        assert d.last_import.updated == ["art004"]
        response = d.ask("Who opened the cafe?")
        assert response.answer is not None and "Quast" in response.answer.sentence
    finally:
        d.close()


def test_refresh_picks_up_another_desks_changes(settings: Settings) -> None:
    bot = Desk.open(settings)
    cli = Desk.open(settings)
    try:
        assert bot.refresh() is False
        cli.add_file(
            "brankov.txt",
            b"Odile Brankov wins chess title\nChess Weekly\n"
            b"Odile Brankov won the Tarvik chess open.\n",
            added_by="cli",
        )
        cli.remove("art000")
        generation = bot.generation
        assert bot.refresh() is True
        assert bot.generation > generation
        assert answer_id(bot, "Who won the Tarvik chess open?") == "brankov"
        assert "art000" not in bot._engine.article_ids()
        assert bot.refresh() is False
        assert bot._engine.fingerprint() == store_fingerprint(bot.store.hashes())
    finally:
        bot.close()
        cli.close()


def test_reindex_reports_progress_and_picks_up_new_files(settings: Settings) -> None:
    d = Desk.open(settings)
    try:
        (settings.articles_dir / "new.txt").write_text(
            "Tarvik opens a zoo\nZoo News\nThe Tarvik zoo opened with 40 penguins.\n",
            encoding="utf-8",
        )
        calls: list[tuple[int, int]] = []
        stats = d.reindex(progress=lambda done, total: calls.append((done, total)))
        assert stats.articles == 6
        assert calls and calls[-1][0] == calls[-1][1] == 6
        assert answer_id(d, "How many penguins does the Tarvik zoo have?") == "new"
    finally:
        d.close()


def _index_files(index_dir: Path) -> list[Path]:
    return sorted(p for p in index_dir.rglob("*") if p.is_file())


@pytest.mark.parametrize("damage", ["truncate", "garble", "delete_all", "delete_one"])
def test_damaged_index_is_rebuilt_with_a_log_line(
    settings: Settings, caplog: pytest.LogCaptureFixture, damage: str
) -> None:
    Desk.open(settings).close()
    files = _index_files(settings.index_dir)
    assert files
    if damage == "delete_all":
        shutil.rmtree(settings.index_dir.resolve())
        settings.index_dir.unlink()
    else:
        for path in files:
            if damage == "truncate":
                path.write_bytes(path.read_bytes()[: max(1, path.stat().st_size // 2)])
            elif damage == "garble" and path.stat().st_size:
                data = bytearray(path.read_bytes())
                data[len(data) // 2] ^= 0xFF
                path.write_bytes(bytes(data))
            elif damage == "delete_one" and path.suffix != ".json":
                path.unlink()
                break
    caplog.clear()
    with caplog.at_level(logging.INFO):
        d = Desk.open(settings)
    try:
        assert any("rebuil" in r.getMessage() for r in caplog.records)
        assert answer_id(d, "When was the Marbrook library completed?") == "art001"
    finally:
        d.close()
    caplog.clear()
    with caplog.at_level(logging.INFO):
        Desk.open(settings).close()
    assert not any("rebuil" in r.getMessage() for r in caplog.records)


def test_store_changed_behind_the_index_is_detected_as_stale(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    Desk.open(settings).close()
    from index.store import Store

    store = Store(settings.store_path)
    store.put(
        Article(id="sneaky", title="Sneaky", paragraphs=("Kelvor lighthouse reopened.",)),
        added_by="cli",
    )
    store.close()
    with caplog.at_level(logging.INFO):
        d = Desk.open(settings)
    try:
        assert any("stale" in r.getMessage() for r in caplog.records)
        assert answer_id(d, "Which lighthouse reopened?") == "sneaky"
    finally:
        d.close()


def test_questions_and_feedback_are_logged(desk: Desk) -> None:
    answered = desk.ask("When was the Marbrook library completed?", channel="telegram")
    desk.ask("What is the airspeed velocity of an unladen swallow?", channel="telegram")
    desk.record_feedback("When?", answered.answer, True, user="telegram:5")
    desk.record_feedback("What?", None, False, user="telegram:6")
    activity = desk.activity(24)
    assert activity.answered + activity.declined == 2
    assert activity.answered >= 1
    assert activity.median_latency_ms is not None and activity.median_latency_ms >= 0
    assert (activity.helpful, activity.not_helpful) == (1, 1)
    row = desk.store._db.execute(
        "SELECT channel, article_id FROM questions WHERE answered=1"
    ).fetchone()
    assert tuple(row) == ("telegram", "art001")


def test_readers_never_see_a_half_updated_engine(desk: Desk) -> None:
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            try:
                desk.ask("When was the Marbrook library completed?")
                desk.stats()
            except BaseException as exc:  # pragma: no cover - the failure being tested
                errors.append(exc)
                return

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        for i in range(20):
            desk.add_file(f"live{i}.txt", article_text(100 + i).encode(), added_by="cli")
            if i % 3 == 0:
                desk.remove(f"live{i}")
        desk.reindex()
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert errors == []
    assert desk._engine.fingerprint() == store_fingerprint(desk.store.hashes())


def test_add_paths_handles_files_folders_and_missing_paths(desk: Desk, tmp_path: Path) -> None:
    extra = tmp_path / "extra"
    write_folder(extra, 0)
    (extra / "a.txt").write_text("Alpha\nSrc\nThe Alpha canal is 12 km long.\n", encoding="utf-8")
    (extra / "b.txt").write_text("Beta\nSrc\nThe Beta dam is 80 m high.\n", encoding="utf-8")
    single = tmp_path / "gamma.txt"
    single.write_text("Gamma\nSrc\nThe Gamma road opened in May.\n", encoding="utf-8")
    outcomes = desk.add_paths([extra, single, tmp_path / "nope.txt"], added_by="cli")
    assert [(o.article_id, o.added) for o in outcomes] == [
        ("a", True),
        ("b", True),
        ("gamma", True),
        (None, False),
    ]
    assert outcomes[-1].reason == "no such file"
    assert os.fspath(tmp_path / "nope.txt") == outcomes[-1].input


def test_a_failed_index_save_loses_no_acknowledged_article(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Disk full while saving: the add still succeeds (it is committed) and answers."""
    from index.engine import Engine

    d = Desk.open(settings)
    try:

        def full_disk(self: Engine, directory: Path) -> None:
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(Engine, "save", full_disk)
        with caplog.at_level(logging.ERROR):
            outcome = d.add_file(
                "zoo.txt",
                b"Tarvik zoo\nZoo News\nThe Tarvik zoo has 40 penguins.\n",
                added_by="cli",
            )
        assert outcome.added
        assert any("could not save the index" in r.getMessage() for r in caplog.records)
        assert answer_id(d, "How many penguins live in the Tarvik zoo?") == "zoo"
    finally:
        monkeypatch.undo()
        d.close()
    caplog.clear()
    with caplog.at_level(logging.INFO):
        d = Desk.open(settings)
    try:
        assert any("stale" in r.getMessage() for r in caplog.records)
        assert answer_id(d, "How many penguins live in the Tarvik zoo?") == "zoo"
    finally:
        d.close()


def test_a_reindex_elsewhere_does_not_disturb_a_running_desk(settings: Settings) -> None:
    """The old index folder is deleted under the running Desk, which keeps answering."""
    bot = Desk.open(settings)
    try:
        old_target = settings.index_dir.resolve()
        cli = Desk.open(settings, import_folder=False, load_index=False)
        try:
            cli.reindex()
        finally:
            cli.close()
        assert settings.index_dir.resolve() != old_target and not old_target.exists()
        for _ in range(3):
            assert answer_id(bot, "When was the Marbrook library completed?") == "art001"
        bot.add_file(
            "zoo.txt", b"Tarvik zoo\nZoo News\nThe Tarvik zoo has 40 penguins.\n", added_by="cli"
        )
        assert answer_id(bot, "How many penguins live in the Tarvik zoo?") == "zoo"
    finally:
        bot.close()
    reopened = Desk.open(settings)
    try:
        assert reopened._engine.fingerprint() == store_fingerprint(reopened.store.hashes())
        assert answer_id(reopened, "How many penguins live in the Tarvik zoo?") == "zoo"
    finally:
        reopened.close()


def test_index_folders_left_by_a_killed_swap_are_cleaned_up(settings: Settings) -> None:
    Desk.open(settings).close()
    live = settings.index_dir.resolve()
    orphan = settings.data_dir / "index-deadbeef0000"
    shutil.copytree(live, orphan)
    stray_link = settings.data_dir / ".index.link-99999"
    stray_link.symlink_to(orphan.name)
    d = Desk.open(settings)
    try:
        assert not orphan.exists() and not stray_link.is_symlink()
        assert settings.index_dir.resolve() == live and live.is_dir()
        assert answer_id(d, "When was the Marbrook library completed?") == "art001"
    finally:
        d.close()


def test_refresh_writes_buffered_question_logs(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    import index.service as service

    monkeypatch.setattr(service, "QUESTION_LOG_INTERVAL_S", 0.0)
    desk._pending_questions.append(("telegram", 1.5, True, "art001"))
    desk.refresh()
    count = desk.store._db.execute("SELECT COUNT(*) FROM questions").fetchone()[0]
    assert count == 1 and desk._pending_questions == []
