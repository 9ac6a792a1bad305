"""Watched narratives: an analyst declares a narrative they know; every new article is scored
against it, passage by passage, and matched when the score reaches the narrative's threshold.

    watch   = WatchedNarrative("N1", "West arms jihadists", description="...", keywords=["Al-Tanf"],
                               examples=[(title, text)], threshold=None)   # None: DEFAULT_THRESHOLD
    profile = build_profile(watch, embed)                # once per watch (re-build when it changes)
    profiles = calibrate(profiles, background)           # optional but recommended, see below
    passages = split_passages(title, text)               # per new article
    vectors  = embed(passages)                           # (n, dim), L2-normalised
    for m in match_article(profiles, vectors, passages): # scores >= each profile's threshold
        ...                                              # m.watch_id, m.score, m.passage_index

Scoring (all vectorised with numpy; ~0.1 ms per article for 20 watches, plus embedding):
- query vectors of a profile: the name, the description (each embedded on its own) and, when
  examples are given, one *prototype*: the mean of the example articles' passage centroids, minus
  EXAMPLE_CONTRAST x the background centroid (Rocchio), re-normalised;
- passage score = max over the query vectors of cosine(passage, query); prototype similarities
  are mixed with the name/description ones (PROTOTYPE_WEIGHT);
- raw article score = mean of the TOP_K best passage scores (a narrative lives in a few sentences);
- calibrated score = (raw - mu) / sigma, mu and sigma measured by `calibrate` over background
  articles (any recent unlabelled articles: most do not carry the narrative). Calibration makes
  one threshold mean the same thing for every narrative ("sigma above the typical article");
  uncalibrated profiles (mu=0, sigma=1) score raw cosines and use DEFAULT_RAW_THRESHOLD;
- keywords: +KEYWORD_BOOST (calibrated units; x RAW_KEYWORD_BOOST_SCALE when raw) when any keyword
  occurs (case-insensitive, whole word) in the article's passages.

Defaults were chosen by cross-validation on SemEval-2025 Task 10 (English) and checked on the
demo web; see bench/eval_watch.py and docs in the bench output.
"""
from __future__ import annotations

import base64
import json
import logging
import re
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

logger = logging.getLogger(__name__)

TOP_K = 3
PROTOTYPE_WEIGHT = 0.5
EXAMPLE_CONTRAST = 0.5
KEYWORD_BOOST = 0.5
RAW_KEYWORD_BOOST_SCALE = 0.05
DEFAULT_THRESHOLD = 1.25        # calibrated profiles (z units above the background mean)
DEFAULT_RAW_THRESHOLD = 0.50    # uncalibrated profiles (raw cosine)
PROFILE_VERSION = 1

Embed = Callable[[Sequence[str]], np.ndarray]


@dataclass
class WatchedNarrative:
    """What the analyst declares. `examples` are (title, text) pairs; `threshold` None = default."""

    id: str | int
    name: str
    description: str = ""
    keywords: list[str] = field(default_factory=list)
    examples: list[tuple[str, str]] = field(default_factory=list)
    threshold: float | None = None


@dataclass
class Profile:
    """The stored form of a watched narrative: what scoring needs, nothing else.

    vectors: (m, dim) float32 query vectors; kinds[i] in {"name", "description", "prototype"}.
    mu/sigma: calibration (0/1 = uncalibrated). Serialise with to_json()/from_json().
    """

    watch_id: str | int
    model_id: str
    vectors: np.ndarray
    kinds: list[str]
    keywords: list[str]
    threshold: float | None = None
    mu: float = 0.0
    sigma: float = 1.0
    top_k: int = TOP_K
    version: int = PROFILE_VERSION

    @property
    def calibrated(self) -> bool:
        return not (self.mu == 0.0 and self.sigma == 1.0)

    @property
    def effective_threshold(self) -> float:
        if self.threshold is not None:
            return float(self.threshold)
        return DEFAULT_THRESHOLD if self.calibrated else DEFAULT_RAW_THRESHOLD

    def to_json(self) -> str:
        v = np.ascontiguousarray(self.vectors, dtype=np.float32)
        return json.dumps({
            "version": self.version, "watch_id": self.watch_id, "model_id": self.model_id,
            "dim": int(v.shape[1]) if v.ndim == 2 else 0, "vectors_b64": base64.b64encode(v.tobytes()).decode(),
            "kinds": self.kinds, "keywords": self.keywords, "threshold": self.threshold,
            "mu": self.mu, "sigma": self.sigma, "top_k": self.top_k,
        })

    @classmethod
    def from_json(cls, data: str) -> "Profile":
        d = json.loads(data)
        vec = np.frombuffer(base64.b64decode(d["vectors_b64"]), dtype=np.float32).reshape(-1, d["dim"]).copy()
        return cls(d["watch_id"], d["model_id"], vec, list(d["kinds"]), list(d["keywords"]), d["threshold"],
                   float(d["mu"]), float(d["sigma"]), int(d["top_k"]), int(d["version"]))


@dataclass
class Match:
    watch_id: str | int
    score: float
    passage_index: int  # index into the article's passages (0 = title)
    matched: bool


