"""Turn engine responses into Telegram HTML and buttons, within Telegram's limits.

Pure functions only: no network, no state. Everything that comes from an article or a user is
HTML-escaped here, and every text is built from budgets so that the visible length (what
Telegram counts, in UTF-16 code units) never exceeds :data:`MAX_MESSAGE`. Callback data is
kept short (``<action>:<token>:<n>``) so it always fits Telegram's 64-byte limit.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from index.records import Answer, CorpusStats, Response

MAX_MESSAGE = 4096  # Telegram's limit for a message text after entity parsing
MAX_CALLBACK_DATA = 64  # bytes
MAX_CALLBACK_ANSWER = 200  # answerCallbackQuery text limit
MAX_SENTENCE = 1200  # a quoted answer sentence longer than this is clipped
MAX_TITLE = 300
MAX_SOURCE = 120
ELLIPSIS = "…"

# Callback actions: one letter each, so the data stays tiny.
ACTION_CONTEXT = "c"
ACTION_ANSWER = "a"  # back from the context view to the answer view
ACTION_NEXT = "n"
ACTION_HELPFUL = "h"
ACTION_UNHELPFUL = "u"
ACTIONS = frozenset({ACTION_CONTEXT, ACTION_ANSWER, ACTION_NEXT, ACTION_HELPFUL, ACTION_UNHELPFUL})
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{1,16}$")

STALE_TEXT = "This answer is out of date, please ask again."
NO_MORE_TEXT = "That was the last answer I have for this question."


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def esc(text: object) -> str:
    """Escape text for Telegram's HTML parse mode (``&``, ``<``, ``>``, quotes)."""
    return html.escape(str(text), quote=True)


def clip(text: str, limit: int) -> str:
    """``text`` with white space runs collapsed, cut to ``limit`` code units with an ellipsis."""
    flat = " ".join(text.split())
    if limit <= 1 and utf16_len(flat) > limit:
        return ELLIPSIS[:limit]
    return _clip_right(flat, limit)


def visible_text(markup: str) -> str:
    """The text Telegram shows for our HTML: tags removed, entities decoded."""
    return html.unescape(re.sub(r"<[^>]*>", "", markup))


def visible_len(markup: str) -> int:
    """Visible length of our HTML in UTF-16 code units (what the 4096 limit counts)."""
    return utf16_len(visible_text(markup))


def format_date(published: str | None) -> str | None:
    """``2024-01-05`` or a full ISO datetime as ``5 Jan 2024``; odd values kept as given."""
    if not published:
        return None
    value = published.strip()
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return clip(value, 40)
    return f"{parsed.day} {parsed:%b %Y}"


def _attribution(answer: Answer) -> list[str]:
    """Headline in bold, then source and date, then a link when the article has a URL."""
    lines = [f"<b>{esc(clip(answer.title, MAX_TITLE))}</b>"]
    meta = [clip(answer.source, MAX_SOURCE)] if answer.source else []
    date = format_date(answer.published)
    if date:
        meta.append(date)
    if meta:
        lines.append(esc(" · ".join(meta)))
    if answer.url and answer.url.startswith(("http://", "https://")) and len(answer.url) <= 2000:
        lines.append(f'<a href="{esc(answer.url)}">Read the article</a>')
    return lines


def _position(index: int, total: int) -> str:
    return f"<i>Answer {index + 1} of {total}</i>" if total > 1 else ""


def answer_text(response: Response, index: int = 0, note: str | None = None) -> str:
    """The reply for answer ``index`` of ``response.ranked``: quote, attribution, position."""
    ranked = response.ranked
    answer = ranked[index]
    parts = [f"<blockquote>{esc(clip(answer.sentence, MAX_SENTENCE))}</blockquote>"]
    parts.extend(_attribution(answer))
    position = _position(index, len(ranked))
    if position:
        parts.append(position)
    if note:
        parts.append(f"<i>{esc(clip(note, 300))}</i>")
    return "\n".join(parts)


def context_text(response: Response, index: int = 0) -> str:
    """The whole paragraph of answer ``index``, its sentence in bold, with attribution."""
    answer = response.ranked[index]
    tail = "\n".join(["", *_attribution(answer), _position(index, len(response.ranked))])
    header = "<i>Context</i>\n"
    budget = MAX_MESSAGE - visible_len(header) - visible_len(tail) - 8
    return header + mark_sentence(answer.paragraph_text, answer.sentence, budget) + tail


