"""Watched narratives in the database: declare, calibrate, score every article, change thresholds.

Every article is scored against every watched narrative once (`watch_matches` holds all scores),
so a match is `score >= threshold` at query time and changing a threshold needs no re-scoring.
Editing a watched narrative, or calibrating it for the first time once enough articles exist,
re-scores everything for it. Scores are standardised per language (`watch_languages`, see
clustering/watch.py `language_calibration`): when a language's standardisation changes (a watched
narrative added, or a language with too few articles to stand alone getting enough), the stored
scores are updated in SQL from what each match keeps (`z`, `adjust`), without scoring again.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field

import numpy as np
import sqlite_utils

from clustering.carrier import load_carrier
from clustering.embedding.spaces import spaces_of
from clustering.errors import ClusteringError, UnknownNarrativeError
from clustering.languages import language_code
from clustering.spread_stage import clear_subject
from clustering.stance_stage import StanceResult, drop_verdicts, judge_candidates
from clustering.vectors import from_blob, stored_passages
from clustering.watch import (MIN_LANGUAGE_ARTICLES, ArticleVectors, Profile, WatchedNarrative, background_centroid,
                              build_profile, calibrate, language_calibration, score_article)
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


def _leads(db: sqlite_utils.Database, model_id: str | None, article_ids: list[int]) -> dict[int, np.ndarray]:
    if not model_id:
        return {}
    out = {}
    for i in range(0, len(article_ids), 500):
        chunk = article_ids[i:i + 500]
        out.update((aid, from_blob(blob)) for aid, blob in db.execute(
            f"SELECT article_id, vector FROM embeddings WHERE model_id = ? AND article_id IN "
            f"({','.join('?' * len(chunk))})", [model_id, *chunk]))
    return out


def articles_of(db: sqlite_utils.Database, spaces, article_ids: list[int]) -> dict[int, tuple[list[str], ArticleVectors]]:
    """article id -> (passage texts, ArticleVectors) for the given articles: the shared space's
    passages, and with two spaces the shared lead and the English space's lead where there is one."""
    spaces = spaces_of(spaces)
    found = stored_passages(db, spaces.model_id, article_ids)
    two = spaces.english is not None
    leads = _leads(db, spaces.model_id if two else None, list(found))
    en = _leads(db, spaces.english.model_id if two else None, list(found))
    return {aid: (texts, ArticleVectors(vecs, leads.get(aid), en.get(aid))) for aid, (texts, vecs) in found.items()}


def _recent_ids(db: sqlite_utils.Database, model_id: str, limit: int, language: str | None = None) -> list[int]:
    if language is None:
        return [r[0] for r in db.execute(
            "SELECT article_id FROM embeddings WHERE model_id = ? ORDER BY article_id DESC LIMIT ?", [model_id, limit])]
    return [r[0] for r in db.execute(
        f"""SELECT e.article_id FROM embeddings e JOIN articles a ON a.id = e.article_id
            WHERE e.model_id = ? AND {LANGUAGE_SQL} = ? ORDER BY e.article_id DESC LIMIT ?""",
        [model_id, language, limit])]


def background(db: sqlite_utils.Database, spaces) -> list[ArticleVectors]:
    """What a profile is calibrated on: the most recent BACKGROUND_ARTICLES articles of each
    language, so every language (and the English space's lead part) is in it however the
    stream's languages are ordered in time."""
    return [v for arts in language_background(db, spaces).values() for v in arts]


# an article's language as watch_languages keys it: the two-letter code, "und" when unknown
LANGUAGE_SQL = "coalesce(nullif(lower(substr(a.language, 1, 2)), ''), 'und')"


def language_key(language: str | None) -> str:
    return language_code(language) or "und"


