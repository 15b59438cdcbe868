"""A strict stand-in for the Telegram Bot API, served over real HTTP on 127.0.0.1.

It speaks the same wire format as api.telegram.org (form-encoded, multipart or JSON requests;
``{"ok": ..., "result"|"description"}`` replies), validates the way Telegram does (HTML
entities, 4096-character texts, 64-byte callback data, unknown chats and messages, "message
is not modified"), supports real long polling for ``getUpdates``, can inject faults (429 with
``retry_after``, 5xx, slow answers), and records every call so tests can assert on them.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

JSON = dict[str, Any]

BOT_ID = 7000001
BOT_USERNAME = "newsdesk_test_bot"
ALLOWED_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "span",
    "tg-spoiler",
    "a",
    "code",
    "pre",
    "blockquote",
    "tg-emoji",
}
_ENTITY_RE = re.compile(r"&(lt|gt|amp|quot|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});")
_TAG_RE = re.compile(
    r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z-]+(?:\s*=\s*(?:\"[^\"<>]*\"|'[^'<>]*'|[^\s\"'<>=]+))?)*)\s*(/?)>"
)
_ATTR_RE = re.compile(r"([a-zA-Z-]+)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s\"'<>=]+)))?")
_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")


class ApiError(Exception):
    """A Bot API error reply: HTTP status, description and optional parameters."""

    def __init__(self, code: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def parse_html(text: str) -> str:
    """Telegram's HTML parse mode, strictly: the visible text, or ApiError 400."""
    out: list[str] = []
    stack: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "<":
            m = _TAG_RE.match(text, i)
            if not m:
                raise _bad_entities(f"Unclosed start tag at byte offset {_offset(text, i)}")
            closing, name, attrs, selfclose = m.group(1), m.group(2).lower(), m.group(3), m.group(4)
            if name not in ALLOWED_TAGS:
                raise _bad_entities(
                    f'Unsupported start tag "{name}" at byte offset {_offset(text, i)}'
                )
            if closing:
                if not stack or stack[-1] != name:
                    raise _bad_entities(
                        f"Unmatched end tag at byte offset {_offset(text, i)}, expected "
                        f'"</{stack[-1] if stack else ""}>", found "</{name}>"'
                    )
                stack.pop()
            else:
                if selfclose:
                    raise _bad_entities(f'Unsupported self-closing tag "{name}"')
                _check_attrs(name, attrs, text, i)
                stack.append(name)
            i = m.end()
        elif ch == "&":
            m = _ENTITY_RE.match(text, i)
            if not m:
                raise _bad_entities(
                    f"Character '&' must be escaped at byte offset {_offset(text, i)}"
                )
            ent = m.group(1)
            if ent.startswith("#x"):
                out.append(chr(int(ent[2:], 16)))
            elif ent.startswith("#"):
                out.append(chr(int(ent[1:])))
            else:
                out.append({"lt": "<", "gt": ">", "amp": "&", "quot": '"'}[ent])
            i = m.end()
        elif ch == ">":
            raise _bad_entities(f"Character '>' must be escaped at byte offset {_offset(text, i)}")
        else:
            out.append(ch)
            i += 1
    if stack:
        raise _bad_entities(f'Can\'t find end tag corresponding to start tag "{stack[-1]}"')
    return "".join(out)


