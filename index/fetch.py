"""Fetch one web page for ``/add URL``: http(s) only, bounded in time, size and redirects.

Every failure is a :class:`FetchError` whose message is one line a person can act on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

ALLOWED_TYPES = ("text/html", "application/xhtml+xml", "text/plain")
MAX_REDIRECTS = 5
_USER_AGENT = "Newsdesk/0.1 (+article fetcher)"


class FetchError(Exception):
    """The URL could not be fetched as an article page; the message says why."""


@dataclass(frozen=True, slots=True)
class Fetched:
    """A fetched page: the final URL after redirects, its media type, charset and bytes."""

    url: str
    media_type: str
    charset: str | None
    data: bytes


def check_url(url: str) -> str:
    """The URL, stripped, if it is an absolute http(s) URL with a host; else FetchError."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        shown = parts.scheme or "no scheme"
        raise FetchError(f"only http and https URLs can be added (got {shown})")
    if not parts.hostname:
        raise FetchError("the URL has no host name")
    return url


def fetch_url(
    url: str,
    *,
    timeout_s: float,
    max_bytes: int,
    max_redirects: int = MAX_REDIRECTS,
    transport: httpx.BaseTransport | None = None,
) -> Fetched:
    """Download ``url``, aborting past ``max_bytes`` or ``timeout_s`` in total."""
    url = check_url(url)
    deadline = time.monotonic() + timeout_s
    try:
        with (
            httpx.Client(
                follow_redirects=True,
                max_redirects=max_redirects,
                timeout=httpx.Timeout(timeout_s),
                headers={"User-Agent": _USER_AGENT, "Accept": ", ".join(ALLOWED_TYPES)},
                transport=transport,
            ) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code >= 400:
                reason = response.reason_phrase or "error"
                raise FetchError(f"the server answered {response.status_code} {reason}")
            final = str(response.url)
            if urlsplit(final).scheme not in ("http", "https"):
                raise FetchError("the page redirected to a URL that is not http or https")
            media_type, charset = _content_type(response.headers.get("content-type"))
            if media_type and media_type not in ALLOWED_TYPES:
                raise FetchError(
                    f"the page is {media_type}, not an HTML page or plain text article"
                )
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise FetchError(_too_big(max_bytes))
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise FetchError(_too_big(max_bytes))
                if time.monotonic() > deadline:
                    raise FetchError(f"the server was too slow (over {timeout_s:g} s)")
                chunks.append(chunk)
    except httpx.TooManyRedirects:
        loop = f"too many redirects (more than {max_redirects}; a redirect loop?)"
        raise FetchError(loop) from None
    except httpx.TimeoutException:
        raise FetchError(f"the server did not answer in time ({timeout_s:g} s)") from None
    except httpx.UnsupportedProtocol:
        raise FetchError("the page redirected to a URL that is not http or https") from None
    except httpx.InvalidURL as exc:
        raise FetchError(f"the URL is not valid: {exc}") from None
    except httpx.ConnectError:
        raise FetchError("could not connect to the server") from None
    except httpx.HTTPError as exc:
        raise FetchError(f"the download failed: {type(exc).__name__}") from None
    data = b"".join(chunks)
    if not data.strip():
        raise FetchError("the page is empty")
    if not media_type:
        media_type = "text/html" if data.lstrip()[:1] == b"<" else ""
        if not media_type:
            raise FetchError("the server did not say what the page is (no content type)")
    return Fetched(url=final, media_type=media_type, charset=charset, data=data)


def _content_type(header: str | None) -> tuple[str, str | None]:
    if not header:
        return "", None
    media_type, _, params = header.partition(";")
    charset = None
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip('"').lower()
    return media_type.strip().lower(), charset


def _too_big(max_bytes: int) -> str:
    return f"the page is larger than the limit of {max_bytes / 1_000_000:g} MB"
