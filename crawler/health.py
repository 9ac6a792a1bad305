"""Coverage health: outlets whose output fell well below their own history, feeds and sitemaps that
went silent or broke, error-rate spikes, robots.txt changes, fetches refused by address (the
address guard, crawler/addresses.py), runs that keep failing.

Everything is measured in crawl runs (`crawl_runs`, `crawl_run_outlets`, `crawl_run_sources`),
so the checks mean the same whether runs are hourly or every 30 minutes. An outlet's first run
(the backfill of everything its feeds list) is left out of its history.

A silence is judged against the source's own rate: a feed that averaged r new entries per run
and has given none for n runs is flagged when n * r >= min_expected (default 5: for a Poisson
source the chance of such a silence by luck is below 1 %), so a daily feed is not flagged after
an hour and a busy one is flagged quickly.
"""
from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field

import sqlite_utils

logger = logging.getLogger(__name__)

ATTENTION, NOTICE = "attention", "notice"


@dataclass
class HealthSettings:
    window: int = 6  # recent runs compared with the history before them
    history: int = 100  # at most this many earlier runs make the history
    min_history: int = 3  # runs of history needed before judging
    min_expected: float = 5.0  # a silence or drop counts once this many items were expected
    drop_ratio: float = 0.3  # output "well below": under this share of what history predicts
    error_rate: float = 0.2  # recent error rate that is a spike (when also 2x the usual + 0.1)
    broken_runs: int = 2  # consecutive failed fetches that make a feed/sitemap broken


@dataclass
class Finding:
    outlet: str | None
    check: str  # silent, broken, output_drop, error_spike, address_refused, robots_changed, runs_failing, unread_language
    severity: str  # attention (exit 1) or notice
    message: str
    source: str | None = None  # feed or sitemap URL
    details: dict = field(default_factory=dict)

    def as_row(self) -> dict:
        return asdict(self)


def _rows(db: sqlite_utils.Database, sql: str, params=()) -> list[dict]:
    cur = db.execute(sql, params)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def _check_runs(db, cfg: HealthSettings) -> list[Finding]:
    runs = _rows(db, "SELECT id, status, started_at, reason FROM crawl_runs WHERE status != 'running'"
                     " ORDER BY id DESC LIMIT ?", [cfg.broken_runs])
    if len(runs) >= cfg.broken_runs and all(r["status"] != "finished" for r in runs):
        return [Finding(None, "runs_failing", ATTENTION,
                        f"the last {len(runs)} crawl runs did not finish: "
                        + ", ".join(f"run {r['id']} {r['status']}" + (f" ({r['reason']})" if r["reason"] else "")
                                    for r in runs), details={"runs": [r["id"] for r in runs]})]
    return []


