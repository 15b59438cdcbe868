"""Deterministic synthetic news corpus and questions for the benchmark.

Articles are written in FORMATS layout A (headline line, source line, one paragraph per
line). Words follow a Zipf-like law over a synthetic vocabulary, mixed with real English
function words at about their natural rate, so stop-word removal, stemming and posting-list
lengths behave like they do on news text. Paragraphs hold about 60 words in three sentences.
Questions take a few content words of one sentence of one paragraph (in order), sometimes
swap one for an unrelated word, and wrap them in a question form.

Generated corpora are cached under ``bench/out/`` (gitignored), keyed by size and seed.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent / "out"
FUNCTION_WORDS = [
    "the",
    "of",
    "and",
    "to",
    "in",
    "a",
    "is",
    "that",
    "for",
    "on",
    "was",
    "with",
    "as",
    "by",
    "at",
    "from",
    "it",
    "he",
    "said",
    "has",
    "his",
    "be",
    "are",
    "have",
    "an",
    "this",
    "its",
    "were",
    "which",
    "but",
    "not",
    "had",
    "their",
    "they",
    "been",
    "after",
    "who",
    "will",
    "more",
    "than",
    "also",
    "about",
    "up",
    "one",
    "into",
    "over",
    "when",
    "there",
    "or",
    "all",
    "new",
    "can",
    "her",
    "would",
    "we",
    "she",
    "two",
    "out",
    "some",
]
SOURCES = (
    "Harbor Gazette",
    "Northern Ledger",
    "City Courier",
    "Daily Meridian",
    "Valley Post",
    "Coastal Tribune",
    "Evening Herald",
    "Metro Bulletin",
    "Capital Wire",
    "Plains Observer",
)
QUESTION_FORMS = (
    "What about {}?",
    "Who {}?",
    "When did {}?",
    "Where {}?",
    "Why {}?",
    "How {}?",
    "What happened with {}?",
    "Tell me about {}.",
    "{}?",
    "Which {}?",
)
_ONSETS = [
    "b",
    "c",
    "d",
    "f",
    "g",
    "h",
    "j",
    "k",
    "l",
    "m",
    "n",
    "p",
    "r",
    "s",
    "t",
    "v",
    "w",
    "z",
    "br",
    "cr",
    "dr",
    "fr",
    "gr",
    "pl",
    "pr",
    "st",
    "tr",
    "sk",
    "sl",
    "sp",
    "ch",
    "sh",
    "th",
]
_VOWELS = ["a", "e", "i", "o", "u", "ai", "ea", "ie", "oa", "ou"]
_CODAS = ["", "", "", "n", "r", "l", "s", "t", "m", "nd", "rk", "st"]


@dataclass(frozen=True)
class Corpus:
    """A generated corpus on disk."""

    folder: Path  # article files
    questions: Path  # JSON Lines questions
    passages: int
    articles: int


def _vocabulary(size: int, rng: np.random.Generator) -> list[str]:
    """``size`` distinct pronounceable lowercase words, deterministic for the generator."""
    words: list[str] = []
    seen = set(FUNCTION_WORDS)
    while len(words) < size:
        n_syl = int(rng.integers(2, 5))
        parts = []
        for _ in range(n_syl):
            parts.append(_ONSETS[int(rng.integers(len(_ONSETS)))])
            parts.append(_VOWELS[int(rng.integers(len(_VOWELS)))])
        parts.append(_CODAS[int(rng.integers(len(_CODAS)))])
        word = "".join(parts)
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


def _zipf_cdf(n: int, exponent: float, shift: float) -> np.ndarray:
    weights = 1.0 / (np.arange(n, dtype=np.float64) + shift) ** exponent
    cdf = np.cumsum(weights)
    return cdf / cdf[-1]


def generate(passages: int, seed: int = 7, questions: int = 600, force: bool = False) -> Corpus:
    """Write (or reuse) a corpus of ``passages`` paragraphs and its questions."""
    root = OUT / f"corpus-{passages}-s{seed}-q{questions}"
    folder, qpath, meta = root / "articles", root / "questions.jsonl", root / "meta.json"
    if meta.is_file() and not force:
        info = json.loads(meta.read_text())
        return Corpus(folder, qpath, info["passages"], info["articles"])
    if root.exists():
        shutil.rmtree(root)
    tmp = root.with_name(root.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    (tmp / "articles").mkdir(parents=True)
    rng = np.random.default_rng(seed)
    vocab_size = int(min(400_000, max(20_000, passages * 0.4)))
    vocab = np.array(_vocabulary(vocab_size, rng), dtype=object)
    content_cdf = _zipf_cdf(vocab_size, 1.05, 3.0)
    func = np.array(FUNCTION_WORDS, dtype=object)
    func_cdf = _zipf_cdf(len(func), 1.0, 1.5)
    qrng = np.random.default_rng(seed + 1)
    q_targets = set(qrng.choice(passages, size=min(questions, passages), replace=False).tolist())
    qlines: list[str] = []
    made = 0
    article_no = 0
    while made < passages:
        n_par = min(int(rng.integers(4, 13)), passages - made)
        aid = f"bench_{article_no:07d}"
        title_words = vocab[np.searchsorted(content_cdf, rng.random(int(rng.integers(5, 10))))]
        title = " ".join(title_words.tolist()).capitalize()
        source = SOURCES[int(rng.integers(len(SOURCES)))]
        paragraphs = []
        for p in range(n_par):
            sentences = []
            words_of = []
            for _ in range(3):
                n = int(rng.integers(16, 25))
                is_func = rng.random(n) < 0.4
                draw = rng.random(n)
                content = vocab[np.searchsorted(content_cdf, draw)]
                funcs = func[np.minimum(np.searchsorted(func_cdf, draw), len(func) - 1)]
                words = np.where(is_func, funcs, content).tolist()
                words_of.append([w for w, f in zip(words, is_func, strict=True) if not f])
                sentences.append(" ".join(words).capitalize() + ".")
            paragraphs.append(" ".join(sentences))
            if made + p in q_targets:
                qlines.append(_question(len(qlines), aid, p, words_of, vocab, qrng))
        text = "\n".join([title, source, *paragraphs]) + "\n"
        (tmp / "articles" / f"{aid}.txt").write_text(text, encoding="utf-8")
        made += n_par
        article_no += 1
    (tmp / "questions.jsonl").write_text("\n".join(qlines) + "\n", encoding="utf-8")
    info = {"passages": passages, "articles": article_no, "seed": seed, "questions": len(qlines)}
    (tmp / "meta.json").write_text(json.dumps(info))
    tmp.rename(root)
    return Corpus(folder, qpath, passages, article_no)


def _question(
    n: int,
    article: str,
    paragraph: int,
    words_of: list[list[str]],
    vocab: np.ndarray,
    rng: np.random.Generator,
) -> str:
    sentence = words_of[int(rng.integers(len(words_of)))] or [str(vocab[0])]
    take = min(len(sentence), int(rng.integers(3, 7)))
    picks = sorted(rng.choice(len(sentence), size=take, replace=False).tolist())
    words = [sentence[i] for i in picks]
    if rng.random() < 0.3:  # paraphrase-ish noise: one word the passage does not use
        words[int(rng.integers(len(words)))] = str(vocab[int(rng.integers(len(vocab)))])
    form = QUESTION_FORMS[int(rng.integers(len(QUESTION_FORMS)))]
    record = {
        "id": f"bench-{n:05d}",
        "question": form.format(" ".join(words)),
        "expect": [],
        "article": article,
        "paragraph": paragraph,
    }
    return json.dumps(record)
