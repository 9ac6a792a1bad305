"""The stance interface: what every judge gives, and the settings every judge reads.

A judge reads a claim and an article together and says whether the article *carries* the claim
(asserts it, or relays it without distance: attribution alone is not distance), *reports* it
(attributes it and keeps a distance: a denial, a counter-source, "without evidence"), *debunks*
it (refutes or fact-checks it) or is *unrelated* to it (never states or refers to it):

    judge.judge_batch([(claim, text, title), ...]) -> [Judgement, ...]

Each judgement has the four probabilities and the article's passages that decided, best first.
`model_id` is recorded with every stored judgement; `license` and `languages` say what it may be
used for and on (an article in another language is not judged: "stance not judged").
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Protocol

STANCES = ("carries", "reports", "debunks", "unrelated")
MODEL_ENV = "NARRATIVES_STANCE_MODEL"
DEFAULT_MODEL = "use-stance"  # the head over the shared space (issue #30); `none`: every candidate a member
# the judge `narratives stance` uses when none is configured: the same head, fused with the English
# cross-encoder where it reads both texts (a reader of sentences; too costly for every candidate of
# the pipeline: ~60 CPU-ms per English pair)
SHIPPED_MODEL = "use-minilm-stance"


WEIGHTS = "stance_weights.safetensors"
META = "stance_meta.json"


def read_meta(folder) -> dict:
    """A shipped or trained model folder's meta, checked. Raises ModelNotAvailableError."""
    import json
    from pathlib import Path

    from clustering.errors import ModelNotAvailableError

    folder = Path(folder)
    if not (folder / WEIGHTS).is_file() or not (folder / META).is_file():
        raise ModelNotAvailableError(f"stance model folder {folder} lacks {WEIGHTS} or {META}")
    meta = json.loads((folder / META).read_text("utf-8"))
    if sorted(meta.get("labels", [])) != sorted(STANCES):
        raise ModelNotAvailableError(f"stance model {folder}: labels {meta.get('labels')} are not {list(STANCES)}")
    return meta


def read_model_folder(folder) -> tuple[dict, str]:
    """A model folder's meta and model id; the weights' digest is part of the id, so a re-trained
    model judges everything again. Raises ModelNotAvailableError."""
    import hashlib
    from pathlib import Path

    meta = read_meta(folder)
    digest = hashlib.sha256((Path(folder) / WEIGHTS).read_bytes()).hexdigest()[:10]
    return meta, f"{meta.get('model_id', Path(folder).name)}@{digest}"


def default_model() -> str:
    return os.environ.get(MODEL_ENV) or DEFAULT_MODEL


@dataclass
class Judgement:
    stance: str
    scores: dict[str, float]  # stance -> probability, summing to 1
    evidence: list[str] = field(default_factory=list)  # the passages that decided, best first

    def to_dict(self) -> dict:
        return {"stance": self.stance, "scores": {k: round(v, 4) for k, v in self.scores.items()},
                "evidence": self.evidence}


class StanceJudge(Protocol):
    model_id: str
    license: str
    languages: set[str] | None  # None: any language

    def judge_batch(self, items: list[tuple[str, str, str | None]]) -> list[Judgement]: ...
