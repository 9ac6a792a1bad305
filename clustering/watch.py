"""Watched narratives: an analyst declares a narrative; every article is scored against it, passage
by passage, and matched when the score reaches the narrative's threshold.

    profiles = calibrate([build_profile(watch, embed)], background)  # recent unlabelled articles
    matches = match_article(profiles, vectors, passages)              # per article

The *text* part is the mean of an article's TOP_K best passage cosines to the watch's name and
description; with examples, the *prototype* part the same against their claim-bearing passages;
with two spaces, the *lead* parts compare the article's lead (shared space; English space for
English articles) with name and description. Each part is z-scored over
the background, and

    score = z(z(text) + PROTOTYPE_WEIGHT z(prototype) + LEAD_WEIGHT z(lead)
              + EN_LEAD_WEIGHT z(English lead))                 (+ KEYWORD_BOOST on a keyword)

(without the English part, on the sum without it), then standardised per language
(`language_calibration`): one threshold, in standard deviations above the typical article, means
the same for every watch and language. Uncalibrated profiles score the raw mean cosine.
Defaults: bench.eval_watch."""
from __future__ import annotations

import base64
import json
import logging
import re
from dataclasses import dataclass, field
from typing import Callable, NamedTuple, Sequence

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
PROFILE_VERSION = 3
PARTS = ("text", "prototype", "lead", "en_lead")
# With two vector spaces (clustering/embedding/spaces.py) the text part gains two more signals, each
# z-scored on the background and weighted into the sum: the article's lead vector against the
# name and description in the shared space, and, for English articles, its lead in the English
# space against them embedded there. Weights: the folds' pick of `python -m bench.eval_watch`
# (BENCHMARKS.md); one-space profiles keep 0 (their scores are unchanged).
LEAD_WEIGHT = 0.5
EN_LEAD_WEIGHT = 1.0
# A language is standardised on its own articles (`language_calibration`) once it has this many
# among the background; fewer: the whole stream's standardisation stands in, and `watch show` says so.
MIN_LANGUAGE_ARTICLES = 20

Embed = Callable[[Sequence[str]], np.ndarray]


class ArticleVectors(NamedTuple):
    """What scoring reads of one article: its passage vectors (shared space), and where the
    database has them its lead vector in the shared space and in the English space."""

    passages: np.ndarray
    lead: np.ndarray | None = None
    en_lead: np.ndarray | None = None


