"""Answers per second and reply latency of ``newsdesk serve``, through the fake Bot API.

Starts the strict fake Bot API (tests/e2e/fake_bot_api.py) on 127.0.0.1, runs the real
``serve`` in a subprocess against it (long polling), then:

* latency: questions sent one at a time, time from queuing the update to the bot's
  ``sendMessage`` reaching the server (p50/p99);
* throughput: a burst of questions from many users at once, answers per second until the
  last reply. PTB's AIORateLimiter keeps the bot under Telegram's ~30 messages/second, so
  this figure is capped by design; ``--users`` spreads the burst over that many chats.

    .venv/bin/python bench/bot_throughput.py [--latency-n 200] [--burst-n 600] [--users 300]
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

from fake_bot_api import FakeBotApi  # noqa: E402

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


async def main(args: argparse.Namespace) -> dict[str, object]:
    qpath = None
    if args.passages:
        from bench.corpus import generate

        corpus = generate(args.passages, questions=600)
        args.articles, qpath = corpus.folder, corpus.questions
    qs = questions(qpath)
    with tempfile.TemporaryDirectory() as tmp:
        async with FakeBotApi(TOKEN) as api:
            env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
            env.update(
                PYTHONPATH=str(REPO),
                NEWSDESK_TELEGRAM_TOKEN=TOKEN,
                NEWSDESK_TELEGRAM_API_URL=api.base_url,
                NEWSDESK_DATA_DIR=str(Path(tmp) / "data"),
                NEWSDESK_ARTICLES_DIR=str(args.articles),
                NEWSDESK_USER_RATE_LIMIT="1000000",
                NEWSDESK_LOG_LEVEL="WARNING",
            )
            cmd = [sys.executable, "-c",
                   "import sys; from config import load_settings; from bot.serve import run; "
                   "sys.exit(run(load_settings()))"]  # fmt: skip
            t_start = time.monotonic()
            proc = await asyncio.create_subprocess_exec(*cmd, env=env, cwd=tmp)
            try:
                await api.wait_polling(timeout=120)
                startup_s = time.monotonic() - t_start
                # latency: one question at a time
                lat: list[float] = []
                for i in range(args.latency_n):
                    user = 10_000 + i
                    start = len(api.calls)
                    t0 = time.monotonic()
                    api.send_text(user, qs[i % len(qs)])
                    call = await api.reply(user, start=start, timeout=30)
                    lat.append((call.at - t0) * 1000)
                # throughput: a burst from many users
                users = [20_000 + i for i in range(args.users)]
                start = len(api.calls)
                t0 = time.monotonic()
                for i in range(args.burst_n):
                    api.send_text(users[i % len(users)], qs[i % len(qs)])
                done = await api.wait_for(
                    lambda c: sum(1 for x in api.calls[start:] if x.method == "sendMessage"
                                  and x.status == 200) >= args.burst_n,
                    timeout=600,
                    start=start,
                )  # fmt: skip
                replies = [
                    c for c in api.calls[start:] if c.method == "sendMessage" and c.status == 200
                ]
                elapsed = max(c.at for c in replies) - t0
                del done
            finally:
                proc.send_signal(signal.SIGTERM)
                code = await proc.wait()
    return {
        "articles_dir": str(args.articles),
        "questions": len(qs),
        "startup_s": round(startup_s, 2),
        "latency_n": args.latency_n,
        "latency_ms_p50": round(statistics.median(lat), 1),
        "latency_ms_p99": round(percentile(lat, 0.99), 1),
        "latency_ms_max": round(max(lat), 1),
        "burst_n": args.burst_n,
        "burst_users": args.users,
        "answers_per_s": round(args.burst_n / elapsed, 1),
        "serve_exit_code": code,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--latency-n", type=int, default=200)
    parser.add_argument("--burst-n", type=int, default=600)
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--articles", type=Path, default=REPO / "seeds")
    parser.add_argument(
        "--passages", type=int, default=0, help="use bench/corpus.py's synthetic corpus this big"
    )
    print(json.dumps(asyncio.run(main(parser.parse_args())), indent=2))
