"""kill -9 real ``newsdesk add`` and ``newsdesk reindex`` processes at random moments.

After every kill a Desk must open, answer, and hold every article whose ``added`` line was
printed (acknowledged), each with exactly the content of its file: the previous or the new
state, never a broken one.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from config import load_settings
from index.articles import parse_article
from index.service import Desk, store_fingerprint

REPO = Path(__file__).resolve().parents[2]
KILLS_EACH = 12  # kill -9 at least this many adds and this many reindexes
BASE_ARTICLES = 2000


def story(i: int) -> str:
    return (
        f"Harbour report number {i}\nWire {i % 7}\n"
        f"The vessel Kestrel{i} docked at pier {i % 40} carrying {i * 13} tonnes of grain.\n"
        f"Port officer Anja Velde{i} logged the arrival on the night shift.\n"
    )


def run_and_kill(
    cmd: list[str],
    env: dict[str, str],
    cwd: Path,
    delay: float,
    trigger: Callable[[], bool] | None = None,
    after: float = 0.0,
) -> tuple[list[str], bool]:
    """Start ``cmd`` and SIGKILL it after ``delay`` seconds, or ``after`` seconds once
    ``trigger()`` turns true (polled every millisecond); the stdout lines, and if it was killed.
    """
    proc = subprocess.Popen(
        cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    deadline = time.monotonic() + delay
    while proc.poll() is None and time.monotonic() < deadline:
        if trigger is not None and trigger():
            time.sleep(after)
            break
        time.sleep(0.001)
    killed = proc.poll() is None
    if killed:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.stdout is not None
    return proc.stdout.read().splitlines(), killed


def store_changes(path: Path) -> int:
    """The store's change counter, read as another process would."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        return int(db.execute("SELECT value FROM meta WHERE key='changes'").fetchone()[0])
    finally:
        db.close()


