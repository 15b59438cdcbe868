"""The ``newsdesk`` command: ask, eval, serve, and the admin subcommands.

Contracts are in FORMATS section 3. Settings errors print one line and exit 2; bad input
prints one line naming the problem and exits non-zero; the bot token is never printed.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from bot.cli_admin import add_admin_subcommands
from config import Settings, SettingsError, load_settings
from index.engine import EngineParams
from index.evaluate import FixtureError, Report, evaluate, load_questions
from index.folder_cache import FolderError, open_folder
from index.records import Answer, Response

EXIT_BAD_INPUT = 2


def _open_asker(
    settings: Settings, articles: Path | None
) -> tuple[Callable[[str], Response], Callable[[], None]]:
    """A question -> Response function over --articles DIR or the configured corpus."""
    from index.semantic import reranker_for

    reranker = reranker_for(settings)
    if articles is not None:
        folder = open_folder(
            articles, EngineParams.from_settings(settings), settings.cache_dir, reranker=reranker
        )
        for name, reason in folder.refused:
            print(f"refused {name}: {reason}", file=sys.stderr)
        return folder.engine.ask, (reranker.cache.flush if reranker else lambda: None)
    from index.service import Desk

    desk = Desk.open(settings)
    return (lambda question: desk.ask(question, channel="cli")), desk.close


def format_attribution(answer: Answer) -> str:
    """ "- Headline, Source, date" for the plain-text output."""
    parts = [answer.title, answer.source or "", (answer.published or "")[:10]]
    return "- " + ", ".join(p for p in parts if p)


def _print_response(response: Response) -> None:
    if response.answer is not None:
        print(response.answer.sentence)
        print(format_attribution(response.answer))
        return
    print(f"No answer: {response.declined_reason or 'the articles do not answer this.'}")
    if response.suggestions:
        print("Closest articles: " + "; ".join(response.suggestions))


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    """Answer one question."""
    question = " ".join(args.question.split())
    if not question:
        print("newsdesk ask: the question is empty", file=sys.stderr)
        return EXIT_BAD_INPUT
    ask, close = _open_asker(settings, args.articles)
    try:
        response = ask(question)
    finally:
        close()
    if args.json:
        print(json.dumps(response.to_json(), ensure_ascii=False))
    else:
        _print_response(response)
    return 0


def _print_report(report: Report) -> None:
    rows = report.to_json()
    for key, value in rows.items():
        if key == "failures":
            continue
        print(f"{key:>20}: {value}")
    failures = report.failures
    shown = ", ".join(failures[:20]) + (" ..." if len(failures) > 20 else "")
    print(f"{'failures':>20}: {len(failures)}{' (' + shown + ')' if failures else ''}")


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    """Replay a question fixture file and print the scores."""
    questions = load_questions(args.questions)
    ask, close = _open_asker(settings, args.articles)
    try:
        report = evaluate(questions, ask)
    finally:
        close()
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False))
    else:
        _print_report(report)
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """Run the Telegram bot until SIGINT or SIGTERM."""
    from bot.serve import run

    return run(settings)


def build_parser() -> argparse.ArgumentParser:
    """The ``newsdesk`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="newsdesk",
        description="Answer questions about news articles with one sourced sentence.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ask = sub.add_parser("ask", help="answer one question")
    ask.add_argument("question", help="the question, in plain words")
    ask.add_argument("--articles", type=Path, metavar="DIR", help="use the articles in DIR")
    ask.add_argument("--json", action="store_true", help="print one JSON object")
    ask.set_defaults(func=cmd_ask)

    ev = sub.add_parser("eval", help="replay a question fixture file and score the answers")
    ev.add_argument("questions", type=Path, metavar="QUESTIONS.jsonl")
    ev.add_argument("--articles", type=Path, metavar="DIR", help="use the articles in DIR")
    ev.add_argument("--json", action="store_true", help="print one JSON object")
    ev.set_defaults(func=cmd_eval)

    serve = sub.add_parser("serve", help="run the Telegram bot")
    serve.set_defaults(func=cmd_serve)

    add_admin_subcommands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``newsdesk`` console script."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"newsdesk: invalid setting {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        code: int = args.func(args, settings)
    except SettingsError as exc:
        print(f"newsdesk {args.command}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (FixtureError, FolderError) as exc:
        print(f"newsdesk {args.command}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader went away (`newsdesk list | head`): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return code


if __name__ == "__main__":
    sys.exit(main())
