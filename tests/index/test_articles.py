"""Article files per FORMATS section 1: both layouts, every malformed case, folder loading."""

from __future__ import annotations

from pathlib import Path

import pytest
from testpaths import FIXTURES, SEEDS

from index.articles import ArticleError, article_id_from_name, load_folder, parse_article


def test_layout_a_title_source_paragraphs() -> None:
    article = parse_article("a1.txt", b"Headline here\nThe Source\nFirst para.\n\nSecond para.\n")
    assert article.id == "a1"
    assert article.title == "Headline here"
    assert article.source == "The Source"
    assert article.paragraphs == ("First para.", "Second para.")


def test_layout_a_crlf_bom_blank_lines_and_no_final_newline() -> None:
    data = b"\xef\xbb\xbf\r\n\r\nHeadline\r\nSource\r\n\r\nOne.\r\nTwo."
    article = parse_article("x.txt", data)
    assert (article.title, article.source, article.paragraphs) == (
        "Headline",
        "Source",
        ("One.", "Two."),
    )


def test_layout_b_metadata_and_unknown_keys_kept() -> None:
    data = (
        b"---\ntitle: T\nsource: S\nurl: https://e.org/a\npublished: 2024-03-14\n"
        b"author: A\nsection: Local\n---\nP1\nP2\n"
    )
    article = parse_article("b.txt", data)
    assert article.title == "T"
    assert article.source == "S"
    assert article.url == "https://e.org/a"
    assert article.published == "2024-03-14"
    assert article.author == "A"
    assert article.paragraphs == ("P1", "P2")
    assert dict(article.extra) == {"section": "Local"}


def test_layout_b_source_is_optional() -> None:
    article = parse_article("b.txt", b"---\ntitle: Only a title\n---\nBody.\n")
    assert article.source is None
    assert article.paragraphs == ("Body.",)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"  \n\r\n  ", "empty"),
        (b"\xff\xfe\x00\x01", "binary"),
        (b"Caf\xe9\nSource\nText\n", "UTF-8"),
        (b"Title only\nSource\n", "no paragraph"),
        (b"Title only\n", "no paragraph"),
        (b"---\ntitle: T\nA paragraph\n", "never closed"),
        (b"---\nsource: S\n---\nA paragraph\n", "no title"),
        (b"---\ntitle:   \n---\nA paragraph\n", "no title"),
        (b"---\ntitle: T\n---\n\n", "no paragraph"),
    ],
)
def test_malformed_files_are_refused_with_name_and_reason(data: bytes, reason: str) -> None:
    with pytest.raises(ArticleError) as caught:
        parse_article("bad_file.txt", data)
    assert caught.value.name == "bad_file.txt"
    assert reason in caught.value.reason
    assert str(caught.value).startswith("bad_file.txt: ")


def test_folder_loads_good_files_and_reports_each_bad_one() -> None:
    articles, refused = load_folder(FIXTURES / "bad_articles")
    assert [a.id for a in articles] == ["good"]
    refused_names = {name for name, _ in refused}
    assert refused_names == {
        "binary.txt",
        "empty.txt",
        "front_no_paragraph.txt",
        "latin1.txt",
        "no_paragraph.txt",
        "no_title.txt",
        "unclosed.txt",
    }


def test_shipped_seed_parses() -> None:
    articles, refused = load_folder(SEEDS)
    assert refused == []
    assert len(articles) >= 1
    seed = next(a for a in articles if a.id == "000_6b510e1d415c7192")
    assert seed.source == "ICARO Media Group"
    assert len(seed.paragraphs) == 10


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("000_abc.txt", "000_abc"),
        ("dir/sub/story.txt", "story"),
        ("spaces and ümlauts (1).txt", "spaces and ümlauts (1)"),
        ("v2.final.txt", "v2.final"),
    ],
)
def test_article_id_is_the_file_name_without_txt(name: str, expected: str) -> None:
    assert article_id_from_name(name) == expected


def test_odd_file_names_keep_their_ids_in_a_folder(tmp_path: Path) -> None:
    (tmp_path / "Breaking news (update 2).txt").write_bytes(b"Head\nSrc\nText.\n")
    articles, refused = load_folder(tmp_path)
    assert refused == []
    assert [a.id for a in articles] == ["Breaking news (update 2)"]


def test_content_hash_ignores_the_id_and_white_space(tmp_path: Path) -> None:
    a = parse_article("one.txt", b"Head\nSrc\nSame   text.\n")
    b = parse_article("two.txt", b"Head\r\nSrc\r\nSame text.")
    c = parse_article("three.txt", b"Head\nSrc\nOther text.\n")
    assert a.content_hash() == b.content_hash()
    assert a.content_hash() != c.content_hash()