def _check_sources(db, cfg: HealthSettings, outlet: str, first_run: int) -> list[Finding]:
    findings = []
    # the feeds and sitemaps of the outlet's latest run: one removed from its configuration is not judged
    urls = [r[0] for r in db.execute(
        """SELECT DISTINCT url FROM crawl_run_sources WHERE outlet = ? AND run_id = (
             SELECT max(o.run_id) FROM crawl_run_outlets o JOIN crawl_runs r ON r.id = o.run_id
             WHERE o.outlet = ? AND r.status = 'finished')""", [outlet, outlet])]
    for url in urls:
        series = _rows(db, """SELECT s.run_id, r.started_at, s.kind, s.status, s.error, s.new_entries
                              FROM crawl_run_sources s JOIN crawl_runs r ON r.id = s.run_id
                              WHERE s.url = ? AND r.status = 'finished' ORDER BY s.run_id DESC LIMIT ?""",
                       [url, cfg.history + cfg.window + 1])
        if not series:
            continue
        kind = series[0]["kind"]
        failed = [s for s in series[: cfg.broken_runs] if s["error"] or (s["status"] not in (200, 304))]
        if failed and len(failed) == min(cfg.broken_runs, len(series)) == cfg.broken_runs:
            findings.append(Finding(outlet, "broken", ATTENTION,
                                    f"{kind} broken for the last {len(failed)} runs: {failed[0]['error']}",
                                    source=url, details={"error": failed[0]["error"], "status": failed[0]["status"]}))
            continue
        if failed and series[0] in failed:
            findings.append(Finding(outlet, "broken", NOTICE, f"{kind} failed in the last run: {series[0]['error']}",
                                    source=url, details={"error": series[0]["error"]}))
            continue
        ok = [s for s in series if not s["error"] and s["run_id"] != first_run and s["new_entries"] is not None]
        streak = 0
        for s in ok:
            if s["new_entries"]:
                break
            streak += 1
        history = ok[streak:][: cfg.history]
        if streak == 0 or len(history) < cfg.min_history:
            continue
        rate = sum(s["new_entries"] for s in history) / len(history)
        expected = rate * streak
        if expected >= cfg.min_expected:
            since = ok[streak - 1]["started_at"]
            findings.append(Finding(
                outlet, "silent", ATTENTION,
                f"{kind} silent: no new entry in the last {streak} runs (since {since}); it averaged "
                f"{rate:.1f} new per run before, so about {expected:.0f} were expected",
                source=url, details={"runs_silent": streak, "since": since, "rate_per_run": round(rate, 2),
                                     "expected": round(expected, 1)}))
    return findings


def _check_outlet(db, cfg: HealthSettings, outlet: str) -> list[Finding]:
    runs = _rows(db, """SELECT o.*, r.started_at FROM crawl_run_outlets o JOIN crawl_runs r ON r.id = o.run_id
                        WHERE o.outlet = ? AND r.status = 'finished' ORDER BY o.run_id DESC LIMIT ?""",
                 [outlet, cfg.history + cfg.window + 1])
    if not runs:
        return []
    first_run = db.execute("SELECT min(run_id) FROM crawl_run_outlets WHERE outlet = ?", [outlet]).fetchone()[0]
    findings = _check_sources(db, cfg, outlet, first_run)
    recent = runs[: cfg.window]
    history = [r for r in runs[cfg.window:] if r["run_id"] != first_run][: cfg.history]
    enough = len(recent) == cfg.window and len(history) >= cfg.min_history

    # output well below its own history
    if enough:
        rate = sum(r["articles_new"] for r in history) / len(history)
        expected, observed = rate * len(recent), sum(r["articles_new"] for r in recent)
        if expected >= cfg.min_expected and observed < cfg.drop_ratio * expected:
            findings.append(Finding(
                outlet, "output_drop", ATTENTION,
                f"output dropped: {observed} new articles in the last {len(recent)} runs, about {expected:.0f} "
                f"expected from its history ({rate:.1f} per run)",
                details={"observed": observed, "expected": round(expected, 1), "rate_per_run": round(rate, 2)}))

    # error-rate spike
    def error_rate(rs):
        requests = sum(r["requests"] or 0 for r in rs)
        return (sum(r["errors"] or 0 for r in rs) / requests if requests else 0.0), requests

    recent_rate, recent_requests = error_rate(recent)
    usual_rate, _ = error_rate(history) if history else (0.0, 0)
    if recent_requests >= 5 and recent_rate >= cfg.error_rate and recent_rate >= 2 * usual_rate + 0.1:
        kinds: dict[str, int] = {}
        for r in recent:
            for k, n in json.loads(r["errors_by_kind"] or "{}").items():
                kinds[k] = kinds.get(k, 0) + n
        top = ", ".join(f"{k} {n}" for k, n in sorted(kinds.items(), key=lambda kv: -kv[1])[:4])
        findings.append(Finding(
            outlet, "error_spike", ATTENTION,
            f"error rate {recent_rate:.0%} in the last {len(recent)} runs (usually {usual_rate:.0%}): {top}",
            details={"recent_rate": round(recent_rate, 3), "usual_rate": round(usual_rate, 3), "errors_by_kind": kinds}))

    # fetches the address guard refused (crawler/addresses.py): a configuration or security matter,
    # flagged from the first run, with the reason of the latest one
    latest = runs[0]
    refused = latest.get("addresses_refused") or 0
    if refused:
        row = db.execute("""SELECT error, url FROM pages WHERE outlet = ? AND error LIKE 'address refused%'
                            ORDER BY fetched_at DESC, id DESC LIMIT 1""", [outlet]).fetchone()
        reason, url = row if row else (None, None)
        findings.append(Finding(
            outlet, "address_refused", ATTENTION,
            f"{refused} fetch{'es' if refused > 1 else ''} refused by address in run {latest['run_id']}"
            + (f": {reason}" if reason else "")
            + "; if the outlet is meant to be internal, allow its network with allow_addresses in the outlets file",
            source=url, details={"refused": refused, "reason": reason}))

    # robots.txt changes
    previous = next((r for r in runs[1:] if r["robots_sha1"]), None)
    if latest["robots_sha1"] and previous and latest["robots_sha1"] != previous["robots_sha1"]:
        before = max((r["robots_forbidden"] or 0) for r in runs[1:])
        if (latest["robots_forbidden"] or 0) > before:
            findings.append(Finding(
                outlet, "robots_changed", ATTENTION,
                f"robots.txt changed (run {latest['run_id']}) and now forbids {latest['robots_forbidden']} "
                f"requests (at most {before} before)",
                details={"robots_forbidden": latest["robots_forbidden"], "before": before}))
        else:
            findings.append(Finding(outlet, "robots_changed", NOTICE,
                                    f"robots.txt changed (run {latest['run_id']}); nothing more is forbidden so far"))
    return findings


