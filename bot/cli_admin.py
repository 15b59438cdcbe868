"""The ``newsdesk add | remove | list | reindex`` subcommands. Filled in by issue 4."""

from __future__ import annotations

import argparse


def add_admin_subcommands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the admin subcommands on the ``newsdesk`` parser (none yet)."""
