"""Read queries over events, narratives and watched narratives (what `list`, `show` and `watch` print)."""
from __future__ import annotations

import json

import sqlite_utils


class UnknownNarrative(LookupError):
    """No narrative or watched narrative with that id or name."""


def list_narratives(db: sqlite_utils.Database, *, include_inactive: bool = False) -> list[dict]:
    where = "" if include_inactive else "WHERE status = 'active'"
    rows = []
    for r in db.query(f"""
        SELECT id, label, keywords, article_count AS articles, outlet_count AS outlets, event_count AS events,
               first_seen_at, last_seen_at, status, headline, label_language
        FROM narratives {where} ORDER BY article_count DESC, id
    """):
        r["keywords"] = ", ".join(json.loads(r["keywords"] or "[]"))
        rows.append(r)
    return rows


def show_narrative(db: sqlite_utils.Database, narrative_id: int, *, limit: int = 20) -> dict:
    row = db.execute("SELECT * FROM narratives WHERE id = ?", [narrative_id]).fetchone()
    if row is None:
        raise UnknownNarrative(f"no narrative with id {narrative_id}: see `narratives list`")
    cols = [d[0] for d in db.execute("SELECT * FROM narratives LIMIT 0").description]
    narrative = {k: v for k, v in zip(cols, row) if k != "centroid"}
    narrative["keywords"] = json.loads(narrative["keywords"] or "[]")
    judged = "stances" in db.table_names()
    stance = "coalesce(s.stance, 'not judged')" if judged else "NULL"
    join = ("LEFT JOIN stances s ON s.kind = 'narrative' AND s.subject_id = m.narrative_id AND s.article_id = a.id"
            if judged else "")
    articles = list(db.query(f"""
        SELECT a.id, a.outlet, coalesce(a.published_at, a.fetched_at) AS time, a.title, a.url, a.language,
               round(m.score, 4) AS score, em.event_id AS event, {stance} AS stance
        FROM narrative_memberships m JOIN articles a ON a.id = m.article_id
        LEFT JOIN event_memberships em ON em.article_id = a.id {join}
        WHERE m.narrative_id = ? ORDER BY m.score DESC, a.id LIMIT ?
    """, [narrative_id, limit]))
    # the coverage that reports or debunks its claim: kept apart, never members
    coverage = list(db.query("""
        SELECT a.id, a.outlet, coalesce(a.published_at, a.fetched_at) AS time, a.title, a.url, a.language, s.stance,
               round(s.p_reports, 3) AS p_reports, round(s.p_debunks, 3) AS p_debunks
        FROM stances s JOIN articles a ON a.id = s.article_id
        WHERE s.kind = 'narrative' AND s.subject_id = ? AND s.stance IN ('reports', 'debunks')
        ORDER BY time, a.id""", [narrative_id])) if judged else []
    outlets = list(db.query("""
        SELECT a.outlet, count(*) AS articles, min(coalesce(a.published_at, a.fetched_at)) AS first_seen_at,
               max(coalesce(a.published_at, a.fetched_at)) AS last_seen_at
        FROM narrative_memberships m JOIN articles a ON a.id = m.article_id
        WHERE m.narrative_id = ? GROUP BY a.outlet ORDER BY first_seen_at, a.outlet
    """, [narrative_id]))
    events = list(db.query("""
        SELECT e.id, e.title, count(*) AS articles, e.first_at, e.last_at
        FROM narrative_memberships m JOIN event_memberships em ON em.article_id = m.article_id
        JOIN events e ON e.id = em.event_id
        WHERE m.narrative_id = ? GROUP BY e.id ORDER BY e.first_at, e.id
    """, [narrative_id]))
    lineage = list(db.query("""
        SELECT l.run_id, l.kind, l.from_id, l.to_id, l.overlap, r.started_at
        FROM narrative_lineage l JOIN runs r ON r.id = l.run_id
        WHERE l.from_id = ? OR l.to_id = ? ORDER BY l.run_id, l.id
    """, [narrative_id, narrative_id]))
    narrative["claims"] = json.loads(narrative.get("claims") or "[]")
    return {"narrative": narrative, "articles": articles, "coverage": coverage, "outlets": outlets, "events": events,
            "lineage": lineage}


def list_events(db: sqlite_utils.Database, *, limit: int = 50, min_articles: int = 1) -> list[dict]:
    return list(db.query("""
        SELECT id, title, article_count AS articles, outlet_count AS outlets, first_at, last_at
        FROM events WHERE article_count >= ? ORDER BY article_count DESC, first_at, id LIMIT ?
    """, [min_articles, limit]))
