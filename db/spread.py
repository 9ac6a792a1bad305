"""How a narrative (or event, or watched narrative) spread: timeline, origin, adopters, edges, bursts.

These functions are what `narratives timeline/spread/influence` print and what the report and
the Datasette narrative pages show. One subject at a time, they read the spread stage's
per-subject counts when those hold every member (`counted`), else the indexed membership tables,
so they stay fast on large databases; the views `timeline_daily` and `spread_outlets` give the
same from the members for your own SQL, and `outlet_influence` is `influence`'s source.

The time of an article is its publication time when known (with the source of that date), else
its first fetch; which one was used is returned as `time_source`. Ties for first-seen are ties:
every outlet at the earliest time is an origin, and equal times share an adoption rank.
"""
from __future__ import annotations

import json

import sqlite_utils

from db.migrations import WATCH_MEMBER  # a watched narrative's members: its carriers above the threshold

KINDS = ("narrative", "event", "watch")


class UnknownSubject(LookupError):
    """No narrative, event or watched narrative with that id."""


def _has_stances(db: sqlite_utils.Database) -> bool:
    # a database not migrated since (plain `datasette` opens it read-only) has no verdicts
    return db.execute("SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'stances')").fetchone()[0]


def member_sql(kind: str, judged: bool = True) -> str:
    """SQL selecting `article_id` of one subject's members; one parameter (the subject id).
    `judged=False`: a database without verdicts (not migrated since m023)."""
    if kind == "narrative":
        return "SELECT article_id FROM narrative_memberships WHERE narrative_id = ?"
    if kind == "event":
        return "SELECT article_id FROM event_memberships WHERE event_id = ?"
    if kind == "watch":
        return ("SELECT m.article_id FROM watch_matches m JOIN watched_narratives w ON w.id = m.watch_id "
                f"WHERE m.watch_id = ? AND {WATCH_MEMBER if judged else 'm.score >= w.effective_threshold'}")
    raise ValueError(f"kind must be one of {', '.join(KINDS)}")


def subject_info(db: sqlite_utils.Database, kind: str, subject_id: int) -> dict:
    table, cols = {"narrative": ("narratives", "id, label AS name, status"),
                   "event": ("events", "id, title AS name, 'active' AS status"),
                   "watch": ("watched_narratives", "id, name, 'watched' AS status")}[kind]
    rows = list(db.query(f"SELECT {cols} FROM {table} WHERE id = ?", [subject_id]))
    if not rows:
        raise UnknownSubject(f"no {kind} with id {subject_id}")
    return dict(rows[0], kind=kind)


def counted(db: sqlite_utils.Database, kind: str, subject_id: int) -> bool:
    """Whether the spread stage's per-subject counts (`subject_days`, `subject_outlets`) hold
    exactly the subject's members, so its timeline and first appearances can be read from them
    instead of from every member's article row (at a million articles a large narrative has
    100,000 members). Members only join between spread runs, except where the stage recounts the
    subject from scratch (narratives rediscovered, a watched narrative re-scored), so equal counts
    mean the same members. Not counted: single-outlet events (not spread subjects), a subject
    whose `process` stopped before its spread stage, a database from before the stage existed,
    a subject one of whose members changed its time since (`spread_stale`, until `process`)."""
    # a database not migrated since (plain `datasette` opens it read-only) lacks these tables
    if db.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN "
                  "('subject_outlets', 'spread_stale')").fetchone()[0] < 2:
        return False
    have = db.execute("SELECT sum(articles) FROM subject_outlets WHERE kind = ? AND subject_id = ?",
                      [kind, subject_id]).fetchone()[0]
    if not have or db.execute("SELECT EXISTS (SELECT 1 FROM spread_stale WHERE kind = ? AND subject_id = ?)",
                              [kind, subject_id]).fetchone()[0]:
        return False
    return have == db.execute(f"SELECT count(*) FROM ({member_sql(kind, _has_stances(db))})", [subject_id]).fetchone()[0]


def _week(day: str) -> str:
    """SQL: the Monday starting the ISO week of the day expression `day` (YYYY-MM-DD...)."""
    return f"date(substr({day}, 1, 10), '-' || ((strftime('%w', substr({day}, 1, 10)) + 6) % 7) || ' days')"


