"""Progress lines while a crawl runs, and a per-outlet summary when it ends."""
from __future__ import annotations

import logging
import time

from scrapy import signals
from twisted.internet import task

logger = logging.getLogger(__name__)

COLUMNS = ("pages", "articles_new", "articles_updated", "already_stored", "not_extracted", "errors", "robots_forbidden",
           "addresses_refused")


def outlet_summary(stats: dict) -> dict[str, dict[str, int]]:
    """{outlet: {column: count}} from the crawl's `narratives/<outlet>/<column>` stats."""
    table: dict[str, dict[str, int]] = {}
    for key, value in stats.items():
        parts = key.split("/")
        if len(parts) == 3 and parts[0] == "narratives" and parts[2] in COLUMNS:
            table.setdefault(parts[1], dict.fromkeys(COLUMNS, 0))[parts[2]] = value
    return dict(sorted(table.items()))


def format_summary(table: dict[str, dict[str, int]]) -> str:
    header = ("outlet",) + COLUMNS
    rows = [header] + [(name,) + tuple(str(cols[c]) for c in COLUMNS) for name, cols in table.items()]
    totals = ("TOTAL",) + tuple(str(sum(cols[c] for cols in table.values())) for c in COLUMNS)
    rows.append(totals)
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    return "\n".join("  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(r, widths))) for r in rows)


class CrawlProgress:
    def __init__(self, crawler, interval: float):
        self.crawler = crawler
        self.interval = interval
        self.task = None
        self.started = None

    @classmethod
    def from_crawler(cls, crawler):
        ext = cls(crawler, crawler.settings.getfloat("NARRATIVES_PROGRESS_INTERVAL"))
        ext.log_table = crawler.settings.getbool("NARRATIVES_LOG_SUMMARY_TABLE", True)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def _totals(self) -> dict[str, int]:
        table = outlet_summary(self.crawler.stats.get_stats())
        return {c: sum(cols[c] for cols in table.values()) for c in COLUMNS}

    def spider_opened(self, spider):
        self.started = time.monotonic()
        if self.interval > 0:
            self.task = task.LoopingCall(self.log_progress)
            self.task.start(self.interval, now=False)

    def log_progress(self):
        t = self._totals()
        elapsed = time.monotonic() - self.started
        logger.info(
            "%d pages (%.1f/s), %d new articles, %d errors, %d already stored",
            t["pages"], t["pages"] / max(elapsed, 1e-9), t["articles_new"], t["errors"], t["already_stored"],
        )

    def spider_closed(self, spider, reason):
        if self.task and self.task.running:
            self.task.stop()
        table = outlet_summary(self.crawler.stats.get_stats())
        elapsed = time.monotonic() - (self.started or time.monotonic())
        t = self._totals()
        if self.log_table:
            logger.info("per-outlet summary:\n%s", format_summary(table))
        logger.info(
            "crawl finished (%s) in %.1fs: %d pages, %d new articles, %d updated, %d errors",
            reason, elapsed, t["pages"], t["articles_new"], t["articles_updated"], t["errors"],
        )
