"""The spread stage: per narrative, event and watched narrative, the edges between outlets
(verbatim or partial text reuse, explicit citations and links, adoption lag from the origin)
and the bursts (active periods) of its timeline.

Incremental: what has been counted for a subject is kept (`spread_members`, its outlets' first
appearances in `subject_outlets`, its articles per day and outlet in `subject_days`), so a run
reads only the subject's new members, their copies and citations, and merges them into the
stored edges. Follow edges are rewritten only into the outlets whose first appearance changed
(all of them when the origin changed), and only the last burst is extended (all bursts are
recomputed when a new member is older than its start), so an unchanged row keeps the run that
wrote it. A subject is recomputed from all its members when it has no state yet, its
members may have left (narratives rediscovered, a watched narrative re-scored or re-thresholded)
or one of them changed its time since it was counted (`spread_stale`, filled by a trigger).
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date

import sqlite_utils

from db.connection import write_transaction
from db.migrations import WATCH_MEMBER
from db.spread import member_sql

logger = logging.getLogger(__name__)

BURST_GAP_DAYS = 14  # a quieter stretch than this ends a burst: the narrative "came back" after it
MAX_EVIDENCE = 5
# what the stage keeps per subject: its results and what it has counted so far
STATE_TABLES = ("spread_edges", "narrative_bursts", "spread_members", "subject_outlets", "subject_days")
_TIME = "coalesce(a.published_at, a.fetched_at)"


@dataclass
class SpreadResult:
    subjects: int = 0
    edges: int = 0      # edge rows added or changed
    members: int = 0    # members newly counted
    recomputed: int = 0  # subjects rebuilt from all their members


# the subjects the stage keeps spread for: table and condition per kind
SUBJECT_TABLES = {"narrative": ("narratives", "status = 'active'"), "watch": ("watched_narratives", "true"),
                  "event": ("events", "outlet_count > 1")}


def _subjects(db: sqlite_utils.Database, run_id: int | None) -> list[tuple[str, int]]:
    out = []
    for kind in ("narrative", "watch", "event"):
        table, where = SUBJECT_TABLES[kind]
        changed = " AND updated_run = ?" if kind == "event" and run_id else ""
        out += [(kind, r[0]) for r in db.execute(f"SELECT id FROM {table} WHERE {where}{changed} ORDER BY id",
                                                 [run_id] if changed else [])]
    return out


def _is_subject(db: sqlite_utils.Database, kind: str, sid: int) -> bool:
    """Whether the subject is one the stage keeps spread for (as `_subjects` lists them)."""
    table, where = SUBJECT_TABLES[kind]
    return db.execute(f"SELECT 1 FROM {table} WHERE id = ? AND {where}", [sid]).fetchone() is not None


def member_exists_sql(kind: str, article: str) -> str:
    """Correlated EXISTS: is `article` (a column) a member of the subject `:sid`? Uses the primary key."""
    if kind == "narrative":
        return f"EXISTS (SELECT 1 FROM narrative_memberships WHERE narrative_id = :sid AND article_id = {article})"
    if kind == "event":
        return f"EXISTS (SELECT 1 FROM event_memberships WHERE article_id = {article} AND event_id = :sid)"
    return (f"EXISTS (SELECT 1 FROM watch_matches m JOIN watched_narratives w ON w.id = m.watch_id "
            f"WHERE m.watch_id = :sid AND m.article_id = {article} AND {WATCH_MEMBER})")


class _Edges:
    """Edge rows of one subject keyed by (edge_kind, from, to), merged into what is stored."""

    def __init__(self):
        self.rows: dict[tuple, dict] = {}

    def add(self, frm, to, edge_kind, lag, evidence):
        e = self.rows.setdefault((edge_kind, frm, to), {"from_outlet": frm, "to_outlet": to, "edge_kind": edge_kind,
                                                         "lag_hours": None, "weight": 0, "evidence": []})
        e["weight"] += 1
        if lag is not None and (e["lag_hours"] is None or lag < e["lag_hours"]):
            e["lag_hours"] = lag
        if len(e["evidence"]) < MAX_EVIDENCE:
            e["evidence"].append(evidence)


def _article_pairs(db, kind: str, sid: int, table: str, columns: str):
    """Rows of `table` (text_reuse, translations: article_id -> source_article_id) that pair a new
    member (temp table spread_new) with a member, each once, with both outlets and the lag in hours;
    `columns` are the table's own columns wanted (as r.x)."""
    is_member = member_exists_sql
    return db.query(
        f"""SELECT s.outlet AS src_outlet, c.outlet AS dst_outlet, r.source_article_id, r.article_id, {columns},
                   s.language AS src_language, c.language AS dst_language,
                   round((julianday(coalesce(c.published_at, c.fetched_at)) -
                          julianday(coalesce(s.published_at, s.fetched_at))) * 24, 2) AS lag
            FROM (SELECT r.* FROM spread_new n CROSS JOIN {table} r ON r.article_id = n.id
                  WHERE {is_member(kind, 'r.source_article_id')}
                  UNION ALL
                  SELECT r.* FROM spread_new n CROSS JOIN {table} r ON r.source_article_id = n.id
                  WHERE r.article_id NOT IN (SELECT id FROM spread_new) AND {is_member(kind, 'r.article_id')}) r
            CROSS JOIN articles c ON c.id = r.article_id CROSS JOIN articles s ON s.id = r.source_article_id
            ORDER BY r.source_article_id, r.article_id""", {"sid": sid})