def timeline(db: sqlite_utils.Database, kind: str, subject_id: int, *, by: str = "day") -> list[dict]:
    """Articles per time bucket (day or ISO week starting Monday) and outlet."""
    subject_info(db, kind, subject_id)
    if by not in ("day", "week"):
        raise ValueError("by must be 'day' or 'week'")
    if counted(db, kind, subject_id):
        if by == "day":
            return list(db.query("""SELECT day AS bucket, outlet, articles FROM subject_days
                                    WHERE kind = ? AND subject_id = ? ORDER BY day, outlet""", [kind, subject_id]))
        return list(db.query(f"""SELECT {_week('day')} AS bucket, outlet, sum(articles) AS articles FROM subject_days
                                 WHERE kind = ? AND subject_id = ? GROUP BY bucket, outlet ORDER BY bucket, outlet""",
                             [kind, subject_id]))
    time = "coalesce(a.published_at, a.fetched_at)"
    bucket = f"substr({time}, 1, 10)" if by == "day" else _week(time)
    return list(db.query(
        f"""SELECT {bucket} AS bucket, a.outlet, count(*) AS articles
            FROM articles a WHERE a.id IN ({member_sql(kind, _has_stances(db))})
            GROUP BY bucket, a.outlet ORDER BY bucket, a.outlet""", [subject_id]))


def stance_timeline(db: sqlite_utils.Database, kind: str, subject_id: int, *, by: str = "day") -> list[dict]:
    """Articles per time bucket and stance: the members ("carries", "not judged") and the
    articles that report or debunk the claim."""
    subject_info(db, kind, subject_id)
    if by not in ("day", "week"):
        raise ValueError("by must be 'day' or 'week'")
    counts: dict[tuple[str, str], int] = {}
    for r in articles(db, kind, subject_id, with_coverage=True):
        day = (r["time"] or "")[:10]
        if not day:
            continue
        if by == "week":
            from datetime import date, timedelta

            d = date.fromisoformat(day)
            day = (d - timedelta(days=d.weekday())).isoformat()
        key = (day, r["stance"] or "member")
        counts[key] = counts.get(key, 0) + 1
    return [{"bucket": b, "stance": st, "articles": n} for (b, st), n in sorted(counts.items())]


def adopters(db: sqlite_utils.Database, kind: str, subject_id: int) -> list[dict]:
    """One row per outlet in adoption order: first article, first-seen time and its source, lag, rank.

    Read from the spread stage's `subject_outlets` when it has counted every member (`counted`),
    else one GROUP BY over the members' (outlet, time) rows. Either way title, url and date source
    are read for each outlet's first article only, and ties within an outlet go to the smallest
    id (here the bare `a.id` comes from the row holding min(time), SQLite's documented
    min()/max() bare-column rule, and members are visited in id order).
    """
    if counted(db, kind, subject_id):
        first = """SELECT outlet, first_seen_at AS time, first_article_id AS id, articles FROM subject_outlets
                   WHERE kind = ? AND subject_id = ?"""
        params = [kind, subject_id]
    else:
        first = f"""SELECT a.outlet, min(coalesce(a.published_at, a.fetched_at)) AS time, a.id AS id, count(*) AS articles
                    FROM articles a WHERE a.id IN ({member_sql(kind, _has_stances(db))}) GROUP BY a.outlet"""
        params = [subject_id]
    rows = list(db.query(
        f"""WITH f AS ({first})
            SELECT f.outlet, f.time AS first_seen_at,
                   CASE WHEN a.published_at IS NOT NULL THEN 'published (' || coalesce(a.date_source, '?') || ')'
                        ELSE 'first fetch' END AS time_source,
                   f.articles, f.id AS first_article_id, a.title AS first_title, a.url AS first_url,
                   round((julianday(f.time) - julianday(min(f.time) OVER ())) * 24, 2) AS lag_hours,
                   dense_rank() OVER (ORDER BY f.time) AS adoption_rank
            FROM f JOIN articles a ON a.id = f.id ORDER BY f.time, f.outlet""", params))
    for r in rows:
        r["is_origin"] = r["adoption_rank"] == 1
    return rows


EDGE_LIMIT = 50  # edges of each kind shown by `spread`, the report and the page (strongest first)
EDGE_KINDS = ("copy", "translation", "citation", "follow")


def edges(db: sqlite_utils.Database, kind: str, subject_id: int, *, per_kind: int | None = None) -> list[dict]:
    """The subject's edges by kind; with `per_kind`, only that many of each kind, the strongest
    (most article pairs) first: a narrative that 200 outlets copied from one another has ~40,000
    copy edges, more than any table or graph can show (`edge_counts` gives the totals)."""
    cols = "from_outlet, to_outlet, edge_kind, lag_hours, weight, evidence"
    if per_kind is None:
        found = list(db.query(f"""SELECT {cols} FROM spread_edges WHERE kind = ? AND subject_id = ?
                                 ORDER BY edge_kind, from_outlet, to_outlet""", [kind, subject_id]))
    else:
        found = [r for edge_kind in sorted(EDGE_KINDS) for r in db.query(
            f"""SELECT {cols} FROM spread_edges WHERE kind = ? AND subject_id = ? AND edge_kind = ?
                ORDER BY weight DESC, from_outlet, to_outlet LIMIT ?""", [kind, subject_id, edge_kind, per_kind])]
    for r in found:
        r["evidence"] = json.loads(r["evidence"] or "[]")
    return found


