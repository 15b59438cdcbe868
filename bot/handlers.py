"""Chat handlers: questions in private chats and groups, buttons, inline mode, commands.

The handlers only talk: every Desk call runs in a worker thread (``asyncio.to_thread``) so a
slow answer never stalls other chats; the Desk ranks, :mod:`bot.format` renders. Replies go
through :meth:`ChatBot.send`, which retries Telegram's transient failures so no reply is lost.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import time
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from telegram import (
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    LinkPreviewOptions,
    Message,
    MessageEntity,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatAction, ChatType, ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from bot import format as fmt
from bot.ratelimit import RateLimiter
from config import Settings
from index.records import Response
from index.service import Desk

log = logging.getLogger("newsdesk.bot")
T = TypeVar("T")
Context = ContextTypes.DEFAULT_TYPE

SEND_ATTEMPTS = 5
NON_TEXT_GROUP = 1  # handler group of the non-text catch-all; admin handlers use group 0
INLINE_RESULTS = 5
TYPING_AFTER_S = 0.4  # answers slower than this show "typing…" meanwhile
COMMANDS = (
    ("ask", "Ask a question about the news"),
    ("help", "What I know and how to ask"),
    ("about", "Articles, sources and when they were indexed"),
    ("start", "Start here"),
)
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


@dataclass
class Kept:
    """A response kept for its buttons, tagged with the index generation it came from."""

    response: Response
    generation: int
    votes: dict[tuple[int, int], bool] = field(default_factory=dict)  # (user, answer) -> vote


class ResponseCache:
    """A bounded LRU of responses keyed by short random tokens (they go in callback data)."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._items: OrderedDict[str, Kept] = OrderedDict()

    def put(self, response: Response, generation: int) -> str:
        token = secrets.token_urlsafe(6)  # 8 characters of [A-Za-z0-9_-]
        while token in self._items:
            token = secrets.token_urlsafe(6)
        self._items[token] = Kept(response, generation)
        while len(self._items) > self.size:
            self._items.popitem(last=False)
        return token

    def get(self, token: str) -> Kept | None:
        kept = self._items.get(token)
        if kept is not None:
            self._items.move_to_end(token)
        return kept

    def __len__(self) -> int:
        return len(self._items)


