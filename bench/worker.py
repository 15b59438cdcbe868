"""One benchmark task per process, so each gets a clean heap, a cold start and its own peak RSS.

``python -m bench.worker TASK ARGS_JSON`` prints one JSON object (the measurements) as its
last stdout line. ``bench.run`` starts these and gathers the results.
"""

from __future__ import annotations

import contextlib
import json
import resource
import shutil
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from index.bm25 import BM25Index, BM25Params

try:  # the project's tokenizer; a plain one keeps the bench usable without it
    from index.text import query_terms as _query_terms
    from index.text import tokenize as _tokenize

    TOKENIZER = "index.text.tokenize"
except ImportError:  # pragma: no cover - only before index.text existed
    import re

    _WORD = re.compile(r"\w+")

    def _tokenize(text: str) -> list[str]:
        return [w.lower() for w in _WORD.findall(text)]

    _query_terms = _tokenize
    TOKENIZER = "bench lowercase regex"

K = 10


def peak_rss_mb() -> float:
    """Peak resident set of this process, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_split_mb() -> dict[str, float]:
    """This process's resident set now, split into private memory and mapped files (the
    memory-mapped index: clean page cache, shared and reclaimable), in MB."""
    split = {"rss_anon_mb": 0.0, "rss_file_mb": 0.0}
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("RssAnon", "RssFile"):
                split[f"rss_{key[3:].lower()}_mb"] = int(value.split()[0]) / 1024
    return split


def peak_rss_children_mb() -> float:
    """Peak resident set of the largest finished child process (build workers), in MB.

    A forked worker's figure includes the pages it shares with its parent (the articles)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def cpu_s(who: int = resource.RUSAGE_SELF) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def rss_mb() -> float:
    """Current resident set of this process, in MB."""
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def dir_size_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def percentiles(samples_s: list[float]) -> dict[str, float]:
    ms = np.asarray(samples_s) * 1e3
    return {
        "n": len(samples_s),
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "mean_ms": float(ms.mean()),
    }


def read_questions(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


# ----------------------------------------------------------------------------- token cache
def task_tokenize(args: dict[str, Any]) -> dict[str, Any]:
    """Tokenize every passage once and cache it as (vocabulary, term-id stream, lengths)."""
    from index.articles import load_folder

    out = Path(args["out"])
    done = out / "result.json"
    if done.is_file():  # tokens are cached with the corpus; the timing is from that run
        cached: dict[str, Any] = json.loads(done.read_text())
        return {**cached, "cached": True}
    t0 = time.perf_counter()
    articles, refused = load_folder(Path(args["folder"]))
    t_parse = time.perf_counter() - t0
    vocab: dict[str, int] = {}
    ids: list[int] = []
    lens: list[int] = []
    owner: list[str] = []
    t0 = time.perf_counter()
    for article in articles:
        for paragraph in article.paragraphs:
            toks = _tokenize(paragraph)
            ids.extend(vocab.setdefault(t, len(vocab)) for t in toks)
            lens.append(len(toks))
            owner.append(article.id)
    t_tok = time.perf_counter() - t0
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "flat.npy", np.asarray(ids, dtype=np.int32))
    np.save(out / "lens.npy", np.asarray(lens, dtype=np.int64))
    (out / "vocab.json").write_text(json.dumps(list(vocab)))
    (out / "owner.json").write_text(json.dumps(owner))
    questions = read_questions(Path(args["questions"]))
    (out / "queries.json").write_text(json.dumps([_query_terms(q["question"]) for q in questions]))
    result = {
        "articles": len(articles),
        "refused": len(refused),
        "passages": len(lens),
        "tokens": len(ids),
        "vocabulary": len(vocab),
        "parse_s": t_parse,
        "tokenize_s": t_tok,
        "tokenizer": TOKENIZER,
    }
    done.write_text(json.dumps(result))
    return result


def load_tokens(cache: Path) -> tuple[list[list[str]], list[list[str]]]:
    """Passages as token lists, and the questions' query terms."""
    vocab = np.array(json.loads((cache / "vocab.json").read_text()), dtype=object)
    flat = np.load(cache / "flat.npy")
    lens = np.load(cache / "lens.npy")
    words = vocab[flat].tolist()
    docs, pos = [], 0
    for n in lens.tolist():
        docs.append(words[pos : pos + n])
        pos += n
    queries = json.loads((cache / "queries.json").read_text())
    return docs, queries


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t0 = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - t0


def latencies(fn: Callable[[Any], Any], items: Iterable[Any]) -> list[float]:
    out = []
    for item in items:
        t0 = time.perf_counter()
        fn(item)
        out.append(time.perf_counter() - t0)
    return out


def fresh_dir(path: str) -> Path:
    """``path`` with whatever an earlier run left there removed, ready for a save."""
    target = Path(path)
    if target.exists():
        shutil.rmtree(target)
    return target


