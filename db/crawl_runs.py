"""Crawl runs: one row per crawl with per-outlet and per-feed/sitemap stats (what `health` reads)."""
from __future__ import annotations

import json
import logging
import os
import socket
from datetime import datetime

import sqlite_utils

from db.connection import is_full_error
from db.migrations import utcnow

logger = logging.getLogger(__name__)

# per-outlet counters kept as columns of crawl_run_outlets
OUTLET_COUNTERS = ("requests", "pages", "not_modified", "articles_new", "articles_updated", "already_stored",
                   "revisits", "not_extracted", "errors", "robots_forbidden", "addresses_refused")
TOTAL_COUNTERS = ("requests", "pages", "articles_new", "articles_updated", "errors")


def start_crawl_run(db: sqlite_utils.Database, *, outlets: list[str], mode: str = "local",
                    params: dict | None = None) -> int:
    """Record a crawl as running; a crawl found still 'running' later was killed (see mark_abandoned)."""
    with db.conn:
        return db["crawl_runs"].insert({
            "started_at": utcnow(), "status": "running", "mode": mode, "outlets": json.dumps(outlets),
            "params": json.dumps(params or {}, default=str), "pid": os.getpid(), "host": socket.gethostname(),
        }).last_pk


def mark_abandoned(db: sqlite_utils.Database) -> list[int]:
    """Runs still 'running' while the caller holds the run lock were killed: say so. Returns their ids."""
    ids = [r[0] for r in db.execute("SELECT id FROM crawl_runs WHERE status = 'running'")]
    if ids:
        with db.conn:
            db.execute("UPDATE crawl_runs SET status = 'killed', reason = 'process ended without finishing the run'"
                       f" WHERE id IN ({', '.join('?' for _ in ids)})", ids)
    return ids


def _elapsed(first: str | None, last: str | None) -> float | None:
    if not first or not last:
        return None
    fmt = "%Y-%m-%dT%H:%M:%S.%fZ" if "." in first else "%Y-%m-%dT%H:%M:%SZ"
    try:
        return round((datetime.strptime(last, fmt) - datetime.strptime(first, fmt)).total_seconds(), 3)
    except ValueError:
        return None


def finish_crawl_run(db: sqlite_utils.Database, run_id: int, outlet_stats: dict[str, dict], *, status: str,
                     reason: str | None = None, duration_s: float | None = None) -> dict:
    """Write the per-outlet stats ({outlet: {counter: n, requests_by_kind: {}, errors_by_kind: {},
    robots_sha1, first_at, last_at}}) and close the run; return the run's totals."""
    rows = []
    for outlet, st in sorted(outlet_stats.items()):
        row = {"run_id": run_id, "outlet": outlet, **{c: int(st.get(c, 0) or 0) for c in OUTLET_COUNTERS}}
        row["requests_by_kind"] = json.dumps(dict(sorted((st.get("requests_by_kind") or {}).items())))
        row["errors_by_kind"] = json.dumps(dict(sorted((st.get("errors_by_kind") or {}).items())))
        row["robots_sha1"] = st.get("robots_sha1")
        row["duration_s"] = _elapsed(st.get("first_at"), st.get("last_at"))
        rows.append(row)
    totals = {c: sum(r[c] for r in rows) for c in TOTAL_COUNTERS}
    run = {"finished_at": utcnow(), "status": status, "reason": reason,
           "duration_s": round(duration_s, 3) if duration_s is not None else None, **totals}
    try:
        with db.conn:
            if rows:
                db["crawl_run_outlets"].upsert_all(rows, pk=("run_id", "outlet"))
            db["crawl_runs"].update(run_id, run)
    except Exception as exc:
        if not is_full_error(exc):
            raise
        # the database is full (a crawl stopped by it, most likely): close the run without its
        # per-outlet rows, or leave it for the next run to mark killed when even that does not fit
        logger.error("database full: crawl run %d closed without its per-outlet stats (%s)", run_id, exc)
        try:
            with db.conn:
                db["crawl_runs"].update(run_id, run)
        except Exception as again:
            if not is_full_error(again):
                raise
            logger.error("database full: crawl run %d could not be closed; the next run marks it killed", run_id)
    return totals


def record_source(db: sqlite_utils.Database, run_id: int, page: dict) -> None:
    """A feed or sitemap fetched in run *run_id*: its status, error and how many entries were new."""
    db["crawl_run_sources"].upsert({
        "run_id": run_id, "outlet": page["outlet"], "url": page["url"], "kind": page["kind"],
        "status": page.get("status"), "error": page.get("error"),
        "entries": page.get("entries"), "new_entries": page.get("new_entries"),
    }, pk=("run_id", "url"))


def link_process_run(db: sqlite_utils.Database, run_id: int, process_run_id: int | None) -> None:
    with db.conn:
        db["crawl_runs"].update(run_id, {"process_run_id": process_run_id})


def list_crawl_runs(db: sqlite_utils.Database, limit: int = 20, outlet: str | None = None) -> list[dict]:
    """The newest crawl runs with their totals (per outlet when *outlet* is given)."""
    if outlet:
        sql = """SELECT r.id, r.started_at, r.status, r.mode, o.outlet, o.requests, o.pages, o.not_modified,
                        o.articles_new, o.articles_updated, o.already_stored, o.errors, o.errors_by_kind,
                        o.robots_forbidden, o.addresses_refused, o.duration_s
                 FROM crawl_runs r JOIN crawl_run_outlets o ON o.run_id = r.id WHERE o.outlet = ?
                 ORDER BY r.id DESC LIMIT ?"""
        params = [outlet, limit]
    else:
        sql = """SELECT id, started_at, finished_at, status, mode, requests, pages, articles_new, articles_updated,
                        errors, duration_s, reason FROM crawl_runs ORDER BY id DESC LIMIT ?"""
        params = [limit]
    cur = db.execute(sql, params)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def run_outlet_rows(db: sqlite_utils.Database, run_id: int) -> list[dict]:
    cur = db.execute("SELECT * FROM crawl_run_outlets WHERE run_id = ? ORDER BY outlet", [run_id])
    cols = [d[0] for d in cur.description]
    out = []
    for r in cur.fetchall():
        row = dict(zip(cols, r))
        row["requests_by_kind"] = json.loads(row["requests_by_kind"] or "{}")
        row["errors_by_kind"] = json.loads(row["errors_by_kind"] or "{}")
        out.append(row)
    return out
