"""The static multilingual backend: USE multilingual v3 distilled into one vector per word piece.

A text's vector is the sum of the rows of its SentencePiece pieces (USE's own tokenizer),
L2-normalised: a tokenisation and a few additions, ~0.1 CPU-ms per passage against ~1.5-3 for
USE itself and ~14-42 for all-MiniLM-L6-v2 (BENCHMARKS-notebook.md, "A static first pass").
It keeps USE's shared space across its 16 languages: a Russian article lands next to its English
source. It reads word choice, not word order, so it scores lower than USE where that matters.

The table ships in the repository (models/use-static: tokenizer.model, table.npz int8 with one
scale per row, meta.json); `python -m bench.train_static --out clustering/embedding/models/use-static`
re-derives it from the pinned USE file and shared data with a fixed seed. The arithmetic is
float32 sums of the stored rows, with no chip-specific kernel (no int8 or bf16 matrix units):
the same figures on every CPU, so `precision` is recorded as "fp32" whatever
NARRATIVES_EMBED_PRECISION says. NARRATIVES_STATIC_MODEL_DIR points at another
table folder.
"""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import numpy as np

from clustering.embedding.base import EmbedderInfo, embed_distinct
from clustering.embedding.use_onnx import USE_LANGUAGES
from clustering.errors import ModelNotAvailableError
from clustering.vectors import normalize

logger = logging.getLogger(__name__)

NAME = "use-static"
MODEL_ID = "use-multilingual-v3-static"
ALIASES = {NAME, MODEL_ID}
DIR_ENV = "NARRATIVES_STATIC_MODEL_DIR"
MODEL_DIR = Path(__file__).resolve().parent / "models" / NAME
LICENSE = "Apache-2.0 (distilled here from Google's USE multilingual v3, Apache-2.0; tokenizer: USE's own)"
MAX_CHARS = 20000


def model_dir() -> Path:
    return Path(os.environ.get(DIR_ENV) or MODEL_DIR)


class StaticUseEmbedder:
    """embed(texts) -> (n, dim) float32, rows L2-normalised; an empty text gets a zero row."""

    languages = USE_LANGUAGES
    license = LICENSE

    def __init__(self, model: str | None = None, *, precision: str | None = None, threads: int | None = None):
        folder = model_dir()
        try:
            import sentencepiece
        except ImportError:
            raise ModelNotAvailableError(f"{NAME} needs sentencepiece: `pip install sentencepiece`") from None
        try:
            meta = json.loads((folder / "meta.json").read_text())
            with np.load(folder / "table.npz") as z:
                self.table = z["q"].astype(np.float32) * z["scale"][:, None]
            self.tokenizer = sentencepiece.SentencePieceProcessor(model_file=str(folder / "tokenizer.model"))
        except (OSError, ValueError, KeyError) as exc:
            raise ModelNotAvailableError(f"embedding model {NAME!r}: cannot read {folder} ({exc}); "
                                         f"re-create it with `python -m bench.train_static --out {folder}`") from None
        if self.tokenizer.get_piece_size() != len(self.table):
            raise ModelNotAvailableError(f"{folder}: the tokenizer and the table disagree "
                                         f"({self.tokenizer.get_piece_size()} pieces, {len(self.table)} rows)")
        self.model_id = meta.get("model_id", MODEL_ID)
        self.dim = int(self.table.shape[1])
        self.max_tokens = 512  # no window: every piece counts
        self.precision = "fp32"

    @property
    def info(self) -> EmbedderInfo:
        return EmbedderInfo(self.model_id, self.dim, self.max_tokens, self.precision)

    def set_threads(self, threads: int) -> None:
        pass  # one thread: numpy sums of a few rows

    def _encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, ids in enumerate(self.tokenizer.encode([t[:MAX_CHARS] for t in texts])):
            if ids:
                out[i] = self.table[ids].sum(axis=0)
        return normalize(out)

    def embed(self, texts: list[str]) -> np.ndarray:
        return embed_distinct(self._encode, texts, self.dim)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer.encode(text[:MAX_CHARS]))
