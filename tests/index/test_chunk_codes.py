"""The compiled chunk table folds, splits and numbers chunks exactly as Python does.

``str.split`` is the reference: every white-space code point, fuzzed runs of odd spacing
and non-ASCII text, chunk ids in first-seen order across batches (the table grows several
times on the way), and a layout coded through the table equals one coded in Python.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from test_build_coded import awkward_texts, corpus

from index import chunk_codes
from index.build_layout import TermCoder, lay_out_coded
from index.chunk_codes import ChunkTable
from index.records import Article
from index.text import chunk_terms_many, chunk_terms_uncached

needs_numba = pytest.mark.skipif(not chunk_codes.AVAILABLE, reason="numba is not installed")

SPACES = [chr(c) for c in range(0x110000) if chr(c).isspace()]


def all_code_points(rng: random.Random) -> list[str]:
    """Every code point but the surrogates, in pieces, some glued to their neighbours."""
    chars = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    return [
        "".join(c + rng.choice(["", "", "x", " "]) for c in chars[k : k + 50])
        for k in range(0, len(chars), 50)
    ]


def odd_spacing(rng: random.Random, n: int) -> list[str]:
    bits = [*SPACES, "ab", "é", "’", "\u2029x", "a\u200b", "\u00a0\u00a0", "日本", "x\u3000"]
    return ["".join(rng.choice(bits) for _ in range(rng.randint(0, 12))) for _ in range(n)]


@needs_numba
def test_folds_splits_and_numbers_chunks_like_str_split() -> None:
    rng = random.Random(4)
    batches = [all_code_points(rng), odd_spacing(rng, 3_000), [*awkward_texts(500), "", " "]]
    table = ChunkTable()
    seen: dict[str, int] = {}
    for pieces in batches:
        is_para = np.asarray([rng.random() < 0.7 for _ in pieces])
        folded = table.fold(pieces, is_para)
        ids, new, blob, titles = [], [], [], []
        for piece, para in zip(pieces, is_para.tolist(), strict=True):
            words = piece.split()
            (blob if para else titles).append(" ".join(words).encode("utf-8"))
            for word in words:
                if word not in seen:
                    seen[word] = len(seen)
                    new.append(word)
                ids.append(seen[word])
        assert folded.chunk_ids.tolist() == ids
        assert folded.new_chunks == new
        assert folded.blob == b"".join(blob)
        assert folded.titles == b"".join(titles)
        assert folded.words.tolist() == [len(p.split()) for p in pieces]
        for start, size, para, text in zip(
            folded.starts.tolist(), folded.lens.tolist(), is_para.tolist(), pieces, strict=True
        ):
            buffer = folded.blob if para else folded.titles
            assert buffer[start : start + size].decode("utf-8") == " ".join(text.split())
    assert table.size == len(seen) > 1 << 17  # the table and its arrays grew


@needs_numba
def test_a_layout_coded_through_the_table_equals_the_python_one() -> None:
    rng = random.Random(9)
    texts = awkward_texts(300, seed=2) + odd_spacing(rng, 300)
    extra = [
        Article(id=f"x{k}", title=texts[k], paragraphs=tuple(texts[k + 1 : k + 1 + k % 5]))
        for k in range(0, len(texts) - 6, 6)
    ]
    articles = corpus() + extra
    compiled, plain = TermCoder("k", compiled=True), TermCoder("k", compiled=False)
    assert compiled.table is not None and plain.table is None
    for start in range(0, len(articles), 7):
        batch = articles[start : start + 7]
        a = lay_out_coded("b", batch, 3, compiled)
        b = lay_out_coded("b", batch, 3, plain)
        assert a.new_terms == b.new_terms and a.first_new == b.first_new
        assert a.segment.articles == b.segment.articles
        assert bytes(a.segment.blob) == bytes(b.segment.blob)
        for key, array in b.segment.arrays.items():
            assert array.dtype == a.segment.arrays[key].dtype
            assert np.array_equal(array, a.segment.arrays[key]), key
        for name in ("sentence_terms", "sentence_lens", "passage_terms", "passage_lens"):
            x, y = getattr(a, name), getattr(b, name)
            assert x.dtype == y.dtype and np.array_equal(x, y), name


def test_terms_of_many_chunks_equal_each_chunks_terms() -> None:
    rng = random.Random(6)
    marks = [chr(c) for c in range(0x21, 0x7F) if not chr(c).isalnum()]
    bits = [*marks, "Word", "the", "THE", "said", "x", "2,000", "3.5", "it's", "é", "_", "Co"]
    chunks = ["".join(rng.choice(bits) for _ in range(rng.randint(1, 5))) for _ in range(20_000)]
    chunks += [w for text in awkward_texts(500) for w in text.split()]
    assert chunk_terms_many(chunks) == [chunk_terms_uncached(chunk) for chunk in chunks]
