"""Watched narratives: an analyst declares a narrative they know; every article is scored against
it, passage by passage, and matched when the score reaches the narrative's threshold.

    profiles = calibrate([build_profile(watch, embed)], background)  # recent unlabelled articles
    matches = match_article(profiles, vectors, passages)              # per article

Score of an article: the *text* part is the mean of its TOP_K best passage cosines to the
watch's name and description (each embedded alone: a narrative lives in a few sentences); with
examples, the *prototype* part is the same against the PROTOTYPE_PASSAGES claim-bearing passages
of each example. Calibrated, each part is z-scored over the background, and

    score = z(z(text) + PROTOTYPE_WEIGHT * z(prototype))      (+ KEYWORD_BOOST on a keyword)

so one threshold (DEFAULT_THRESHOLD, in standard deviations above the typical article) means the
same for every watch. Uncalibrated profiles score the raw mean cosine
against DEFAULT_RAW_THRESHOLD. Similarity sees topic more than stance: reports and debunks of
the narrative's events score close to it.
Defaults: bench/eval_watch.py; BENCHMARKS-notebook.md, *Module docstrings*.
"""
from __future__ import annotations

import base64
import json
import logging
import re
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from clustering.carrier import penalty as carrier_penalty

logger = logging.getLogger(__name__)

TOP_K = 3
PROTOTYPE_PASSAGES = 3          # claim-bearing passages kept per example article
PROTOTYPE_WEIGHT = 2.0          # weight of the (calibrated) prototype part against the text part
KEYWORD_BOOST = 0.5
RAW_KEYWORD_BOOST_SCALE = 0.05
DEFAULT_THRESHOLD = 1.3         # calibrated profiles (z units above the background mean)
DEFAULT_RAW_THRESHOLD = 0.50    # uncalibrated profiles (raw cosine)
PROFILE_VERSION = 2
PARTS = ("text", "prototype")

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
    part_mu/part_sigma: calibration of the text and prototype parts; mu/sigma: of their sum
    (all 0/1 = uncalibrated). Serialise with to_json()/from_json() (version-1 JSON still loads).
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
    part_mu: list[float] = field(default_factory=lambda: [0.0, 0.0])
    part_sigma: list[float] = field(default_factory=lambda: [1.0, 1.0])

    @property
    def calibrated(self) -> bool:
        return not (self.mu == 0.0 and self.sigma == 1.0)

    @property
    def has_prototypes(self) -> bool:
        return "prototype" in self.kinds

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
            "part_mu": list(self.part_mu), "part_sigma": list(self.part_sigma),
        })

    @classmethod
    def from_json(cls, data: str) -> "Profile":
        d = json.loads(data)
        vec = np.frombuffer(base64.b64decode(d["vectors_b64"]), dtype=np.float32).reshape(-1, d["dim"]).copy()
        p = cls(d["watch_id"], d["model_id"], vec, list(d["kinds"]), list(d["keywords"]), d["threshold"],
                float(d["mu"]), float(d["sigma"]), int(d["top_k"]), int(d["version"]),
                [float(x) for x in d.get("part_mu", [0.0, 0.0])], [float(x) for x in d.get("part_sigma", [1.0, 1.0])])
        if p.version < 2 and p.calibrated:
            # version 1 calibrated a different score: start uncalibrated, `calibrate` again
            logger.warning("watch %s: profile version %d, re-calibrate it", p.watch_id, p.version)
            p.mu, p.sigma = 0.0, 1.0
        return p


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
                  passages: Callable[[str, str], list[str]] | None = None,
                  prototype_passages: int = PROTOTYPE_PASSAGES) -> Profile:
    """Embed the watch's name and description, and pick its examples' claim-bearing passages.

    `embed(texts) -> (n, dim)` L2-normalised (e.g. `load_embedder().embed`). Each example
    (title, text) gives its `prototype_passages` passages most similar to the name/description.
    `background_centroid` is accepted for compatibility and no longer used (calibration against
    the background does that job).
    """
    if passages is None:
        from clustering.passages import split_passages as passages  # noqa: N811
    texts, kinds = [watch.name.strip()], ["name"]
    if watch.description and watch.description.strip():
        texts.append(watch.description.strip())
        kinds.append("description")
    text_vecs = np.asarray(embed(texts), dtype=np.float32)
    vecs = [text_vecs]
    for title, text in watch.examples or []:
        p = passages(title, text)
        if not p:
            continue
        pv = np.asarray(embed(p), dtype=np.float32)
        rel = (pv @ text_vecs.T).max(1)
        keep = np.sort(np.argsort(-rel, kind="stable")[:max(1, prototype_passages)])
        vecs.append(pv[keep])
        kinds.extend(["prototype"] * len(keep))
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


