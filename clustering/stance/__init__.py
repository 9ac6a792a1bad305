"""Stance: does an article carry a claim, report it, debunk it, or not address it (issue #16).

    from clustering.stance import load_judge
    judge = load_judge()                       # the configured model, cached for the process
    [j] = judge.judge_batch([(claim, text, title)])
    j.stance, j.scores, j.evidence

- base.py: the interface (`StanceJudge`, `Judgement`, STANCES) and the setting
  NARRATIVES_STANCE_MODEL (a shipped model name, or a folder holding a model's
  `stance_weights.safetensors` and `stance_meta.json`; `none`: no judge, every candidate a
  member, "stance not judged");
- evidence.py: the article's sentences, ranked against the claim (the passages a judge reads);
- vector_head.py: the pipeline's judge, a head over the shared space's passage vectors (every
  language that space reads);
- fusion.py: `narratives stance`'s judge, that head fused with the cross-encoder where the
  cross-encoder reads both texts;
- cross_encoder.py: an English judge, all-MiniLM-L6-v2 read as a cross-encoder over the claim
  and the article's best passages, its top layers and head trained here (bench/train_stance.py),
  weights in models/<name>/.

A new judge is a new module here and a line in `load_judge`; the callers do not change.
"""
from __future__ import annotations

from pathlib import Path

from clustering.errors import ModelNotAvailableError
from clustering.stance.base import DEFAULT_MODEL, STANCES, Judgement, StanceJudge, default_model, read_meta

MODELS_DIR = Path(__file__).resolve().parent / "models"
_CACHE: dict[str, StanceJudge] = {}

__all__ = ["STANCES", "Judgement", "StanceJudge", "load_judge", "model_dir", "DEFAULT_MODEL"]


def model_dir(name: str | None = None) -> Path:
    """The folder of a shipped model name, or `name` itself when it is a folder."""
    name = name or default_model()
    path = Path(name)
    if path.is_dir():
        return path
    shipped = MODELS_DIR / name
    if shipped.is_dir():
        return shipped
    known = sorted(p.name for p in MODELS_DIR.iterdir() if p.is_dir()) if MODELS_DIR.is_dir() else []
    raise ModelNotAvailableError(f"no stance model {name!r}: give one of {', '.join(known) or '(none shipped)'} "
                                 f"or a folder with stance_weights.safetensors and stance_meta.json "
                                 f"(NARRATIVES_STANCE_MODEL)")


OFF = ("none", "off")


def load_judge(name: str | None = None) -> StanceJudge | None:
    """A process-wide cached judge (loading costs ~1 s); None when NARRATIVES_STANCE_MODEL=none."""
    if (name or default_model()).strip().lower() in OFF:
        return None
    folder = model_dir(name)
    key = str(folder)
    if key not in _CACHE:
        kind = read_meta(folder).get("kind")
        if kind == "vector-head":
            from clustering.stance.vector_head import VectorJudge

            _CACHE[key] = VectorJudge(folder)
        elif kind == "fusion":  # its parts are judges of their own, loaded (and cached) here
            from clustering.stance.fusion import FusedJudge

            _CACHE[key] = FusedJudge(folder, load_part=load_judge)
        else:
            from clustering.stance.cross_encoder import CrossEncoderJudge

            _CACHE[key] = CrossEncoderJudge(folder)
    return _CACHE[key]
