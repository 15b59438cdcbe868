"""Sentences and tokens: how news text is cut up for searching and for answering.

The sentence splitter is rule-based because news prose is regular and a model would be slow
and opaque: a boundary is a ``.``, ``!`` or ``?`` (possibly followed by closing quotes or
brackets) then white space then something that can start a sentence, unless the word before
the full stop is an abbreviation, an initial or a dotted acronym in the middle of a sentence.

Tokens are Unicode case-folded, Snowball-stemmed words. Hyphenated names (KN-23, Fateh-110)
are kept whole *and* split into parts so either form matches; numbers are kept, with
thousands separators removed so "2,000" and "2000" agree.
"""

from __future__ import annotations

import re
from functools import lru_cache

import Stemmer

# Words that never end a sentence when followed by a full stop (titles, months, "No. 5").
_NEVER_FINAL = frozenset(
    """mr mrs ms dr prof sr jr st mt gen gov sen rep col lt sgt capt cmdr adm maj rev hon pres
    supt insp det cllr fr messrs mme mlle jan feb mar apr jun jul aug sep sept oct nov dec no nos
    vs v fig figs vol vols pp ch art sec approx est dept univ ave blvd rd op cf""".split()
)
# Abbreviations that end a sentence when a sentence starter follows ("Apple Inc. The firm").
_MAYBE_FINAL = frozenset("inc ltd co corp plc llc bros etc al".split())
# Words that start sentences, used to decide whether "U.S. The" is a boundary.
_STARTERS = frozenset(
    """the a an he she it they we i you but and in on at this that these those there his her
    its their our however meanwhile after before when while if so yet mr mrs ms dr some many
    most one two three according officials experts""".split()
)

_BOUNDARY = re.compile(
    r"""(?P<end>[.!?]+|\.\.\.|…)(?P<close>["'”’)\]]*)(?P<space>\s+)(?=(?P<next>["'“‘(\[]*[^\s]))"""
)


_NEXT_WORD = re.compile(r"[\"'“‘(\[]*([\w’']*)")
_BEFORE_WINDOW = 64  # characters looked at for the word before a full stop


def _is_boundary(text: str, match: re.Match[str]) -> bool:
    """Decide whether the punctuation in ``match`` (of ``_BOUNDARY``) really ends a sentence.

    Looks only at a few characters on either side, so a paragraph is split in linear time.
    """
    end, close = match.group("end", "close")
    return _boundary_at(text, end, close, match.start(), match.end())


def _boundary_at(text: str, end: str, close: str, end_start: int, next_start: int) -> bool:
    """:func:`_is_boundary` for end marks ``end`` at ``end_start``, closing marks ``close``
    and white space up to ``next_start``, where the next word (or its opening mark) is."""
    if next_start >= len(text):
        return False
    start_of_next = next_start
    first = text[next_start]
    if first in _OPENERS:
        start_of_next = _NEXT_WORD.match(text, next_start).start(1)  # type: ignore[union-attr]
        if start_of_next >= len(text):
            return False
        first = text[start_of_next]
    if first.islower():
        return False  # "... and so on. then" or "e.g. the": never a new sentence
    if end in ("!", "?") or (len(end) > 1 and "." not in end) or close:
        return first.isupper() or first.isdigit() or not first.isalnum()
    if end in ("...", "…") or len(end) > 1:
        return first.isupper() or first.isdigit()
    word = _word_before(text, end_start)
    bare = word.lower().strip(".'’")
    if bare in _NEVER_FINAL:
        return False
    if len(word) == 1 and word.isupper():
        return False  # an initial: "John F. Kennedy"
    if "." in word and _DOTTED.fullmatch(word):
        # a dotted acronym ("U.S", the last dot is the match): a boundary only before a
        # word that usually starts a sentence
        return _next_lower(text, start_of_next) in _STARTERS
    if bare in _MAYBE_FINAL:
        return _next_lower(text, start_of_next) in _STARTERS
    return first.isupper() or first.isdigit() or not first.isalnum()


def _next_lower(text: str, start: int) -> str:
    """The lower-cased word starting at ``start`` (letters, digits, apostrophes)."""
    return _WORD_AT.match(text, start).group().lower()  # type: ignore[union-attr]


_OPENERS = frozenset("\"'“‘([")  # what _NEXT_WORD skips before the next word
_WORD_AT = re.compile(r"[\w’']*")


_DOTTED = re.compile(r"(?:[A-Za-z]\.)+[A-Za-z]")


