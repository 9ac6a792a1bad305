"""The store pipeline: pages and extracted articles into SQLite, extraction in worker processes."""
from __future__ import annotations

import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from scrapy.exceptions import DropItem
from scrapy.utils.defer import deferred_from_coro, maybe_deferred_to_future
from twisted.internet import defer, reactor

from crawler.citations import OutletResolver, citation_rows
from crawler.outlets import Outlet
from crawler.worker import extract_page
from db import open_db
from db.connection import is_full_error, limit_size
from db.store import outlet_rows, record_page, store_article

logger = logging.getLogger(__name__)

DATABASE_FULL = "database_full"  # the crawl's finish reason when a write found the database full


def article_row(extracted: dict, page: dict, page_id: int) -> dict:
    return {
        "url": page["url"],
        "canonical_url": extracted.get("canonical_url"),
        "outlet": page["outlet"],
        "page_id": page_id,
        "title": extracted.get("title"),
        "text": extracted["text"],
        "author": extracted.get("author"),
        "description": extracted.get("description"),
        "language": extracted.get("language"),
        "language_source": extracted.get("language_source"),
        "published_at": extracted.get("published_at"),
        "published_date": extracted.get("published_date"),
        "date_source": extracted.get("date_source"),
        "fetched_at": page.get("fetched_at"),
        "content_hash": extracted.get("content_hash"),
        "extractor": extracted.get("extractor"),
    }


def new_pool(workers: int) -> ProcessPoolExecutor:
    # forkserver: never fork the threaded Twisted process itself
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("forkserver"))


class StorePipeline:
    """Stores every page item; extracts article items off the reactor thread, then stores them."""

    def __init__(self, crawler):
        self.crawler = crawler
        self.stats = crawler.stats
        self.db_path = crawler.settings.get("NARRATIVES_DB")
        self.workers = crawler.settings.getint("NARRATIVES_EXTRACT_WORKERS") or os.cpu_count() or 1
        self.max_size = crawler.settings.getint("NARRATIVES_DB_MAX_SIZE", 0)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def open_spider(self):
        self.db = open_db(self.db_path)
        self.full = False
        if self.max_size:
            limit_size(self.db, self.max_size)
        self.resolver = OutletResolver(Outlet.from_row(r) for r in outlet_rows(self.db))
        self.pool = new_pool(self.workers)

    def close_spider(self):
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.db.close()

    async def process_item(self, item):
        try:
            return await self._store(item)
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

    async def _store(self, item):
        kind = item.pop("type")
        outlet = item["outlet"]
        self.stats.inc_value(f"narratives/{outlet}/pages")
        if kind == "page":
            with self.db.conn:
                record_page(self.db, item)
            return {"url": item["url"], "outlet": outlet, "error": item.get("error")}
        payload = {k: item.get(k) for k in ("url", "final_url", "body", "encoding", "hints", "language_hint")}
        result = await maybe_deferred_to_future(self._extract(payload))
        page = {k: v for k, v in item.items() if k not in ("encoding", "language_hint")}
        if "html_z" in result:
            page["size"], page["html_z"] = len(page.pop("body") or b""), result["html_z"]
        with self.db.conn:
            if "error" in result:
                page["error"] = result["error"]
                record_page(self.db, page)
                self.stats.inc_value(f"narratives/{outlet}/not_extracted")
                return {"url": item["url"], "outlet": outlet, "error": result["error"]}
            page_id = record_page(self.db, page)
            extracted = result["article"]
            existed = self.db.execute("SELECT 1 FROM articles WHERE url = ?", [item["url"]]).fetchone()
            store_article(self.db, article_row(extracted, item, page_id), citation_rows(extracted, self.resolver))
        self.stats.inc_value(f"narratives/{outlet}/articles_{'updated' if existed else 'new'}")
        return {"url": item["url"], "outlet": outlet, "title": extracted.get("title")}

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
