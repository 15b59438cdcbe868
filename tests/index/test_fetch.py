"""fetch_url against a real HTTP server on 127.0.0.1: good pages and every way a site fails."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from newsserver import NEWS_PAGE, STORM_FACT, news_server

from index.fetch import FetchError, check_url, fetch_url


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    with news_server(slow_s=3.0) as url:
        yield url


def test_fetches_a_news_page(base: str) -> None:
    page = fetch_url(f"{base}/news/storm.html", timeout_s=5, max_bytes=1_000_000)
    assert page.media_type == "text/html"
    assert page.charset == "utf-8"
    assert page.data == NEWS_PAGE.encode()
    assert page.url.endswith("/news/storm.html")


def test_follows_a_redirect_and_reports_the_final_url(base: str) -> None:
    page = fetch_url(f"{base}/moved", timeout_s=5, max_bytes=1_000_000)
    assert page.url == f"{base}/news/storm.html"


def test_plain_text_is_accepted(base: str) -> None:
    page = fetch_url(f"{base}/news/storm.txt", timeout_s=5, max_bytes=1_000_000)
    assert page.media_type == "text/plain"
    assert STORM_FACT.encode() in page.data


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/missing", "404"),
        ("/loop", "redirect loop"),
        ("/picture.png", "image/png"),
    ],
)
def test_bad_pages_are_refused_clearly(base: str, path: str, message: str) -> None:
    with pytest.raises(FetchError, match=message):
        fetch_url(f"{base}{path}", timeout_s=5, max_bytes=1_000_000)


def test_a_slow_server_times_out(base: str) -> None:
    start = time.monotonic()
    with pytest.raises(FetchError, match="did not answer in time"):
        fetch_url(f"{base}/slow", timeout_s=0.5, max_bytes=1_000_000)
    assert time.monotonic() - start < 2.5


def test_a_trickling_server_is_cut_off_by_the_total_deadline(base: str) -> None:
    start = time.monotonic()
    with pytest.raises(FetchError, match="too slow"):
        fetch_url(f"{base}/trickle", timeout_s=1.0, max_bytes=1_000_000)
    assert time.monotonic() - start < 3.0


def test_a_huge_body_is_aborted_at_the_cap(base: str) -> None:
    start = time.monotonic()
    with pytest.raises(FetchError, match="larger than the limit"):
        fetch_url(f"{base}/huge", timeout_s=10, max_bytes=100_000)
    assert time.monotonic() - start < 5.0


def test_declared_length_over_the_cap_is_refused_before_reading(base: str) -> None:
    with pytest.raises(FetchError, match="larger than the limit"):
        fetch_url(f"{base}/news/storm.html", timeout_s=5, max_bytes=1_000)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.org/a.html", "only http and https"),
        ("file:///etc/passwd", "only http and https"),
        ("javascript:alert(1)", "only http and https"),
        ("example.org/news", "only http and https"),
        ("http:///nohost", "no host"),
    ],
)
def test_only_http_urls_with_a_host(url: str, message: str) -> None:
    with pytest.raises(FetchError, match=message):
        check_url(url)


def test_connection_refused_is_a_clear_message() -> None:
    with news_server() as url:
        dead = url
    with pytest.raises(FetchError, match="could not connect"):
        fetch_url(f"{dead}/news/storm.html", timeout_s=2, max_bytes=1_000_000)
