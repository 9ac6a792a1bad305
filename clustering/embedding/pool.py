"""Embedding on every core: worker processes with one thread each.

Works over any backend that can be pooled (base.py): the workers build the same backend class
from its `load_target`, one thread each. One process with two torch threads spent several times
the CPU per text on a busy 2-core box (the second thread mostly waits), so here the texts of a
call are cut into exactly the batches sentence-transformers would form in one process (same
length order, same batch size) and sent to N single-threaded processes: the vectors are bitwise
those of one process (tests/test_embed_workers.py), only sooner.

NARRATIVES_EMBED_WORKERS: the number of workers; "auto" (default) = the CPU count, at most
MAX_AUTO_WORKERS; 0 or 1 = embed in the calling process. A worker costs seconds of CPU to start
(torch, the model), so the pool starts only once a run reaches START_AFTER_TEXTS texts and then
lives as long as the embedder; calls under MIN_POOLED_BATCHES batches stay in the calling
process. Figures: BENCHMARKS-notebook.md, *Module docstrings*.
"""
from __future__ import annotations

import atexit
import logging
import os
import time

import numpy as np

from clustering.embedding.base import expand
from clustering.errors import EmbeddingSettingError

logger = logging.getLogger(__name__)

MAX_AUTO_WORKERS = 4
MIN_POOLED_BATCHES = 4
START_AFTER_TEXTS = 2000

_WORKER = None  # the embedder of a worker process


def configured_workers() -> int:
    raw = (os.environ.get("NARRATIVES_EMBED_WORKERS") or "auto").strip().lower()
    if raw == "auto":
        return max(1, min(os.cpu_count() or 1, MAX_AUTO_WORKERS))
    try:
        return max(0, int(raw))
    except ValueError:
        raise EmbeddingSettingError(f"NARRATIVES_EMBED_WORKERS={raw!r}: give a number of processes or 'auto'") from None


def _init_worker(backend: type, model: str, precision: str) -> None:
    global _WORKER
    _WORKER = backend(model, precision=precision, threads=1)


def _embed_batch(texts: list[str]) -> tuple[np.ndarray, float]:
    cpu = time.process_time()
    vecs = _WORKER.encode_batch(texts)
    return vecs, time.process_time() - cpu


class PooledEmbedder:
    """The embedder interface (model_id, dim, precision, info, embed, count_tokens) over a pool of
    worker processes; `worker_cpu_s` is the CPU time the workers spent embedding."""

    def __init__(self, embedder, workers: int, start_after_texts: int = START_AFTER_TEXTS):
        self.inner = embedder
        self.workers = workers
        self.worker_cpu_s = 0.0
        self.start_after_texts = start_after_texts
        self._in_process = 0  # distinct texts embedded here before the pool started
        self._pool = None

    def __getattr__(self, name):  # model_id, dim, precision, info, max_tokens, count_tokens, ...
        return getattr(self.inner, name)

    def set_threads(self, threads: int) -> None:
        """Workers keep one thread each; this sets the calling process's (small calls)."""
        self.inner.set_threads(threads)

    def _start(self):
        if self._pool is None:
            from multiprocessing import get_context

            # spawn, not fork: torch's thread pools do not survive a fork
            self._pool = get_context("spawn").Pool(
                self.workers, initializer=_init_worker, initargs=(type(self.inner), self.inner.load_target, self.inner.precision))
            atexit.register(self.close)
            logger.info("embedding with %d worker processes", self.workers)
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None

    def restart(self) -> None:
        """Back to how a new process starts: no pool, no texts embedded yet (bench.incremental
        times each run as a separate `narratives process` would run)."""
        self.close()
        self._in_process = 0

    def embed(self, texts) -> np.ndarray:
        texts = list(texts)
        unique = list(dict.fromkeys(texts))
        batches = self.inner.batches(unique)
        if (self.workers < 2 or len(batches) < MIN_POOLED_BATCHES
                or (self._pool is None and self._in_process + len(unique) < self.start_after_texts)):
            self._in_process += len(unique)
            return self.inner.embed(texts)
        vecs = np.empty((len(unique), self.inner.dim), dtype=np.float32)
        for idx, (v, cpu) in zip(batches, self._start().imap(_embed_batch, [[unique[i] for i in b] for b in batches])):
            vecs[idx] = v
            self.worker_cpu_s += cpu
        return expand(vecs, unique, texts)
