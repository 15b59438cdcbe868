"""HTML extraction with trafilatura and the rules for safe article ids."""

from __future__ import annotations

import re

import pytest
from newsserver import EMPTY_PAGE, NEWS_PAGE, STORM_FACT, STORM_TITLE

from index.extract import ExtractError, derived_id, html_to_article, id_from_filename, safe_id

SAFE = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}$")


def test_news_page_gives_headline_publisher_date_author_and_paragraphs() -> None:
    article = html_to_article(NEWS_PAGE.encode(), url="https://herald.example/news/storm")
    assert article.title == STORM_TITLE
    assert article.source == "The Harbour Herald"
    assert article.published == "2024-03-05"
    assert article.author == "Maria Jensen"
    assert article.url == "https://herald.example/news/storm"
    assert any(STORM_FACT in p for p in article.paragraphs)
    assert not any("Most read" in p or "All rights reserved" in p for p in article.paragraphs)
    assert article.paragraphs[0] != STORM_TITLE
    assert SAFE.match(article.id)
    assert article.id.startswith("storm-elena")


def test_same_url_gives_the_same_id_and_another_url_another() -> None:
    a = html_to_article(NEWS_PAGE.encode(), url="https://herald.example/a")
    b = html_to_article(NEWS_PAGE.encode(), url="https://herald.example/a")
    c = html_to_article(NEWS_PAGE.encode(), url="https://herald.example/c")
    assert a.id == b.id != c.id


def test_uploaded_html_takes_its_id_from_the_file_name() -> None:
    article = html_to_article(NEWS_PAGE.encode(), name="storm report.html")
    assert article.id == "storm_report"


@pytest.mark.parametrize(
    "data",
    [EMPTY_PAGE.encode(), b"", b"   ", b"<html><body><p>Hi.</p></body></html>"],
)
def test_page_without_article_text_is_refused(data: bytes) -> None:
    with pytest.raises(ExtractError, match=r"no article text|empty"):
        html_to_article(data, url="https://herald.example/x")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("001_abc.txt", "001_abc"),
        ("../../etc/passwd.txt", "passwd"),
        ("..\\..\\windows\\evil.TXT", "evil"),
        (".hidden.txt", "hidden"),
        ("...txt", ""),
        (".txt", ""),
        ("my article (1).txt", "my_article_1"),
        ("nyhet-på-norsk.htm", "nyhet-p_-norsk"),
        ("a" * 300 + ".txt", "a" * 64),
        ("/", ""),
    ],
)
def test_file_names_become_safe_ids(name: str, expected: str) -> None:
    got = id_from_filename(name)
    assert got == expected
    if got:
        assert SAFE.match(got)
        assert "/" not in got and "\\" not in got and not got.startswith(".")


def test_safe_id_and_derived_id_are_always_safe() -> None:
    for raw in ["  ../x ", "a/b/c", "ÆØÅ", "a" * 200, "--..__"]:
        got = safe_id(raw)
        assert got == "" or SAFE.match(got)
    derived = derived_id("Ærlig talt: «storm» over Oslo!", "https://x.example/1")
    assert SAFE.match(derived)
    assert re.fullmatch(r"rlig-talt-storm-over-oslo-[0-9a-f]{8}", derived)
    assert derived_id("!!!", "k").startswith("article-")
