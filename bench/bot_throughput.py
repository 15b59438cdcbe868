"""Answers per second and reply latency of ``newsdesk serve``, through the fake Bot API.

Starts the strict fake Bot API (tests/e2e/fake_bot_api.py) on 127.0.0.1, runs the real
``serve`` in a subprocess against it (long polling), then:

* latency: questions sent one at a time, time from queuing the update to the bot's
  ``sendMessage`` reaching the server (p50/p99);
* throughput: a burst of questions from many users at once, answers per second until the
  last reply. PTB's AIORateLimiter keeps the bot under Telegram's ~30 messages/second, so
  this figure is capped by design; ``--users`` spreads the burst over that many chats.

    .venv/bin/python bench/bot_throughput.py [--latency-n 200] [--burst-n 600] [--users 300]
        [--passages N]   # bench/corpus.py's synthetic corpus instead of seeds/
        [--raw]          # in-process with the flood limit lifted: the bot's own capacity
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "e2e"))
sys.path.insert(0, str(REPO))

from fake_bot_api import Call, FakeBotApi  # noqa: E402

TOKEN = "555000111:AAbenchmarkTOKEN_not_secret_0123456789"
FALLBACK_QUESTIONS = [
    "When did the missile attacks occur?",
    "Who confirmed that Russia fired North Korean missiles on Ukraine?",
    "Where did Podolyak post his statement?",
    "What is the capital of France?",
]


def questions(path: Path | None = None) -> list[str]:
    path = path or REPO.parent / "shared" / "questions" / "seed_dev.jsonl"
    if path.exists():
        return [json.loads(line)["question"] for line in path.read_text().splitlines() if line]
    return FALLBACK_QUESTIONS


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def measure(api: FakeBotApi, qs: list[str], args: argparse.Namespace) -> dict[str, float]:
    """Latency one question at a time, then throughput of a burst from many users."""
    lat: list[float] = []
    for i in range(args.latency_n):
        user = 10_000 + i
        start = len(api.calls)
        t0 = time.monotonic()
        api.send_text(user, qs[i % len(qs)])
        call = await api.reply(user, start=start, timeout=30)
        lat.append((call.at - t0) * 1000)
        if args.pause_ms:
            await asyncio.sleep(args.pause_ms / 1000)
    users = [20_000 + i for i in range(args.users)]
    start = len(api.calls)

    def sent() -> list[Call]:
        return [c for c in api.calls[start:] if c.method == "sendMessage" and c.status == 200]

    t0 = time.monotonic()
    for i in range(args.burst_n):
        api.send_text(users[i % len(users)], qs[i % len(qs)])
    await api.wait_for(lambda c: len(sent()) >= args.burst_n, timeout=600, start=start)
    elapsed = max(c.at for c in sent()) - t0
    return {
        "latency_ms_p50": round(statistics.median(lat), 1),
        "latency_ms_p99": round(percentile(lat, 0.99), 1),
        "latency_ms_max": round(max(lat), 1),
        "answers_per_s": round(args.burst_n / elapsed, 1),
    }


async def run_serve(
    api: FakeBotApi, tmp: Path, qs: list[str], args: argparse.Namespace
) -> dict[str, object]:
    """The real ``newsdesk serve`` in a subprocess, with Telegram's flood limit."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
    env.update(
        PYTHONPATH=str(REPO),
        NEWSDESK_TELEGRAM_TOKEN=TOKEN,
        NEWSDESK_TELEGRAM_API_URL=api.base_url,
        NEWSDESK_DATA_DIR=str(tmp / "data"),
        NEWSDESK_ARTICLES_DIR=str(args.articles),
        NEWSDESK_USER_RATE_LIMIT="1000000",
        NEWSDESK_LOG_LEVEL=os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
    )
    script = Path(sys.executable).with_name("newsdesk")
    cmd = [str(script), "serve"] if script.exists() else [sys.executable, "-m", "bot.cli", "serve"]
    t_start = time.monotonic()
    proc = await asyncio.create_subprocess_exec(*cmd, env=env, cwd=tmp)
    try:
        await api.wait_polling(timeout=300)
        startup_s = time.monotonic() - t_start
        figures = await measure(api, qs, args)
    finally:
        proc.send_signal(signal.SIGTERM)
        code = await proc.wait()
    return {"mode": "newsdesk serve (subprocess)", "startup_s": round(startup_s, 2), **figures,
            "serve_exit_code": code}  # fmt: skip


async def run_raw(
    api: FakeBotApi, tmp: Path, qs: list[str], args: argparse.Namespace
) -> dict[str, object]:
    """The same Application in this process with the flood limit lifted: the bot's capacity.

    The fake server shares this process and its event loop, so the figure is conservative.
    """
    from conftest import make_settings, running_bot

    from bot.app import build_application
    from index.service import Desk

    settings = make_settings(
        api, tmp / "raw", telegram_token=TOKEN, articles_dir=args.articles, user_rate_limit=1000000
    )
    desk = await asyncio.to_thread(Desk.open, settings)
    try:
        app = build_application(settings, desk, overall_max_rate=1e6)
        async with running_bot(app):
            await api.wait_polling()
            figures = await measure(api, qs, args)
    finally:
        desk.close()
    return {"mode": "in-process, flood limit lifted", **figures}


async def main(args: argparse.Namespace) -> dict[str, object]:
    qpath = None
    if args.passages:
        from bench.corpus import generate

        corpus = generate(args.passages, questions=600)
        args.articles, qpath = corpus.folder, corpus.questions
    qs = questions(qpath)
    with tempfile.TemporaryDirectory() as tmp:
        async with FakeBotApi(TOKEN) as api:
            runner = run_raw if args.raw else run_serve
            figures = await runner(api, Path(tmp), qs, args)
    return {
        "articles_dir": str(args.articles),
        "questions": len(qs),
        "latency_n": args.latency_n,
        "pause_ms": args.pause_ms,
        "burst_n": args.burst_n,
        "burst_users": args.users,
        **figures,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--latency-n", type=int, default=200)
    parser.add_argument("--burst-n", type=int, default=600)
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument(
        "--pause-ms",
        type=float,
        default=0,
        help="pause between latency questions (0: back to back)",
    )
    parser.add_argument("--articles", type=Path, default=REPO / "seeds")
    parser.add_argument(
        "--passages", type=int, default=0, help="use bench/corpus.py's synthetic corpus this big"
    )
    parser.add_argument(
        "--raw", action="store_true", help="in-process with the flood limit lifted (capacity)"
    )
    print(json.dumps(asyncio.run(main(parser.parse_args())), indent=2))
