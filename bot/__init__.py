"""Newsdesk's Telegram bot and command line: formatting and talking, never ranking."""
