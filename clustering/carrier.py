"""Narrative carrier or neutral coverage: does an article push a claim, or report on it?

Similarity to a narrative sees topic, not stance: a neutral report or a fact check of an event
sits as close to the narrative told around that event as the articles telling it. The carrier
model is a logistic regression over an article's mean passage vector (the embedding model's
own space), trained on SemEval-2025 Task 10 English (`bench/train_carrier.py`): documents
annotated with at least one narrative against documents of the same topics annotated "Other".
Its score is a logit: > 0 leans "carries a narrative".

Used as a gate: an article scoring below CARRIER_GATE is kept out of discovered narratives (it
stays in its event), and its watched-narrative scores are lowered by CARRIER_PENALTY per logit
unit below the gate. The gate was chosen on SemEval with out-of-fold carrier scores, by BCubed F1
of narrative discovery (bench/eval_narratives.py: 0.375 ungated, 0.422 at -0.5, 0.401 at 0, 0.306
at 0.5). Since discovery completes memberships with the assignment rule (0.349 ungated, 0.412 at
-0.5, 0.424 at 0, 0.361 at 0.5) 0 scores higher, but not beyond the noise (paired bootstrap over
documents, 95% CI of the difference [-0.003, +0.040]), so the gate stays. Watched narratives on
SemEval would gain more from a higher gate (held-out micro-F1 0.324 ungated, 0.328 at -0.5, 0.334
at 0, 0.337 at 0.5), but a higher gate also penalises outlets that relay a claim uncritically in
plain news register, which are carriers: one gate serves both, the one discovery chose. The demo
web is a held-out check. A model is valid only for the embedding model it was trained on: for any
other embedding model there is none and no article is gated (a warning says so).

Languages (a multilingual embedding model): the same text scores lower in Russian or Portuguese
than in English (SemEval carriers: mean logit 0.79 out of fold in English, -0.23 in Russian), so
the model holds a logit offset per language, fitted on SemEval's other language folders (the
English carriers' mean out-of-fold logit minus that language's carriers' mean); an article's
score adds its language's offset.
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
