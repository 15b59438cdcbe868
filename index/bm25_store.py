"""On-disk form of the BM25 index: immutable checksummed array files plus one manifest.

Layout of an index directory::

    MANIFEST.json              format name, version, next id, segments, tombstones, checksum
    seg-<hex>.<array>.bin      raw little-endian arrays of one segment (memory-mapped on load)
    seg-<hex>.terms.json       the terms that segment introduced (its slice of the vocabulary)
    tomb-<hex>.bin             ids of removed documents (int64)

Files are written once under fresh names and never modified. A save writes only the segments
and tombstones the directory does not hold yet, fsyncs them, then replaces the manifest
atomically (write aside, fsync, rename, fsync the directory); files the new manifest no longer
names are deleted afterwards. A save that dies half way leaves the previous manifest, and so
the previous index, intact.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from index.bm25_segment import Segment, new_uid
from index.durable import file_crc32, fsync_dir, write_file
from index.errors import IndexCorrupt, IndexMissing, IndexVersionMismatch
from index.spill_file import SpillFile

FORMAT = "newsdesk-bm25"
VERSION = 1
MANIFEST = "MANIFEST.json"
_ARRAYS = ("doc_len", "term_offsets", "post_docs", "post_tf", "fwd_offsets", "fwd_terms")


@dataclass
class StoredIndex:
    """What a manifest describes: segments in id order, the id counter, removed ids."""

    segments: list[Segment]
    next_id: int
    dead_ids: npt.NDArray[np.int64]


def _write_file(path: Path, data: bytes | memoryview) -> dict[str, Any]:
    return {"name": path.name, "size": len(data), "crc32": write_file(path, data)}


def _write_array(path: Path, array: npt.NDArray[Any]) -> dict[str, Any]:
    arr = np.ascontiguousarray(array)
    arr = arr.astype(arr.dtype.newbyteorder("<"), copy=False)
    entry = _write_file(path, arr.data.cast("B") if arr.size else b"")
    entry.update(dtype=arr.dtype.str, shape=list(arr.shape))
    return entry


def _copy_array(path: Path, array: npt.NDArray[Any], source: SpillFile) -> dict[str, Any]:
    """:func:`_write_array` for an array mapped from a build's file: copies the file."""
    arr = np.asarray(array)
    if sys.byteorder != "little" or source.size != arr.nbytes:
        return _write_array(path, array)
    crc = source.copy_to(path)
    dtype = arr.dtype.newbyteorder("<")
    return {
        "name": path.name,
        "size": source.size,
        "crc32": crc,
        "dtype": dtype.str,
        "shape": list(arr.shape),
    }


def _write_segment(directory: Path, seg: Segment) -> dict[str, Any]:
    files = {}
    for name in _ARRAYS:
        path = directory / f"{seg.uid}.{name}.bin"
        source = seg.backing.get(name)
        array = getattr(seg, name)
        files[name] = _copy_array(path, array, source) if source else _write_array(path, array)
    terms = json.dumps(seg.new_terms, ensure_ascii=False).encode("utf-8")
    files["terms"] = _write_file(directory / f"{seg.uid}.terms.json", terms)
    return {
        "uid": seg.uid,
        "first_id": seg.first_id,
        "n_docs": seg.n_docs,
        "vocab_lo": seg.vocab_lo,
        "files": files,
    }


def _checksum(body: dict[str, Any]) -> int:
    return zlib.crc32(json.dumps(body, sort_keys=True).encode("utf-8"))