def language_background(db: sqlite_utils.Database, spaces) -> dict[str, list[ArticleVectors]]:
    """Per language of the embedded articles, its most recent BACKGROUND_ARTICLES articles."""
    spaces = spaces_of(spaces)
    langs = [r[0] for r in db.execute(
        f"SELECT DISTINCT {LANGUAGE_SQL} FROM embeddings e JOIN articles a ON a.id = e.article_id WHERE e.model_id = ?",
        [spaces.model_id])]
    return {lang: [v for _, v in articles_of(db, spaces, _recent_ids(db, spaces.model_id, BACKGROUND_ARTICLES,
                                                                       lang)).values()]
            for lang in sorted(langs)}


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
    spaces = spaces_of(embedder)
    watch = WatchedNarrative(
        id=row["id"], name=row["name"], description=row["description"] or "",
        keywords=json.loads(row["keywords"] or "[]"),
        examples=_example_texts(db, json.loads(row["examples"] or "[]")), threshold=row["threshold"])
    bg = background(db, spaces)
    two = spaces.english is not None
    profile = build_profile(watch, spaces.embed, model_id=spaces.model_id,
                            background_centroid=background_centroid(bg) if watch.examples and bg else None,
                            leads=two, en_embed=spaces.english.embed if two else None,
                            en_model_id=spaces.english.model_id if two else "")
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


def _articles(db, spaces, ids: list[int]) -> tuple[dict, dict, dict]:
    """What scoring needs of these articles, read and computed once for every watched narrative:
    (article id -> (passage texts, ArticleVectors), article id -> narrative-carrier logit or None,
    article id -> language key)."""
    spaces = spaces_of(spaces)
    found = articles_of(db, spaces, ids)
    languages = article_languages(db, list(found))
    model = load_carrier(spaces.model_id)
    scores = (model.scores([v.passages for _, v in found.values()], languages)
              if model and found else [None] * len(found))
    return found, dict(zip(found, scores)), dict(zip(found, map(language_key, languages)))


def stored_languages(db: sqlite_utils.Database, model_id: str) -> dict[str, dict]:
    """The model's per-language standardisation: {language: row}, "" for the whole stream."""
    return {r["language"]: r for r in db.query("SELECT * FROM watch_languages WHERE model_id = ?", [model_id])}


def language_stats(stored: dict[str, dict]):
    """A function language key -> (shift, scale) for score_article (None before any calibration)."""
    if "" not in stored:
        return lambda lang: None

    def stats(lang: str) -> tuple[float, float]:
        row = stored.get(lang) or stored[""]
        return row["shift"], row["scale"]
    return stats


def _signature(profiles: dict) -> str:
    return json.dumps(sorted([int(i), round(p.mu, 6), round(p.sigma, 6)] for i, p in profiles.items() if p.calibrated))


def _languages_due(db, model_id: str, stored: dict[str, dict], profiles: dict) -> bool:
    """Whether the per-language standardisation is to be computed again: the calibrated watched
    narratives changed, or this run's new articles bring a language not standardised yet or one
    standing on the stream's that now has enough articles (only new articles change either, so
    only their languages are looked at)."""
    if not any(p.calibrated for p in profiles.values()):
        return False
    if "" not in stored or stored[""]["watches"] != _signature(profiles):
        return True
    new = {r[0] for r in db.execute(f"""SELECT DISTINCT {LANGUAGE_SQL} FROM pending p JOIN articles a
                                        ON a.id = p.article_id WHERE p.stage = 'watch'""")}
    return any(lang not in stored or (stored[lang]["status"] != "own" and _at_least(
        db, model_id, lang, MIN_LANGUAGE_ARTICLES)) for lang in new)


def _at_least(db, model_id: str, language: str, n: int) -> bool:
    """Whether the model has embedded `n` articles of `language` (stops counting at n)."""
    return db.execute(f"""SELECT count(*) FROM (SELECT 1 FROM embeddings e JOIN articles a ON a.id = e.article_id
                          WHERE e.model_id = ? AND {LANGUAGE_SQL} = ? LIMIT ?)""",
                      [model_id, language, n]).fetchone()[0] >= n


