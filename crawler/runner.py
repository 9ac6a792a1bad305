"""One crawl, recorded: a `crawl_runs` row opened before the Scrapy crawl starts and closed with
the per-outlet stats when it ends (a run killed on the way is marked 'killed' by the next one).

The caller holds the run lock (`crawler.runlock`). Scrapy's reactor cannot restart, so this
runs once per process.
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field

from crawler.progress import outlet_summary
from crawler.runstats import outlet_run_stats
from db import open_db
from db.crawl_runs import finish_crawl_run, mark_abandoned, start_crawl_run
from db.store import outlet_rows

logger = logging.getLogger(__name__)

OK_REASONS = ("finished", "closespider_pagecount", "closespider_itemcount", "closespider_timeout")


@dataclass
class CrawlOutcome:
    run_id: int
    reason: str
    status: str
    table: dict = field(default_factory=dict)  # per-outlet summary columns (crawler.progress)
    totals: dict = field(default_factory=dict)
    duration_s: float = 0.0
    killed_before: list = field(default_factory=list)  # earlier runs found unfinished

    @property
    def ok(self) -> bool:
        return self.status == "finished"

    def summary(self) -> str:
        t = self.totals
        return (f"crawl run {self.run_id} {self.status}: {len(self.table)} outlets, {t.get('requests', 0)} requests, "
                f"{t.get('articles_new', 0)} new articles, {t.get('articles_updated', 0)} updated, "
                f"{t.get('errors', 0)} errors in {self.duration_s:.1f}s")


def status_of(reason: str) -> str:
    if reason in OK_REASONS:
        return "finished"
    if reason == "shutdown":  # SIGTERM / SIGINT: Scrapy stopped gracefully
        return "interrupted"
    return "failed"


def scrapy_settings(db_path, outlet_names, overrides: dict, *, log_level: str, refresh: bool = False):
    from scrapy.settings import Settings

    s = Settings()
    s.setmodule("crawler.settings", priority="project")
    s.setdict(overrides, priority="cmdline")
    s.set("NARRATIVES_DB", str(db_path), priority="cmdline")
    s.set("NARRATIVES_OUTLETS", ",".join(outlet_names), priority="cmdline")
    if refresh:
        s.set("NARRATIVES_REFRESH", True, priority="cmdline")
    s.set("LOG_INSTALL_ROOT_HANDLER", False, priority="cmdline")
    s.set("NARRATIVES_LOG_SUMMARY_TABLE", False, priority="cmdline")  # the CLI prints it
    s.set("LOG_LEVEL", log_level, priority="cmdline")
    return s


def crawl_outlets(db_path, outlet_names: list[str], overrides: dict, *, log_level: str = "WARNING",
                  refresh: bool = False) -> CrawlOutcome:
    """Crawl (all or the named outlets) into *db_path* and record the run; raises UnknownOutletError."""
    from scrapy.crawler import CrawlerProcess

    db = open_db(db_path)
    try:
        names = [r["name"] for r in outlet_rows(db, outlet_names)]
        killed = mark_abandoned(db)
        for run_id in killed:
            logger.warning("crawl run %d did not finish (the process was killed); this run picks up after it",
                           run_id)
        run_id = start_crawl_run(db, outlets=names, params={"settings": overrides, "refresh": refresh})
    finally:
        db.close()
    s = scrapy_settings(db_path, outlet_names, overrides, log_level=log_level, refresh=refresh)
    s.set("NARRATIVES_CRAWL_RUN_ID", run_id, priority="cmdline")
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "crawler.settings")
    started = time.monotonic()
    process = CrawlerProcess(s)
    crawler = process.create_crawler("outlets")
    process.crawl(crawler)
    process.start()
    try:
        stats = crawler.stats.get_stats()
    except RuntimeError:  # the crawl never started (the spider failed to open)
        stats = {}
    reason = stats.get("finish_reason", "did not start")
    duration = time.monotonic() - started
    db = open_db(db_path)
    try:
        # crawl-wide counters (narratives/retry_after/held, ...) are not outlets; an outlet that
        # yielded nothing still gets its row of zeros
        per_outlet = {name: st for name, st in outlet_run_stats(stats).items() if name in names}
        for name in names:
            per_outlet.setdefault(name, {})
        totals = finish_crawl_run(db, run_id, per_outlet, status=status_of(reason), reason=reason,
                                  duration_s=duration)
    finally:
        db.close()
    return CrawlOutcome(run_id, reason, status_of(reason), outlet_summary(stats), totals, duration, killed)
