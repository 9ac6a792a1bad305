"""The embedding interface: what every backend gives and the settings every backend reads.

An embedder turns texts into L2-normalised float32 vectors, one row per text:

    embedder.embed(texts) -> np.ndarray of shape (len(texts), embedder.dim)

and says which model made them (`model_id`, recorded with every stored vector) and in which
number format (`precision`: "fp32" or "bf16", recorded too). The stages (clustering/embed.py,
watch_stage.py, search.py, ...) use nothing else, so a backend is one module in this package
(sentence_transformers.py today) and `load_embedder` (clustering/embedding/__init__.py) is the
one place that picks it. A backend that can be pooled over worker processes (pool.py) also gives
`batches`, `encode_batch` and `load_target`, and takes `threads=` in its constructor.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from clustering.errors import EmbeddingSettingError

DEFAULT_MODEL = "use-multilingual-v3+all-MiniLM-L6-v2"  # two spaces: clustering/embedding/spaces.py
ENGLISH_ONLY_MODEL = "all-MiniLM-L6-v2"  # the default before the two spaces (and their English space)
PRECISIONS = ("auto", "fp32", "bf16")
PRECISION_ENV = "NARRATIVES_EMBED_PRECISION"


def default_model() -> str:
    return os.environ.get("NARRATIVES_EMBED_MODEL", DEFAULT_MODEL)


def configured_precision() -> str:
    """NARRATIVES_EMBED_PRECISION, checked: auto (default), fp32 or bf16."""
    raw = (os.environ.get(PRECISION_ENV) or "auto").strip().lower()
    if raw not in PRECISIONS:
        raise EmbeddingSettingError(f"{PRECISION_ENV}={raw!r}: give one of {', '.join(PRECISIONS)}")
    return raw


@dataclass
class EmbedderInfo:
    model_id: str
    dim: int
    max_tokens: int
    precision: str  # "bf16" or "fp32"


class Embedder(Protocol):
    """What the stages call. `embed` returns float32 rows, L2-normalised (a dot product is the cosine)."""

    model_id: str
    dim: int
    max_tokens: int
    precision: str

    @property
    def info(self) -> EmbedderInfo: ...

    def embed(self, texts: list[str]) -> np.ndarray: ...

    def count_tokens(self, text: str) -> int: ...

    def set_threads(self, threads: int) -> None: ...


def expand(vecs: np.ndarray, unique: list[str], texts: list[str]) -> np.ndarray:
    """The vectors of `texts` from those of their distinct texts `unique` (in first-seen order)."""
    if len(unique) == len(texts):
        return vecs
    index = {t: i for i, t in enumerate(unique)}
    return vecs[[index[t] for t in texts]]


def embed_distinct(encode, texts, dim: int) -> np.ndarray:
    """`encode` (a list of texts -> their rows) called once per distinct text, rows in `texts` order."""
    if not texts:
        return np.zeros((0, dim), dtype=np.float32)
    texts = list(texts)
    unique = list(dict.fromkeys(texts))
    return expand(encode(unique), unique, texts)
