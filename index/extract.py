"""Turn an HTML page into an Article (trafilatura), and make safe article ids.

Article ids become file names, log fields and Telegram callback data, so they are kept to a
small alphabet (letters, digits, ``_``, ``-``, ``.``), never start with a dot and are short.
"""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from typing import Any

from index.records import Article

MAX_ID_CHARS = 64
MIN_ARTICLE_CHARS = 40  # less extracted text than this is "no article text"

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
_log = logging.getLogger(__name__)


class ExtractError(ValueError):
    """The page holds no usable article; the message is one line saying why."""


def slugify(text: str, max_chars: int = 40) -> str:
    """Lower-case ASCII words joined by ``-``: ``"Storm hits coast!"`` -> ``storm-hits-coast``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    words = re.findall(r"[a-z0-9]+", ascii_text.lower())
    slug = ""
    for word in words:
        candidate = f"{slug}-{word}" if slug else word
        if len(candidate) > max_chars:
            break
        slug = candidate
    return slug or (words[0][:max_chars] if words else "")


def short_hash(text: str, chars: int = 8) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:chars]


def safe_id(raw: str) -> str:
    """``raw`` reduced to a safe id, or ``""`` when nothing usable is left."""
    cleaned = _UNSAFE.sub("_", raw.strip()).strip("._-")
    cleaned = re.sub(r"_{2,}", "_", cleaned)
    return cleaned[:MAX_ID_CHARS].rstrip("._-")


def id_from_filename(name: str) -> str:
    """The article id a file name gives: its base name without the extension, made safe.

    Path separators of either kind are dropped with everything before them, so an uploaded
    ``../../etc/x.txt`` becomes ``x``. Returns ``""`` when nothing usable is left.
    """
    base = re.split(r"[\\/]", name)[-1]
    lowered = base.lower()
    for ext in (".txt", ".html", ".htm"):
        if lowered.endswith(ext):
            base = base[: -len(ext)]
            break
    return safe_id(base)


def derived_id(title: str, key: str) -> str:
    """An id for an article without a usable file name: headline slug plus a short hash."""
    slug = slugify(title) or "article"
    return f"{slug}-{short_hash(key)}"


def html_to_article(data: bytes, *, url: str | None = None, name: str | None = None) -> Article:
    """Extract the headline, date, publisher, author and paragraphs of a news page.

    The id comes from the headline plus a short hash of the url (or of the text when there is
    no url), so the same page fetched twice gets the same id.
    """
    import trafilatura  # slow import (lxml, date parsers): only when HTML is added

    if not data.strip():
        raise ExtractError("the page is empty")
    try:
        doc = trafilatura.bare_extraction(
            data,
            url=url,
            with_metadata=True,
            include_comments=False,
            include_tables=False,
            include_images=False,
            include_links=False,
        )
    except Exception as exc:  # trafilatura raises many kinds on broken markup
        _log.info("trafilatura failed on %s: %s", url or name, exc)
        raise ExtractError("the HTML could not be parsed") from None
    if doc is None:
        raise ExtractError("HTML with no article text")
    fields: dict[str, Any] = doc if isinstance(doc, dict) else doc.as_dict()
    title = " ".join(str(fields.get("title") or "").split())
    text = str(fields.get("text") or "")
    paragraphs = [" ".join(line.split()) for line in text.splitlines()]
    paragraphs = [p for p in paragraphs if p]
    if paragraphs and title and paragraphs[0] == title:
        paragraphs = paragraphs[1:]
    if sum(len(p) for p in paragraphs) < MIN_ARTICLE_CHARS:
        raise ExtractError("HTML with no article text")
    if not title:
        raise ExtractError("the page has no headline")
    source = fields.get("sitename") or fields.get("hostname") or None
    final_url = url or fields.get("url") or None
    key = final_url or "\n".join(paragraphs)
    article_id = derived_id(title, key)
    if name and not url:
        from_name = id_from_filename(name)
        if from_name:
            article_id = from_name
    extra: list[tuple[str, str]] = []
    if fields.get("description"):
        extra.append(("description", " ".join(str(fields["description"]).split())))
    return Article(
        id=article_id,
        title=title,
        paragraphs=tuple(paragraphs),
        source=str(source) if source else None,
        url=str(final_url) if final_url else None,
        published=str(fields["date"]) if fields.get("date") else None,
        author=str(fields["author"]) if fields.get("author") else None,
        extra=tuple(extra),
    )