def _new_member_edges(db, kind: str, sid: int, edges: _Edges) -> None:
    """Copies, translations and citations that involve the subject's new members (temp table spread_new)."""
    for r in _article_pairs(db, kind, sid, "text_reuse", "r.containment, r.kind"):
        edges.add(r["src_outlet"], r["dst_outlet"], "copy", r["lag"],
                  {"source_article": r["source_article_id"], "copy_article": r["article_id"], "reuse": r["kind"],
                   "containment": r["containment"]})
    for r in _article_pairs(db, kind, sid, "translations", "r.matched, r.share, r.cosine, r.evidence"):
        pairs = json.loads(r["evidence"] or "[]")
        edges.add(r["src_outlet"], r["dst_outlet"], "translation", r["lag"],
                  {"source_article": r["source_article_id"], "translated_article": r["article_id"],
                   "languages": f"{r['src_language']}->{r['dst_language']}", "matched": r["matched"],
                   "unit": pairs[0].get("unit", "passage") if pairs else "passage",
                   "share": r["share"], "cosine": r["cosine"], "passages": pairs[:1]})
    for r in db.query(
        """SELECT c.target_outlet, a.outlet, a.id, c.kind, c.text, c.target_url
           FROM spread_new n CROSS JOIN citations c ON c.article_id = n.id CROSS JOIN articles a ON a.id = c.article_id
           WHERE c.target_outlet IS NOT NULL AND c.target_outlet != a.outlet ORDER BY a.id, c.id"""):
        edges.add(r["target_outlet"], r["outlet"], "citation", None,
                  {"citing_article": r["id"], "how": r["kind"], "text": r["text"], "url": r["target_url"]})