def update_languages(db: sqlite_utils.Database, spaces, profiles: dict, skip: set[int] = frozenset()) -> set[int]:
    """Compute the per-language standardisation again over every watched narrative and update the
    stored scores of the others than `skip` (about to be scored anyway) in SQL. Returns the
    watched narratives whose scores changed."""
    spaces = spaces_of(spaces)
    model_id = spaces.model_id
    calibrated = {i: p for i, p in profiles.items() if p.calibrated}
    table = language_calibration(list(calibrated.values()), language_background(db, spaces))
    now, signature = utcnow(), _signature(profiles)
    with db.conn:
        db.execute("DELETE FROM watch_languages WHERE model_id = ?", [model_id])
        db["watch_languages"].insert_all(
            {"model_id": model_id, "language": lang, "articles": r["articles"], "shift": r["shift"],
             "scale": r["scale"], "status": r["status"], "watches": signature, "updated_at": now}
            for lang, r in table.items())
        changed = set()
        for watch_id in sorted(set(calibrated) - set(skip)):
            db.execute(f"""UPDATE watch_matches SET score = round((watch_matches.z - c.shift) / c.scale
                                                                + coalesce(watch_matches.adjust, 0), 5)
                FROM (SELECT a.id AS article_id, coalesce(l.shift, s.shift) AS shift, coalesce(l.scale, s.scale) AS scale
                      FROM articles a JOIN watch_languages s ON s.model_id = :m AND s.language = ''
                      LEFT JOIN watch_languages l ON l.model_id = :m AND l.language = {LANGUAGE_SQL}) AS c
                WHERE c.article_id = watch_matches.article_id AND watch_matches.z IS NOT NULL
                  AND watch_matches.watch_id = :w""", {"m": model_id, "w": watch_id})
            changed.add(watch_id)
    logger.info("watched narratives standardised per language: %s", ", ".join(
        f"{lang} ({r['articles']} articles, {r['status']})" for lang, r in sorted(table.items()) if lang))
    return changed


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


def _score(db, profile: Profile, watch_id: int, articles: tuple[dict, dict, dict], model_id: str, run_id,
           result: WatchResult, judging: _Judging | None = None, languages=None) -> None:
    found, carriers, langs = articles
    stats = languages or (lambda lang: None)
    out = []
    for aid, (texts, vecs) in found.items():
        (m,) = score_article([profile], vecs, texts, carrier=carriers[aid], language=stats(langs[aid]))
        out.append({"watch_id": watch_id, "article_id": aid, "score": round(m.score, 5),
                    "passage": texts[m.passage_index] if texts else None, "run_id": run_id, "model_id": model_id,
                    "z": None if m.z is None else round(m.z, 6), "adjust": round(m.adjust, 6)})
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
    carriers match. `embedder`: the database's spaces (clustering.embedding.Spaces) or its one
    embedder; scores are standardised per language (`update_languages`)."""
    spaces = spaces_of(embedder)
    result = WatchResult()
    stance = stance if stance is not None else StanceResult()
    judgings: dict[int, _Judging] = {}
    model_id = spaces.model_id
    rows = list(db.query("SELECT * FROM watched_narratives WHERE model_id = ? ORDER BY id", [model_id]))
    profiles = {}
    for row in rows:
        profile = Profile.from_json(row["profile"].decode()) if row["profile"] else None
        if profile is None or (not profile.calibrated and
                               db.execute("SELECT count(DISTINCT article_id) FROM passages WHERE model_id = ?",
                                          [model_id]).fetchone()[0] >= MIN_BACKGROUND):
            # first calibration: scores before and after are not comparable, so start again
            profile = _build(db, spaces, row)
            profile.threshold = row["threshold"]
            with db.conn:
                _store_profile(db, row["id"], profile)
                db.execute("UPDATE watched_narratives SET rescore = 1 WHERE id = ?", [row["id"]])
                db.execute("DELETE FROM watch_matches WHERE watch_id = ?", [row["id"]])
            result.recalibrated += 1
            row["rescore"] = 1
        profiles[row["id"]] = profile
    stored = stored_languages(db, model_id)
    if _languages_due(db, model_id, stored, profiles):
        result.rescored |= update_languages(db, spaces, profiles, skip={r["id"] for r in rows if r["rescore"]})
        stored = stored_languages(db, model_id)
    languages = language_stats(stored)
    for row in rows:
        profile = profiles[row["id"]]
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
                _score(db, profile, row["id"], _articles(db, spaces, ids), model_id, run_id, result,
                       judgings[row["id"]], languages)
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
        articles = _articles(db, spaces, ids) if profiles else ({}, {}, {})
        for watch_id, profile in profiles.items():
            _score(db, profile, watch_id, articles, model_id, run_id, result, judgings[watch_id], languages)
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
