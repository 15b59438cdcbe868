"""Article files (FORMATS section 1) into :class:`Article` records.

Two layouts: A (headline line, source line, one paragraph a line) and B (a ``---`` block of
``key: value`` metadata, then paragraphs). A bad file is refused with a one-line reason that
names it; loading a folder skips bad files and keeps the rest.
"""

from __future__ import annotations

import logging
from pathlib import Path

from index.records import Article

log = logging.getLogger(__name__)

_KNOWN_KEYS = ("title", "source", "url", "published", "author")


class ArticleError(ValueError):
    """A file that cannot be an article; ``str(error)`` is ``"<name>: <reason>"``."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name}: {reason}")
        self.name = name
        self.reason = reason


def article_id_from_name(name: str) -> str:
    """The article id of a file name: the base name without ``.txt``, exactly (FORMATS).

    Fixtures name articles by their file names, so nothing is rewritten here; files that
    arrive by upload or URL get a sanitised name first (``index.extract.id_from_filename``).
    """
    base = name.rsplit("/", 1)[-1]
    return base[: -len(".txt")] if base.lower().endswith(".txt") else base


def _decode(name: str, data: bytes) -> str:
    if not data.strip():
        raise ArticleError(name, "the file is empty")
    if b"\x00" in data:
        raise ArticleError(name, "the file is binary, not UTF-8 text")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ArticleError(name, f"not valid UTF-8 (byte {exc.start})") from None
    return text.removeprefix("\ufeff")


def _lines(text: str) -> list[str]:
    """Non-empty lines, trimmed; CR, CRLF and LF all end a line."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def _parse_front_matter(name: str, lines: list[str]) -> tuple[dict[str, str], list[str]]:
    """Split layout B into its metadata and its paragraph lines."""
    try:
        close = lines.index("---", 1)
    except ValueError:
        raise ArticleError(name, "the '---' metadata block is never closed") from None
    meta: dict[str, str] = {}
    for line in lines[1:close]:
        key, sep, value = line.partition(":")
        if not sep:
            log.warning("%s: ignoring metadata line without 'key: value' form", name)
            continue
        meta.setdefault(key.strip().lower(), value.strip())
    return meta, lines[close + 1 :]


def parse_article(name: str, data: bytes) -> Article:
    """Parse one article file's bytes; ``name`` is its file name (the id comes from it)."""
    article_id = article_id_from_name(name)
    if not article_id:
        raise ArticleError(name, "the file name gives no usable article id")
    lines = _lines(_decode(name, data))
    if not lines:
        raise ArticleError(name, "the file is empty")
    if lines[0] == "---":
        meta, paragraphs = _parse_front_matter(name, lines)
        title = meta.get("title", "")
        if not title:
            raise ArticleError(name, "no title in the metadata block")
        if not paragraphs:
            raise ArticleError(name, "no paragraph after the metadata block")
        extra = tuple(sorted((k, v) for k, v in meta.items() if k not in _KNOWN_KEYS))
        return Article(
            id=article_id,
            title=title,
            paragraphs=tuple(paragraphs),
            source=meta.get("source") or None,
            url=meta.get("url") or None,
            published=meta.get("published") or None,
            author=meta.get("author") or None,
            extra=extra,
        )
    if len(lines) < 3:
        raise ArticleError(
            name, "no paragraph (layout A needs a headline line, a source line and paragraphs)"
        )
    return Article(id=article_id, title=lines[0], source=lines[1], paragraphs=tuple(lines[2:]))


def load_file(path: Path) -> Article:
    """Read and parse one article file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ArticleError(path.name, f"cannot be read ({exc.strerror})") from None
    return parse_article(path.name, data)


def load_folder(folder: Path) -> tuple[list[Article], list[tuple[str, str]]]:
    """Every ``*.txt`` article in ``folder`` (sorted by name), and (file, reason) for refusals."""
    articles: list[Article] = []
    refused: list[tuple[str, str]] = []
    for path in sorted(folder.glob("*.txt")):
        if not path.is_file():
            continue
        try:
            articles.append(load_file(path))
        except ArticleError as exc:
            refused.append((exc.name, exc.reason))
            log.warning("refused article file %s", exc)
    return articles, refused
