"""Admin commands in Telegram (add, remove, list, reindex, stats). Filled in by issue 4."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application

from config import Settings
from index.service import Desk


def register_admin_handlers(
    application: Application[Any, Any, Any, Any, Any, Any], desk: Desk, settings: Settings
) -> None:
    """Add the admin command handlers to ``application`` (none yet)."""
