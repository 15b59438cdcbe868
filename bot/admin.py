"""Admin commands in Telegram: add, remove, list, reindex and usage statistics.

Admins are the numeric user ids of ``settings.admin_ids``. Anyone else gets the same neutral
refusal on every admin command, and the attempt is logged (user id and command only). Every
Desk call runs in a worker thread (``asyncio.to_thread``) so the bot keeps answering while an
article is fetched or the index is rebuilt. Each reply says exactly what happened.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.format import clip, esc
from config import Settings
from index.backends.sphinx_shards import ShardWriteError
from index.records import AddOutcome, StoredArticle
from index.service import Desk

log = logging.getLogger("newsdesk.admin")

Context = ContextTypes.DEFAULT_TYPE
Handler = Callable[[Update, Context], Coroutine[Any, Any, None]]

ADMIN_COMMANDS = ("add", "remove", "articles", "reindex", "stats")
PAGE_SIZE = 8
CALLBACK_PREFIX = "adm:"
REFUSAL = "Sorry, that command is not available."
PROGRESS_EDIT_INTERVAL_S = 1.0
MAX_TITLE = 150
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def _clip(text: str, limit: int = MAX_TITLE) -> str:
    return clip(text, limit)


def outcome_text(outcome: AddOutcome) -> str:
    """What an add did, in one HTML message."""
    if outcome.added:
        verb = "Replaced" if outcome.replaced else "Added"
        plural = "" if outcome.paragraphs == 1 else "s"
        return (
            f"{verb} article <code>{esc(outcome.article_id)}</code>: "
            f"<b>{esc(_clip(outcome.title or ''))}</b> "
            + (
                f"({outcome.paragraphs} paragraph{plural}). It can be asked about now."
                if outcome.index_error is None
                else f"({outcome.paragraphs} paragraph{plural}). It is stored, but NOT yet "
                f"searchable: {esc(_clip(outcome.index_error, 600))}"
            )
        )
    return f"Nothing added from {esc(_clip(outcome.input, 200))}: {esc(outcome.reason)}."


def _backend_lines(extra: dict[str, object]) -> list[str]:
    """/stats lines for a sharded search backend: shards up and down, partial answers."""
    if extra.get("backend") in (None, "embedded"):
        return []
    shards = extra.get("shards")
    down = extra.get("shards_down")
    n_shards = len(shards) if isinstance(shards, list) else 0
    down_list = [str(d) for d in down] if isinstance(down, list) else []
    lines = [
        "",
        "<b>Search backend</b>",
        f"{esc(extra['backend'])}: {n_shards - len(down_list)} of {n_shards} shards answering"
        + (f" (down: {esc(', '.join(down_list))})" if down_list else ""),
        f"Partial answers since start: {extra.get('partial_answers', 0)}",
    ]
    if extra.get("last_index_error"):
        lines.append(f"Last index write error: {esc(_clip(str(extra['last_index_error']), 400))}")
    if extra.get("stats_drift"):
        lines.append("Statistics are approximate until the next /reindex.")
    return lines


def page_text(rows: list[StoredArticle], offset: int, total: int) -> str:
    """One page of the article list, newest first."""
    if total == 0:
        return "No articles are stored. Send me a .txt or .html file, or use /add URL."
    first, last = offset + 1, offset + len(rows)
    lines = [f"<b>Articles {first}–{last} of {total}</b> (newest first)", ""]
    for n, row in enumerate(rows, start=first):
        a = row.article
        details = [esc(a.source)] if a.source else []
        if a.published:
            details.append(esc(a.published[:10]))
        details.append(f"{len(a.paragraphs)} ¶")
        lines.append(f"{n}. <b>{esc(_clip(a.title))}</b>")
        lines.append(f"    <code>{esc(a.id)}</code> · {' · '.join(details)}")
    lines.append("")
    lines.append("Remove one with /remove ID.")
    return "\n".join(lines)


def page_keyboard(offset: int, total: int) -> InlineKeyboardMarkup | None:
    """Prev / Next buttons; callback data ``adm:art:<offset>`` (well under 64 bytes)."""
    buttons = []
    if offset > 0:
        buttons.append(
            InlineKeyboardButton(
                "◀ Prev", callback_data=f"{CALLBACK_PREFIX}art:{max(0, offset - PAGE_SIZE)}"
            )
        )
    if offset + PAGE_SIZE < total:
        buttons.append(
            InlineKeyboardButton(
                "Next ▶", callback_data=f"{CALLBACK_PREFIX}art:{offset + PAGE_SIZE}"
            )
        )
    return InlineKeyboardMarkup([buttons]) if buttons else None


def _ms(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"


class AdminBot:
    """The admin handlers, bound to one Desk and the admin ids."""

    def __init__(self, desk: Desk, settings: Settings) -> None:
        self.desk = desk
        self.settings = settings
        self.admins = frozenset(settings.admin_ids)

    # --- wiring ---------------------------------------------------------------------------
    def register(self, app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        """Handlers in group 0, added before the chat handlers so they win."""
        commands: dict[str, Handler] = {
            "add": self.on_add,
            "remove": self.on_remove,
            "articles": self.on_articles,
            "reindex": self.on_reindex,
            "stats": self.on_stats,
        }
        for name, handler in commands.items():
            app.add_handler(CommandHandler(name, self._guard(name, handler)))
        app.add_handler(
            MessageHandler(filters.ChatType.PRIVATE & filters.Document.ALL, self.on_document)
        )
        app.add_handler(CallbackQueryHandler(self.on_page_button, pattern=f"^{CALLBACK_PREFIX}"))

    def is_admin(self, update: Update) -> bool:
        user = update.effective_user
        return user is not None and user.id in self.admins

    def _guard(self, command: str, handler: Handler) -> Handler:
        """Run ``handler`` for admins; refuse and log anyone else. Later groups never run."""

        async def guarded(update: Update, context: Context) -> None:
            message = update.effective_message
            if message is None:
                return
            if not self.is_admin(update):
                user = update.effective_user
                log.warning(
                    "refused admin command /%s from non-admin user %s",
                    command,
                    user.id if user else "unknown",
                )
                await self._reply(message, REFUSAL)
                raise ApplicationHandlerStop
            await handler(update, context)
            raise ApplicationHandlerStop

        return guarded

    async def _reply(
        self, message: Message, text: str, markup: InlineKeyboardMarkup | None = None
    ) -> Message:
        return await message.reply_text(
            text,
            parse_mode=ParseMode.HTML,
            reply_markup=markup,
            do_quote=False,
            link_preview_options=NO_PREVIEW,
        )

    @staticmethod
    def _who(update: Update) -> str:
        user = update.effective_user
        return f"telegram:{user.id}" if user else "telegram:unknown"

    # --- adding ---------------------------------------------------------------------------
    async def on_add(self, update: Update, context: Context) -> None:
        """/add URL [replace]: fetch a page and add its article."""
        message = update.effective_message
        assert message is not None
        args = list(context.args or [])
        replace = bool(args) and args[-1].lower() in ("replace", "--replace")
        if replace:
            args = args[:-1]
        if len(args) != 1:
            await self._reply(
                message,
                "Usage: /add URL (add <code>replace</code> to overwrite an article with the "
                "same id). To add a file, send me a .txt, .html or .htm document.",
            )
            return
        url = args[0]
        log.info("admin %s adds URL", self._who(update))
        outcome = await asyncio.to_thread(
            self.desk.add_url, url, added_by=self._who(update), replace=replace
        )
        await self._reply(message, outcome_text(outcome))

    async def on_document(self, update: Update, context: Context) -> None:
        """A .txt / .html / .htm document from an admin becomes an article."""
        message = update.effective_message
        if message is None or message.document is None:
            return
        if not self.is_admin(update):
            user = update.effective_user
            log.warning(
                "refused document upload from non-admin user %s", user.id if user else "unknown"
            )
            return  # the chat handlers' non-text hint answers, as for any other file
        document = message.document
        name = document.file_name or ""
        replace = (message.caption or "").strip().lower() in ("replace", "/replace")
        limit = self.settings.max_article_bytes
        if not name:
            text = "Nothing added: the file has no name. Send a .txt, .html or .htm file."
        elif document.file_size is not None and document.file_size > limit:
            text = (
                f"Nothing added from {esc(name)}: the file is larger than the limit of "
                f"{limit / 1_000_000:g} MB."
            )
        else:
            try:
                telegram_file = await context.bot.get_file(document.file_id)
                data = bytes(await telegram_file.download_as_bytearray())
            except TelegramError as exc:
                log.warning("download of an uploaded file failed: %s", type(exc).__name__)
                text = f"Nothing added from {esc(name)}: the file could not be downloaded."
            else:
                outcome = await asyncio.to_thread(
                    self.desk.add_file, name, data, added_by=self._who(update), replace=replace
                )
                text = outcome_text(outcome)
        await self._reply(message, text)
        raise ApplicationHandlerStop

    # --- removing and listing -------------------------------------------------------------
    async def on_remove(self, update: Update, context: Context) -> None:
        """/remove ID: take an article out of the store and the index."""
        message = update.effective_message
        assert message is not None
        args = list(context.args or [])
        if len(args) != 1:
            await self._reply(message, "Usage: /remove ID (see /articles for the ids).")
            return
        article_id = args[0]
        stored = await asyncio.to_thread(self.desk.get_article, article_id)
        try:
            removed = await asyncio.to_thread(self.desk.remove, article_id)
        except ShardWriteError as exc:
            text = (
                f"Removed article <code>{esc(article_id)}</code> from the store; it is no "
                f"longer used, but {esc(_clip(str(exc), 600))}"
            )
            await self._reply(message, text)
            return
        if removed:
            title = f": <b>{esc(_clip(stored.article.title))}</b>" if stored else ""
            text = f"Removed article <code>{esc(article_id)}</code>{title}. It is no longer used."
        else:
            text = f"Nothing removed: there is no article with id <code>{esc(article_id)}</code>."
        await self._reply(message, text)

    async def _page(self, offset: int) -> tuple[str, InlineKeyboardMarkup | None]:
        total = await asyncio.to_thread(self.desk.count_articles)
        if offset >= total:
            offset = max(0, (total - 1) // PAGE_SIZE * PAGE_SIZE)
        rows = await asyncio.to_thread(self.desk.list_articles, offset, PAGE_SIZE)
        return page_text(rows, offset, total), page_keyboard(offset, total)

    async def on_articles(self, update: Update, context: Context) -> None:
        """/articles: the stored articles, newest first, a page at a time."""
        message = update.effective_message
        assert message is not None
        text, markup = await self._page(0)
        await self._reply(message, text, markup)

    async def on_page_button(self, update: Update, context: Context) -> None:
        """Prev / Next under an article list."""
        query = update.callback_query
        if query is None:
            return
        if not self.is_admin(update):
            log.warning(
                "refused admin button from non-admin user %s",
                update.effective_user.id if update.effective_user else "unknown",
            )
            await query.answer(REFUSAL)
            raise ApplicationHandlerStop
        data = query.data or ""
        raw = data[len(CALLBACK_PREFIX) + len("art:") :]
        if not data.startswith(f"{CALLBACK_PREFIX}art:") or not raw.isdigit():
            await query.answer("This button is no longer valid.")
            raise ApplicationHandlerStop
        text, markup = await self._page(int(raw))
        await query.answer()
        if isinstance(query.message, Message):
            try:
                await query.message.edit_text(
                    text,
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup,
                    link_preview_options=NO_PREVIEW,
                )
            except BadRequest as exc:
                if "not modified" not in str(exc):
                    raise
        raise ApplicationHandlerStop

    # --- reindex and stats ----------------------------------------------------------------
    async def on_reindex(self, update: Update, context: Context) -> None:
        """/reindex: rebuild the whole index, showing progress in one edited message."""
        message = update.effective_message
        assert message is not None
        status = await self._reply(message, "Reindexing: starting…")
        loop = asyncio.get_running_loop()
        shown = {"text": status.text_html or ""}
        last_edit = [0.0]
        edits: list[concurrent.futures.Future[None]] = []

        async def edit(text: str) -> None:
            if text == shown["text"]:
                return
            shown["text"] = text
            try:
                await status.edit_text(text, parse_mode=ParseMode.HTML)
            except BadRequest as exc:
                if "not modified" not in str(exc):
                    log.warning("could not update the reindex message: %s", exc)
            except TelegramError as exc:
                log.warning("could not update the reindex message: %s", type(exc).__name__)

        def progress(done: int, total: int) -> None:  # runs in the worker thread
            now = time.monotonic()
            if done < total and now - last_edit[0] < PROGRESS_EDIT_INTERVAL_S:
                return
            last_edit[0] = now
            pct = int(100 * done / total) if total else 100
            text = f"Reindexing: {pct}% ({done} of {total} articles)…"
            edits.append(asyncio.run_coroutine_threadsafe(edit(text), loop))

        started = time.monotonic()
        try:
            stats = await asyncio.to_thread(self.desk.reindex, progress)
        except Exception as exc:
            log.exception("reindex from Telegram failed")
            await asyncio.gather(*(asyncio.wrap_future(f) for f in edits))
            await edit(f"Reindex failed: {esc(type(exc).__name__)}. The previous index is kept.")
            return
        await asyncio.gather(*(asyncio.wrap_future(f) for f in edits))
        report = self.desk.last_import
        text = (
            f"Reindexed in {time.monotonic() - started:.1f} s: {stats.articles} articles, "
            f"{stats.passages} passages, {stats.sentences} sentences."
            f"\nFrom the articles folder: {len(report.added)} new, {len(report.updated)} "
            f"changed, {len(report.duplicates)} duplicates skipped, "
            f"{len(report.refused)} files refused."
        )
        if report.refused:
            shown_refusals = report.refused[:5]
            text += "\n" + "\n".join(
                f"• {esc(_clip(n, 80))}: {esc(_clip(r, 120))}" for n, r in shown_refusals
            )
        await edit(text)

    async def on_stats(self, update: Update, context: Context) -> None:
        """/stats: corpus size and the last 24 hours of questions and feedback."""
        message = update.effective_message
        assert message is not None
        corpus = await asyncio.to_thread(self.desk.stats)
        activity = await asyncio.to_thread(self.desk.activity, 24.0)
        text = "\n".join(
            [
                "<b>Newsdesk statistics</b>",
                f"Articles: {corpus.articles}",
                f"Passages: {corpus.passages}",
                f"Sentences: {corpus.sentences}",
                "",
                "<b>Last 24 hours</b>",
                f"Questions answered: {activity.answered}",
                f"Questions declined: {activity.declined}",
                f"Median answer time: {_ms(activity.median_latency_ms)}",
                f"Feedback: {activity.helpful} helpful, {activity.not_helpful} not helpful",
                *_backend_lines(corpus.extra),
            ]
        )
        await self._reply(message, text)


def register_admin_handlers(
    application: Application[Any, Any, Any, Any, Any, Any], desk: Desk, settings: Settings
) -> None:
    """Add the admin handlers to ``application`` (group 0; call before the chat handlers)."""
    AdminBot(desk, settings).register(application)