def _word_before(text: str, end: int) -> str:
    """The run of word characters, dots, apostrophes and hyphens that ends at ``end``
    (at most :data:`_BEFORE_WINDOW` characters): what ``_WORD_BEFORE`` finds, by a backward
    scan instead of a regex search that retries at every position of the window."""
    floor = max(0, end - _BEFORE_WINDOW)
    word = text[text.rfind(" ", floor, end) + 1 : end]  # the usual case: a whole word
    if _WORDISH.fullmatch(word):
        return word
    start = end
    while start > floor:
        char = text[start - 1]
        if char.isalnum() or char in _WORD_EXTRA:
            start -= 1
        else:
            break
    return text[start:end]


_WORD_EXTRA = frozenset("_.'’-")
_WORDISH = re.compile(r"[\w.'’-]*")
# Where a boundary can be: a run of end marks and closing quotes or brackets, then a space.
# It starts with a character class, so the regex engine skips ahead to candidates quickly;
# _BOUNDARY, tried from the start of each candidate, matches inside it (see _folded_spans).
_CANDIDATE = re.compile(r"""[.!?…][.!?…"'”’)\]]*\s""")


def _folded_spans(text: str) -> list[tuple[int, int]]:
    """Sentence spans of white-space folded ``text`` (no leading, trailing or double
    spaces).

    A ``_BOUNDARY`` match needs an end mark followed by closing marks and white space, so
    each one lies in a ``_CANDIDATE`` match, and each candidate holds exactly one (at its
    last end mark at the latest): searching from each candidate's start finds the matches of
    ``_BOUNDARY.finditer`` without running that pattern at every character (a search
    from a candidate finds the next match even if it lay beyond it, so the result is the
    same as finditer's in any case).
    """
    spans: list[tuple[int, int]] = []
    start = 0
    after = 0  # where the previous match ended: finditer would search on from here
    search = _BOUNDARY.search
    size = len(text)
    for candidate in _CANDIDATE.finditer(text):
        at = candidate.start()
        if at < after:
            continue
        past = candidate.end()
        if past - at == 2 and text[at + 1] == " " and past < size and not text[past].isspace():
            # the usual ". " between sentences: this is the _BOUNDARY match itself (an end
            # mark, no closing mark, one space, then a word)
            after = past
            if _boundary_at(text, text[at], "", at, past):
                spans.append((start, at + 1))
                start = past
            continue
        match = search(text, at)
        if match is None:
            break
        after = match.end()
        if _is_boundary(text, match):
            cut = match.end("close")
            if cut > start:
                spans.append((start, cut))
            start = match.end()
    if start < len(text):
        spans.append((start, len(text)))
    return spans


def split_sentences(paragraph: str) -> list[str]:
    """Cut a paragraph into sentences; text without a full stop is one sentence."""
    text = " ".join(paragraph.split())
    return [text[begin:end] for begin, end in _folded_spans(text)]


def sentence_spans(paragraph: str) -> list[tuple[int, int]]:
    """Character spans of the sentences inside ``paragraph`` (after white-space folding)."""
    return _folded_spans(" ".join(paragraph.split()))


# --- tokens -----------------------------------------------------------------------------------

STOP_WORDS = frozenset(
    """a about above after again against all am an and any are aren't as at be because been
    before being below between both but by can can't cannot could couldn't did didn't do does
    doesn't doing don't down during each few for from further had hadn't has hasn't have
    haven't having he he'd he'll he's her here here's hers herself him himself his how how's i
    i'd i'll i'm i've if in into is isn't it it's its itself let's me more most mustn't my
    myself no nor not of off on once only or other ought our ours ourselves out over own same
    shan't she she'd she'll she's should shouldn't so some such than that that's the their
    theirs them themselves then there there's these they they'd they'll they're they've this
    those through to too under until up very was wasn't we we'd we'll we're we've were weren't
    what what's when when's where where's which while who who's whom why why's with won't would
    wouldn't you you'd you'll you're you've your yours yourself yourselves also s t""".split()
)
# Extra words that carry no content in a question ("What did X say about Y?").
QUESTION_WORDS = frozenset(
    """whose whats tell know please much many long far often old kind type sort""".split()
)

_TOKEN = re.compile(r"\w+(?:[-‐‑–'’.,]\w+)*", re.UNICODE)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_NUM_UNIT = re.compile(r"(\d+(?:\.\d+)?)([a-z]+)")
_STEMMER = Stemmer.Stemmer("english")


@lru_cache(maxsize=500_000)
def _stem(word: str) -> str:
    return str(_STEMMER.stemWord(word))


