"""Narrative carrier or neutral coverage: does an article push a claim, or report on it?

Similarity to a narrative sees topic, not stance: a neutral report or a fact check of an event
sits as close to the narrative as the articles telling it. The model: a logistic regression
over an article's mean passage vector, trained on SemEval-2025 Task 10 English
(`bench/train_carrier.py`): documents with a narrative against same-topic "Other" ones. Its
score is a logit (> 0 leans "carries"), plus, for a multilingual model, a per-language offset
(the English carriers' mean out-of-fold logit minus that language's).

Used as a gate: an article below CARRIER_GATE is kept out of discovered narratives (it stays in
its event), and its watched-narrative scores are lowered by CARRIER_PENALTY per logit unit below
the gate. One gate, chosen by discovery on SemEval, serves both: a higher one would also penalise
plain-register relays, which are carriers. A model is valid only for its embedding model; for any
other nothing is gated (a warning says so). Figures: BENCHMARKS-notebook.md, *Module docstrings*.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

MODELS_DIR = Path(__file__).resolve().parent / "carrier_models"
CARRIER_GATE = -0.5
CARRIER_PENALTY = 2.0


@dataclass(frozen=True)
class CarrierModel:
    model_id: str
    coef: np.ndarray
    intercept: float
    info: dict
    language_offsets: dict[str, float] = field(default_factory=dict)  # logit added per article language

    def scores(self, passage_vectors: list[np.ndarray], languages=None) -> np.ndarray:
        """Logit per article from its passage vectors ((n, dim) each); NaN for an empty article.
        `languages`: each article's language (its offset is added), or None."""
        sizes = [len(v) for v in passage_vectors]
        if not any(sizes):
            return np.full(len(sizes), np.nan)
        owner = np.repeat(np.arange(len(sizes)), sizes)
        return self.doc_scores(np.vstack([v for v in passage_vectors if len(v)]), owner, len(sizes), languages)

    def doc_scores(self, passage_vectors: np.ndarray, owner, n_docs: int, languages=None) -> np.ndarray:
        """Logit per doc from a flat (passages, dim) matrix and each passage's doc index; NaN for a
        doc without passages. `languages`: each doc's language, or None."""
        x, has = doc_features(passage_vectors, owner, n_docs)
        out = np.full(n_docs, np.nan)
        out[has] = x[has] @ self.coef + self.intercept
        if languages is not None and self.language_offsets:
            out += np.array([self.language_offsets.get(lang or "", 0.0) for lang in languages])
        return out


def doc_features(passage_vectors: np.ndarray, owner, n_docs: int) -> tuple[np.ndarray, np.ndarray]:
    """(per doc: the mean of its passage vectors, L2-normalised; per doc: has it any passage)."""
    owner = np.asarray(owner, dtype=np.int64)
    v = np.asarray(passage_vectors, dtype=np.float64)
    sums = np.zeros((n_docs, v.shape[1]))
    np.add.at(sums, owner, v)
    has = np.bincount(owner, minlength=n_docs) > 0
    return sums / np.maximum(np.linalg.norm(sums, axis=1), 1e-12)[:, None], has


def features(passage_vectors: np.ndarray) -> np.ndarray:
    """The model's input for one article (what training and scoring both use)."""
    return doc_features(passage_vectors, np.zeros(len(passage_vectors), dtype=np.int64), 1)[0][0]


def model_file(model_id: str) -> Path:
    return MODELS_DIR / (model_id.replace("/", "__") + ".json")


def save_model(model: CarrierModel) -> Path:
    path = model_file(model.model_id)
    path.write_text(json.dumps({"model_id": model.model_id, "coef": [round(float(x), 7) for x in model.coef],
                                "intercept": round(float(model.intercept), 7), "info": model.info,
                                **({"language_offsets": model.language_offsets} if model.language_offsets else {})},
                               indent=1) + "\n")
    return path


@lru_cache(maxsize=8)
def load_carrier(model_id: str) -> CarrierModel | None:
    path = model_file(model_id)
    if not path.is_file():
        logger.warning("no narrative-carrier model for embedding model %s: neutral coverage is not told apart "
                       "(train one with bench/train_carrier.py)", model_id)
        return None
    d = json.loads(path.read_text("utf-8"))
    return CarrierModel(d["model_id"], np.asarray(d["coef"], dtype=np.float64), float(d["intercept"]), d.get("info", {}),
                        {k: float(v) for k, v in d.get("language_offsets", {}).items()})


def penalty(score: float | None, gate: float | None = None) -> float:
    """What a watched-narrative score loses for an article below the carrier gate (0 above it, and
    without a score). `gate`: another gate than CARRIER_GATE (benchmarks sweep it)."""
    if score is None or np.isnan(score):
        return 0.0
    return CARRIER_PENALTY * max(0.0, (CARRIER_GATE if gate is None else gate) - float(score))