def edge_counts(db: sqlite_utils.Database, kind: str, subject_id: int) -> dict[str, int]:
    """How many edges of each kind the subject has."""
    return dict(db.execute("""SELECT edge_kind, count(*) FROM spread_edges WHERE kind = ? AND subject_id = ?
                              GROUP BY edge_kind ORDER BY edge_kind""", [kind, subject_id]).fetchall())


def evidence_summary(edge: dict, limit: int = 3) -> str:
    """A short reading of an edge's evidence (as clustering/spread_stage.py records it): the reuse kind
    and containment of copies, the languages and aligned passages of translations, how citations cite,
    the two first articles of a follow."""
    parts = []
    for x in edge["evidence"][:limit]:
        if not isinstance(x, dict):  # not written by spread_stage: show it as it is
            parts.append(str(x))
        elif "translated_article" in x:
            parts.append(f"translation {x.get('languages', '')} {x.get('matched')} {x.get('unit', 'passage')}s, "
                         f"cos {x.get('cosine')} "
                         f"(#{x.get('source_article')} → #{x.get('translated_article')})")
        elif "reuse" in x:
            parts.append(f"{x['reuse']} {x.get('containment', '')} (#{x.get('source_article')} → #{x.get('copy_article')})")
        elif "how" in x:
            parts.append(f"{x['how']} in #{x.get('citing_article')}" + (f": {x['text']}" if x.get("text") else ""))
        else:
            parts.append(f"#{x.get('origin_article')} → #{x.get('first_article')}")
    more = len(edge["evidence"]) - limit
    return "; ".join(parts) + (f"; {more} more" if more > 0 else "")


def bursts(db: sqlite_utils.Database, kind: str, subject_id: int) -> list[dict]:
    return list(db.query("""SELECT burst, start_day, end_day, articles FROM narrative_bursts
                            WHERE kind = ? AND subject_id = ? ORDER BY burst""", [kind, subject_id]))


_TIME = ("""coalesce(a.published_at, a.fetched_at) AS time,
           CASE WHEN a.published_at IS NOT NULL THEN 'published (' || coalesce(a.date_source, '?') || ')'
                ELSE 'first fetch' END AS time_source""")
SHOWN_STANCES = ("reports", "debunks")  # shown beside a subject's members (carriers); unrelated ones are dropped


def articles(db: sqlite_utils.Database, kind: str, subject_id: int, *, limit: int | None = None,
             with_coverage: bool = False) -> list[dict]:
    """The subject's articles in time order, with the time used and where it came from, and their
    stance toward its claim ("carries", or "not judged" where no judge covered it; events: none).
    `with_coverage`: the articles that report or debunk it too, in the same order."""
    stance = "NULL"
    join = ""
    if kind != "event" and _has_stances(db):
        stance = "coalesce(s.stance, 'not judged')"
        join = "LEFT JOIN stances s ON s.kind = :kind AND s.subject_id = :sid AND s.article_id = a.id"
    rows = list(db.query(
        f"""SELECT a.id, a.outlet, {_TIME}, a.title, a.url, a.language, {stance} AS stance
            FROM articles a {join} WHERE a.id IN ({member_sql(kind, _has_stances(db)).replace('?', ':sid')})
            ORDER BY time, a.id LIMIT :limit""", {"kind": kind, "sid": subject_id, "limit": -1 if limit is None else limit}))
    if with_coverage:
        rows = sorted(rows + coverage(db, kind, subject_id), key=lambda r: (r["time"] or "", r["id"]))
        rows = rows if limit is None else rows[:limit]
    return rows


def coverage(db: sqlite_utils.Database, kind: str, subject_id: int) -> list[dict]:
    """The articles that report or debunk the subject's claim (not members), in time order, with
    the judge's probabilities and the passages that decided."""
    if kind == "event" or not _has_stances(db):
        return []
    rows = list(db.query(
        f"""SELECT a.id, a.outlet, {_TIME}, a.title, a.url, a.language, s.stance, s.p_carries, s.p_reports,
                   s.p_debunks, s.p_unrelated, s.evidence
            FROM subject_stances s JOIN articles a ON a.id = s.article_id
            WHERE s.kind = :kind AND s.subject_id = :sid
              AND a.id NOT IN ({member_sql(kind).replace('?', ':sid')})
            ORDER BY time, a.id""", {"kind": kind, "sid": subject_id}))
    for r in rows:
        r["evidence"] = json.loads(r["evidence"] or "[]")
    return rows


