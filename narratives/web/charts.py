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


# stance toward a subject's claim (db/spread.py): its members carry it ("not judged": no judge covered
# them); the articles that report or debunk it are shown beside them. Okabe-Ito colours, safe for
# colour-blind readers and always shown with the word: vermillion carries, light grey not judged,
# sky blue reports (attributes it, with distance), dark blue debunks.
STANCES = ("carries", "not judged", "reports", "debunks")
STANCE_COLORS = {"carries": "#d55e00", "not judged": "#bbbbbb", "reports": "#56b4e9", "debunks": "#0072b2"}
STANCE_HELP = {
    "carries": "asserts the claim, or relays it without distance (a member)",
    "not judged": "a member no stance judge has read",
    "reports": "attributes the claim, with distance (not a member)",
    "debunks": "refutes the claim (not a member)",
}


def stance_slug(stance: str | None) -> str:
    """CSS class suffix of a stance: "not judged" -> "not-judged"."""
    return (stance or "none").replace(" ", "-")


def stance_rows(counts: dict[str, int]) -> list[dict]:
    """Counts per stance in the order of STANCES (zeros included), other stances after them."""
    names = list(STANCES) + sorted(set(counts) - set(STANCES))
    return [{"stance": s, "slug": stance_slug(s), "n": counts.get(s, 0), "help": STANCE_HELP.get(s, ""),
             "color": STANCE_COLORS.get(s, "#999999")} for s in names]


def week_start(day: str) -> str:
    d = date.fromisoformat(day)
    return (d - timedelta(days=d.weekday())).isoformat()


def group_buckets(rows: list[dict], key: str = "outlet") -> list[dict]:
    """(bucket, outlet, articles) rows -> one entry per bucket in time order, outlets within it
    (key="stance": (bucket, stance, articles) rows, stances within it)."""
    out: dict[str, dict] = {}
    for r in rows:
        b = out.setdefault(r["bucket"], {"start": r["bucket"], "articles": 0, f"{key}s": {}})
        b["articles"] += r["articles"]
        b[f"{key}s"][r[key]] = b[f"{key}s"].get(r[key], 0) + r["articles"]
    return [out[k] for k in sorted(out)]


def bucket_timeline(timeline: list[dict], bucket: str, key: str = "outlet") -> list[dict]:
    """timeline_daily rows (day, outlet, articles) -> group_buckets() by day or week
    (key="stance": rows of (day, stance, articles))."""
    return group_buckets([dict(r, bucket=r["day"] if bucket == "day" else week_start(r["day"])) for r in timeline],
                         key)


def choose_bucket(days: list[str | None], requested: str | None) -> str:
    """The requested bucket, else week when the days span more than WEEKLY_AFTER_DAYS."""
    if requested in ("day", "week"):
        return requested
    days = [d for d in days if d]
    if not days:
        return "day"
    span = (date.fromisoformat(max(days)) - date.fromisoformat(min(days))).days
    return "week" if span > WEEKLY_AFTER_DAYS else "day"


def fmt_lag(hours: float | None) -> str:
    """Lag after the origin as narratives.js writes it in the graph; a negative one (a debunk
    before the first carrier) with a minus sign."""
    if hours is None:
        return ""
    if hours < 0:
        return "−" + fmt_lag(-hours)[1:]
    if hours < 1:
        return f"+{round(hours * 60)} min"
    if hours < 48:
        return f"+{round(hours, 1):g} h"
    return f"+{round(hours / 24, 1):g} days"


def fmt_after(hours: float | None, what: str = "the origin") -> str:
    """'7.4 days after the origin', '20.2 h before the origin', 'at the same time as the origin'."""
    if hours is None:
        return ""
    if hours == 0:
        return f"at the same time as {what}"
    return f"{fmt_lag(abs(hours))[1:]} {'after' if hours > 0 else 'before'} {what}"


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


def stance_chart(stance_buckets: list[dict] | None, stack: str = "outlet") -> dict:
    """The chart data's stance part (`chart_data(..., **stance_chart(...))`): the buckets stacked by
    stance (group_buckets(key="stance")), the stances' colours, and how the page stacks at first.
    None: the subject has no stance (an event, a database without the stances table)."""
    if stance_buckets is None:
        return {"stack": "outlet"}
    return {"stance_buckets": stance_buckets, "stances": [{"name": s, "color": STANCE_COLORS[s]} for s in STANCES],
            "stack": stack if stack in ("outlet", "stance") else "outlet"}