def _normalize(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    n = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.where(n > 0, n, 1)


def build_profile(watch: WatchedNarrative, embed: Embed, *, model_id: str = "",
                  background_centroid: np.ndarray | None = None,
                  passages: Callable[[str, str], list[str]] | None = None) -> Profile:
    """Embed the watch's name, description and examples into query vectors.

    `embed(texts) -> (n, dim)` L2-normalised (e.g. `load_embedder().embed`). `background_centroid`
    (mean passage vector of background articles) sharpens the example prototype; without it the
    prototype is the plain example centroid.
    """
    if passages is None:
        from clustering.passages import split_passages as passages  # noqa: N811
    texts, kinds = [watch.name.strip()], ["name"]
    if watch.description and watch.description.strip():
        texts.append(watch.description.strip())
        kinds.append("description")
    vecs = [np.asarray(embed(texts), dtype=np.float32)]
    if watch.examples:
        cents = []
        for title, text in watch.examples:
            p = passages(title, text)
            if p:
                cents.append(_normalize(np.asarray(embed(p), dtype=np.float32).mean(0)))
        if cents:
            proto = np.mean(cents, 0)
            if background_centroid is not None:
                proto = proto - EXAMPLE_CONTRAST * np.asarray(background_centroid, dtype=np.float32)
            vecs.append(_normalize(proto)[None, :])
            kinds.append("prototype")
    return Profile(watch.id, model_id, np.vstack(vecs).astype(np.float32), kinds,
                   [k for k in (watch.keywords or []) if k.strip()], watch.threshold)


def _keyword_hit(keywords: list[str], passages_text: Sequence[str]) -> int:
    """Index of the first passage containing any keyword (whole word, case-insensitive); -1 if none."""
    if not keywords or not passages_text:
        return -1
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(k.strip()) for k in keywords) + r")(?!\w)", re.I)
    for i, p in enumerate(passages_text):
        if pattern.search(p):
            return i
    return -1


def raw_scores(profiles: Sequence[Profile], passage_vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(raw score per profile, best passage index per profile) for one article."""
    pv = np.asarray(passage_vectors, dtype=np.float32)
    n = len(profiles)
    if pv.ndim != 2 or len(pv) == 0 or n == 0:
        return np.full(n, -1.0), np.zeros(n, dtype=int)
    allq = np.vstack([p.vectors for p in profiles])
    sims = pv @ allq.T  # (passages, all query vectors)
    scores, best = np.empty(n), np.empty(n, dtype=int)
    col = 0
    for i, p in enumerate(profiles):
        s = sims[:, col:col + len(p.kinds)]
        col += len(p.kinds)
        is_proto = np.array([k == "prototype" for k in p.kinds])
        text_part = s[:, ~is_proto].max(1)
        ps = text_part if not is_proto.any() else (
            (1 - PROTOTYPE_WEIGHT) * text_part + PROTOTYPE_WEIGHT * s[:, is_proto].max(1))
        k = min(p.top_k, len(ps))
        order = np.argsort(-ps, kind="stable")
        scores[i] = float(ps[order[:k]].mean())
        best[i] = int(order[0])
    return scores, best


def score_article(profiles: Sequence[Profile], passage_vectors: np.ndarray,
                  passages_text: Sequence[str] = ()) -> list[Match]:
    """Score one article (its passages' vectors and texts) against every profile."""
    raw, best = raw_scores(profiles, passage_vectors)
    out = []
    for i, p in enumerate(profiles):
        score = (raw[i] - p.mu) / p.sigma
        hit = _keyword_hit(p.keywords, passages_text)
        if hit >= 0:
            score += KEYWORD_BOOST if p.calibrated else KEYWORD_BOOST * RAW_KEYWORD_BOOST_SCALE
        out.append(Match(p.watch_id, float(score), int(best[i]), bool(score >= p.effective_threshold)))
    return out


def match_article(profiles: Sequence[Profile], passage_vectors: np.ndarray,
                  passages_text: Sequence[str] = ()) -> list[Match]:
    """Only the matches at or above each profile's threshold, best first."""
    return sorted((m for m in score_article(profiles, passage_vectors, passages_text) if m.matched),
                  key=lambda m: -m.score)


def background_centroid(background: Sequence[np.ndarray]) -> np.ndarray:
    """Mean of the background articles' passage centroids (for build_profile)."""
    return _normalize(np.mean([_normalize(np.asarray(v).mean(0)) for v in background if len(v)], 0))


def calibrate(profiles: Sequence[Profile], background: Sequence[np.ndarray], *, min_articles: int = 20) -> list[Profile]:
    """Set each profile's mu/sigma from raw scores over background articles (passage-vector arrays).

    Use a few hundred recent articles of the crawl (unlabelled; a narrative is rare among them).
    Returns the same profiles, updated in place; with fewer than `min_articles` they stay raw.
    """
    background = [v for v in background if len(v)]
    if len(background) < min_articles:
        logger.warning("calibration needs >= %d background articles, got %d: profiles stay uncalibrated",
                       min_articles, len(background))
        return list(profiles)
    for p in profiles:
        p.mu, p.sigma = 0.0, 1.0
    raw = np.array([raw_scores(profiles, v)[0] for v in background])  # (articles, profiles)
    for i, p in enumerate(profiles):
        p.mu = float(raw[:, i].mean())
        p.sigma = float(max(raw[:, i].std(), 1e-6))
    return list(profiles)