# ----------------------------------------------------------------------------- Newsdesk bm25
def task_bm25_build(args: dict[str, Any]) -> dict[str, Any]:
    docs, _ = load_tokens(Path(args["cache"]))
    rss_input = rss_mb()  # the token lists handed to build (the caller's memory)
    params = BM25Params(variant=args["variant"])
    index, t_build = timed(lambda: BM25Index.build(docs, params))
    target = fresh_dir(args["index"])
    _, t_save = timed(lambda: index.save(target))
    return {
        "build_s": t_build,
        "save_s": t_save,
        "size_mb": dir_size_mb(target),
        "input_rss_mb": rss_input,
        "peak_rss_mb": peak_rss_mb(),
    }


def task_bm25_query(args: dict[str, Any]) -> dict[str, Any]:
    params = BM25Params(variant=args["variant"])
    target = Path(args["index"])
    index, t_load = timed(lambda: BM25Index.load(target, params))
    rss_after_load = peak_rss_mb()
    queries = json.loads((Path(args["cache"]) / "queries.json").read_text())
    _, t_first = timed(lambda: index.top_k(queries[0], K))  # includes loading compiled code
    for q in queries[:20]:  # warm-up (page cache of the hot posting lists)
        index.top_k(q, K)
    lat = latencies(lambda q: index.top_k(q, K), queries)
    new_doc = queries[0] + ["benchfreshword"] * 3
    t0 = time.perf_counter()
    ids = index.add([new_doc])
    top, _ = index.top_k(["benchfreshword", *queries[0]], K)
    t_add = time.perf_counter() - t0
    t0 = time.perf_counter()
    index.save(target)
    t_save_delta = time.perf_counter() - t0
    return {
        "load_s": t_load,
        "first_query_s": t_first,
        "peak_rss_after_load_mb": rss_after_load,
        "top_k": percentiles(lat),
        "add_one_and_answer_s": t_add,
        "added_found": bool(top.size and top[0] == ids[0]),
        "save_after_add_s": t_save_delta,
        "peak_rss_mb": peak_rss_mb(),
    }


# ----------------------------------------------------------------------------- engine
def task_engine_build(args: dict[str, Any]) -> dict[str, Any]:
    from index.articles import load_folder
    from index.engine import Engine, EngineParams

    (articles, _), t_parse = timed(lambda: load_folder(Path(args["folder"])))
    params = EngineParams(bm25=BM25Params(variant=args["variant"]))
    rss_input = rss_mb()  # the parsed articles handed to build (the caller's memory)
    cpu0, cpu0_children = cpu_s(), cpu_s(resource.RUSAGE_CHILDREN)
    engine, t_build = timed(lambda: Engine.build(articles, params))
    cpu_build = cpu_s() - cpu0
    cpu_workers = cpu_s(resource.RUSAGE_CHILDREN) - cpu0_children
    peak_build = peak_rss_mb()
    target = fresh_dir(args["index"])
    _, t_save = timed(lambda: engine.save(target))
    return {
        "parse_s": t_parse,
        "build_s": t_build,
        "build_cpu_s": cpu_build,
        "build_workers_cpu_s": cpu_workers,
        "save_s": t_save,
        "size_mb": dir_size_mb(target),
        "input_rss_mb": rss_input,
        "peak_rss_build_mb": peak_build,
        "peak_rss_workers_mb": peak_rss_children_mb(),
        "peak_rss_mb": peak_rss_mb(),
    }


def task_engine_query(args: dict[str, Any]) -> dict[str, Any]:
    from index.engine import Engine, EngineParams
    from index.records import Article

    params = EngineParams(bm25=BM25Params(variant=args["variant"]))
    target = Path(args["index"])
    engine, t_load = timed(lambda: Engine.load(target, params))
    rss_after_load = peak_rss_mb()
    questions = read_questions(Path(args["questions"]))
    _, t_first = timed(lambda: engine.ask(questions[0]["question"]))
    for q in questions[:20]:
        engine.ask(q["question"])
    right_article = 0
    answered = 0
    lat = []
    for q in questions:
        t0 = time.perf_counter()
        response = engine.ask(q["question"])
        lat.append(time.perf_counter() - t0)
        if response.answer is not None:
            answered += 1
            right_article += response.answer.article_id == q["article"]
    fresh = Article(
        id="bench_fresh_article",
        title="Quorvandel harbour bridge reopens",
        source="Harbor Gazette",
        paragraphs=(
            "The Quorvandel harbour bridge reopened on Tuesday after eleven months of repairs. "
            "Engineers replaced the zantrivel cables that had corroded in the storm.",
        ),
    )
    t0 = time.perf_counter()
    engine.add([fresh])
    response = engine.ask("When did the Quorvandel bridge reopen?")
    t_add = time.perf_counter() - t0
    return {
        "load_s": t_load,
        "first_ask_s": t_first,
        "peak_rss_after_load_mb": rss_after_load,
        "ask": percentiles(lat),
        "answered": answered,
        "answered_from_right_article": right_article,
        "add_one_and_answer_s": t_add,
        "added_found": bool(response.answer and response.answer.article_id == fresh.id),
        "peak_rss_mb": peak_rss_mb(),
        **rss_split_mb(),
    }