@pytest.mark.slow
def test_kill_9_during_add_and_reindex_loses_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    articles = tmp_path / "articles"
    articles.mkdir()
    for i in range(BASE_ARTICLES):
        (articles / f"base{i:04d}.txt").write_text(story(i), encoding="utf-8")
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")},
        "NEWSDESK_DATA_DIR": str(tmp_path / "data"),
        "NEWSDESK_ARTICLES_DIR": str(articles),
        "PYTHONPATH": str(REPO),
    }
    settings = load_settings(data_dir=tmp_path / "data", articles_dir=articles)
    cli = [sys.executable, "-m", "bot.cli"]
    Desk.open(settings).close()
    running = Desk.open(settings)  # stands for the bot, open through every kill

    # how long start-up and uninterrupted runs take, so kills land on the work, not on imports
    start = time.monotonic()
    subprocess.run([sys.executable, "-c", "import bot.cli, index.service"], env=env, check=True)
    import_time = time.monotonic() - start
    (incoming / "calib.txt").write_text(story(100_000), encoding="utf-8")
    start = time.monotonic()
    done = subprocess.run([*cli, "add", str(incoming / "calib.txt")], env=env, cwd=tmp_path)
    add_time = time.monotonic() - start
    assert done.returncode == 0
    start = time.monotonic()
    assert subprocess.run([*cli, "reindex"], env=env, cwd=tmp_path).returncode == 0
    reindex_time = time.monotonic() - start

    rng = random.Random(20240305)
    acknowledged: dict[str, str] = {"calib": story(100_000)}
    next_id = 0
    kills = {"add": 0, "reindex": 0}
    triggered = {"add": 0, "reindex": 0}  # kills timed on the commit / on the index swap
    attempts = {"add": 0, "reindex": 0}
    trials = 0
    # kill windows per command; a run that finished before its kill narrows its window, so
    # a busy machine (runs slower or faster than calibrated) still gets its kills
    window = {
        "add": [0.9 * import_time, 1.05 * add_time],
        "reindex": [0.9 * import_time, 1.05 * reindex_time],
    }
    while min(kills.values()) < KILLS_EACH and trials < 6 * KILLS_EACH:
        trials += 1
        kind = "add" if kills["add"] < kills["reindex"] or rng.random() < 0.5 else "reindex"
        if kills[kind] >= KILLS_EACH:
            kind = "reindex" if kind == "add" else "add"
        if kind == "add":
            batch = {}
            for _ in range(3):
                next_id += 1
                name = f"new{next_id:04d}"
                batch[name] = story(200_000 + next_id)
                (incoming / f"{name}.txt").write_text(batch[name], encoding="utf-8")
            cmd = [*cli, "add", *(str(incoming / f"{n}.txt") for n in batch)]
            if attempts[kind] % 2:  # right after the commit, before or while the index is saved
                before = store_changes(settings.store_path)
                lines, killed = run_and_kill(
                    cmd,
                    env,
                    tmp_path,
                    30.0,
                    lambda before=before: store_changes(settings.store_path) != before,
                    rng.uniform(0, 0.02),
                )
                triggered[kind] += killed
            else:
                delay = rng.uniform(*window["add"])
                lines, killed = run_and_kill(cmd, env, tmp_path, delay)
            for line in lines:
                if line.startswith("added "):
                    acknowledged[line.split()[1].rstrip(":")] = batch[line.split()[1].rstrip(":")]
        else:
            if attempts[kind] % 2:  # while the new index folder is written or swapped in
                live = settings.index_dir.resolve()
                _, killed = run_and_kill(
                    [*cli, "reindex"],
                    env,
                    tmp_path,
                    30.0,
                    lambda live=live: any(
                        p.name.startswith("index-") and p.resolve() != live
                        for p in settings.data_dir.iterdir()
                    ),
                    rng.uniform(0, 0.01),
                )
                triggered[kind] += killed
            else:
                delay = rng.uniform(*window["reindex"])
                _, killed = run_and_kill([*cli, "reindex"], env, tmp_path, delay)
        kills[kind] += killed
        attempts[kind] += 1
        if not killed and attempts[kind] % 2:
            low, high = window[kind]
            window[kind] = [low * 0.9, max(low * 0.9 + 0.05, min(high, delay) * 0.9)]

        with caplog.at_level(logging.INFO, logger="index.service"):
            desk = Desk.open(settings)
        try:
            hashes = desk.store.hashes()
            for article_id, text in acknowledged.items():
                assert article_id in hashes, f"acknowledged {article_id} lost ({kind} trial)"
                expected = parse_article(f"{article_id}.txt", text.encode()).content_hash()
                assert hashes[article_id] == expected
            for article_id in hashes:  # nothing half-added: every stored article is whole
                stored = desk.get_article(article_id)
                assert stored is not None
                assert stored.article.content_hash() == stored.content_hash
                assert len(stored.article.paragraphs) == 2
            assert desk._engine.fingerprint() == store_fingerprint(hashes)
            probe = rng.choice(sorted(acknowledged))
            number = int(acknowledged[probe].split()[3])
            question = f"Which vessel carried {number * 13} tonnes of grain?"
            response = desk.ask(question)
            assert response.answer is not None, f"no answer after {kind} trial"
            assert response.answer.article_id == probe
        finally:
            desk.close()
        # the bot, running all along, picks the change up without a restart
        running.refresh()
        assert running._engine.fingerprint() == store_fingerprint(running.store.hashes())
        response = running.ask(question)
        assert response.answer is not None and response.answer.article_id == probe
    running.close()
    recoveries = sum("rebuilding" in r.getMessage() for r in caplog.records)
    print(
        f"{recoveries} index recoveries after kills; crash trials: {trials} runs, "
        f"kills {kills} ({triggered} timed on the commit or swap), "
        f"{len(acknowledged)} acknowledged; "
        f"start-up {import_time:.2f} s, add {add_time:.2f} s, reindex {reindex_time:.2f} s"
    )
    assert sum(kills.values()) >= 2 * KILLS_EACH >= 20
