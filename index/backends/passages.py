"""Articles cut into the passages a shard stores, exactly as the embedded index cuts them.

Each passage is a window of at most ``max_passage_sentences`` sentences of one paragraph
(:func:`index.layout.lay_out` does the same for the embedded index). A shard row holds the
passage's *index terms* as its full-text field, so the engine matches exactly the terms
Newsdesk's own tokenizer produces (stems, numbers, hyphenated names whole and split) rather
than the engine's own, and it holds the whole paragraph as a string attribute so that an
answer can be built from the shard's reply alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from index.records import Article
from index.text import sentence_spans, tokenize

#: Passages per article are numbered in the low bits of a row id; the article's sequence
#: number (its place in index order) in the high bits, so ``id ASC`` is index order.
PASSAGE_BITS = 20
_PLAIN = re.compile(r"[a-z0-9]+")
_ESCAPED = "zx"  # plain terms never start with it; other terms are written as zx + hex


def decode_term(word: str) -> str:
    """The term :func:`encode_term` wrote as ``word``."""
    if word.startswith(_ESCAPED):
        return bytes.fromhex(word[len(_ESCAPED) :]).decode("utf-8")
    return word


def encode_term(term: str) -> str:
    """A term as a word the engine indexes unchanged (letters a-z and digits only).

    Terms of plain letters and digits stay as they are; any other (``kn-23``, ``3.5``,
    ``münchen``) becomes ``zx`` + the hex of its UTF-8, one-to-one, so the engine neither
    splits nor folds it.
    """
    if _PLAIN.fullmatch(term) and not term.startswith(_ESCAPED):
        return term
    return _ESCAPED + term.encode("utf-8").hex()


def row_id(seq: int, passage: int) -> int:
    """The shard row id of an article's ``passage``-th passage."""
    if seq < 1:
        raise ValueError("seq numbers start at 1 (the engines refuse row id 0)")
    if passage >= 1 << PASSAGE_BITS:
        raise ValueError(f"an article has more than {1 << PASSAGE_BITS} passages")
    return (seq << PASSAGE_BITS) | passage


@dataclass(frozen=True, slots=True)
class PassageDoc:
    """One passage: where it is, its paragraph's text and the token lists it is counted by."""

    local: int  # passage number inside the article, from 0
    paragraph: int  # paragraph number inside the article, from 0
    window: int  # number of the passage's first sentence inside the paragraph
    text: str  # the whole paragraph, white space folded
    spans: tuple[tuple[int, int], ...]  # the passage's sentences, as spans of ``text``
    terms: tuple[str, ...]  # the passage's index terms
    sentence_terms: tuple[tuple[str, ...], ...]  # per sentence: headline terms + its terms
    own_terms: tuple[tuple[str, ...], ...]  # per sentence: its own terms

    def spans_attr(self) -> str:
        """The sentence spans as the shard stores them: ``"0:57 58:120"``."""
        return " ".join(f"{b}:{e}" for b, e in self.spans)

    def terms_attr(self) -> str:
        """The sentences' own terms as the shard stores them, ``" | "`` between sentences."""
        return " | ".join(" ".join(encode_term(t) for t in own) for own in self.own_terms)


def parse_spans(spans_attr: str) -> tuple[tuple[int, int], ...]:
    """The sentence spans a row stores (see :meth:`PassageDoc.spans_attr`)."""
    return tuple(
        (int(b), int(e)) for b, _, e in (pair.partition(":") for pair in spans_attr.split())
    )


def parse_words(terms_attr: str) -> list[list[str]]:
    """The encoded terms of each sentence a row stores (see :meth:`PassageDoc.terms_attr`)."""
    return [part.split() for part in terms_attr.split("|")]


def doc_from_row(
    title_terms: list[str],
    text: str,
    paragraph: int,
    window: int,
    local: int,
    spans_attr: str,
    terms_attr: str,
) -> PassageDoc:
    """A passage read back from a shard row: the terms the tokenizer gave when it was
    written (no re-tokenising at question time: it was two thirds of the time)."""
    spans = parse_spans(spans_attr)
    own = tuple(tuple(decode_term(w) for w in words) for words in parse_words(terms_attr))
    if len(own) != len(spans):
        raise ValueError(f"shard row has {len(spans)} sentence spans but {len(own)} term lists")
    title = tuple(title_terms)
    return PassageDoc(
        local,
        paragraph,
        window,
        text,
        spans,
        tuple(t for sentence in own for t in sentence),
        tuple(title + sentence for sentence in own),
        own,
    )


def paragraph_spans(text: str) -> list[tuple[int, int]]:
    """Sentence spans of a folded paragraph (the whole text when it has no sentence end)."""
    return sentence_spans(text) or [(0, len(text))]


def window_doc(
    title_terms: list[str],
    text: str,
    paragraph: int,
    window: int,
    size: int,
    local: int,
    all_spans: list[tuple[int, int]] | None = None,
) -> PassageDoc:
    """The passage of ``text`` (a folded paragraph) that starts at sentence ``window``."""
    spans = (all_spans if all_spans is not None else paragraph_spans(text))[window : window + size]
    passage_terms: list[str] = []
    sentences: list[tuple[str, ...]] = []
    own: list[tuple[str, ...]] = []
    for begin, end in spans:
        terms = tokenize(text[begin:end])
        passage_terms.extend(terms)
        sentences.append(tuple(title_terms + terms))
        own.append(tuple(terms))
    return PassageDoc(
        local,
        paragraph,
        window,
        text,
        tuple(spans),
        tuple(passage_terms),
        tuple(sentences),
        tuple(own),
    )


def article_passages(article: Article, size: int) -> Iterator[PassageDoc]:
    """The article's passages in index order (paragraph by paragraph, window by window)."""
    title_terms = tokenize(article.title)
    local = 0
    for number, paragraph in enumerate(article.paragraphs):
        text = " ".join(paragraph.split())
        spans = paragraph_spans(text)
        for window in range(0, len(spans), size):
            yield window_doc(title_terms, text, number, window, size, local, spans)
            local += 1
