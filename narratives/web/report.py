"""`narratives report DB ID --html FILE`: one narrative (event, watched narrative) on one HTML page to share.

The page is templates/narratives_report.html with the Datasette page's chart script and styles
(static/narratives.js, static/narratives.css) inlined and the chart data (charts.py, the same
object the Datasette page draws) in a JSON block, so it opens from disk, offline, and can be
mailed. Its Content-Security-Policy admits only the inlined script, by hash: nothing is fetched
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

from narratives.web.charts import chart_data, choose_bucket, group_buckets, outlet_colors, subject_summary
from db.spread import (EDGE_LIMIT, adopters, articles, bursts, edge_counts, edges, evidence_summary,
                       subject_info, timeline)

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
    order = adopters(db, kind, subject_id)
    edge_rows = [dict(e, evidence_text=evidence_summary(e)) for e in edges(db, kind, subject_id, per_kind=EDGE_LIMIT)]
    burst_rows = bursts(db, kind, subject_id)
    colors = outlet_colors(order, {r["outlet"] for r in daily})
    days = [r["bucket"] for r in daily]
    return {
        "kind": kind, "kind_label": KIND_LABELS[kind], "subject_id": subject_id, "subject": subject,
        "origin": [r for r in order if r["is_origin"]], "adopters": order, "edges": edge_rows,
        "edge_counts": edge_counts(db, kind, subject_id),
        "bursts": burst_rows, "colors": colors, "bucket": bucket,
        "article_total": sum(r["articles"] for r in daily),
        "articles": articles(db, kind, subject_id, limit=ARTICLE_LIMIT),
        "first_day": min(days, default=None), "last_day": max(days, default=None),
        "chart": chart_data(kind, subject_id, subject["title"], bucket, group_buckets(rows), burst_rows, order,
                            edge_rows, colors),
    }


def asset(name: str, closing_tag: str) -> str:
    """A bundled file to inline; it must not close the element it is inlined into."""
    text = (HERE / "static" / name).read_text(encoding="utf-8")
    if closing_tag in text.lower():
        raise ReportError(f"narratives/web/static/{name} contains {closing_tag}: it cannot be inlined")
    return text


def fmt_lag(hours: float | None) -> str:
    """Lag after the origin as narratives.js writes it in the graph."""
    if hours is None:
        return ""
    if hours < 1:
        return f"+{round(hours * 60)} min"
    if hours < 48:
        return f"+{round(hours, 1):g} h"
    return f"+{round(hours / 24, 1):g} days"


def web_url(url: str | None) -> str | None:
    """Only http(s) links: a javascript: or data: URL in the database must not become a link."""
    return url if url and urlsplit(url).scheme.lower() in ("http", "https") else None


def render_report(data: dict, *, database_name: str = "") -> str:
    env = Environment(loader=FileSystemLoader(str(HERE / "templates")), autoescape=True,
                      undefined=StrictUndefined, keep_trailing_newline=True)
    env.filters.update(lag=fmt_lag, web_url=web_url)
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
