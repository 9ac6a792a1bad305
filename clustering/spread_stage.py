"""The spread stage: per narrative, event and watched narrative, the edges between outlets
(verbatim or partial text reuse, explicit citations and links, adoption lag from the origin)
and the bursts (active periods) of its timeline."""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date

import sqlite_utils

from db.spread import adopters, member_sql

logger = logging.getLogger(__name__)

BURST_GAP_DAYS = 14  # a quieter stretch than this ends a burst: the narrative "came back" after it
MAX_EVIDENCE = 5


@dataclass
class SpreadResult:
    subjects: int = 0
    edges: int = 0


def _subjects(db: sqlite_utils.Database, run_id: int | None) -> list[tuple[str, int]]:
    out = [("narrative", r[0]) for r in db.execute("SELECT id FROM narratives WHERE status = 'active' ORDER BY id")]
    out += [("watch", r[0]) for r in db.execute("SELECT id FROM watched_narratives ORDER BY id")]
    events = db.execute("SELECT id FROM events WHERE outlet_count > 1" + (" AND updated_run = ?" if run_id else "")
                        + " ORDER BY id", [run_id] if run_id else []).fetchall()
    return out + [("event", r[0]) for r in events]


def subject_edges(db: sqlite_utils.Database, kind: str, subject_id: int) -> list[dict]:
    members = f"({member_sql(kind)})"
    out: dict[tuple, dict] = {}

    def add(frm, to, edge_kind, lag, evidence):
        e = out.setdefault((frm, to, edge_kind), {"from_outlet": frm, "to_outlet": to, "edge_kind": edge_kind,
                                                 "lag_hours": lag, "weight": 0, "evidence": []})
        e["weight"] += 1
        if lag is not None and (e["lag_hours"] is None or lag < e["lag_hours"]):
            e["lag_hours"] = lag
        if len(e["evidence"]) < MAX_EVIDENCE:
            e["evidence"].append(evidence)

    for r in db.query(
        f"""SELECT s.outlet AS src_outlet, c.outlet AS dst_outlet, r.source_article_id, r.article_id, r.containment, r.kind,
                   round((julianday(coalesce(c.published_at, c.fetched_at)) -
                          julianday(coalesce(s.published_at, s.fetched_at))) * 24, 2) AS lag
            FROM text_reuse r JOIN articles c ON c.id = r.article_id JOIN articles s ON s.id = r.source_article_id
            WHERE r.article_id IN {members} AND r.source_article_id IN {members}
            ORDER BY r.source_article_id, r.article_id""", [subject_id, subject_id]):
        add(r["src_outlet"], r["dst_outlet"], "copy", r["lag"],
            {"source_article": r["source_article_id"], "copy_article": r["article_id"], "reuse": r["kind"],
             "containment": r["containment"]})
    for r in db.query(
        f"""SELECT c.target_outlet, a.outlet, a.id, c.kind, c.text, c.target_url FROM citations c
            JOIN articles a ON a.id = c.article_id
            WHERE c.article_id IN {members} AND c.target_outlet IS NOT NULL AND c.target_outlet != a.outlet
            ORDER BY a.id, c.id""", [subject_id]):
        add(r["target_outlet"], r["outlet"], "citation", None,
            {"citing_article": r["id"], "how": r["kind"], "text": r["text"], "url": r["target_url"]})
    order = adopters(db, kind, subject_id)
    origins = [r for r in order if r["is_origin"]]
    for o in origins:
        for r in order:
            if not r["is_origin"]:
                add(o["outlet"], r["outlet"], "follow", r["lag_hours"],
                    {"origin_article": o["first_article_id"], "first_article": r["first_article_id"]})
    return list(out.values())


def subject_bursts(db: sqlite_utils.Database, kind: str, subject_id: int) -> list[dict]:
    days = db.execute(f"""SELECT substr(coalesce(published_at, fetched_at), 1, 10) AS day, count(*) FROM articles
                          WHERE id IN ({member_sql(kind)}) GROUP BY day ORDER BY day""", [subject_id]).fetchall()
    out: list[dict] = []
    for day, n in days:
        d = date.fromisoformat(day)
        if out and (d - date.fromisoformat(out[-1]["end_day"])).days <= BURST_GAP_DAYS:
            out[-1]["end_day"] = day
            out[-1]["articles"] += n
        else:
            out.append({"burst": len(out) + 1, "start_day": day, "end_day": day, "articles": n})
    return out


def update_spread(db: sqlite_utils.Database, run_id: int | None = None,
                  subjects: list[tuple[str, int]] | None = None) -> SpreadResult:
    """Recompute edges and bursts of the given subjects, or of every narrative and watched
    narrative and the events changed by this run (all multi-outlet events when run_id is None)."""
    result = SpreadResult()
    for kind, sid in (subjects if subjects is not None else _subjects(db, run_id)):
        edge_rows = subject_edges(db, kind, sid)
        burst_rows = subject_bursts(db, kind, sid)
        with db.conn:
            db.execute("DELETE FROM spread_edges WHERE kind = ? AND subject_id = ?", [kind, sid])
            db.execute("DELETE FROM narrative_bursts WHERE kind = ? AND subject_id = ?", [kind, sid])
            db["spread_edges"].insert_all(dict(e, kind=kind, subject_id=sid, run_id=run_id,
                                               evidence=json.dumps(e["evidence"])) for e in edge_rows)
            db["narrative_bursts"].insert_all(dict(b, kind=kind, subject_id=sid, run_id=run_id) for b in burst_rows)
        result.subjects += 1
        result.edges += len(edge_rows)
    # narratives that are no longer active keep no edges
    with db.conn:
        db.execute("""DELETE FROM spread_edges WHERE kind = 'narrative'
                      AND subject_id NOT IN (SELECT id FROM narratives WHERE status = 'active')""")
    return result