def _check_attrs(name: str, attrs: str, text: str, pos: int) -> None:
    found = {
        m.group(1).lower(): (m.group(2) or m.group(3) or m.group(4) or "")
        for m in _ATTR_RE.finditer(attrs)
    }
    if name == "a":
        href = found.get("href")
        if href is None or set(found) - {"href"}:
            raise _bad_entities(
                f'Tag "a" must have exactly one attribute href at {_offset(text, pos)}'
            )
        if "&" in href and not _ENTITY_RE.search(href):
            raise _bad_entities("Character '&' must be escaped in href")
        if not re.match(r"^(https?|tg)://", href.replace("&amp;", "&")):
            raise ApiError(400, "Bad Request: wrong HTTP URL specified")
    elif name == "span":
        if found != {"class": "tg-spoiler"}:
            raise _bad_entities('Tag "span" must have class "tg-spoiler"')
    elif name == "code":
        if set(found) - {"class"}:
            raise _bad_entities('Unsupported attribute in tag "code"')
    elif name == "blockquote":
        if set(found) - {"expandable"}:
            raise _bad_entities('Unsupported attribute in tag "blockquote"')
    elif name == "tg-emoji":
        if set(found) != {"emoji-id"}:
            raise _bad_entities('Tag "tg-emoji" must have attribute "emoji-id"')
    elif found:
        raise _bad_entities(f'Tag "{name}" must have no attributes')


def _offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _bad_entities(reason: str) -> ApiError:
    return ApiError(400, f"Bad Request: can't parse entities: {reason}")


def check_message_text(text: Any, parse_mode: Any) -> str:
    """Validate a message text like Telegram; return the visible text."""
    if not isinstance(text, str):
        raise ApiError(400, "Bad Request: message text is empty")
    if parse_mode is not None and str(parse_mode).upper() not in {"HTML", "MARKDOWN", "MARKDOWNV2"}:
        raise ApiError(400, f"Bad Request: unsupported parse_mode {parse_mode}")
    visible = parse_html(text) if parse_mode and str(parse_mode).upper() == "HTML" else text
    if not visible.strip():
        raise ApiError(400, "Bad Request: message text is empty")
    if utf16_len(visible) > 4096:
        raise ApiError(400, "Bad Request: message is too long")
    return visible


def check_reply_markup(markup: Any) -> JSON | None:
    """Validate an InlineKeyboardMarkup (JSON string or object)."""
    if markup is None or markup == "":
        return None
    if isinstance(markup, str):
        try:
            markup = json.loads(markup)
        except json.JSONDecodeError:
            raise ApiError(
                400, "Bad Request: can't parse reply keyboard markup JSON object"
            ) from None
    if not isinstance(markup, dict):
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    rows = markup.get("inline_keyboard")
    if rows is None:
        return markup  # other keyboards: accepted as is
    if not isinstance(rows, list):
        raise ApiError(400, 'Bad Request: field "inline_keyboard" must be an Array')
    for row in rows:
        if not isinstance(row, list):
            raise ApiError(400, 'Bad Request: field "inline_keyboard" must be an Array of Arrays')
        for button in row:
            if not isinstance(button, dict) or not str(button.get("text", "")).strip():
                raise ApiError(
                    400, "Bad Request: text buttons are unallowed in the inline keyboard"
                )
            data = button.get("callback_data")
            if data is not None and not (1 <= len(str(data).encode("utf-8")) <= 64):
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
            kinds = {
                "callback_data",
                "url",
                "switch_inline_query",
                "switch_inline_query_current_chat",
                "login_url",
                "web_app",
                "pay",
                "copy_text",
                "callback_game",
                "switch_inline_query_chosen_chat",
            }
            if not (kinds & set(button)):
                raise ApiError(400, "Bad Request: BUTTON_TYPE_INVALID")
    return markup


@dataclass
class Call:
    """One recorded API call."""

    method: str
    params: JSON
    at: float
    status: int = 200
    result: Any = None
    error: str | None = None


@dataclass
class Fault:
    """An injected fault for the next ``count`` calls of a method."""

    kind: str  # "retry_after", "server_error", "delay", "bad_gateway"
    count: int
    value: float = 0.0


@dataclass
class SentMessage:
    chat: JSON
    message_id: int
    text: str
    html: str | None
    reply_markup: JSON | None
    date: int
    reply_to: int | None = None
    from_bot: bool = True
    extra: JSON = field(default_factory=dict)

    def to_json(self) -> JSON:
        msg: JSON = {
            "message_id": self.message_id,
            "date": self.date,
            "chat": self.chat,
            "text": self.text,
        }
        if self.from_bot:
            msg["from"] = bot_user()
        if self.reply_markup is not None:
            msg["reply_markup"] = self.reply_markup
        return msg