def part_scores(profiles: Sequence[Profile], passage_vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(raw (text, prototype) part scores per profile: (n, 2), NaN where a profile has no
    prototypes; best passage index per profile) for one article."""
    pv = np.asarray(passage_vectors, dtype=np.float32)
    n = len(profiles)
    parts = np.full((n, 2), np.nan)
    best = np.zeros(n, dtype=int)
    if pv.ndim != 2 or len(pv) == 0 or n == 0:
        parts[:, 0] = -1.0
        return parts, best
    allq = np.vstack([p.vectors for p in profiles])
    sims = pv @ allq.T  # (passages, all query vectors)
    col = 0
    for i, p in enumerate(profiles):
        s = sims[:, col:col + len(p.kinds)]
        col += len(p.kinds)
        is_proto = np.array([k == "prototype" for k in p.kinds])
        k = min(p.top_k, len(pv))
        combined = None
        for j, mask in enumerate((~is_proto, is_proto)):
            if not mask.any():
                continue
            ps = s[:, mask].max(1)
            parts[i, j] = float(np.sort(ps)[::-1][:k].mean())
            z = (ps - p.part_mu[j]) / p.part_sigma[j]
            combined = z if combined is None else combined + PROTOTYPE_WEIGHT * z
        best[i] = int(np.argmax(combined))
    return parts, best


def _combine(p: Profile, parts: np.ndarray) -> float:
    """One profile's article score from its raw parts: calibrated z, or the raw mean."""
    has_proto = not np.isnan(parts[1])
    if not p.calibrated:
        return float(np.nanmean(parts)) if has_proto else float(parts[0])
    z = (parts[0] - p.part_mu[0]) / p.part_sigma[0]
    if has_proto:
        z += PROTOTYPE_WEIGHT * (parts[1] - p.part_mu[1]) / p.part_sigma[1]
    return float((z - p.mu) / p.sigma)


def raw_scores(profiles: Sequence[Profile], passage_vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(uncalibrated score per profile, best passage index per profile) for one article."""
    parts, best = part_scores(profiles, passage_vectors)
    return np.array([float(np.nanmean(r)) if not np.isnan(r[1]) else float(r[0]) for r in parts]), best


def score_article(profiles: Sequence[Profile], passage_vectors: np.ndarray,
                  passages_text: Sequence[str] = (), carrier: float | None = None) -> list[Match]:
    """Score one article (its passages' vectors and texts) against every profile. `carrier`: the
    article's narrative-carrier logit (clustering.carrier); below the gate, scores are lowered
    (neutral reports and fact checks of the narrative's events are not the narrative)."""
    parts, best = part_scores(profiles, passage_vectors)
    lowered = carrier_penalty(carrier)
    out = []
    for i, p in enumerate(profiles):
        score = _combine(p, parts[i]) - lowered if len(passage_vectors) else -10.0
        hit = _keyword_hit(p.keywords, passages_text)
        if hit >= 0:
            score += KEYWORD_BOOST if p.calibrated else KEYWORD_BOOST * RAW_KEYWORD_BOOST_SCALE
        out.append(Match(p.watch_id, float(score), int(best[i]), bool(score >= p.effective_threshold)))
    return out


def match_article(profiles: Sequence[Profile], passage_vectors: np.ndarray,
                  passages_text: Sequence[str] = (), carrier: float | None = None) -> list[Match]:
    """Only the matches at or above each profile's threshold, best first."""
    return sorted((m for m in score_article(profiles, passage_vectors, passages_text, carrier) if m.matched),
                  key=lambda m: -m.score)


def background_centroid(background: Sequence[np.ndarray]) -> np.ndarray:
    """Mean of the background articles' passage centroids (kept for callers of build_profile)."""
    return _normalize(np.mean([_normalize(np.asarray(v).mean(0)) for v in background if len(v)], 0))


def calibrate(profiles: Sequence[Profile], background: Sequence[np.ndarray], *, min_articles: int = 20) -> list[Profile]:
    """Set each profile's calibration from its parts' scores over background articles
    (passage-vector arrays): z-score each part, then z-score their weighted sum.

    Use a few hundred recent articles of the crawl (unlabelled; a narrative is rare among them;
    the articles being scored may be among them). Returns the same profiles, updated in place;
    with fewer than `min_articles` they stay as they were.
    """
    background = [v for v in background if len(v)]
    if len(background) < min_articles:
        logger.warning("calibration needs >= %d background articles, got %d: profiles stay uncalibrated",
                       min_articles, len(background))
        return list(profiles)
    for p in profiles:
        p.mu, p.sigma, p.part_mu, p.part_sigma = 0.0, 1.0, [0.0, 0.0], [1.0, 1.0]
    parts = np.array([part_scores(profiles, v)[0] for v in background])  # (articles, profiles, 2)
    for i, p in enumerate(profiles):
        z = np.zeros(len(background))
        for j in range(2):
            col = parts[:, i, j]
            if np.isnan(col).any():
                continue
            p.part_mu[j] = float(col.mean())
            p.part_sigma[j] = float(max(col.std(), 1e-6))
            z += (PROTOTYPE_WEIGHT if j else 1.0) * (col - p.part_mu[j]) / p.part_sigma[j]
        p.mu = float(z.mean())
        p.sigma = float(max(z.std(), 1e-6))
        if p.mu == 0.0 and p.sigma == 1.0:  # keep `calibrated` true
            p.mu = 1e-12
    return list(profiles)
