"""``newsdesk serve`` as a real subprocess against the fake Bot API: polling and webhook."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from bot_harness import REPO, SEEDS, TOKEN
from fake_bot_api import FakeBotApi

from bot.serve import run
from config import SettingsError, load_settings

SEED_TITLE = "Russia Fires North Korean Missiles on Ukraine, Confirms Ukrainian Official"
SEED_SOURCE = "ICARO Media Group"
Q = "When did the missile attacks occur?"


def serve_command() -> list[str]:
    """``newsdesk serve``: the installed console script, else the same entry point by module."""
    script = Path(sys.executable).with_name("newsdesk")
    if script.exists():
        return [str(script), "serve"]
    return [sys.executable, "-m", "bot.cli", "serve"]


def serve_env(api: FakeBotApi, data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
    env.update(
        PYTHONPATH=str(REPO),
        NEWSDESK_TELEGRAM_TOKEN=TOKEN,
        NEWSDESK_TELEGRAM_API_URL=api.base_url,
        NEWSDESK_DATA_DIR=str(data_dir),
        NEWSDESK_ARTICLES_DIR=str(SEEDS),
        NEWSDESK_LOG_LEVEL="DEBUG",  # the most verbose level must still keep the token out
    )
    env.update(extra)
    return env


async def start_serve(env: dict[str, str], cwd: Path) -> asyncio.subprocess.Process:
    cmd = serve_command()
    return await asyncio.create_subprocess_exec(
        *cmd, env=env, cwd=cwd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )


async def stop(
    proc: asyncio.subprocess.Process, sig: signal.Signals = signal.SIGTERM
) -> tuple[int, str]:
    if proc.returncode is None:
        proc.send_signal(sig)
    try:
        _, err = await asyncio.wait_for(proc.communicate(), 20)
    except TimeoutError:
        proc.kill()
        _, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, err.decode("utf-8", "replace")


@pytest.fixture
async def served(api: FakeBotApi, tmp_path: Path) -> AsyncIterator[asyncio.subprocess.Process]:
    proc = await start_serve(serve_env(api, tmp_path / "data"), tmp_path)
    try:
        await api.wait_polling(timeout=60)
        yield proc
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.communicate()


async def test_serve_answers_within_a_second_and_stops_on_sigterm(
    api: FakeBotApi, served: asyncio.subprocess.Process
) -> None:
    assert [c["command"] for c in api.commands] == ["ask", "help", "about", "start"]
    t0 = time.monotonic()
    start = len(api.calls)
    api.send_text(1234, Q)
    call = await api.reply(1234, start=start, timeout=5)
    latency = time.monotonic() - t0
    text = api.message(call).text
    assert SEED_TITLE in text and SEED_SOURCE in text and "December 30, 2023" in text
    assert latency < 1.0, f"reply took {latency:.3f}s"
    code, err = await stop(served)
    assert code == 0, err[-2000:]
    assert TOKEN not in err and TOKEN.split(":")[1] not in err
    assert "outcome=answered" in err
    for line in err.splitlines():  # the user's words may show at DEBUG only
        if any(f" {level} " in line for level in ("INFO", "WARNING", "ERROR")):
            assert Q not in line, line


async def test_serve_with_rejected_token_exits_1_without_printing_it(
    api: FakeBotApi, tmp_path: Path
) -> None:
    wrong = TOKEN.replace("AAH", "ZZH")
    proc = await start_serve(
        serve_env(api, tmp_path / "data", NEWSDESK_TELEGRAM_TOKEN=wrong), tmp_path
    )
    code, err = await stop_when_done(proc)
    assert code == 1, err[-2000:]
    assert "rejected the token" in err
    assert wrong not in err and wrong.split(":")[1] not in err


async def stop_when_done(proc: asyncio.subprocess.Process) -> tuple[int, str]:
    try:
        _, err = await asyncio.wait_for(proc.communicate(), 60)
    except TimeoutError:
        return await stop(proc)
    assert proc.returncode is not None
    return proc.returncode, err.decode("utf-8", "replace")


async def test_serve_without_token_exits_2_with_one_line(api: FakeBotApi, tmp_path: Path) -> None:
    env = serve_env(api, tmp_path / "data")
    del env["NEWSDESK_TELEGRAM_TOKEN"]
    proc = await start_serve(env, tmp_path)
    code, err = await stop_when_done(proc)
    assert code == 2
    assert err.strip().count("\n") == 0 and "NEWSDESK_TELEGRAM_TOKEN" in err
    assert not api.calls  # it never talked to the Bot API


def test_missing_token_is_a_settings_error(tmp_path: Path) -> None:
    settings = load_settings(telegram_token=None, data_dir=tmp_path)
    with pytest.raises(SettingsError, match="NEWSDESK_TELEGRAM_TOKEN"):
        run(settings)
    hooked = load_settings(telegram_token=TOKEN, data_dir=tmp_path, webhook_url="https://x/hook")
    with pytest.raises(SettingsError, match="NEWSDESK_WEBHOOK_SECRET"):
        run(hooked)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_serve_webhook_mode(api: FakeBotApi, tmp_path: Path) -> None:
    pytest.importorskip("tornado", reason="webhook mode needs python-telegram-bot[webhooks]")
    port = free_port()
    secret = "webhook-Secret_123"
    env = serve_env(
        api,
        tmp_path / "data",
        NEWSDESK_WEBHOOK_URL=f"http://127.0.0.1:{port}/tg/hook",
        NEWSDESK_WEBHOOK_SECRET=secret,
        NEWSDESK_WEBHOOK_LISTEN="127.0.0.1",
        NEWSDESK_WEBHOOK_PORT=str(port),
    )
    proc = await start_serve(env, tmp_path)
    try:
        await api.wait_for(lambda c: c.method == "setWebhook", timeout=60)
        set_call = next(c for c in api.calls if c.method == "setWebhook")
        assert set_call.params["url"] == f"http://127.0.0.1:{port}/tg/hook"
        assert set_call.params["secret_token"] == secret
        # a caller without the secret is refused
        async with httpx.AsyncClient() as client:
            for _ in range(100):
                try:
                    r = await client.post(f"http://127.0.0.1:{port}/tg/hook", json={"update_id": 1})
                    break
                except httpx.ConnectError:
                    await asyncio.sleep(0.1)
            assert r.status_code == 403
        start = len(api.calls)
        api.send_text(777, Q)
        call = await api.reply(777, start=start, timeout=5)
        assert SEED_TITLE in api.message(call).text
        code, err = await stop(proc, signal.SIGINT)
        assert code == 0, err[-2000:]
        assert TOKEN not in err and secret not in err
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.communicate()
