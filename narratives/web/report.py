"""`narratives report DB ID --html FILE`: one narrative (event, watched narrative) on one HTML page to share.

The page is templates/narratives_report.html with the Datasette page's chart script and styles
(static/narratives.js, static/narratives.css) inlined and the chart data (charts.py, the same
object the Datasette page draws) in a JSON block, so it opens from disk, offline, and can be
mailed. Narratives and watched narratives show each article's stance toward the claim (the
members, and beside them the articles that report or debunk it), the counts per stance, who
reported and who debunked it and the first debunk with its lag after the origin, from the
functions `narratives spread --json` prints (db/spread.py). Its Content-Security-Policy admits only the inlined script, by hash: nothing is fetched
from elsewhere, and text from the database could not run as script even if escaping failed.
"""
from __future__ import annotations

import base64
import hashlib
import logging
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

import sqlite_utils
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from narratives.web.charts import (chart_data, choose_bucket, fmt_after, fmt_lag, group_buckets,
                                   outlet_colors, stance_chart, stance_rows, subject_summary)
from db.spread import EDGE_LIMIT, articles, evidence_summary, spread, stance_timeline, subject_info, timeline

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
TEMPLATE = "narratives_report.html"
SCRIPTS = ("narratives.js",)
STYLES = ("narratives.css", "narratives-report.css")
TABLES = {"narrative": "narratives", "event": "events", "watch": "watched_narratives"}
KIND_LABELS = {"narrative": "Narrative", "event": "Event", "watch": "Watched narrative"}
# a shared file should stay small enough to mail; the rest is in the database
ARTICLE_LIMIT = 5000


class ReportError(Exception):
    """The report could not be built or written; the message names the file."""


def report_data(db: sqlite_utils.Database, kind: str, subject_id: int, *, by: str | None = None) -> dict:
    """Everything the page shows; raises db.spread.UnknownSubject for an unknown id.

    by: "day", "week", or None for week when the articles span more than half a year (as the
    Datasette page does).
    """
    subject_info(db, kind, subject_id)
    row = next(db.query(f"SELECT * FROM [{TABLES[kind]}] WHERE id = ?", [subject_id]))
    subject = subject_summary(kind, row)
    daily = timeline(db, kind, subject_id, by="day")
    bucket = choose_bucket([r["bucket"] for r in daily], by)
    rows = daily if bucket == "day" else timeline(db, kind, subject_id, by="week")
    # what `narratives spread --json` prints: origin and adopters (carriers), edges, bursts, and
    # who reported or debunked the claim, when
    spread_data = spread(db, kind, subject_id, edges_per_kind=EDGE_LIMIT)
    order = spread_data["adopters"]
    edge_rows = [dict(e, evidence_text=evidence_summary(e)) for e in spread_data["edges"]]
    burst_rows = spread_data["bursts"]
    colors = outlet_colors(order, {r["outlet"] for r in daily})
    days = [r["bucket"] for r in daily]
    has_stance = kind != "event" and "stances" in db.table_names()
    stance_part = stance_chart(None)
    listed = articles(db, kind, subject_id, limit=ARTICLE_LIMIT)
    counts = spread_data["stance_counts"] if has_stance else {}
    if has_stance:
        stance_part = stance_chart(group_buckets(stance_timeline(db, kind, subject_id, by=bucket), key="stance"))
        # the members and, beside them, the articles that report or debunk the claim: each once
        seen: set[int] = set()
        listed = [r for r in articles(db, kind, subject_id, limit=ARTICLE_LIMIT, with_coverage=True)
                  if not (r["id"] in seen or seen.add(r["id"]))]
    member_total = sum(r["articles"] for r in daily)
    return {
        "kind": kind, "kind_label": KIND_LABELS[kind], "subject_id": subject_id, "subject": subject,
        "origin": [r for r in order if r["is_origin"]], "adopters": order, "edges": edge_rows,
        "edge_counts": spread_data["edge_counts"],
        "bursts": burst_rows, "colors": colors, "bucket": bucket,
        "article_total": member_total,
        "articles": listed,
        "listed_total": sum(counts.values()) if has_stance else member_total,
        "has_stance": has_stance,
        "judged": bool(has_stance and db.execute("SELECT EXISTS (SELECT 1 FROM stances WHERE kind = ? AND subject_id = ?)",
                                                  [kind, subject_id]).fetchone()[0]),
        "stance_counts": stance_rows(counts) if has_stance else [],
        "reported_by": spread_data["reported_by"], "debunked_by": spread_data["debunked_by"],
        "first_debunk": spread_data["first_debunk"],
        "first_day": min(days, default=None), "last_day": max(days, default=None),
        "chart": chart_data(kind, subject_id, subject["title"], bucket, group_buckets(rows), burst_rows, order,
                            edge_rows, colors, **stance_part),
    }


def asset(name: str, closing_tag: str) -> str:
    """A bundled file to inline; it must not close the element it is inlined into."""
    text = (HERE / "static" / name).read_text(encoding="utf-8")
    if closing_tag in text.lower():
        raise ReportError(f"narratives/web/static/{name} contains {closing_tag}: it cannot be inlined")
    return text


def web_url(url: str | None) -> str | None:
    """Only http(s) links: a javascript: or data: URL in the database must not become a link."""
    return url if url and urlsplit(url).scheme.lower() in ("http", "https") else None


def render_report(data: dict, *, database_name: str = "") -> str:
    env = Environment(loader=FileSystemLoader(str(HERE / "templates")), autoescape=True,
                      undefined=StrictUndefined, keep_trailing_newline=True)
    env.filters.update(lag=fmt_lag, nt_lag=fmt_lag, nt_after=fmt_after, web_url=web_url)
    script = "\n".join(asset(name, "</script") for name in SCRIPTS)
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    csp = f"default-src 'none'; script-src 'sha256-{digest}'; style-src 'unsafe-inline'; img-src data:"
    return env.get_template(TEMPLATE).render(
        **data, csp=csp, script=Markup(script), style=Markup("\n".join(asset(n, "</style") for n in STYLES)),
        database_name=database_name, generated_at=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))


def write_report(db: sqlite_utils.Database, kind: str, subject_id: int, path: str | os.PathLike, *,
                 by: str | None = None, database_name: str = "") -> dict:
    """Build the page and write it to *path* atomically (a reader never sees half a file); returns the data."""
    data = report_data(db, kind, subject_id, by=by)
    html = render_report(data, database_name=database_name)
    path = Path(path)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(html)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; a report is for sharing
        os.replace(tmp, path)
    except OSError as exc:
        if tmp and os.path.exists(tmp):
            os.unlink(tmp)
        raise ReportError(f"cannot write {path}: {exc.strerror or exc}") from exc
    logger.debug("wrote %s (%d bytes)", path, len(html.encode("utf-8")))
    return data
