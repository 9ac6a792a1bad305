"""The data narratives.js draws: shared by the Datasette pages and the standalone report.

static/narratives.js reads one JSON object (see its header comment); both
datasette_plugin.py and report.py (beside this module) build it here, so the two views of a narrative cannot
drift apart.
"""
from __future__ import annotations

import json
from datetime import date, timedelta

# bucket by week when a subject's articles span more days than this (else by day)
WEEKLY_AFTER_DAYS = 180
# colours of outlets, in order of first appearance (Tableau 10, readable on white)
PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
           "#9c755f", "#7f7f7f"]


def week_start(day: str) -> str:
    d = date.fromisoformat(day)
    return (d - timedelta(days=d.weekday())).isoformat()


def group_buckets(rows: list[dict]) -> list[dict]:
    """(bucket, outlet, articles) rows -> one entry per bucket in time order, outlets within it."""
    out: dict[str, dict] = {}
    for r in rows:
        b = out.setdefault(r["bucket"], {"start": r["bucket"], "articles": 0, "outlets": {}})
        b["articles"] += r["articles"]
        b["outlets"][r["outlet"]] = b["outlets"].get(r["outlet"], 0) + r["articles"]
    return [out[k] for k in sorted(out)]


def bucket_timeline(timeline: list[dict], bucket: str) -> list[dict]:
    """timeline_daily rows (day, outlet, articles) -> group_buckets() by day or week."""
    return group_buckets([dict(r, bucket=r["day"] if bucket == "day" else week_start(r["day"])) for r in timeline])


def choose_bucket(days: list[str | None], requested: str | None) -> str:
    """The requested bucket, else week when the days span more than WEEKLY_AFTER_DAYS."""
    if requested in ("day", "week"):
        return requested
    days = [d for d in days if d]
    if not days:
        return "day"
    span = (date.fromisoformat(max(days)) - date.fromisoformat(min(days))).days
    return "week" if span > WEEKLY_AFTER_DAYS else "day"


def subject_summary(kind: str, row: dict) -> dict:
    """The fields a page header shows, whatever the subject's table is."""
    row = {k: v for k, v in row.items() if not isinstance(v, bytes)}
    keywords = row.get("keywords")
    try:
        keywords = json.loads(keywords) if isinstance(keywords, str) else keywords
    except ValueError:
        keywords = [keywords]
    if kind == "narrative":
        title, subtitle = row.get("label"), row.get("headline")
    elif kind == "event":
        title, subtitle = row.get("title"), None
    else:
        title, subtitle = row.get("name"), row.get("description")
    return {"title": title or f"{kind} {row.get('id')}", "subtitle": subtitle, "keywords": keywords or [],
            "status": row.get("status"), "row": row}


def outlet_colors(nodes: list[dict], outlets: set[str]) -> dict[str, str]:
    """Outlet -> colour, in order of first appearance; outlets without a spread row (should not happen) last."""
    order = [n["outlet"] for n in nodes]
    order += sorted(outlets - set(order))
    return {o: PALETTE[i % len(PALETTE)] for i, o in enumerate(order)}


def chart_data(kind: str, subject_id: int, title: str, bucket: str, buckets: list[dict], bursts: list[dict],
               nodes: list[dict], edges: list[dict], colors: dict[str, str], **extra) -> dict:
    """The JSON object of <script id="nt-data">. Edge evidence is passed as JSON text: the graph shows it as is."""
    edges = [dict(e, evidence=e["evidence"] if isinstance(e.get("evidence"), (str, type(None)))
                  else json.dumps(e["evidence"], ensure_ascii=False)) for e in edges]
    return {"kind": kind, "id": subject_id, "title": title, "bucket": bucket, "buckets": buckets, "bursts": bursts,
            "outlets": [{"name": o, "color": c} for o, c in colors.items()], "nodes": nodes, "edges": edges, **extra}