def write_index(
    directory: Path,
    segments: list[Segment],
    next_id: int,
    dead_ids: npt.NDArray[np.int64],
    tomb_cache: dict[str, tuple[bytes, dict[str, Any]]],
) -> None:
    """Persist the index in ``directory``, writing only what it does not hold yet.

    ``tomb_cache`` maps a resolved directory to the (bytes, entry) of the tombstone file
    last written there, so that unchanged tombstones are not written again.
    """
    directory.mkdir(parents=True, exist_ok=True)
    key = str(directory.resolve())
    seg_entries = []
    for seg in segments:
        entry = seg.stored_in.get(key)
        if entry is None or not _files_present(directory, entry["files"]):
            entry = _write_segment(directory, seg)
            seg.stored_in[key] = entry
        seg_entries.append(entry)
    dead = np.ascontiguousarray(dead_ids, dtype="<i8")
    dead_bytes = dead.tobytes()
    cached = tomb_cache.get(key)
    if (
        cached is not None
        and cached[0] == dead_bytes
        and _files_present(directory, {"t": cached[1]})
    ):
        tomb_entry = cached[1]
    else:
        tomb_entry = _write_array(directory / f"{new_uid('tomb')}.bin", dead)
        tomb_cache[key] = (dead_bytes, tomb_entry)
    body: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "next_id": next_id,
        "segments": seg_entries,
        "tombstones": tomb_entry,
    }
    manifest = dict(body, checksum=_checksum(body))
    fsync_dir(directory)  # the new files' directory entries are durable before the switch
    tmp = directory / f"{MANIFEST}.{new_uid('tmp')}"
    _write_file(tmp, json.dumps(manifest, indent=1).encode("utf-8"))
    os.replace(tmp, directory / MANIFEST)
    fsync_dir(directory)
    _collect_garbage(directory, manifest)


def _files_present(directory: Path, files: dict[str, Any]) -> bool:
    for entry in files.values():
        try:
            if (directory / entry["name"]).stat().st_size != entry["size"]:
                return False
        except OSError:
            return False
    return True


def _collect_garbage(directory: Path, manifest: dict[str, Any]) -> None:
    """Delete our files that the current manifest does not name (old or half-written)."""
    keep = {MANIFEST, manifest["tombstones"]["name"]}
    for seg in manifest["segments"]:
        keep.update(f["name"] for f in seg["files"].values())
    for path in directory.iterdir():
        name = path.name
        ours = name.startswith(("seg-", "tomb-", f"{MANIFEST}."))
        if ours and name not in keep:
            with contextlib.suppress(OSError):
                path.unlink()


def _check_size(path: Path, entry: dict[str, Any]) -> None:
    if not path.is_file():
        raise IndexMissing(f"index file missing: {path}")
    size = path.stat().st_size
    if size != entry["size"]:
        raise IndexCorrupt(f"index file {path} has {size} bytes, expected {entry['size']}")


def _verify(path: Path, entry: dict[str, Any], mapped: npt.NDArray[Any] | None) -> None:
    """Check a file's checksum, through its memory map when it has one: that reads it once
    and leaves its pages mapped, so the first questions do not fault them in one by one."""
    if mapped is not None and mapped.size:
        crc = zlib.crc32(np.ascontiguousarray(mapped).data.cast("B"))
    else:
        crc = file_crc32(path)
    if crc != entry["crc32"]:
        raise IndexCorrupt(f"index file {path} fails its checksum (damaged or changed)")