def stance_counts(db: sqlite_utils.Database, kind: str, subject_id: int) -> dict[str, int]:
    """Members by stance ("carries", "not judged") and the coverage that reports or debunks."""
    if kind == "event" or not _has_stances(db):
        return {}
    out = dict(db.execute(
        f"""SELECT coalesce(s.stance, 'not judged'), count(*) FROM ({member_sql(kind).replace('?', ':sid')}) m
            LEFT JOIN stances s ON s.kind = :kind AND s.subject_id = :sid AND s.article_id = m.article_id
            GROUP BY 1""", {"kind": kind, "sid": subject_id}).fetchall())
    for r in coverage(db, kind, subject_id):
        out[r["stance"]] = out.get(r["stance"], 0) + 1
    return out


def _firsts(rows: list[dict], origin_time: str | None) -> list[dict]:
    """Per outlet its first row, in time order, with the lag after the origin (hours)."""
    from datetime import datetime

    def hours(t):
        if not (t and origin_time):
            return None
        try:
            a = datetime.fromisoformat(t.replace("Z", "+00:00"))
            b = datetime.fromisoformat(origin_time.replace("Z", "+00:00"))
        except ValueError:
            return None
        if (a.tzinfo is None) != (b.tzinfo is None):
            a, b = a.replace(tzinfo=None), b.replace(tzinfo=None)
        return round((a - b).total_seconds() / 3600, 2)

    per_outlet: dict[str, int] = {}
    for r in rows:
        per_outlet[r["outlet"]] = per_outlet.get(r["outlet"], 0) + 1
    seen, out = set(), []
    for r in rows:
        if r["outlet"] in seen:
            continue
        seen.add(r["outlet"])
        out.append({"outlet": r["outlet"], "first_article_id": r["id"], "first_seen_at": r["time"],
                    "time_source": r["time_source"], "first_title": r["title"], "first_url": r["url"],
                    # negative: before the origin (a debunk of a claim made elsewhere first)
                    "lag_after_origin_hours": hours(r["time"]), "articles": per_outlet[r["outlet"]]})
    return out


def _with_first_stance(db, kind: str, subject_id: int, order: list[dict]) -> list[dict]:
    """Each adopter's first article's language and stance: "carries", or "not judged" where the
    subject was judged but no judge reads that article's language (None: the subject was never
    judged); `first_stance_via`: the article the judge read in its place (its full translation)."""
    judged = kind != "event" and _has_stances(db) and db.execute(
        "SELECT EXISTS (SELECT 1 FROM stances WHERE kind = ? AND subject_id = ?)", [kind, subject_id]).fetchone()[0]
    for r in order:
        row = db.execute("SELECT a.language, s.stance, s.via_article_id FROM articles a LEFT JOIN stances s "
                         "ON s.article_id = a.id AND s.kind = ? AND s.subject_id = ? WHERE a.id = ?",
                         [kind, subject_id, r["first_article_id"]]).fetchone()
        r["first_language"] = row[0] if row else None
        r["first_stance"] = (row[1] or "not judged") if judged and row else None
        r["first_stance_via"] = row[2] if row else None
    return order


def spread(db: sqlite_utils.Database, kind: str, subject_id: int, *, edges_per_kind: int | None = EDGE_LIMIT) -> dict:
    """Origin, adopters in order, edges (the `edges_per_kind` strongest of each kind, None = all;
    `edge_counts` has the totals) and bursts."""
    info = subject_info(db, kind, subject_id)
    order = _with_first_stance(db, kind, subject_id, adopters(db, kind, subject_id))
    origin_time = order[0]["first_seen_at"] if order else None
    cov = coverage(db, kind, subject_id)
    reported = _firsts([r for r in cov if r["stance"] == "reports"], origin_time)
    debunked = _firsts([r for r in cov if r["stance"] == "debunks"], origin_time)
    return {"subject": info, "origin": [r["outlet"] for r in order if r["is_origin"]],
            "adopters": order, "edges": edges(db, kind, subject_id, per_kind=edges_per_kind),
            "edge_counts": edge_counts(db, kind, subject_id), "bursts": bursts(db, kind, subject_id),
            "reported_by": reported, "debunked_by": debunked,
            "first_debunk": debunked[0] if debunked else None,
            "stance_counts": stance_counts(db, kind, subject_id)}


def influence(db: sqlite_utils.Database) -> list[dict]:
    """Per outlet across narratives: how often it originates, how often it adopts, copies, citations."""
    return list(db.query("""SELECT * FROM outlet_influence
                            ORDER BY originated DESC, copied_by_others DESC, cited_by_others DESC, outlet"""))
