"""Item pipelines: extraction in worker processes, then pages and articles into SQLite."""
from __future__ import annotations

import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from scrapy.exceptions import DropItem
from scrapy.utils.defer import deferred_from_coro, maybe_deferred_to_future
from twisted.internet import defer, reactor

from crawler.citations import OutletResolver
from crawler.exceptions import DATABASE_FULL
from crawler.outlets import Outlet
from crawler.store_items import store_item
from crawler.worker import extract_page
from db import open_db
from db.connection import is_full_error, limit_size
from db.store import outlet_rows

logger = logging.getLogger(__name__)



def new_pool(workers: int) -> ProcessPoolExecutor:
    # forkserver: never fork the threaded Twisted process itself
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("forkserver"))


class ExtractPipeline:
    """Extracts article items off the reactor thread, in worker processes: sets item['extraction']
    to {'article': {...}} or {'error': reason}, and replaces item['body'] by 'html_z' (compressed in
    the worker too) and 'size'. Scale-out workers ship the extracted item on."""

    def __init__(self, crawler):
        self.crawler = crawler
        self.stats = crawler.stats
        self.workers = crawler.settings.getint("NARRATIVES_EXTRACT_WORKERS") or os.cpu_count() or 1

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def open_spider(self):
        self.pool = new_pool(self.workers)

    def close_spider(self):
        self.pool.shutdown(wait=True, cancel_futures=True)

    async def process_item(self, item):
        if item.get("type") == "article" and "extraction" not in item:
            payload = {k: item.get(k) for k in ("url", "final_url", "body", "encoding", "hints", "language_hint")}
            result = await maybe_deferred_to_future(self._extract(payload))
            item = dict(item, extraction=result)
            if "html_z" in result:  # the body, compressed by the worker: stored as is (`record_page`)
                item["size"], item["html_z"] = len(item.pop("body", None) or b""), result.pop("html_z")
        return item

    def _extract(self, payload: dict) -> defer.Deferred:
        d = defer.Deferred()

        def done(future):
            try:
                result = future.result()
            except BrokenProcessPool:
                result = {"error": "extraction worker crashed on this page"}
                reactor.callFromThread(self._renew_pool)
            except Exception as exc:  # pickling or pool errors: keep the reason, go on
                result = {"error": f"extraction failed: {type(exc).__name__}: {exc}"[:500]}
            reactor.callFromThread(d.callback, result)

        try:
            self.pool.submit(extract_page, payload, True).add_done_callback(done)
        except BrokenProcessPool:
            self._renew_pool()
            self.pool.submit(extract_page, payload, True).add_done_callback(done)
        return d

    def _renew_pool(self):
        try:
            self.pool.submit(int)  # still alive?
        except BrokenProcessPool:
            logger.warning("an extraction worker died; starting a new pool")
            self.pool = new_pool(self.workers)


class StorePipeline(ExtractPipeline):
    """Extracts (see ExtractPipeline), then stores every item through `crawler.store_items.store_item`,
    the path the scale-out ingest uses too."""

    def __init__(self, crawler):
        super().__init__(crawler)
        self.db_path = crawler.settings.get("NARRATIVES_DB")
        self.run_id = crawler.settings.getint("NARRATIVES_CRAWL_RUN_ID") or None
        self.max_size = crawler.settings.getint("NARRATIVES_DB_MAX_SIZE", 0)

    def open_spider(self):
        super().open_spider()
        self.db = open_db(self.db_path)
        self.full = False
        if self.max_size:
            limit_size(self.db, self.max_size)
        self.resolver = OutletResolver(Outlet.from_row(r) for r in outlet_rows(self.db))

    def close_spider(self):
        super().close_spider()
        self.db.close()

    async def process_item(self, item):
        item = await super().process_item(item)
        try:
            return store_item(self.db, item, resolver=self.resolver, stats=self.stats, run_id=self.run_id)
        except Exception as exc:
            if not is_full_error(exc):
                raise
            self._database_full(exc)
            raise DropItem(f"not stored (database full): {item.get('url')}", log_level="DEBUG") from exc

    def _database_full(self, exc: Exception) -> None:
        """Stop the crawl cleanly: the failed write was rolled back, what was stored stays, and
        the pages not stored are fetched again by the next crawl."""
        self.stats.inc_value("narratives/database_full")
        if self.full:
            return
        self.full = True
        logger.error("database %s is full (%s): stopping the crawl", self.db_path, exc)
        deferred_from_coro(self.crawler.engine.close_spider_async(reason=DATABASE_FULL))