def mark_sentence(paragraph: str, sentence: str, budget: int) -> str:
    """Escaped ``paragraph`` with ``sentence`` in bold, clipped around it to ``budget`` units."""
    para = " ".join(paragraph.split())
    sent = " ".join(sentence.split())
    start = para.find(sent) if sent else -1
    if start < 0:
        # The sentence is not literally in the paragraph: show both, sentence first.
        sent_part = clip(sent, min(MAX_SENTENCE, budget // 2))
        rest = clip(para, max(budget - utf16_len(sent_part) - 2, 1))
        return f"<b>{esc(sent_part)}</b>\n\n{esc(rest)}"
    before, after = para[:start], para[start + len(sent) :]
    sent = clip(sent, min(budget, MAX_MESSAGE // 2))
    room = max(budget - utf16_len(sent), 0)
    before_room = min(utf16_len(before), room // 2)
    after_room = room - before_room
    if utf16_len(after) < after_room:  # give unused room back to the text before
        before_room = min(utf16_len(before), room - utf16_len(after))
    before_txt = _clip_left(before, before_room)
    after_txt = _clip_right(after, after_room)
    return f"{esc(before_txt)}<b>{esc(sent)}</b>{esc(after_txt)}"


def _take(chars: Iterable[str], limit: int) -> list[str]:
    """The leading ``chars`` that fit in ``limit`` UTF-16 code units."""
    out: list[str] = []
    used = 0
    for ch in chars:
        size = utf16_len(ch)
        if used + size > limit:
            break
        out.append(ch)
        used += size
    return out


def _clip_right(text: str, limit: int) -> str:
    """Keep the start of ``text`` (an ellipsis at the end when cut), no stripping of spaces."""
    if utf16_len(text) <= limit:
        return text
    if limit <= 1:
        return ""
    return "".join(_take(text, limit - 1)).rstrip() + ELLIPSIS


def _clip_left(text: str, limit: int) -> str:
    """Keep the end of ``text`` (an ellipsis at the start when cut)."""
    if utf16_len(text) <= limit:
        return text
    if limit <= 1:
        return ""
    return ELLIPSIS + "".join(reversed(_take(reversed(text), limit - 1))).lstrip()


def declined_text(response: Response, note: str | None = None) -> str:
    """Say plainly that the articles do not answer; offer the closest headlines and a tip."""
    parts = ["I couldn't find an answer to that in the articles I have."]
    if response.declined_reason:
        parts.append(f"<i>{esc(clip(response.declined_reason, 300))}</i>")
    if response.suggestions:
        parts.append("\nClosest articles:")
        for title in response.suggestions[:5]:
            parts.append(f"• <b>{esc(clip(title, MAX_TITLE))}</b>")
    parts.append(
        "\n<i>Tip: ask about one thing, with names, places or dates from the news, "
        "e.g. “Who confirmed …?” or “When did … happen?”</i>"
    )
    if note:
        parts.append(f"<i>{esc(clip(note, 300))}</i>")
    return "\n".join(parts)


PARTIAL_NOTE = "Part of the archive did not answer just now; this may not be the best answer."


def reply_text(response: Response, note: str | None = None) -> str:
    """The first reply to a question: the best answer, or the decline (with one line more
    when a search shard did not answer)."""
    if response.partial:
        note = f"{note} {PARTIAL_NOTE}" if note else PARTIAL_NOTE
    if response.answer is None:
        return declined_text(response, note)
    return answer_text(response, 0, note)


@dataclass(frozen=True, slots=True)
class Callback:
    """Decoded callback data: what to do, for which kept response, at which answer."""

    action: str
    token: str
    index: int


def encode_callback(action: str, token: str, index: int) -> str:
    """``<action>:<token>:<index>``, checked against Telegram's 64-byte limit."""
    if action not in ACTIONS or not _TOKEN_RE.match(token) or not 0 <= index < 1000:
        raise ValueError(f"bad callback parts: {action!r} {token!r} {index!r}")
    data = f"{action}:{token}:{index}"
    if len(data.encode("utf-8")) > MAX_CALLBACK_DATA:
        raise ValueError("callback data over 64 bytes")
    return data


def decode_callback(data: str | None) -> Callback | None:
    """The parts of our callback data, or None for anything we did not make."""
    if not data or len(data.encode("utf-8")) > MAX_CALLBACK_DATA:
        return None
    parts = data.split(":")
    if len(parts) != 3:
        return None
    action, token, raw_index = parts
    if action not in ACTIONS or not _TOKEN_RE.match(token) or not raw_index.isdigit():
        return None
    return Callback(action, token, int(raw_index))


def answer_keyboard(token: str, index: int, *, context_shown: bool = False) -> InlineKeyboardMarkup:
    """Context (or back to the answer), Another answer, and the two feedback buttons."""
    toggle = (
        InlineKeyboardButton(
            "Answer only", callback_data=encode_callback(ACTION_ANSWER, token, index)
        )
        if context_shown
        else InlineKeyboardButton(
            "Context", callback_data=encode_callback(ACTION_CONTEXT, token, index)
        )
    )
    return InlineKeyboardMarkup(
        [
            [
                toggle,
                InlineKeyboardButton(
                    "Another answer", callback_data=encode_callback(ACTION_NEXT, token, index)
                ),
            ],
            feedback_row(token, index),
        ]
    )


def feedback_row(token: str, index: int) -> list[InlineKeyboardButton]:
    """The Helpful / Not helpful pair."""
    return [
        InlineKeyboardButton(
            "👍 Helpful", callback_data=encode_callback(ACTION_HELPFUL, token, index)
        ),
        InlineKeyboardButton(
            "👎 Not helpful", callback_data=encode_callback(ACTION_UNHELPFUL, token, index)
        ),
    ]


def declined_keyboard(token: str) -> InlineKeyboardMarkup:
    """A decline can be rated too (was declining right?)."""
    return InlineKeyboardMarkup([feedback_row(token, 0)])


def example_questions(headlines: Sequence[str], limit: int = 3) -> list[str]:
    """Candidate questions made from headlines (their first clause), one per headline.

    The caller checks them against the engine and keeps those that get an answer.
    """
    out: list[str] = []
    for headline in headlines:
        head = re.split(r"\s+[-–—|]\s+|[:;,]\s", " ".join(headline.split()), maxsplit=1)[0]
        head = clip(head.rstrip(".!?"), 90)
        if len(head) < 8:
            continue
        question = f"What about {head}?"
        if question not in out:
            out.append(question)
        if len(out) >= limit:
            break
    return out


def help_text(stats: CorpusStats, examples: Sequence[str], *, group: bool = False) -> str:
    """/start and /help: what the bot knows and how to ask, with example questions."""
    how = (
        "In groups, use /ask QUESTION, mention me, or reply to one of my messages."
        if group
        else "Just send me a question as a message."
    )
    parts = [
        "<b>Newsdesk</b> answers questions about the news with one sentence from an article, "
        "and tells you where it comes from.",
        f"I know {stats.articles} article{'s' if stats.articles != 1 else ''} "
        f"from {len(stats.sources)} source{'s' if len(stats.sources) != 1 else ''}.",
        how,
    ]
    if examples:
        parts.append("\n<b>Try for example:</b>")
        prefix = "/ask " if group else ""
        parts.extend(f"• {esc(prefix + clip(q, 200))}" for q in examples[:5])
    parts.append(
        "\nUnder each answer: <i>Context</i> shows the paragraph, <i>Another answer</i> the "
        "next best sentence, and 👍/👎 tell me how I did. /about shows what is indexed."
    )
    return _fit("\n".join(parts))


def about_text(stats: CorpusStats) -> str:
    """/about: articles, sources, last index time and the answering pipeline."""
    shown = [clip(s, MAX_SOURCE) for s in stats.sources[:15]]
    more = len(stats.sources) - len(shown)
    sources = ", ".join(shown) + (f" and {more} more" if more > 0 else "") if shown else "none"
    indexed = _format_time(stats.indexed_at)
    parts = [
        "<b>About Newsdesk</b>",
        f"Articles: {stats.articles}",
        f"Passages: {stats.passages} · sentences: {stats.sentences}",
        f"Sources ({len(stats.sources)}): {esc(sources)}",
        f"Last indexed: {esc(indexed)}",
        f"Pipeline: {esc(clip(stats.pipeline, 100))}",
    ]
    return _fit("\n".join(parts))


def _format_time(value: str | None) -> str:
    if not value:
        return "never"
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return clip(value, 40)
    return parsed.strftime("%Y-%m-%d %H:%M UTC") if parsed.tzinfo else parsed.isoformat()


def _fit(markup: str) -> str:
    """Last line of defence for texts built from lists: drop whole lines until it fits."""
    lines = markup.split("\n")
    while visible_len("\n".join(lines)) > MAX_MESSAGE and len(lines) > 1:
        lines.pop(-2 if len(lines) > 2 else -1)
    return "\n".join(lines)


def inline_title(answer: Answer) -> str:
    """Title of an inline result: the sentence, short (never empty: Telegram refuses that)."""
    return clip(answer.sentence, 120) or clip(answer.title, 120) or "Answer"


def inline_description(answer: Answer) -> str:
    """Description of an inline result: headline and source."""
    bits = [answer.title] + ([answer.source] if answer.source else [])
    return clip(" — ".join(bits), 200)


def callback_note(text: str) -> str:
    """A text for answerCallbackQuery (at most 200 characters)."""
    return clip(text, MAX_CALLBACK_ANSWER)
