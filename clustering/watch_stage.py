"""Watched narratives in the database: declare, calibrate, score every article, change thresholds.

Every article is scored against every watched narrative once (`watch_matches` holds all scores),
so a match is `score >= threshold` at query time and changing a threshold needs no re-scoring.
Editing a watched narrative, or calibrating it for the first time once enough articles exist,
re-scores everything for it.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field

import numpy as np
import sqlite_utils

from clustering.carrier import load_carrier
from clustering.errors import ClusteringError, UnknownNarrativeError
from clustering.spread_stage import clear_subject
from clustering.stance_stage import StanceResult, drop_verdicts, judge_candidates
from clustering.vectors import stack
from clustering.watch import Profile, WatchedNarrative, background_centroid, build_profile, calibrate, score_article
from db.migrations import utcnow
from db.queries import article_languages

logger = logging.getLogger(__name__)

BACKGROUND_ARTICLES = 500  # recent articles whose passages calibrate a profile
MIN_BACKGROUND = 20
# Candidates the stance judge reads: within this margin below the threshold in force, so a threshold
# lowered by up to the margin needs no judging (lower still: the next `process` judges the rest)
JUDGE_MARGIN = 0.5


class WatchError(ClusteringError):
    """A watched narrative cannot be added as asked (e.g. an example URL is not stored)."""


@dataclass
class WatchResult:
    scored: int = 0
    matched: int = 0
    recalibrated: int = 0
    touched: set = field(default_factory=set)  # watched narratives with new matches
    rescored: set = field(default_factory=set)  # watched narratives whose every match was scored again
    rejudged: set = field(default_factory=set)  # watched narratives whose candidates were all judged again


def passages_of(db: sqlite_utils.Database, model_id: str, article_ids: list[int]) -> dict[int, tuple[list[str], np.ndarray]]:
    """article id -> (passage texts, passage vectors) for the given articles."""
    out: dict[int, tuple[list[str], list[bytes]]] = {}
    for i in range(0, len(article_ids), 500):
        chunk = article_ids[i:i + 500]
        for aid, text, blob in db.execute(
            f"SELECT article_id, text, vector FROM passages WHERE model_id = ? AND article_id IN "
            f"({','.join('?' * len(chunk))}) ORDER BY article_id, idx", [model_id, *chunk]):
            texts, blobs = out.setdefault(aid, ([], []))
            texts.append(text)
            blobs.append(blob)
    return {aid: (texts, stack(blobs, len(blobs[0]) // 4)) for aid, (texts, blobs) in out.items()}


def background(db: sqlite_utils.Database, model_id: str) -> list[np.ndarray]:
    ids = [r[0] for r in db.execute(
        "SELECT DISTINCT article_id FROM passages WHERE model_id = ? ORDER BY article_id DESC LIMIT ?",
        [model_id, BACKGROUND_ARTICLES])]
    return [v for _, v in passages_of(db, model_id, ids).values()]


def find_watch(db: sqlite_utils.Database, name_or_id: str | int) -> dict:
    row = None
    if str(name_or_id).isdigit():
        row = db.execute("SELECT id FROM watched_narratives WHERE id = ?", [int(name_or_id)]).fetchone()
    if row is None:
        row = db.execute("SELECT id FROM watched_narratives WHERE name = ?", [str(name_or_id)]).fetchone()
    if row is None:
        raise UnknownNarrativeError(f"no watched narrative {name_or_id!r}: see `narratives watch list`")
    return db["watched_narratives"].get(row[0])


def _example_texts(db: sqlite_utils.Database, urls: list[str]) -> list[tuple[str, str]]:
    out = []
    for url in urls:
        row = db.execute("SELECT title, text FROM articles WHERE url = ? OR canonical_url = ? LIMIT 1", [url, url]).fetchone()
        if row is None:
            raise WatchError(f"example {url} is not a stored article: crawl or import it first")
        out.append((row[0] or "", row[1] or ""))
    return out


def _build(db, embedder, row: dict) -> Profile:
    watch = WatchedNarrative(
        id=row["id"], name=row["name"], description=row["description"] or "",
        keywords=json.loads(row["keywords"] or "[]"),
        examples=_example_texts(db, json.loads(row["examples"] or "[]")), threshold=row["threshold"])
    bg = background(db, embedder.model_id)
    profile = build_profile(watch, embedder.embed, model_id=embedder.model_id,
                            background_centroid=background_centroid(bg) if watch.examples and bg else None)
    if len(bg) >= MIN_BACKGROUND:
        calibrate([profile], bg)
    return profile


def save_watch(db: sqlite_utils.Database, embedder, *, name: str, description: str = "", keywords=(),
               examples=(), threshold: float | None = None) -> int:
    """Add a watched narrative (or replace the one with that name) and build its profile."""
    if not name.strip():
        raise WatchError("a watched narrative needs a name")
    _example_texts(db, list(examples))  # fail before writing anything
    now = utcnow()
    existing = db.execute("SELECT id, created_at FROM watched_narratives WHERE name = ?", [name]).fetchone()
    row = {"name": name, "description": description, "keywords": json.dumps(list(keywords)),
           "examples": json.dumps(list(examples)), "threshold": threshold, "model_id": embedder.model_id,
           "updated_at": now}
    row["rescore"] = 1  # every stored article gets scored against it on the next match run
    with db.conn:
        if existing:
            watch_id = existing[0]
            db["watched_narratives"].update(watch_id, row)
            db.execute("DELETE FROM watch_matches WHERE watch_id = ?", [watch_id])
            drop_verdicts(db, "watch", watch_id)
        else:
            watch_id = db["watched_narratives"].insert(dict(row, created_at=now)).last_pk
    profile = _build(db, embedder, db["watched_narratives"].get(watch_id))
    with db.conn:
        _store_profile(db, watch_id, profile)
    return watch_id


def _store_profile(db: sqlite_utils.Database, watch_id: int, profile: Profile) -> None:
    # effective_threshold is kept beside the profile so SQL (views, Datasette) can filter matches
    db["watched_narratives"].update(watch_id, {"profile": profile.to_json().encode(),
                                               "effective_threshold": profile.effective_threshold})


def set_threshold(db: sqlite_utils.Database, name_or_id, threshold: float | None) -> dict:
    """Change a threshold: no article is scored again; lowered below the candidates the judge read
    (JUDGE_MARGIN), the next `process` judges the new ones (until then they match, not judged)."""
    row = find_watch(db, name_or_id)
    before = effective_threshold(row)
    with db.conn:
        db["watched_narratives"].update(row["id"], {"threshold": threshold, "updated_at": utcnow()})
        if row["profile"]:
            profile = Profile.from_json(row["profile"].decode())
            profile.threshold = threshold
            _store_profile(db, row["id"], profile)
            if profile.effective_threshold < before - JUDGE_MARGIN + 1e-9:
                db["watched_narratives"].update(row["id"], {"stance_model": None})
    return find_watch(db, row["id"])


def remove_watch(db: sqlite_utils.Database, name_or_id) -> None:
    row = find_watch(db, name_or_id)
    with db.conn:
        db.execute("DELETE FROM watch_matches WHERE watch_id = ?", [row["id"]])
        drop_verdicts(db, "watch", row["id"])
        clear_subject(db, "watch", row["id"])  # its edges, bursts and counted spread state
        db.execute("DELETE FROM watched_narratives WHERE id = ?", [row["id"]])


def _articles(db, model_id: str, ids: list[int]) -> tuple[dict, dict]:
    """What scoring needs of these articles, read and computed once for every watched narrative:
    (article id -> (passage texts, vectors), article id -> narrative-carrier logit or None)."""
    found = passages_of(db, model_id, ids)
    model = load_carrier(model_id)
    scores = (model.scores([vecs for _, vecs in found.values()], article_languages(db, list(found)))
              if model and found else [None] * len(found))
    return found, dict(zip(found, scores))


def watch_claims(db: sqlite_utils.Database, row: dict) -> list[str]:
    """A watched narrative's claim as the stance judge reads it: its description (or name), then
    the title of its first example article."""
    claims = [(row["description"] or "").strip() or row["name"]]
    try:
        claims += [title for title, _ in _example_texts(db, json.loads(row["examples"] or "[]"))[:1] if title]
    except WatchError:  # an example article deleted since
        pass
    return claims


@dataclass
class _Judging:
    judge: object
    claims: list[str]
    stance: StanceResult
    progress: object = None


def _score(db, profile: Profile, watch_id: int, articles: tuple[dict, dict], model_id: str, run_id,
           result: WatchResult, judging: _Judging | None = None) -> None:
    found, carriers = articles
    out = []
    for aid, (texts, vecs) in found.items():
        (m,) = score_article([profile], vecs, texts, carrier=carriers[aid])
        out.append({"watch_id": watch_id, "article_id": aid, "score": round(m.score, 5),
                    "passage": texts[m.passage_index] if texts else None, "run_id": run_id, "model_id": model_id})
    verdicts = {}
    if judging is not None and judging.judge is not None:
        floor = profile.effective_threshold - JUDGE_MARGIN
        verdicts = judge_candidates(db, judging.judge, "watch", watch_id, judging.claims,
                                    [r["article_id"] for r in out if r["score"] >= floor], run_id,
                                    judging.stance, judging.progress)
    for r in out:
        if r["score"] >= profile.effective_threshold and verdicts.get(r["article_id"]) in (None, "carries"):
            result.matched += 1
            result.touched.add(watch_id)
    with db.conn:
        db["watch_matches"].insert_all(out, replace=True)
    result.scored += len(out)


def _rejudge(db, row: dict, profile: Profile, run_id, judging: _Judging) -> None:
    """Judge every candidate of a watched narrative not judged by this model (a new judge, a threshold
    lowered past the candidates read); current verdicts are reused."""
    ids = [r[0] for r in db.execute("SELECT article_id FROM watch_matches WHERE watch_id = ? AND score >= ?",
                                    [row["id"], profile.effective_threshold - JUDGE_MARGIN])]
    judge_candidates(db, judging.judge, "watch", row["id"], judging.claims, ids, run_id, judging.stance,
                     judging.progress)


def match_watches(db: sqlite_utils.Database, embedder, run_id: int | None = None, *, batch: int = 500,
                  judge=None, stance: StanceResult | None = None, progress=None) -> WatchResult:
    """Score queued new articles against every watched narrative of this model, and every stored
    article against a watched narrative that is new, redefined or freshly calibrated; with
    `judge`, the candidates near or above the threshold are judged against its claim and only
    carriers match."""
    result = WatchResult()
    stance = stance if stance is not None else StanceResult()
    judgings: dict[int, _Judging] = {}
    model_id = embedder.model_id
    rows = list(db.query("SELECT * FROM watched_narratives WHERE model_id = ? ORDER BY id", [model_id]))
    profiles = {}
    for row in rows:
        profile = Profile.from_json(row["profile"].decode()) if row["profile"] else None
        if profile is None or (not profile.calibrated and
                               db.execute("SELECT count(DISTINCT article_id) FROM passages WHERE model_id = ?",
                                          [model_id]).fetchone()[0] >= MIN_BACKGROUND):
            # first calibration: scores before and after are not comparable, so start again
            profile = _build(db, embedder, row)
            profile.threshold = row["threshold"]
            with db.conn:
                _store_profile(db, row["id"], profile)
                db.execute("UPDATE watched_narratives SET rescore = 1 WHERE id = ?", [row["id"]])
                db.execute("DELETE FROM watch_matches WHERE watch_id = ?", [row["id"]])
            result.recalibrated += 1
            row["rescore"] = 1
        profiles[row["id"]] = profile
        judgings[row["id"]] = _Judging(judge, watch_claims(db, row), stance, progress) if judge is not None else None
        if row["rescore"]:
            result.rescored.add(row["id"])
            last = 0
            while True:
                ids = [r[0] for r in db.execute(
                    "SELECT article_id FROM embeddings WHERE model_id = ? AND article_id > ? ORDER BY article_id LIMIT ?",
                    [model_id, last, batch])]
                if not ids:
                    break
                _score(db, profile, row["id"], _articles(db, model_id, ids), model_id, run_id, result,
                       judgings[row["id"]])
                last = ids[-1]
            with db.conn:
                db.execute("UPDATE watched_narratives SET rescore = 0 WHERE id = ?", [row["id"]])
        elif judge is not None and row["stance_model"] != judge.model_id:
            _rejudge(db, row, profile, run_id, judgings[row["id"]])
            result.rejudged.add(row["id"])
        if judge is not None and row["stance_model"] != judge.model_id:
            with db.conn:
                db.execute("UPDATE watched_narratives SET stance_model = ? WHERE id = ?", [judge.model_id, row["id"]])
    while True:
        ids = [r[0] for r in db.execute("SELECT article_id FROM pending WHERE stage = 'watch' ORDER BY article_id LIMIT ?",
                                        [batch])]
        if not ids:
            break
        articles = _articles(db, model_id, ids) if profiles else ({}, {})
        for watch_id, profile in profiles.items():
            _score(db, profile, watch_id, articles, model_id, run_id, result, judgings[watch_id])
        with db.conn:
            db.execute(f"DELETE FROM pending WHERE stage = 'watch' AND article_id IN ({','.join('?' * len(ids))})", ids)
    return result


def effective_threshold(row: dict) -> float:
    if row["profile"]:
        profile = Profile.from_json(row["profile"].decode())
        profile.threshold = row["threshold"]
        return profile.effective_threshold
    return float(row["threshold"] or 0.0)


_STANCE = """LEFT JOIN stances s ON s.kind = 'watch' AND s.subject_id = m.watch_id AND s.article_id = m.article_id"""


def list_watches(db: sqlite_utils.Database) -> list[dict]:
    out = []
    for row in db.query("SELECT * FROM watched_narratives ORDER BY id"):
        t = effective_threshold(row)
        n = db.execute(f"""SELECT count(*) FILTER (WHERE coalesce(s.stance, 'carries') = 'carries'),
                                  min(a.published_at) FILTER (WHERE coalesce(s.stance, 'carries') = 'carries'),
                                  max(a.published_at) FILTER (WHERE coalesce(s.stance, 'carries') = 'carries'),
                                  count(*) FILTER (WHERE s.stance = 'reports'), count(*) FILTER (WHERE s.stance = 'debunks')
                           FROM watch_matches m JOIN articles a ON a.id = m.article_id {_STANCE}
                           WHERE m.watch_id = ? AND m.score >= ?""", [row["id"], t]).fetchone()
        out.append({"id": row["id"], "name": row["name"], "threshold": round(t, 3),
                    "custom_threshold": row["threshold"] is not None, "matches": n[0], "first_seen_at": n[1],
                    "last_seen_at": n[2], "reports": n[3], "debunks": n[4],
                    "keywords": ", ".join(json.loads(row["keywords"] or "[]")),
                    "examples": len(json.loads(row["examples"] or "[]")), "description": row["description"]})
    return out


def watch_matches(db: sqlite_utils.Database, name_or_id, *, limit: int = 50,
                  stances=("carries", None)) -> tuple[dict, list[dict]]:
    """A watched narrative's articles at or above its threshold, best first, with their stance:
    by default its matches (carriers, and articles not judged); `stances=("reports", "debunks")`
    gives the coverage that reports or debunks it."""
    row = find_watch(db, name_or_id)
    t = effective_threshold(row)
    wanted = [x for x in stances if x is not None]
    cond = " OR ".join((["s.stance IS NULL"] if None in stances else [])
                       + ([f"s.stance IN ({','.join('?' * len(wanted))})"] if wanted else [])) or "0"
    rows = list(db.query(
        f"""SELECT round(m.score, 3) AS score, coalesce(s.stance, 'not judged') AS stance, a.published_at, a.outlet,
                  a.language, a.title, m.passage, a.url, a.id AS article_id
           FROM watch_matches m JOIN articles a ON a.id = m.article_id {_STANCE}
           WHERE m.watch_id = ? AND m.score >= ? AND ({cond}) ORDER BY m.score DESC, a.id LIMIT ?""",
        [row["id"], t, *wanted, limit]))
    return {"id": row["id"], "name": row["name"], "threshold": t}, rows