def _expand(raw: str) -> list[str]:
    """Turn one raw word into its index terms (whole, parts, number forms, stems)."""
    word = raw.casefold().replace("’", "'")
    if word.endswith("'s"):
        word = word[:-2]
    word = word.strip("'.,")
    if not word:
        return []
    if _NUMBER.fullmatch(word):
        if "," in word and "." not in word:
            return [word.replace(",", "")]
        return (
            [word.replace(",", "")] if re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d+)?", word) else [word]
        )
    parts = [p for p in re.split(r"[-‐‑–'.,]", word) if p]
    if len(parts) > 1:
        terms = [word.replace("‐", "-").replace("‑", "-").replace("–", "-")]
        for part in parts:
            terms.extend(_expand(part))
        return terms
    unit = _NUM_UNIT.fullmatch(word)
    if unit:
        return [word, unit.group(1)]
    if word in STOP_WORDS:
        return []
    return [_stem(word)]


_TERMS_CACHE: dict[str, tuple[str, ...]] = {}
_TERMS_CACHE_LIMIT = 1_000_000  # raw word forms remembered (about 150 MB when full)
_CHUNK_CACHE: dict[str, tuple[str, ...]] = {}
_CHUNK_CACHE_LIMIT = 1_000_000  # white-space delimited chunks remembered


def _terms(raw: str) -> tuple[str, ...]:
    """The index terms of a raw word, computed once per distinct word form."""
    terms = _TERMS_CACHE.get(raw)
    if terms is None:
        terms = tuple(_expand(raw))
        if len(_TERMS_CACHE) < _TERMS_CACHE_LIMIT:
            _TERMS_CACHE[raw] = terms
    return terms


def chunk_terms(chunk: str) -> tuple[str, ...]:
    """The index terms of a run of text without white space ("(Reuters)", "KN-23's,").

    A token never holds white space, so the terms of a text are those of its white-space
    delimited chunks, in order: :func:`tokenize` looks each chunk up once instead of
    running the token pattern over the text and looking up every word it finds.
    """
    terms = _CHUNK_CACHE.get(chunk)
    if terms is None:
        terms = chunk_terms_uncached(chunk)
        if len(_CHUNK_CACHE) < _CHUNK_CACHE_LIMIT:
            _CHUNK_CACHE[chunk] = terms
    return terms


def chunk_terms_uncached(chunk: str) -> tuple[str, ...]:
    """:func:`chunk_terms` for a caller that keeps its own table of chunks."""
    found: list[str] = []
    for raw in _TOKEN.findall(chunk):
        found += _terms(raw)
    return tuple(found)


_ASCII_MARKS = "".join(chr(c) for c in range(0x21, 0x7F) if not chr(c).isalnum() and chr(c) != "_")


def chunk_terms_many(chunks: list[str]) -> list[tuple[str, ...]]:
    """:func:`chunk_terms_uncached` of each chunk, for a build's new chunks.

    Most chunks are one plain ASCII word between ASCII marks ("Said", "(Reuters)",
    "home."): the token pattern finds just that word, which has no parts, digits or
    apostrophes, so its terms are its stem (none for a stop word) and the pattern and
    :func:`_expand`'s checks are skipped.
    """
    found: list[tuple[str, ...]] = []
    stop = STOP_WORDS
    for chunk in chunks:
        if chunk.isascii():
            core = chunk.strip(_ASCII_MARKS)
            if core.isalpha():
                word = core.lower()
                found.append(() if word in stop else (_stem(word),))
                continue
        found.append(chunk_terms_uncached(chunk))
    return found


def tokenize(text: str) -> list[str]:
    """Index terms of a text: case-folded, stemmed, stop words dropped, numbers kept."""
    terms: list[str] = []
    cached = _CHUNK_CACHE.get
    for chunk in text.split():
        found = cached(chunk)
        terms += found if found is not None else chunk_terms(chunk)
    return terms


def question_words(question: str) -> list[tuple[str, list[str]]]:
    """Each content word of a question with its index terms (filler words dropped)."""
    words: list[tuple[str, list[str]]] = []
    for raw in _TOKEN.findall(question):
        if raw.casefold() in QUESTION_WORDS:
            continue
        terms = _terms(raw)
        if terms:
            words.append((raw.casefold(), list(terms)))
    return words


def query_terms(question: str) -> list[str]:
    """Index terms of a question: like :func:`tokenize`, minus question filler words."""
    return [term for _, terms in question_words(question) for term in terms]


def raw_words(text: str) -> list[str]:
    """The case-folded surface words of ``text``, for spelling correction."""
    return [w.casefold() for w in _TOKEN.findall(text)]


def stem_word(word: str) -> str:
    """The index term of a single plain word (no splitting)."""
    return _stem(word.casefold())