def _verify_all(
    directory: Path, entries: list[dict[str, Any]], mapped: dict[str, npt.NDArray[Any]]
) -> None:
    """Check the checksums of many files on a few threads (zlib releases the GIL)."""
    workers = max(1, min(4, os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [
            pool.submit(_verify, directory / e["name"], e, mapped.get(e["name"])) for e in entries
        ]
        for future in futures:
            future.result()  # re-raises the first IndexCorrupt


def _map_array(directory: Path, entry: dict[str, Any]) -> npt.NDArray[Any]:
    """Memory-map one verified array file."""
    path = directory / entry["name"]
    dtype = np.dtype(entry["dtype"])
    shape = tuple(int(x) for x in entry["shape"])
    if int(np.prod(shape)) * dtype.itemsize != entry["size"]:
        raise IndexCorrupt(f"index file {path}: shape {shape} does not match its size")
    if entry["size"] == 0:
        return np.zeros(shape, dtype=dtype)
    # A plain ndarray view of the map: numpy's memmap subclass costs ~20 us per slice.
    # Copy-on-write ("c") rather than read-only: nothing writes to it, but the arrays then
    # have the same type as in-memory ones, so the compiled kernels need one signature.
    return np.asarray(np.memmap(path, dtype=dtype, mode="c", shape=shape))


def _read_manifest(directory: Path) -> dict[str, Any]:
    if not directory.is_dir():
        raise IndexMissing(f"no index directory at {directory}")
    path = directory / MANIFEST
    if not path.is_file():
        raise IndexMissing(f"no index manifest at {path}")
    try:
        manifest = json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IndexCorrupt(f"index manifest {path} is not valid JSON: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise IndexCorrupt(f"{path} is not a {FORMAT} manifest")
    if manifest.get("version") != VERSION:
        raise IndexVersionMismatch(
            f"index at {directory} has format version {manifest.get('version')!r}; "
            f"this Newsdesk reads version {VERSION} (rebuild the index)"
        )
    body = {k: v for k, v in manifest.items() if k != "checksum"}
    if manifest.get("checksum") != _checksum(body):
        raise IndexCorrupt(f"index manifest {path} fails its checksum (damaged or changed)")
    return manifest


def read_index(directory: Path) -> StoredIndex:
    """Open the index in ``directory``: verify every checksum and memory-map the arrays."""
    manifest = _read_manifest(directory)
    key = str(directory.resolve())
    try:
        entries = [e["files"][name] for e in manifest["segments"] for name in (*_ARRAYS, "terms")]
        entries.append(manifest["tombstones"])
        for file_entry in entries:
            _check_size(directory / file_entry["name"], file_entry)
        mapped = {
            file_entry["name"]: _map_array(directory, file_entry)
            for e in manifest["segments"]
            for file_entry in (e["files"][name] for name in _ARRAYS)
        }
        _verify_all(directory, entries, mapped)
        segments = []
        for entry in manifest["segments"]:
            files = entry["files"]
            arrays = {name: mapped[files[name]["name"]] for name in _ARRAYS}
            terms = json.loads((directory / files["terms"]["name"]).read_bytes())
            seg = Segment(
                first_id=int(entry["first_id"]),
                doc_len=arrays["doc_len"],
                term_offsets=arrays["term_offsets"],
                post_docs=arrays["post_docs"],
                post_tf=arrays["post_tf"],
                fwd_offsets=arrays["fwd_offsets"],
                fwd_terms=arrays["fwd_terms"],
                vocab_lo=int(entry["vocab_lo"]),
                new_terms=[str(t) for t in terms],
                uid=str(entry["uid"]),
            )
            _check_segment(seg, directory)
            seg.stored_in[key] = entry
            segments.append(seg)
        dead = _map_array(directory, manifest["tombstones"])
        next_id = int(manifest["next_id"])
    except (KeyError, TypeError, ValueError) as exc:
        raise IndexCorrupt(f"index manifest in {directory} is malformed: {exc!r}") from exc
    _check_layout(segments, next_id, directory)
    return StoredIndex(segments, next_id, np.asarray(dead, dtype=np.int64))


def _check_segment(seg: Segment, directory: Path) -> None:
    """Cheap structural checks, so a bad file fails here and not in the middle of a query."""
    problems = []
    if seg.term_offsets.shape[0] < 1 or int(seg.term_offsets[-1]) != seg.post_docs.shape[0]:
        problems.append("term offsets do not match the postings")
    if seg.post_tf.shape != seg.post_docs.shape:
        problems.append("postings arrays differ in length")
    if seg.fwd_offsets.shape[0] != seg.n_docs + 1 or int(seg.fwd_offsets[-1]) != int(
        seg.fwd_terms.shape[0]
    ):
        problems.append("forward offsets do not match the forward terms")
    if problems:
        raise IndexCorrupt(f"segment {seg.uid} in {directory}: " + "; ".join(problems))


def _check_layout(segments: list[Segment], next_id: int, directory: Path) -> None:
    expect_id, expect_term = 0, 0
    for seg in segments:
        if seg.first_id != expect_id or seg.vocab_lo != expect_term:
            raise IndexCorrupt(f"segments in {directory} do not line up (segment {seg.uid})")
        expect_id, expect_term = seg.end_id, seg.vocab_hi
        if seg.n_terms > expect_term:
            raise IndexCorrupt(f"segment {seg.uid} in {directory} uses unknown terms")
    if expect_id != next_id:
        raise IndexCorrupt(
            f"segments in {directory} cover {expect_id} ids, manifest says {next_id}"
        )