def article_vectors(x) -> ArticleVectors:
    """An ArticleVectors from itself or from a bare (passages, dim) array."""
    return x if isinstance(x, ArticleVectors) else ArticleVectors(np.asarray(x, dtype=np.float32))


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
    part_mu: list[float] = field(default_factory=lambda: [0.0] * len(PARTS))
    part_sigma: list[float] = field(default_factory=lambda: [1.0] * len(PARTS))
    # the lead parts (two spaces): their weights (0: unused) and the English space's query vectors
    lead_weight: float = 0.0
    en_lead_weight: float = 0.0
    en_vectors: np.ndarray | None = None
    en_model_id: str = ""
    # calibration of the sum without the English lead part (articles the English space does not
    # read): their sum has one part fewer, so its own mean and deviation put it on the same scale
    mu_shared: float = 0.0
    sigma_shared: float = 1.0

    @property
    def weights(self) -> list[float]:
        """Weight of each part (PARTS) in the calibrated sum."""
        return [1.0, PROTOTYPE_WEIGHT, self.lead_weight, self.en_lead_weight]

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
        ev = None if self.en_vectors is None else np.ascontiguousarray(self.en_vectors, dtype=np.float32)
        return json.dumps({
            "version": self.version, "watch_id": self.watch_id, "model_id": self.model_id,
            "dim": int(v.shape[1]) if v.ndim == 2 else 0, "vectors_b64": base64.b64encode(v.tobytes()).decode(),
            "kinds": self.kinds, "keywords": self.keywords, "threshold": self.threshold,
            "mu": self.mu, "sigma": self.sigma, "top_k": self.top_k,
            "part_mu": list(self.part_mu), "part_sigma": list(self.part_sigma),
            "lead_weight": self.lead_weight, "en_lead_weight": self.en_lead_weight, "en_model_id": self.en_model_id,
            "mu_shared": self.mu_shared, "sigma_shared": self.sigma_shared,
            "en_dim": int(ev.shape[1]) if ev is not None else 0,
            "en_vectors_b64": base64.b64encode(ev.tobytes()).decode() if ev is not None else None,
        })

    @classmethod
    def from_json(cls, data: str) -> "Profile":
        d = json.loads(data)
        vec = np.frombuffer(base64.b64decode(d["vectors_b64"]), dtype=np.float32).reshape(-1, d["dim"]).copy()
        pad = lambda xs, x: [float(v) for v in xs] + [x] * (len(PARTS) - len(xs))  # noqa: E731
        p = cls(d["watch_id"], d["model_id"], vec, list(d["kinds"]), list(d["keywords"]), d["threshold"],
                float(d["mu"]), float(d["sigma"]), int(d["top_k"]), int(d["version"]),
                pad(d.get("part_mu", []), 0.0), pad(d.get("part_sigma", []), 1.0),
                float(d.get("lead_weight", 0.0)), float(d.get("en_lead_weight", 0.0)),
                mu_shared=float(d.get("mu_shared", 0.0)), sigma_shared=float(d.get("sigma_shared", 1.0)))
        if d.get("en_vectors_b64"):
            p.en_vectors = np.frombuffer(base64.b64decode(d["en_vectors_b64"]), dtype=np.float32).reshape(
                -1, d["en_dim"]).copy()
            p.en_model_id = d.get("en_model_id", "")
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
    z: float | None = None  # the calibrated score before the language's standardisation (None: uncalibrated)
    adjust: float = 0.0  # what the carrier gate and keywords added to the score