def _merge_edges(db, kind: str, sid: int, run_id, edges: _Edges) -> int:
    for (edge_kind, frm, to), e in edges.rows.items():
        old = db.execute("""SELECT lag_hours, weight, evidence FROM spread_edges WHERE kind = ? AND subject_id = ?
                            AND edge_kind = ? AND from_outlet = ? AND to_outlet = ?""",
                         [kind, sid, edge_kind, frm, to]).fetchone()
        if old:
            lags = [x for x in (old[0], e["lag_hours"]) if x is not None]
            e["lag_hours"] = min(lags) if lags else None
            e["weight"] += old[1]
            e["evidence"] = (json.loads(old[2] or "[]") + e["evidence"])[:MAX_EVIDENCE]
        db.execute("""INSERT OR REPLACE INTO spread_edges (kind, subject_id, from_outlet, to_outlet, edge_kind,
                      lag_hours, weight, evidence, run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                   [kind, sid, frm, to, edge_kind, e["lag_hours"], e["weight"], json.dumps(e["evidence"]), run_id])
    return len(edges.rows)


def _count_new_members(db, kind: str, sid: int) -> tuple[list[str], str | None]:
    """Add the new members to the subject's days and outlets; return the outlets whose first
    appearance changed (a new outlet, or an earlier article: their follow edges must change) and
    the subject's first appearance before (None: no outlet yet)."""
    before = db.execute("SELECT min(first_seen_at), count(*) FROM subject_outlets WHERE kind = ? AND subject_id = ?",
                        [kind, sid]).fetchone()
    db.execute(f"""INSERT INTO subject_days (kind, subject_id, day, outlet, articles)
                   SELECT ?, ?, substr({_TIME}, 1, 10) AS day, a.outlet, count(*) FROM spread_new n
                   CROSS JOIN articles a ON a.id = n.id GROUP BY day, a.outlet
                   ON CONFLICT (kind, subject_id, day, outlet) DO UPDATE SET articles = articles + excluded.articles""",
               [kind, sid])
    # min() picks the bare id from the row holding the minimum; ties go to the smallest id (ordered scan)
    db.execute(f"""INSERT INTO subject_outlets (kind, subject_id, outlet, first_seen_at, first_article_id, articles)
                   SELECT ?, ?, outlet, time, id, n FROM (
                     SELECT a.outlet, min({_TIME}) AS time, a.id AS id, count(*) AS n FROM spread_new s
                     CROSS JOIN articles a ON a.id = s.id GROUP BY a.outlet) WHERE true
                   ON CONFLICT (kind, subject_id, outlet) DO UPDATE SET
                     articles = articles + excluded.articles,
                     first_article_id = CASE WHEN excluded.first_seen_at < first_seen_at
                       OR (excluded.first_seen_at = first_seen_at AND excluded.first_article_id < first_article_id)
                       THEN excluded.first_article_id ELSE first_article_id END,
                     first_seen_at = min(first_seen_at, excluded.first_seen_at)""", [kind, sid])
    changed = [r[0] for r in db.execute(
        """SELECT DISTINCT o.outlet FROM spread_new n CROSS JOIN articles a ON a.id = n.id
            CROSS JOIN subject_outlets o ON o.kind = ? AND o.subject_id = ? AND o.outlet = a.outlet
            WHERE o.first_article_id = a.id ORDER BY o.outlet""", [kind, sid])]
    db.execute("INSERT OR IGNORE INTO spread_members (kind, subject_id, article_id) SELECT ?, ?, id FROM spread_new",
               [kind, sid])
    return changed, before[0] if before[1] else None


def _follow_edges(db, kind: str, sid: int, run_id, changed: list[str] | None = None,
                  first_before: str | None = None) -> int:
    """Origin outlet(s) -> every later adopter, from the subject's outlets (ties are all origins).
    With `changed` (the outlets whose first appearance changed) and the subject's first appearance
    before them, only the edges into those outlets are rewritten when the origins stay as they were
    (the usual case: new articles are late adopters); otherwise all follow edges are."""
    rows = db.execute("""SELECT outlet, first_seen_at, first_article_id,
                                round((julianday(first_seen_at) - julianday(min(first_seen_at) OVER ())) * 24, 2)
                         FROM subject_outlets WHERE kind = ? AND subject_id = ? ORDER BY first_seen_at, outlet""",
                      [kind, sid]).fetchall()
    first = rows[0][1] if rows else None
    targets = set(changed or ())
    if (changed is None or first_before is None or first != first_before
            or any(r[1] == first for r in rows if r[0] in targets)):
        targets = None  # the origins changed: every adopter's edges change
        db.execute("DELETE FROM spread_edges WHERE kind = ? AND subject_id = ? AND edge_kind = 'follow'", [kind, sid])
    else:
        marks = ",".join("?" * len(targets))
        db.execute(f"""DELETE FROM spread_edges WHERE kind = ? AND subject_id = ? AND edge_kind = 'follow'
                       AND to_outlet IN ({marks})""", [kind, sid, *sorted(targets)])
    if not rows:
        return 0
    origins = [r for r in rows if r[1] == first]
    edges = _Edges()
    for o in origins:
        for r in rows:
            if r[1] != first and (targets is None or r[0] in targets):
                edges.add(o[0], r[0], "follow", r[3], {"origin_article": o[2], "first_article": r[2]})
    return _merge_edges(db, kind, sid, run_id, edges)


def _bursts(db, kind: str, sid: int, run_id) -> None:
    """The subject's bursts from its days. When the new members (spread_new, already in
    subject_days) fall on or after the start of the last stored burst, the earlier bursts cannot
    change: the last one is extended and later ones appended, without reading the subject's days."""
    new_days = db.execute(f"""SELECT substr({_TIME}, 1, 10) AS day, count(*) FROM spread_new n
                              CROSS JOIN articles a ON a.id = n.id GROUP BY day ORDER BY day""").fetchall()
    last = db.execute("""SELECT burst, start_day, end_day, articles FROM narrative_bursts WHERE kind = ? AND subject_id = ?
                         ORDER BY burst DESC LIMIT 1""", [kind, sid]).fetchone()
    if last and new_days and new_days[0][0] is not None and new_days[0][0] >= last[1]:
        out = [{"burst": last[0], "start_day": last[1], "end_day": last[2], "articles": last[3]}]
        for day, n in new_days:  # every stored day is on or before the last burst's end
            cur = out[-1]
            if day <= cur["end_day"]:
                cur["articles"] += n
            elif (date.fromisoformat(day) - date.fromisoformat(cur["end_day"])).days <= BURST_GAP_DAYS:
                cur["end_day"] = day
                cur["articles"] += n
            else:
                out.append({"burst": cur["burst"] + 1, "start_day": day, "end_day": day, "articles": n})
        db.conn.executemany("""INSERT OR REPLACE INTO narrative_bursts (kind, subject_id, burst, start_day, end_day,
                               articles, run_id) VALUES (?, ?, ?, ?, ?, ?, ?)""",
                            [(kind, sid, b["burst"], b["start_day"], b["end_day"], b["articles"], run_id) for b in out])
        return
    days = db.execute("""SELECT day, sum(articles) FROM subject_days WHERE kind = ? AND subject_id = ?
                         GROUP BY day ORDER BY day""", [kind, sid]).fetchall()
    out: list[dict] = []
    for day, n in days:
        d = date.fromisoformat(day)
        if out and (d - date.fromisoformat(out[-1]["end_day"])).days <= BURST_GAP_DAYS:
            out[-1]["end_day"] = day
            out[-1]["articles"] += n
        else:
            out.append({"burst": len(out) + 1, "start_day": day, "end_day": day, "articles": n})
    db.execute("DELETE FROM narrative_bursts WHERE kind = ? AND subject_id = ?", [kind, sid])
    db["narrative_bursts"].insert_all(dict(b, kind=kind, subject_id=sid, run_id=run_id) for b in out)


def clear_subject(db, kind: str, sid: int) -> None:
    for table in STATE_TABLES:
        db.execute(f"DELETE FROM {table} WHERE kind = ? AND subject_id = ?", [kind, sid])


def _update_subject(db, kind: str, sid: int, run_id, *, full: bool,
                    candidates: list[int] | None = None) -> tuple[int, int]:
    """(new members counted, edge rows written) for one subject, in one transaction. `candidates`:
    the only articles that can be new members (this run's); None = look at every member."""
    with write_transaction(db):
        if full or not db.execute("SELECT EXISTS (SELECT 1 FROM spread_members WHERE kind = ? AND subject_id = ?)",
                                  [kind, sid]).fetchone()[0]:
            clear_subject(db, kind, sid)
            candidates = None
        db.execute("DELETE FROM spread_new")
        not_counted = ("NOT EXISTS (SELECT 1 FROM spread_members s WHERE s.kind = ? AND s.subject_id = ? "
                       "AND s.article_id = x.article_id)")
        if candidates is None:
            db.execute(f"INSERT INTO spread_new SELECT article_id FROM ({member_sql(kind)}) x WHERE {not_counted}",
                       [sid, kind, sid])
        else:
            db.conn.executemany(f"INSERT OR IGNORE INTO spread_new SELECT article_id FROM (SELECT ? AS article_id) x "
                           f"WHERE {not_counted}", [(a, kind, sid) for a in candidates])
        new = db.execute("SELECT count(*) FROM spread_new").fetchone()[0]
        if not new:
            return 0, 0
        edges = _Edges()
        _new_member_edges(db, kind, sid, edges)
        written = _merge_edges(db, kind, sid, run_id, edges)
        changed, first_before = _count_new_members(db, kind, sid)
        if changed:
            written += _follow_edges(db, kind, sid, run_id, changed, first_before)
        _bursts(db, kind, sid, run_id)
    return new, written


def _memberships_of(db, articles: list[int]) -> dict[tuple[str, int], list[int]]:
    """(kind, subject id) -> which of `articles` are its members (index lookups by article)."""
    out: dict[tuple[str, int], list[int]] = {}
    queries = {
        "narrative": "SELECT narrative_id, article_id FROM narrative_memberships WHERE article_id IN ({})",
        "event": "SELECT event_id, article_id FROM event_memberships WHERE article_id IN ({})",
        "watch": ("SELECT m.watch_id, m.article_id FROM watch_matches m JOIN watched_narratives w ON w.id = m.watch_id "
                  "WHERE m.article_id IN ({}) AND " + WATCH_MEMBER),
    }
    for i in range(0, len(articles), 500):
        chunk = articles[i:i + 500]
        for kind, sql in queries.items():
            for sid, aid in db.execute(sql.format(",".join("?" * len(chunk))), chunk):
                out.setdefault((kind, sid), []).append(aid)
    return out


def update_spread(db: sqlite_utils.Database, run_id: int | None = None,
                  subjects: list[tuple[str, int]] | None = None, *, recompute=(),
                  articles: list[int] | None = None, all_events: bool = False) -> SpreadResult:
    """Bring the edges and bursts of the given subjects up to date with their members, or of every
    narrative and watched narrative and the events changed by this run (all multi-outlet events
    when run_id is None). Subjects in `recompute` (or all, when `subjects` is None) are rebuilt
    from all their members; the others only add their members not yet counted, looked for among
    `articles` (this run's new articles) when given, else among all their members. `all_events`:
    with `subjects` None, every multi-outlet event rather than this run's."""
    result = SpreadResult()
    everything = subjects is None
    recompute = set(recompute)
    # subjects a member of which changed its time since it was counted: rebuilt from all members
    stale = [(k, i) for k, i in db.execute("SELECT kind, subject_id FROM spread_stale ORDER BY kind, subject_id")]
    if stale and not everything:
        live = {s for s in stale if _is_subject(db, *s)}
        recompute |= live
        subjects = sorted(set(subjects) | live)
    db.execute("CREATE TEMP TABLE IF NOT EXISTS spread_new (id INTEGER PRIMARY KEY)")
    found = _memberships_of(db, articles) if articles is not None else None
    for kind, sid in (_subjects(db, None if all_events else run_id) if everything else subjects):
        full = everything or (kind, sid) in recompute
        candidates = None if found is None or full else found.get((kind, sid), [])
        new, written = _update_subject(db, kind, sid, run_id, full=full, candidates=candidates)
        result.subjects += 1
        result.members += new
        result.edges += written
        result.recomputed += full
    if stale:
        with db.conn:
            db.conn.executemany("DELETE FROM spread_stale WHERE kind = ? AND subject_id = ?", stale)
    if everything or any(kind == "narrative" for kind, _ in recompute):
        # narratives that are no longer active keep no spread
        with db.conn:
            for table in STATE_TABLES:
                db.execute(f"""DELETE FROM {table} WHERE kind = 'narrative'
                               AND subject_id NOT IN (SELECT id FROM narratives WHERE status = 'active')""")
    return result