def bot_user() -> JSON:
    return {"id": BOT_ID, "is_bot": True, "first_name": "Newsdesk", "username": BOT_USERNAME}


def user_json(user_id: int) -> JSON:
    return {"id": user_id, "is_bot": False, "first_name": f"User{user_id}", "language_code": "en"}


class FakeBotApi:
    """The server. Use ``async with FakeBotApi(token) as api:``; ``api.base_url`` for PTB."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.calls: list[Call] = []
        self.faults: dict[str, list[Fault]] = {}
        self.updates: list[JSON] = []
        self.files: dict[str, tuple[str, bytes]] = {}  # file_id -> (file_path, data)
        self.messages: dict[tuple[int, int], SentMessage] = {}
        self.chats: dict[int, JSON] = {}
        self.callback_queries: dict[str, bool] = {}  # id -> answered
        self.inline_queries: dict[str, bool] = {}
        self.commands: list[JSON] = []
        self.webhook: JSON | None = None
        self._update_ids = itertools.count(1)
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._query_ids = itertools.count(1)
        self._changed = asyncio.Condition()
        self._closing = False
        self._polls = 0
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._webhook_task: asyncio.Task[None] | None = None

    # --- lifecycle -------------------------------------------------------------------------
    async def __aenter__(self) -> FakeBotApi:
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Wake every parked long poll, then stop serving."""
        self._closing = True
        async with self._changed:
            self._changed.notify_all()
        if self._webhook_task:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
        if self._runner:
            await self._runner.cleanup()
            self._runner = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    # --- fault injection -------------------------------------------------------------------
    def inject(self, method: str, kind: str, count: int = 1, value: float = 0.0) -> None:
        """Make the next ``count`` calls of ``method`` fail or stall.

        ``kind``: ``retry_after`` (429, value = seconds), ``server_error`` (500),
        ``bad_gateway`` (502), ``delay`` (answer after ``value`` seconds).
        """
        self.faults.setdefault(method, []).append(Fault(kind, count, value))

    def _take_fault(self, method: str) -> Fault | None:
        queue = self.faults.get(method)
        while queue:
            fault = queue[0]
            if fault.count <= 0:
                queue.pop(0)
                continue
            fault.count -= 1
            return fault
        return None

    # --- HTTP ------------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.match_info["token"] != self.token:
            return _reply(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
        params = await _read_params(request)
        call = Call(method, params, time.monotonic())
        self.calls.append(call)
        fault = self._take_fault(method)
        try:
            if fault and fault.kind == "delay":
                await asyncio.sleep(fault.value)
            elif fault and fault.kind == "retry_after":
                raise ApiError(
                    429,
                    f"Too Many Requests: retry after {int(fault.value)}",
                    {"retry_after": int(fault.value)},
                )
            elif fault and fault.kind == "server_error":
                raise ApiError(500, "Internal Server Error")
            elif fault and fault.kind == "bad_gateway":
                raise ApiError(502, "Bad Gateway")
            handler = getattr(self, f"api_{method}", None)
            if handler is None:
                raise ApiError(404, "Not Found")
            result = await handler(params)
        except ApiError as err:
            call.status, call.error = err.code, err.description
            body: JSON = {"ok": False, "error_code": err.code, "description": err.description}
            if err.parameters:
                body["parameters"] = err.parameters
            await self._notify()
            return _reply(err.code, body)
        call.result = result
        await self._notify()
        return _reply(200, {"ok": True, "result": result})

    async def _download(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=401, text="Unauthorized")
        path = request.match_info["path"]
        for file_path, data in self.files.values():
            if file_path == path:
                return web.Response(body=data)
        return web.Response(status=404, text="Not Found")

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # --- API methods -----------------------------------------------------------------------
    async def api_getMe(self, params: JSON) -> JSON:
        return {
            **bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
        }

    async def api_logOut(self, params: JSON) -> bool:
        return True

    async def api_close(self, params: JSON) -> bool:
        return True

    async def api_deleteWebhook(self, params: JSON) -> bool:
        self.webhook = None
        if _flag(params.get("drop_pending_updates")):
            self.updates.clear()
        return True

    async def api_setWebhook(self, params: JSON) -> bool:
        url = str(params.get("url", ""))
        if url and not url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
            raise ApiError(
                400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
            )
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        self.webhook = {"url": url, "secret_token": secret} if url else None
        if self.webhook and (self._webhook_task is None or self._webhook_task.done()):
            self._webhook_task = asyncio.create_task(self._deliver_webhooks())
        await self._notify()
        return True

    async def api_getWebhookInfo(self, params: JSON) -> JSON:
        return {
            "url": (self.webhook or {}).get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self.updates),
        }

    async def api_getUpdates(self, params: JSON) -> list[JSON]:
        if self.webhook:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = int(params.get("offset") or 0)
        limit = max(1, min(int(params.get("limit") or 100), 100))
        timeout = float(params.get("timeout") or 0)
        if offset:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
        deadline = time.monotonic() + timeout
        self._polls += 1
        try:
            async with self._changed:
                while not self.updates and not self._closing:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._changed.wait(), left)
        finally:
            self._polls -= 1
        return self.updates[:limit]

    async def api_setMyCommands(self, params: JSON) -> bool:
        commands = _json_param(params.get("commands"))
        if not isinstance(commands, list) or len(commands) > 100:
            raise ApiError(400, "Bad Request: commands must be an array of at most 100 items")
        for cmd in commands:
            if not _COMMAND_RE.match(str(cmd.get("command", ""))):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(cmd.get("description", ""))) <= 256:
                raise ApiError(400, "Bad Request: command description is empty or too long")
        self.commands = commands
        return True

    async def api_deleteMyCommands(self, params: JSON) -> bool:
        self.commands = []
        return True

    async def api_getMyCommands(self, params: JSON) -> list[JSON]:
        return self.commands

    async def api_sendChatAction(self, params: JSON) -> bool:
        self._chat(params.get("chat_id"))
        if params.get("action") not in {
            "typing",
            "upload_photo",
            "record_video",
            "upload_video",
            "record_voice",
            "upload_voice",
            "upload_document",
            "choose_sticker",
            "find_location",
            "record_video_note",
            "upload_video_note",
        }:
            raise ApiError(400, "Bad Request: wrong parameter action in request")
        return True

    async def api_sendMessage(self, params: JSON) -> JSON:
        chat = self._chat(params.get("chat_id"))
        html = params.get("text")
        visible = check_message_text(html, params.get("parse_mode"))
        markup = check_reply_markup(params.get("reply_markup"))
        reply_to = None
        rp = _json_param(params.get("reply_parameters"))
        if isinstance(rp, dict) and rp.get("message_id") is not None:
            reply_to = int(rp["message_id"])
        elif params.get("reply_to_message_id") is not None:
            reply_to = int(params["reply_to_message_id"])
        msg = SentMessage(
            chat=chat,
            message_id=self._next_message_id(chat["id"]),
            text=visible,
            html=str(html) if params.get("parse_mode") else None,
            reply_markup=markup,
            date=int(time.time()),
            reply_to=reply_to,
        )
        self.messages[(chat["id"], msg.message_id)] = msg
        return msg.to_json()

    async def api_editMessageText(self, params: JSON) -> JSON:
        if params.get("inline_message_id"):
            check_message_text(params.get("text"), params.get("parse_mode"))
            check_reply_markup(params.get("reply_markup"))
            return True  # type: ignore[return-value]
        chat = self._chat(params.get("chat_id"))
        key = (chat["id"], int(params.get("message_id") or 0))
        msg = self.messages.get(key)
        if msg is None or not msg.from_bot:
            raise ApiError(400, "Bad Request: message to edit not found")
        visible = check_message_text(params.get("text"), params.get("parse_mode"))
        markup = check_reply_markup(params.get("reply_markup"))
        html = str(params.get("text")) if params.get("parse_mode") else None
        if visible == msg.text and markup == msg.reply_markup and html == msg.html:
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and "
                "reply markup are exactly the same as a current content and reply markup of "
                "the message",
            )
        msg.text, msg.html, msg.reply_markup = visible, html, markup
        return msg.to_json()

    async def api_editMessageReplyMarkup(self, params: JSON) -> JSON:
        chat = self._chat(params.get("chat_id"))
        msg = self.messages.get((chat["id"], int(params.get("message_id") or 0)))
        if msg is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        markup = check_reply_markup(params.get("reply_markup"))
        if markup == msg.reply_markup:
            raise ApiError(400, "Bad Request: message is not modified")
        msg.reply_markup = markup
        return msg.to_json()

    async def api_answerCallbackQuery(self, params: JSON) -> bool:
        qid = str(params.get("callback_query_id", ""))
        if self.callback_queries.get(qid) is not False:
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        text = params.get("text")
        if text is not None and len(str(text)) > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        self.callback_queries[qid] = True
        return True

    async def api_answerInlineQuery(self, params: JSON) -> bool:
        qid = str(params.get("inline_query_id", ""))
        if self.inline_queries.get(qid) is not False:
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        results = _json_param(params.get("results"))
        if not isinstance(results, list) or len(results) > 50:
            raise ApiError(400, "Bad Request: RESULTS_TOO_MUCH")
        ids = set()
        for result in results:
            rid = str(result.get("id", ""))
            if not 1 <= len(rid.encode()) <= 64 or rid in ids:
                raise ApiError(
                    400,
                    "Bad Request: RESULT_ID_INVALID"
                    if rid not in ids
                    else "Bad Request: RESULT_ID_DUPLICATE",
                )
            ids.add(rid)
            if result.get("type") == "article":
                if not str(result.get("title", "")).strip():
                    raise ApiError(400, "Bad Request: RESULT_TITLE_EMPTY")
                content = result.get("input_message_content") or {}
                check_message_text(content.get("message_text"), content.get("parse_mode"))
            check_reply_markup(result.get("reply_markup"))
        self.inline_queries[qid] = True
        return True

    async def api_getFile(self, params: JSON) -> JSON:
        file_id = str(params.get("file_id", ""))
        if file_id not in self.files:
            raise ApiError(400, "Bad Request: invalid file_id")
        path, data = self.files[file_id]
        return {
            "file_id": file_id,
            "file_unique_id": "u" + file_id,
            "file_size": len(data),
            "file_path": path,
        }

    # --- helpers for the API ---------------------------------------------------------------
    def _chat(self, chat_id: Any) -> JSON:
        try:
            cid = int(str(chat_id))
        except ValueError:
            raise ApiError(400, "Bad Request: chat not found") from None
        chat = self.chats.get(cid)
        if chat is None:
            raise ApiError(400, "Bad Request: chat not found")
        return chat

    def _next_message_id(self, chat_id: int) -> int:
        counter = self._message_ids.setdefault(chat_id, itertools.count(1))
        return next(counter)

    async def _deliver_webhooks(self) -> None:
        """Push queued updates to the webhook, as Telegram does, until it is removed."""
        import aiohttp

        async with aiohttp.ClientSession() as session:
            while not self._closing and self.webhook:
                if not self.updates:
                    async with self._changed:
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(self._changed.wait(), 0.5)
                    continue
                update = self.updates[0]
                headers = {"Content-Type": "application/json"}
                if self.webhook.get("secret_token"):
                    headers["X-Telegram-Bot-Api-Secret-Token"] = str(self.webhook["secret_token"])
                try:
                    async with session.post(
                        self.webhook["url"], data=json.dumps(update), headers=headers
                    ) as resp:
                        ok = resp.status == 200
                except aiohttp.ClientError:
                    ok = False
                if ok:
                    self.updates.pop(0)
                else:
                    await asyncio.sleep(0.1)

    # --- building updates (what users do) --------------------------------------------------
    def _chat_for(self, user_id: int, chat_type: str, chat_id: int | None) -> JSON:
        if chat_type == "private":
            chat = {"id": user_id, "type": "private", "first_name": f"User{user_id}"}
        else:
            assert chat_id is not None, "groups need a chat_id"
            chat = {"id": chat_id, "type": chat_type, "title": f"Group {chat_id}"}
        self.chats[chat["id"]] = chat
        return chat

    def _push(self, update_body: JSON) -> int:
        update_id = next(self._update_ids)
        self.updates.append({"update_id": update_id, **update_body})
        asyncio.get_running_loop().create_task(self._notify())
        return update_id

    def _user_message(
        self,
        user_id: int,
        chat_type: str,
        chat_id: int | None,
        body: JSON,
        reply_to: int | None = None,
    ) -> tuple[int, int]:
        chat = self._chat_for(user_id, chat_type, chat_id)
        message_id = self._next_message_id(chat["id"])
        msg: JSON = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": chat,
            "from": user_json(user_id),
            **body,
        }
        if reply_to is not None:
            msg["reply_to_message"] = self.messages[(chat["id"], reply_to)].to_json()
        self.messages[(chat["id"], message_id)] = SentMessage(
            chat, message_id, body.get("text", ""), None, None, msg["date"], reply_to, False
        )
        return self._push({"message": msg}), message_id

    def send_text(
        self,
        user_id: int,
        text: str,
        *,
        chat_type: str = "private",
        chat_id: int | None = None,
        reply_to: int | None = None,
    ) -> int:
        """A user sends ``text``; commands and @mentions get their entities. Returns update id."""
        body: JSON = {"text": text}
        entities = []
        m = re.match(r"^/[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?", text)
        if m:
            entities.append({"type": "bot_command", "offset": 0, "length": utf16_len(m.group(0))})
        for mm in re.finditer(r"@[A-Za-z0-9_]{5,32}", text):
            if m and mm.start() < m.end():
                continue
            entities.append(
                {
                    "type": "mention",
                    "offset": utf16_len(text[: mm.start()]),
                    "length": utf16_len(mm.group(0)),
                }
            )
        if entities:
            body["entities"] = entities
        return self._user_message(user_id, chat_type, chat_id, body, reply_to)[0]

    def send_sticker(self, user_id: int) -> int:
        body = {
            "sticker": {
                "file_id": "stk1",
                "file_unique_id": "ustk1",
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
            }
        }
        return self._user_message(user_id, "private", None, body)[0]

    def send_photo(self, user_id: int) -> int:
        body = {"photo": [{"file_id": "ph1", "file_unique_id": "uph1", "width": 90, "height": 90}]}
        return self._user_message(user_id, "private", None, body)[0]

    def send_voice(self, user_id: int) -> int:
        body = {"voice": {"file_id": "vc1", "file_unique_id": "uvc1", "duration": 2}}
        return self._user_message(user_id, "private", None, body)[0]

    def send_document(
        self,
        user_id: int,
        file_name: str,
        data: bytes,
        mime_type: str = "text/plain",
        caption: str | None = None,
    ) -> int:
        file_id = f"doc{len(self.files) + 1}"
        self.files[file_id] = (f"documents/{file_id}_{file_name}", data)
        body: JSON = {
            "document": {
                "file_id": file_id,
                "file_unique_id": "u" + file_id,
                "file_name": file_name,
                "mime_type": mime_type,
                "file_size": len(data),
            }
        }
        if caption:
            body["caption"] = caption
        return self._user_message(user_id, "private", None, body)[0]

    def press(
        self,
        chat_id: int,
        message_id: int,
        button_text: str,
        *,
        user_id: int | None = None,
        data: str | None = None,
    ) -> str:
        """A user presses the button labelled ``button_text`` (or sends ``data``)."""
        msg = self.messages[(chat_id, message_id)]
        if data is None:
            data = self.button_data(msg, button_text)
        qid = str(next(self._query_ids) + 10_000)
        self.callback_queries[qid] = False
        uid = user_id if user_id is not None else chat_id
        self._push(
            {
                "callback_query": {
                    "id": qid,
                    "from": user_json(uid),
                    "message": msg.to_json(),
                    "chat_instance": f"ci{chat_id}",
                    "data": data,
                }
            }
        )
        return qid

    @staticmethod
    def button_data(msg: SentMessage, button_text: str) -> str:
        for row in (msg.reply_markup or {}).get("inline_keyboard", []):
            for button in row:
                if button_text.lower() in str(button["text"]).lower():
                    return str(button["callback_data"])
        raise KeyError(f"no button {button_text!r} in message {msg.message_id}")

    def inline_query(self, user_id: int, query: str) -> str:
        qid = str(next(self._query_ids) + 50_000)
        self.inline_queries[qid] = False
        self._push(
            {
                "inline_query": {
                    "id": qid,
                    "from": user_json(user_id),
                    "query": query,
                    "offset": "",
                    "chat_type": "sender",
                }
            }
        )
        return qid

    # --- waiting for the bot ---------------------------------------------------------------
    async def wait_for(
        self, predicate: Callable[[Call], bool], timeout: float = 5.0, start: int = 0
    ) -> Call:
        """The first successful call (from index ``start``) matching ``predicate``."""
        deadline = time.monotonic() + timeout
        async with self._changed:
            while True:
                for call in self.calls[start:]:
                    if call.status == 200 and predicate(call):
                        return call
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"no matching call within {timeout}s; calls: "
                        f"{[(c.method, c.status, c.error) for c in self.calls[-10:]]}"
                    )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), left)

    async def reply(
        self, chat_id: int, *, method: str = "sendMessage", timeout: float = 5.0, start: int = 0
    ) -> Call:
        """The bot's next successful ``method`` call for ``chat_id``."""
        return await self.wait_for(
            lambda c: c.method == method and str(c.params.get("chat_id")) == str(chat_id),
            timeout,
            start,
        )

    def sent(self, chat_id: int, method: str = "sendMessage") -> list[Call]:
        return [
            c
            for c in self.calls
            if c.method == method
            and c.status == 200
            and str(c.params.get("chat_id")) == str(chat_id)
        ]

    def message(self, call: Call) -> SentMessage:
        """The stored message a sendMessage/editMessageText call produced."""
        result = call.result
        return self.messages[(int(result["chat"]["id"]), int(result["message_id"]))]

    async def wait_polling(self, timeout: float = 10.0) -> None:
        """Until the bot is parked in a long poll (it has started)."""
        deadline = time.monotonic() + timeout
        while self._polls == 0:
            if time.monotonic() > deadline:
                raise TimeoutError("the bot never called getUpdates")
            await asyncio.sleep(0.01)


def _flag(value: Any) -> bool:
    return str(value).lower() in {"true", "1"}


def _json_param(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


async def _read_params(request: web.Request) -> JSON:
    """Query string plus body (JSON, form or multipart), as Telegram accepts them."""
    params: JSON = dict(request.query)
    if request.method != "POST" or not request.can_read_body:
        return params
    ctype = request.content_type
    if ctype == "application/json":
        body = await request.json()
        if isinstance(body, Mapping):
            params.update(body)
    elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        for key, value in form.items():
            params[key] = value if isinstance(value, str) else value.file.read()  # type: ignore[union-attr]
    return params


def _reply(status: int, body: JSON) -> web.Response:
    return web.json_response(body, status=status)