def _normalize(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    n = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.where(n > 0, n, 1)


def build_profile(watch: WatchedNarrative, embed: Embed, *, model_id: str = "",
                  background_centroid: np.ndarray | None = None,
                  passages: Callable[[str, str], list[str]] | None = None,
                  prototype_passages: int = PROTOTYPE_PASSAGES, en_embed: Embed | None = None,
                  en_model_id: str = "", leads: bool = False) -> Profile:
    """Embed the watch's name and description, and pick its examples' claim-bearing passages.

    `embed(texts) -> (n, dim)` L2-normalised (e.g. `load_embedder().embed`). Each example
    (title, text) gives its `prototype_passages` passages most similar to the name/description.
    `leads` (two spaces): the lead parts are used, and with `en_embed` (the English space's
    embedder) the name and description are embedded there too, for English articles' leads.
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
    profile = Profile(watch.id, model_id, np.vstack(vecs).astype(np.float32), kinds,
                      [k for k in (watch.keywords or []) if k.strip()], watch.threshold)
    if leads:
        profile.lead_weight = LEAD_WEIGHT
        if en_embed is not None:
            profile.en_vectors = np.asarray(en_embed(texts), dtype=np.float32)
            profile.en_model_id = en_model_id
            profile.en_lead_weight = EN_LEAD_WEIGHT
    return profile


def _keyword_hit(keywords: list[str], passages_text: Sequence[str]) -> int:
    """Index of the first passage containing any keyword (whole word, case-insensitive); -1 if none."""
    if not keywords or not passages_text:
        return -1
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(k.strip()) for k in keywords) + r")(?!\w)", re.I)
    for i, p in enumerate(passages_text):
        if pattern.search(p):
            return i
    return -1


def part_scores(profiles: Sequence[Profile], article) -> tuple[np.ndarray, np.ndarray]:
    """(raw part scores per profile: (n, len(PARTS)), NaN where a profile or the article has no
    such part; best passage index per profile) for one article (ArticleVectors, or its passage
    vectors alone)."""
    art = article_vectors(article)
    pv = np.asarray(art.passages, dtype=np.float32)
    n = len(profiles)
    parts = np.full((n, len(PARTS)), np.nan)
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
        if p.lead_weight and art.lead is not None:
            parts[i, 2] = float((p.vectors[~is_proto] @ np.asarray(art.lead, np.float32)).max())
        if p.en_lead_weight and art.en_lead is not None and p.en_vectors is not None:
            parts[i, 3] = float((p.en_vectors @ np.asarray(art.en_lead, np.float32)).max())
    return parts, best


def _combine(p: Profile, parts: np.ndarray) -> float:
    """One profile's article score from its raw parts: calibrated z, or the raw mean."""
    has_proto = not np.isnan(parts[1])
    if not p.calibrated:
        return float(np.nanmean(parts[:2])) if has_proto else float(parts[0])
    z = 0.0
    for j, w in enumerate(p.weights):
        if w and not np.isnan(parts[j]):
            z += w * (parts[j] - p.part_mu[j]) / p.part_sigma[j]
    if p.en_lead_weight and np.isnan(parts[3]):
        return float((z - p.mu_shared) / p.sigma_shared)
    return float((z - p.mu) / p.sigma)


def raw_scores(profiles: Sequence[Profile], passage_vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(uncalibrated score per profile, best passage index per profile) for one article."""
    parts, best = part_scores(profiles, passage_vectors)
    return np.array([float(np.nanmean(r[:2])) if not np.isnan(r[1]) else float(r[0]) for r in parts]), best


def score_article(profiles: Sequence[Profile], passage_vectors, passages_text: Sequence[str] = (),
                  carrier: float | None = None, language: tuple[float, float] | None = None) -> list[Match]:
    """Score one article (ArticleVectors, or its passages' vectors; and its passage texts) against
    every profile. `language`: the (shift, scale) of the article's language
    (`language_calibration`), applied to the calibrated score. `carrier`: the article's
    narrative-carrier logit (clustering.carrier); below the gate, scores are lowered (neutral
    reports and fact checks of the narrative's events are not the narrative)."""
    art = article_vectors(passage_vectors)
    parts, best = part_scores(profiles, art)
    lowered = carrier_penalty(carrier)
    shift, scale = language or (0.0, 1.0)
    out = []
    for i, p in enumerate(profiles):
        z = _combine(p, parts[i]) if len(art.passages) else None
        adjust = -lowered if z is not None else 0.0
        if _keyword_hit(p.keywords, passages_text) >= 0:
            adjust += KEYWORD_BOOST if p.calibrated else KEYWORD_BOOST * RAW_KEYWORD_BOOST_SCALE
        base = -10.0 if z is None else (z - shift) / scale if p.calibrated else z
        score = base + adjust
        out.append(Match(p.watch_id, float(score), int(best[i]), bool(score >= p.effective_threshold),
                         z if p.calibrated else None, float(adjust)))
    return out


def match_article(profiles: Sequence[Profile], passage_vectors, passages_text: Sequence[str] = (),
                  carrier: float | None = None, language: tuple[float, float] | None = None) -> list[Match]:
    """Only the matches at or above each profile's threshold, best first."""
    return sorted((m for m in score_article(profiles, passage_vectors, passages_text, carrier, language)
                   if m.matched), key=lambda m: -m.score)


def background_centroid(background: Sequence[np.ndarray]) -> np.ndarray:
    """Mean of the background articles' passage centroids (kept for callers of build_profile)."""
    return _normalize(np.mean([_normalize(np.asarray(article_vectors(v).passages).mean(0))
                               for v in background if len(article_vectors(v).passages)], 0))


def calibrate(profiles: Sequence[Profile], background: Sequence, *, min_articles: int = 20) -> list[Profile]:
    """Set each profile's calibration from its parts' scores over background articles
    (ArticleVectors or passage-vector arrays): z-score each part over the articles that have it,
    then z-score their weighted sum.

    Use a few hundred recent articles of the crawl (unlabelled; a narrative is rare among them;
    the articles being scored may be among them). Returns the same profiles, updated in place;
    with fewer than `min_articles` they stay as they were. A lead part fewer than `min_articles`
    of them have (e.g. no English article yet) is left out of the profile.
    """
    background = [a for a in map(article_vectors, background) if len(a.passages)]
    if len(background) < min_articles:
        logger.warning("calibration needs >= %d background articles, got %d: profiles stay uncalibrated",
                       min_articles, len(background))
        return list(profiles)
    for p in profiles:
        p.mu, p.sigma, p.part_mu, p.part_sigma = 0.0, 1.0, [0.0] * len(PARTS), [1.0] * len(PARTS)
    parts = np.array([part_scores(profiles, a)[0] for a in background])  # (articles, profiles, parts)
    for i, p in enumerate(profiles):
        z = np.zeros(len(background))  # the sum over every part but the English lead
        en = np.full(len(background), np.nan)  # that part's weighted z, where an article has it
        for j, w in enumerate(p.weights):
            col = parts[:, i, j]
            have = ~np.isnan(col)
            if not w or (j < 2 and not have.all()):
                continue
            if have.sum() < min_articles:  # a lead part too few articles have: not used
                if j == 2:
                    p.lead_weight = 0.0
                elif j == 3:
                    p.en_lead_weight = 0.0
                continue
            p.part_mu[j] = float(col[have].mean())
            p.part_sigma[j] = float(max(col[have].std(), 1e-6))
            if j == 3:
                en[have] = w * (col[have] - p.part_mu[j]) / p.part_sigma[j]
            else:
                z[have] += w * (col[have] - p.part_mu[j]) / p.part_sigma[j]
        if p.en_lead_weight:
            full = (z + en)[~np.isnan(en)]  # articles with every part
            p.mu, p.sigma = float(full.mean()), float(max(full.std(), 1e-6))
            p.mu_shared, p.sigma_shared = float(z.mean()), float(max(z.std(), 1e-6))
        else:
            p.mu, p.sigma = float(z.mean()), float(max(z.std(), 1e-6))
        if p.mu == 0.0 and p.sigma == 1.0:  # keep `calibrated` true
            p.mu = 1e-12
    return list(profiles)


def calibrated_scores(profiles: Sequence[Profile], articles: Sequence) -> np.ndarray:
    """(articles, profiles): each article's calibrated score per profile, before the language's
    standardisation, the carrier penalty and keywords."""
    return np.array([[_combine(p, row) for p, row in zip(profiles, part_scores(profiles, a)[0])]
                     for a in articles]).reshape(len(articles), len(profiles))


def language_calibration(profiles: Sequence[Profile], background: dict[str, Sequence], *,
                         min_articles: int = MIN_LANGUAGE_ARTICLES) -> dict[str, dict]:
    """Per language: the (shift, scale) that standardises its articles' calibrated scores, pooled
    over every profile, so one threshold means the same in every language.

    A watch is calibrated on the stream, every language together; but a text scores lower
    against a description written in another language than against one in its own, so without
    this a Russian carrier of an English-worded watch rarely reaches the threshold. Pooling over
    every watched narrative measures the language's level where most pairs are no match, even
    when most of a language's articles carry one narrative or another. `background`: language
    code -> that language's background articles. A language with fewer than `min_articles` takes
    the whole stream's standardisation (`status` "stream") instead of its own ("own").
    Returns {language: {"shift", "scale", "articles", "status"}}, and "" for the stream.
    """
    calibrated = [p for p in profiles if p.calibrated]
    scores = {lang: calibrated_scores(calibrated, [a for a in map(article_vectors, arts) if len(a.passages)])
              for lang, arts in background.items()} if calibrated else {}
    scores = {lang: z[~np.isnan(z).any(axis=1)] for lang, z in scores.items()}
    stream = np.concatenate([v.ravel() for v in scores.values()]) if scores else np.zeros(0)
    if len(stream) < 2:
        return {}
    whole = {"shift": float(stream.mean()), "scale": float(max(stream.std(), 1e-6)),
             "articles": int(sum(len(v) for v in scores.values())), "status": "stream"}
    out = {"": whole}
    for lang, z in scores.items():
        if len(z) >= min_articles:
            out[lang] = {"shift": float(z.mean()), "scale": float(max(z.std(), 1e-6)), "articles": len(z),
                         "status": "own"}
        else:
            out[lang] = dict(whole, articles=len(z))
    return out
