"""Turning what an admin hands in (files, folders, HTML pages, URLs) into articles.

Each input becomes a :class:`Prepared`: the article it holds, or the one-line reason it
cannot be one. Nothing here touches the store or the index; :class:`index.service.Desk`
decides what to commit.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from index.articles import ArticleError, parse_article
from index.extract import ExtractError, derived_id, html_to_article, id_from_filename
from index.fetch import FetchError, fetch_url
from index.records import Article

ARTICLE_SUFFIXES = (".txt", ".html", ".htm")


@dataclass(frozen=True, slots=True)
class Prepared:
    """One add input turned into an article, or the reason it could not be."""

    input: str
    article: Article | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Intake:
    """Reads inputs within the configured limits."""

    max_bytes: int
    fetch_timeout_s: float

    def inputs(self, inputs: Sequence[str | Path]) -> list[Prepared]:
        """Files, folders of files (one result per file) or URLs, in order."""
        prepared: list[Prepared] = []
        for item in inputs:
            text = str(item)
            if "://" in text or text.lower().startswith(("http:", "https:")):
                prepared.append(self.url(text))
                continue
            path = Path(text)
            if path.is_dir():
                files = sorted(
                    p
                    for p in path.iterdir()
                    if p.is_file() and p.suffix.lower() in ARTICLE_SUFFIXES
                )
                if not files:
                    prepared.append(Prepared(text, reason="the folder holds no article files"))
                prepared.extend(self.path(p, str(p)) for p in files)
            else:
                prepared.append(self.path(path, text))
        return prepared

    def path(self, path: Path, shown: str) -> Prepared:
        """One file on disk."""
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return Prepared(shown, reason="no such file")
        except OSError as exc:
            return Prepared(shown, reason=f"cannot be read ({exc.strerror})")
        if not path.is_file():
            return Prepared(shown, reason="not a regular file")
        if size > self.max_bytes:
            return Prepared(shown, reason=self._too_big())
        try:
            data = path.read_bytes()
        except OSError as exc:
            return Prepared(shown, reason=f"cannot be read ({exc.strerror})")
        prepared = self.file(path.name, data)
        return Prepared(shown, prepared.article, prepared.reason)

    def _too_big(self) -> str:
        return f"larger than the limit of {self.max_bytes / 1_000_000:g} MB"

    def file(self, name: str, data: bytes) -> Prepared:
        """A .txt (FORMATS layout) or .html/.htm file's bytes."""
        if len(data) > self.max_bytes:
            return Prepared(name, reason=self._too_big())
        base = name.replace("\\", "/").rsplit("/", 1)[-1].lower()
        suffix = "." + base.rsplit(".", 1)[-1] if "." in base else ""
        try:
            if suffix == ".txt":
                return Prepared(name, parse_text(name, data))
            if suffix in (".html", ".htm"):
                return Prepared(name, html_to_article(data, name=name))
        except ArticleError as exc:
            return Prepared(name, reason=exc.reason)
        except ExtractError as exc:
            return Prepared(name, reason=str(exc))
        shown = suffix or "no extension"
        return Prepared(name, reason=f"not an article file ({shown}); send .txt, .html or .htm")

    def url(self, url: str) -> Prepared:
        """An http(s) page: HTML through trafilatura, plain text in FORMATS layout."""
        try:
            page = fetch_url(url, timeout_s=self.fetch_timeout_s, max_bytes=self.max_bytes)
        except FetchError as exc:
            return Prepared(url, reason=str(exc))
        try:
            if page.media_type == "text/plain":
                path = unquote(urlsplit(page.url).path)
                name = path.rsplit("/", 1)[-1] or "page"
                stem = name[: -len(".txt")] if name.lower().endswith(".txt") else name
                data = page.data
                if page.charset and page.charset.replace("-", "") not in ("utf8", "usascii"):
                    try:  # a declared legacy charset: read it as the server says
                        data = data.decode(page.charset).encode("utf-8")
                    except (LookupError, UnicodeDecodeError):
                        return Prepared(url, reason=f"the text is not valid {page.charset}")
                article = parse_text(f"{stem}.txt", data)
                if not article.url:
                    article = dataclasses.replace(article, url=page.url)
            else:
                article = html_to_article(page.data, url=page.url)
        except ArticleError as exc:
            return Prepared(url, reason=exc.reason)
        except ExtractError as exc:
            return Prepared(url, reason=str(exc))
        return Prepared(url, article)


def parse_text(name: str, data: bytes) -> Article:
    """A FORMATS text file; an unusable file name gives an id from the headline instead."""
    safe = id_from_filename(name)
    if safe:
        return parse_article(f"{safe}.txt", data)
    article = parse_article("article.txt", data)
    return dataclasses.replace(article, id=derived_id(article.title, article.content_hash()))
