"""Time the answer-type checks of the rerank and decline rule, before and after locators.

    python -m bench.cues [ARTICLES_DIR ...] [--questions Q.jsonl] [--sample 3000]
        [--repeat 5] [--curly] [--compare-all]

Reads sentences (headlines and split paragraphs) from the folders (default ../shared's
BBC and SQuAD corpora), samples ``--sample`` of them (seeded), pairs each with the terms
of a question (round robin over the fixture file) and times, per call, ``novel_of_type``
for every kind, ``has_unit`` for every unit and ``gives_reason``: the reference copy
(tests/index/evidence_reference.py, plain ``finditer``/``search``) beside the current
:mod:`index.evidence`. Rows marked "digit" time only the sampled sentences holding a digit
(the harder case for number and date). Best of ``--repeat`` interleaved runs; results are
checked equal.

Speed is judged from runs of this script, never from timed unit tests.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType

from index import evidence
from index.articles import load_folder
from index.text import query_terms, split_sentences

REPO = Path(__file__).resolve().parents[1]
SHARED = (REPO / ".." / "shared").resolve()


def _reference() -> ModuleType:
    """The pre-locator implementations, loaded from the test folder."""
    path = REPO / "tests" / "index" / "evidence_reference.py"
    spec = importlib.util.spec_from_file_location("evidence_reference", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _sentences(folders: Sequence[Path]) -> list[str]:
    out: list[str] = []
    for folder in folders:
        articles, _ = load_folder(folder)
        for article in articles:
            out.append(article.title)
            out += [s for p in article.paragraphs for s in split_sentences(p)]
    return out


def _curly(sentence: str) -> str:
    """The sentence with typographic quotes, as many web articles have them."""
    parts = sentence.replace("'", "’").split('"')
    return "".join(p + ("“" if i % 2 == 0 else "”") for i, p in enumerate(parts[:-1])) + (parts[-1])


def _time(
    old: Callable[[str, frozenset[str]], bool],
    new: Callable[[str, frozenset[str]], bool],
    pairs: list[tuple[str, frozenset[str]]],
    repeat: int,
) -> tuple[float, float]:
    """Best µs per call of ``old`` and of ``new`` over ``repeat`` interleaved runs (the
    machine is shared: interleaving exposes both to the same load); results must agree."""
    best = [float("inf"), float("inf")]
    for _ in range(repeat):
        results = []
        for i, call in enumerate((old, new)):
            start = time.perf_counter()
            results.append([call(s, t) for s, t in pairs])
            best[i] = min(best[i], time.perf_counter() - start)
        if results[0] != results[1]:
            raise SystemExit("results differ from the reference")
    return best[0] / len(pairs) * 1e6, best[1] / len(pairs) * 1e6


def _compare_all(ref: ModuleType, sentences: list[str], terms: list[frozenset[str]]) -> int:
    """Count comparisons and differences of old and new over every sentence."""
    count = differences = 0
    start = time.perf_counter()
    for i, sentence in enumerate(sentences):
        term_sets = (frozenset(), terms[i % len(terms)], terms[(7 * i + 3) % len(terms)])
        checks = [
            (ref.novel_of_type(sentence, kind, t), evidence.novel_of_type(sentence, kind, t))
            for kind in ("number", "date", "name", "any")
            for t in term_sets
        ]
        checks += [
            (ref.has_unit(sentence, unit), evidence.has_unit(sentence, unit))
            for unit in evidence._UNIT_ANSWERS
        ]
        checks += [
            (ref.gives_reason(sentence, t), evidence.gives_reason(sentence, t))
            for t in term_sets[:2]
        ]
        for old, new in checks:
            count += 1
            if bool(old) != new:
                differences += 1
                print(f"DIFFERENT: {sentence!r}")
    seconds = time.perf_counter() - start
    print(f"{len(sentences)} sentences, {count} comparisons, {differences} differences "
          f"({seconds:.0f} s)")  # fmt: skip
    return 1 if differences else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folders", nargs="*", type=Path)
    parser.add_argument("--questions", type=Path, default=SHARED / "questions/bbc_dev.jsonl")
    parser.add_argument("--sample", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--curly",
        action="store_true",
        help="web-style text: turn ' into ’ and \" into “ ” (sentences past Latin-1)",
    )
    parser.add_argument(
        "--compare-all",
        action="store_true",
        help="instead of timing, compare old and new on every sentence (every kind with "
        "three question term sets, every unit, gives_reason with two) and count differences",
    )
    args = parser.parse_args(argv)
    folders = args.folders or [SHARED / "corpora/bbc", SHARED / "corpora/squad-dev-a"]
    sentences = _sentences(folders)
    if args.curly:
        sentences = [_curly(s) for s in sentences]
    rng = random.Random(7)
    sample = rng.sample(sentences, min(args.sample, len(sentences)))
    with args.questions.open(encoding="utf-8") as lines:
        questions = [json.loads(line)["question"] for line in lines if line.strip()]
    terms = [frozenset(query_terms(q)) for q in questions]
    pairs = [(s, terms[i % len(terms)]) for i, s in enumerate(sample)]
    digit = [(s, t) for s, t in pairs if re.search(r"\d", s)]
    ref = _reference()
    if args.compare_all:
        return _compare_all(ref, sentences, terms)
    print(
        f"{len(sentences)} sentences, {len(pairs)} sampled ({len(digit)} with a digit, "
        f"mean {sum(len(s) for s, _ in pairs) / len(pairs):.0f} chars), "
        f"{len(terms)} question term sets"
    )
    checks: list[tuple[str, Callable[[str, frozenset[str]], bool],
                       Callable[[str, frozenset[str]], bool]]] = []  # fmt: skip
    for kind in ("number", "date", "name", "any"):
        checks.append(
            (
                f"novel_of_type {kind}",
                lambda s, t, k=kind: bool(ref.novel_of_type(s, k, t)),
                lambda s, t, k=kind: evidence.novel_of_type(s, k, t),
            )
        )
    for unit in evidence._UNIT_ANSWERS:
        checks.append(
            (
                f"has_unit {unit}",
                lambda s, t, u=unit: bool(ref.has_unit(s, u)),
                lambda s, t, u=unit: evidence.has_unit(s, u),
            )
        )
    checks.append(
        (
            "gives_reason",
            lambda s, t: bool(ref.gives_reason(s, t)),
            lambda s, t: evidence.gives_reason(s, t),
        )
    )
    print(f"{'check':<24}{'rows':>7}{'before µs':>11}{'after µs':>10}{'speed-up':>10}")
    for name, old, new in checks:
        rows = [("all", pairs)]
        if name in ("novel_of_type number", "novel_of_type date"):
            rows.append(("digit", digit))
        for label, chosen in rows:
            before, after = _time(old, new, chosen, args.repeat)
            print(f"{name:<24}{label:>7}{before:>11.2f}{after:>10.2f}{before / after:>9.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