# ----------------------------------------------------------------------------- rank_bm25
def _okapi_from(plus: Any, params: BM25Params) -> Any:
    """A BM25Okapi sharing the Plus object's term counts (saves a second 1M-doc build)."""
    import rank_bm25

    okapi = object.__new__(rank_bm25.BM25Okapi)
    okapi.k1, okapi.b, okapi.epsilon = params.k1, params.b, params.epsilon
    okapi.corpus_size, okapi.avgdl = plus.corpus_size, plus.avgdl
    okapi.doc_freqs, okapi.doc_len, okapi.tokenizer = plus.doc_freqs, plus.doc_len, None
    okapi.idf = {}
    nd: dict[str, int] = {}
    for freqs in plus.doc_freqs:
        for word in freqs:
            nd[word] = nd.get(word, 0) + 1
    okapi._calc_idf(nd)
    return okapi


def task_rank_bm25(args: dict[str, Any]) -> dict[str, Any]:
    import rank_bm25

    docs, queries = load_tokens(Path(args["cache"]))
    sample = queries[: args["sample"]]
    plus_params = BM25Params(variant="plus")
    ref, t_build = timed(
        lambda: rank_bm25.BM25Plus(
            docs, k1=plus_params.k1, b=plus_params.b, delta=plus_params.delta
        )
    )
    rss_build = peak_rss_mb()
    okapi_params = BM25Params(variant="okapi")
    okapi = _okapi_from(ref, okapi_params)
    result: dict[str, Any] = {"build_s": t_build, "peak_rss_build_mb": rss_build}
    for name, model, params in (("plus", ref, plus_params), ("okapi", okapi, okapi_params)):
        ours = BM25Index.build(docs, params)
        worst = 0.0
        same_top = 0
        lat = []
        for q in sample:
            t0 = time.perf_counter()
            scores = model.get_scores(q)
            top = np.argpartition(-scores, K - 1)[:K]
            top = top[np.lexsort((top, -scores[top]))]  # the top-k a caller would take
            lat.append(time.perf_counter() - t0)
            mine = ours.get_scores(q)
            denom = np.maximum(np.abs(scores), 1e-300)
            worst = max(worst, float(np.max(np.abs(mine - scores) / denom)))
            _, top_scores = ours.top_k(q, K)
            best = np.sort(scores)[::-1][: top_scores.size]  # rank_bm25's best K values
            same_top += bool(np.allclose(top_scores, best, rtol=1e-9, atol=0))
        result[name] = {
            "get_scores_top_k": percentiles(lat),
            "parity_max_rel_diff": worst,
            "parity_questions": len(sample),
            "same_top10": same_top,
        }
        del ours
    result["peak_rss_mb"] = peak_rss_mb()
    return result


# ----------------------------------------------------------------------------- bm25s
def task_bm25s(args: dict[str, Any]) -> dict[str, Any]:
    import bm25s

    docs, queries = load_tokens(Path(args["cache"]))
    p = BM25Params(variant="plus")
    retriever = bm25s.BM25(method="bm25+", k1=p.k1, b=p.b, delta=p.delta)
    t0 = time.perf_counter()
    retriever.index(docs, show_progress=False)
    t_build = time.perf_counter() - t0
    rss_build = peak_rss_mb()
    target = fresh_dir(args["index"])
    retriever.save(str(target))
    loaded, t_load = timed(lambda: bm25s.BM25.load(str(target), mmap=True))
    k = min(K, len(docs))
    ok = [q for q in queries if q]
    lat = latencies(lambda q: loaded.retrieve([q], k=k, show_progress=False), ok)
    return {
        "build_s": t_build,
        "peak_rss_build_mb": rss_build,
        "size_mb": dir_size_mb(target),
        "load_s": t_load,
        "retrieve": percentiles(lat),
        "backend": getattr(loaded, "backend", "numpy"),
        "peak_rss_mb": peak_rss_mb(),
    }


TASKS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "tokenize": task_tokenize,
    "bm25_build": task_bm25_build,
    "bm25_query": task_bm25_query,
    "engine_build": task_engine_build,
    "engine_query": task_engine_query,
    "rank_bm25": task_rank_bm25,
    "bm25s": task_bm25s,
}


def main(argv: list[str]) -> int:
    task, raw = argv[0], argv[1]
    result = TASKS[task](json.loads(raw))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
