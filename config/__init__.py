"""Newsdesk settings: one validated object, read from ``NEWSDESK_*`` variables and ``.env``."""

from config.settings import Settings, SettingsError, load_settings

__all__ = ["Settings", "SettingsError", "load_settings"]