def _check_languages(db, outlets: list[str] | None) -> list[Finding]:
    """Per outlet and language: articles no embedding model reads (their `embed_skips` reason names
    the language), so a user learns which outlets go unread. A notice: it is how the outlet writes,
    not a fault of the crawl."""
    if "embed_skips" not in db.table_names():
        return []
    setting = db.execute("SELECT value FROM settings WHERE key = 'embed_model'").fetchone() \
        if "settings" in db.table_names() else None
    model = json.loads(setting[0]).get("model_id") if setting else None
    rows = _rows(db, """SELECT a.outlet, coalesce(nullif(lower(substr(a.language, 1, 2)), ''), 'und') AS language,
                               count(*) AS articles, min(s.reason) AS reason,
                               (SELECT count(*) FROM articles b WHERE b.outlet = a.outlet) AS outlet_articles
                        FROM embed_skips s JOIN articles a ON a.id = s.article_id
                        WHERE s.reason LIKE 'language %' AND (:m IS NULL OR s.model_id = :m)
                        GROUP BY a.outlet, 2 ORDER BY a.outlet, 2""", {"m": model})
    return [Finding(r["outlet"], "unread_language", NOTICE,
                    f"{r['articles']} of its {r['outlet_articles']} articles are in '{r['language']}', which no "
                    f"embedding model of this database reads ({r['reason']}): they are stored but in no event, "
                    "narrative or watch", details={"language": r["language"], "articles": r["articles"]})
            for r in rows if outlets is None or r["outlet"] in outlets]


def check_health(db: sqlite_utils.Database, cfg: HealthSettings | None = None,
                 outlets: list[str] | None = None) -> tuple[list[Finding], list[str]]:
    """(findings, outlets checked)."""
    cfg = cfg or HealthSettings()
    names = outlets or [r[0] for r in db.execute(
        "SELECT DISTINCT outlet FROM crawl_run_outlets ORDER BY outlet")]
    findings = [] if outlets else _check_runs(db, cfg)
    for name in names:
        findings += _check_outlet(db, cfg, name)
    findings += _check_languages(db, outlets)
    order = {ATTENTION: 0, NOTICE: 1}
    findings.sort(key=lambda f: (order[f.severity], f.outlet or "", f.check, f.source or ""))
    return findings, names


def needs_attention(findings: list[Finding]) -> bool:
    return any(f.severity == ATTENTION for f in findings)