class ChatBot:
    """Everything a chat user sees. Register with :meth:`register`."""

    def __init__(self, desk: Desk, settings: Settings, *, cache_size: int = 4096) -> None:
        self.desk = desk
        self.settings = settings
        self.cache = ResponseCache(cache_size)
        self.limiter = RateLimiter(settings.user_rate_limit, settings.user_rate_window_s)
        # Inline queries arrive per keystroke: a budget of their own, more generous.
        self.inline_limiter = RateLimiter(settings.user_rate_limit * 3, settings.user_rate_window_s)
        self._examples: tuple[int, list[str]] | None = None
        self._user_locks: weakref.WeakValueDictionary[int, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    # --- wiring ----------------------------------------------------------------------------
    def register(self, app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        """Add the chat handlers (group 0) and the non-text hint (a later group)."""
        private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
        groups = filters.ChatType.GROUPS & filters.UpdateType.MESSAGE
        new = filters.UpdateType.MESSAGE  # edits of old messages are not new questions
        app.add_handler(CommandHandler(["start", "help"], self.on_help, filters=new))
        app.add_handler(CommandHandler("about", self.on_about, filters=new))
        app.add_handler(CommandHandler("ask", self.on_ask, filters=new))
        app.add_handler(
            MessageHandler(private & filters.TEXT & ~filters.COMMAND, self.on_private_text)
        )
        app.add_handler(
            MessageHandler(groups & filters.TEXT & ~filters.COMMAND, self.on_group_text)
        )
        app.add_handler(MessageHandler(private & filters.COMMAND, self.on_unknown_command))
        app.add_handler(CallbackQueryHandler(self.on_button))
        app.add_handler(InlineQueryHandler(self.on_inline))
        app.add_handler(
            MessageHandler(private & ~filters.TEXT & ~filters.StatusUpdate.ALL, self.on_non_text),
            group=NON_TEXT_GROUP,
        )
        app.add_error_handler(self.on_error)

    # --- sending ---------------------------------------------------------------------------
    async def retry(self, what: str, op: Callable[[], Awaitable[T]]) -> T:
        """Run a Bot API call, retrying flood waits, timeouts and network/5xx errors."""
        delay = 0.25
        for attempt in range(1, SEND_ATTEMPTS + 1):
            try:
                return await op()
            except RetryAfter as exc:  # the rate limiter's own retries were used up
                if attempt == SEND_ATTEMPTS:
                    raise
                wait = exc.retry_after
                seconds = wait.total_seconds() if hasattr(wait, "total_seconds") else float(wait)
                log.warning("%s: flood wait %.1fs (attempt %d)", what, seconds, attempt)
                await asyncio.sleep(seconds)
            except BadRequest:
                raise  # our fault or a gone chat: retrying cannot help
            except NetworkError as exc:  # includes TimedOut and 5xx answers
                if attempt == SEND_ATTEMPTS:
                    raise
                log.warning("%s: %s: %s (attempt %d)", what, type(exc).__name__, exc, attempt)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 4.0)
        raise AssertionError("unreachable")

    async def send(
        self,
        message: Message,
        text: str,
        markup: InlineKeyboardMarkup | None = None,
        *,
        quote: bool = False,
    ) -> Message:
        """Reply in ``message``'s chat (as a reply in groups), HTML, with retries."""
        reply = (
            ReplyParameters(message.message_id, allow_sending_without_reply=True) if quote else None
        )
        return await self.retry(
            "sendMessage",
            lambda: message.get_bot().send_message(
                chat_id=message.chat_id,
                text=text,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                reply_parameters=reply,
                link_preview_options=NO_PREVIEW,
            ),
        )

    # --- commands --------------------------------------------------------------------------
    async def on_help(self, update: Update, context: Context) -> None:
        """/start and /help: what the bot knows, with example questions from the headlines."""
        message = update.effective_message
        if message is None:
            return
        stats = await asyncio.to_thread(self.desk.stats)
        examples = await self.examples()
        group = message.chat.type != ChatType.PRIVATE
        await self.send(message, fmt.help_text(stats, examples, group=group), quote=group)

    async def examples(self, limit: int = 3) -> list[str]:
        """Example questions from current headlines that the engine really answers.

        Checked once per index generation (each check is a logged question), then cached.
        """
        generation = await asyncio.to_thread(lambda: self.desk.generation)
        if self._examples is not None and self._examples[0] == generation:
            return self._examples[1]
        headlines = await asyncio.to_thread(self.desk.headlines, limit * 3)
        candidates = fmt.example_questions(headlines, limit * 3)
        good: list[str] = []
        for question in candidates:
            response = await asyncio.to_thread(self.desk.ask, question, channel="examples")
            if response.answer is not None:
                good.append(question)
            if len(good) >= limit:
                break
        self._examples = (generation, good or candidates[:limit])
        return self._examples[1]

    async def on_about(self, update: Update, context: Context) -> None:
        """/about: how many articles and sources, when last indexed."""
        message = update.effective_message
        if message is None:
            return
        stats = await asyncio.to_thread(self.desk.stats)
        await self.send(message, fmt.about_text(stats), quote=message.chat.type != ChatType.PRIVATE)

    async def on_ask(self, update: Update, context: Context) -> None:
        """/ask QUESTION, in any chat."""
        message = update.effective_message
        if message is None or message.text is None:
            return
        question = _after_command(message)
        if not question.strip():
            examples = await self.examples()
            example = examples[0] if examples else "Who confirmed the news?"
            await self.send(
                message,
                f"Usage: /ask QUESTION, for example:\n/ask {fmt.esc(example)}",
                quote=message.chat.type != ChatType.PRIVATE,
            )
            return
        await self.answer_question(update, question, channel=f"telegram:{message.chat.type}")

    async def on_unknown_command(self, update: Update, context: Context) -> None:
        """A command we do not have: point to /help instead of staying silent."""
        message = update.effective_message
        if message is None:
            return
        await self.send(message, "I don't know that command. Send /help to see what I can do.")

    # --- questions -------------------------------------------------------------------------
    async def on_private_text(self, update: Update, context: Context) -> None:
        """In a private chat every text is a question."""
        message = update.effective_message
        if message is None or message.text is None:
            return
        await self.answer_question(update, message.text, channel="telegram:private")

    async def on_group_text(self, update: Update, context: Context) -> None:
        """In groups: only mentions of the bot and replies to the bot are questions."""
        message = update.effective_message
        if message is None or message.text is None:
            return
        bot = context.bot
        username = (bot.username or "").lower()
        handle = f"@{username}"
        mentioned = bool(username) and any(
            entity.type == MessageEntity.MENTION and text.lower() == handle
            for entity, text in message.parse_entities([MessageEntity.MENTION]).items()
        )
        replied = (
            message.reply_to_message is not None
            and message.reply_to_message.from_user is not None
            and message.reply_to_message.from_user.id == bot.id
        )
        if not (mentioned or replied):
            return
        question = message.text
        if mentioned:
            question = re.sub(re.escape(handle) + r"\b", " ", question, flags=re.IGNORECASE)
        await self.answer_question(update, question, channel=f"telegram:{message.chat.type}")

    async def answer_question(self, update: Update, raw: str, *, channel: str) -> None:
        """Rate-limit, ask the Desk off the event loop, reply with the answer and buttons."""
        message = update.effective_message
        user = update.effective_user
        if message is None:
            return
        started = time.perf_counter()
        question = " ".join(raw.split())
        if not question:
            return  # empty text: nothing to answer
        group = message.chat.type != ChatType.PRIVATE
        note = None
        limit = self.settings.max_question_chars
        if len(question) > limit:
            question = (
                question[:limit].rsplit(" ", 1)[0] if " " in question[:limit] else question[:limit]
            )
            note = f"Your message was long, so I used only its first {len(question)} characters."
        user_id = user.id if user else message.chat_id
        verdict = self.limiter.check(user_id)
        if not verdict.allowed:
            log.info("rate limited user=%s chat=%s", user_id, message.chat.type)
            if verdict.notify:
                await self.send(message, _slow_down(verdict.retry_after), quote=group)
            return
        typing = asyncio.create_task(self._typing_after(message, TYPING_AFTER_S))
        try:
            async with self._lock_for(user_id):  # one question at a time per user: fair
                generation = await asyncio.to_thread(lambda: self.desk.generation)
                asked = time.perf_counter()
                response = await asyncio.to_thread(self.desk.ask, question, channel=channel)
                ask_ms = (time.perf_counter() - asked) * 1000
        finally:
            typing.cancel()
        token = self.cache.put(response, generation)
        if response.answer is None:
            text, markup = fmt.declined_text(response, note), fmt.declined_keyboard(token)
        else:
            text, markup = fmt.answer_text(response, 0, note), fmt.answer_keyboard(token, 0)
        await self.send(message, text, markup, quote=group)
        log.info(
            "question chat=%s outcome=%s article=%s confidence=%.3f ask_ms=%.1f latency_ms=%.1f",
            message.chat.type,
            "answered" if response.answer else "declined",
            response.answer.article_id if response.answer else "-",
            response.confidence,
            ask_ms,
            (time.perf_counter() - started) * 1000,
        )

    @staticmethod
    async def _typing_after(message: Message, delay: float) -> None:
        """Show "typing…" while an answer takes a while (best effort, never an error).

        Telegram shows it for about five seconds, so it is renewed every four.
        """
        while True:
            await asyncio.sleep(delay)
            try:
                await message.get_bot().send_chat_action(message.chat_id, ChatAction.TYPING)
            except TelegramError as exc:
                log.debug("typing indicator failed: %s", type(exc).__name__)
            delay = 4.0

    def _lock_for(self, user_id: int) -> asyncio.Lock:
        lock = self._user_locks.get(user_id)
        if lock is None:
            lock = asyncio.Lock()
            self._user_locks[user_id] = lock
        return lock

    # --- buttons ---------------------------------------------------------------------------
    async def on_button(self, update: Update, context: Context) -> None:
        """Context, Another answer, Helpful / Not helpful; stale buttons answer politely."""
        query = update.callback_query
        if query is None:
            return
        data = fmt.decode_callback(query.data)
        kept = self.cache.get(data.token) if data else None
        generation = await asyncio.to_thread(lambda: self.desk.generation)
        if data is None or kept is None or kept.generation != generation:
            await self.retry("answerCallbackQuery", lambda: query.answer(fmt.STALE_TEXT))
            return
        response = kept.response
        ranked = response.ranked
        feedback = data.action in (fmt.ACTION_HELPFUL, fmt.ACTION_UNHELPFUL)
        if (data.index >= len(ranked) and not (feedback and data.index == 0)) or (
            response.answer is None and not feedback
        ):
            await self.retry("answerCallbackQuery", lambda: query.answer(fmt.STALE_TEXT))
            return
        if feedback:
            helpful = data.action == fmt.ACTION_HELPFUL
            if await self._vote(query.from_user.id, data, kept):
                thanks = "Thanks! Noted as helpful." if helpful else "Thanks! Noted as not helpful."
            else:
                thanks = "You already rated this answer. Thanks!"
            await self.retry("answerCallbackQuery", lambda: query.answer(thanks))
            return
        index = data.index
        if data.action == fmt.ACTION_NEXT:
            if index + 1 >= len(ranked):
                await self.retry("answerCallbackQuery", lambda: query.answer(fmt.NO_MORE_TEXT))
                return
            index += 1
            text = fmt.answer_text(response, index)
            markup = fmt.answer_keyboard(data.token, index)
        elif data.action == fmt.ACTION_CONTEXT:
            text = fmt.context_text(response, index)
            markup = fmt.answer_keyboard(data.token, index, context_shown=True)
        else:  # back to the answer
            text = fmt.answer_text(response, index)
            markup = fmt.answer_keyboard(data.token, index)
        await self._edit(query, text, markup)
        await self.retry("answerCallbackQuery", lambda: query.answer())

    async def _vote(self, user_id: int, data: fmt.Callback, kept: Kept) -> bool:
        """Record a vote (a changed mind counts); False, nothing recorded, for a repeat."""
        key = (user_id, data.index)
        helpful = data.action == fmt.ACTION_HELPFUL
        if kept.votes.get(key) is helpful:
            return False
        kept.votes[key] = helpful
        ranked = kept.response.ranked
        answer = ranked[data.index] if kept.response.answer is not None else None
        await asyncio.to_thread(
            self.desk.record_feedback,
            kept.response.question,
            answer,
            helpful,
            user=f"telegram:{user_id}",
        )
        return True

    async def _edit(self, query: Any, text: str, markup: InlineKeyboardMarkup) -> None:
        try:
            await self.retry(
                "editMessageText",
                lambda: query.edit_message_text(
                    text,
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup,
                    link_preview_options=NO_PREVIEW,
                ),
            )
        except BadRequest as exc:
            if "not modified" not in str(exc).lower():  # a double tap: already showing it
                raise

    # --- inline mode -----------------------------------------------------------------------
    async def on_inline(self, update: Update, context: Context) -> None:
        """``@bot question``: up to five answers, each with its source."""
        query = update.inline_query
        if query is None:
            return
        question = " ".join(query.query.split())[: self.settings.max_question_chars]
        help_button = InlineQueryResultsButton(text="How to ask Newsdesk", start_parameter="help")
        if not question or not self.inline_limiter.check(query.from_user.id).allowed:
            await self.retry(
                "answerInlineQuery",
                lambda: query.answer([], cache_time=5, is_personal=True, button=help_button),
            )
            return
        response = await asyncio.to_thread(self.desk.ask, question, channel="telegram:inline")
        results: list[InlineQueryResultArticle] = []
        if response.answer is None:
            results.append(
                InlineQueryResultArticle(
                    id="declined",
                    title="The articles don't answer this",
                    description="Try other words, names or dates",
                    input_message_content=InputTextMessageContent(
                        fmt.declined_text(response), parse_mode=ParseMode.HTML
                    ),
                )
            )
        else:
            for i, answer in enumerate(response.ranked[:INLINE_RESULTS]):
                single = Response(question=question, answer=answer)
                results.append(
                    InlineQueryResultArticle(
                        id=f"a{i}",
                        title=fmt.inline_title(answer),
                        description=fmt.inline_description(answer),
                        input_message_content=InputTextMessageContent(
                            fmt.answer_text(single, 0),
                            parse_mode=ParseMode.HTML,
                            link_preview_options=NO_PREVIEW,
                        ),
                    )
                )
        await self.retry(
            "answerInlineQuery",
            lambda: query.answer(results, cache_time=30, is_personal=False, button=help_button),
        )
        log.info(
            "question chat=inline outcome=%s article=%s results=%d",
            "answered" if response.answer else "declined",
            response.answer.article_id if response.answer else "-",
            len(results),
        )

    # --- everything else -------------------------------------------------------------------
    async def on_non_text(self, update: Update, context: Context) -> None:
        """Stickers, photos, voice, files: a short hint (admins' files are the admins')."""
        message = update.effective_message
        user = update.effective_user
        if message is None:
            return
        if message.document is not None and user and user.id in self.settings.admin_ids:
            return  # handled by the admin handlers
        if not self.limiter.check(user.id if user else message.chat_id).allowed:
            return
        if message.document is not None:
            kind = "files"
        elif message.voice is not None or message.audio is not None:
            kind = "voice or audio"
        elif message.sticker is not None:
            kind = "stickers"
        elif message.photo or message.video is not None:
            kind = "pictures or videos"
        else:
            kind = "this kind of message"
        await self.send(
            message,
            f"I can't read {kind}. Send me your question as a text message, "
            "for example: <i>Who confirmed the news?</i> (/help for more)",
        )

    async def on_error(self, update: object, context: Context) -> None:
        """Log the update id and the error (never the token), tell the user something broke."""
        error = context.error
        update_id = update.update_id if isinstance(update, Update) else None
        log.error(
            "error handling update %s: %s: %s",
            update_id,
            type(error).__name__,
            error,
            exc_info=error if not isinstance(error, TelegramError) else None,
        )
        if not isinstance(update, Update):
            return
        try:
            if update.callback_query is not None:
                await update.callback_query.answer("Sorry, something went wrong. Please try again.")
            elif update.effective_message is not None and update.inline_query is None:
                await self.send(
                    update.effective_message,
                    "Sorry, something went wrong while answering. Please try again in a moment.",
                )
        except (TelegramError, Forbidden) as exc:
            log.warning("could not tell the user about the error: %s", type(exc).__name__)


def _after_command(message: Message) -> str:
    """The text after the leading bot command (``/ask@bot rest`` -> ``rest``)."""
    text = message.text or ""
    for entity in message.entities:
        if entity.type == MessageEntity.BOT_COMMAND and entity.offset == 0:
            return text[len(message.parse_entity(entity)) :]
    parts = text.split(maxsplit=1)
    return parts[1] if len(parts) > 1 else ""


def _slow_down(retry_after: float) -> str:
    seconds = max(1, int(retry_after + 0.999))
    return (
        "You're sending questions faster than I can answer them. "
        f"Please wait about {seconds} seconds and ask again."
    )
