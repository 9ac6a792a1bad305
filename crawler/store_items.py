"""The one ingest path: a crawled item (page, failed fetch, or article with its extraction result)
into SQLite, one transaction per item, with the per-outlet counters of the crawl run.

The local crawl's pipeline and the scale-out ingest (`crawler.distributed`) both store through
`store_item`, so SQLite keeps a single writer and both modes store the same rows. A write that
finds the database full (disk, or NARRATIVES_DB_MAX_SIZE via `db.connection.limit_size`) raises
SQLite's error after rolling the item back; both callers then stop the crawl with the finish
reason `database_full` (`crawler.exceptions.DATABASE_FULL`).
"""
from __future__ import annotations

import logging

import sqlite_utils

from crawler.citations import citation_rows
from crawler.runstats import error_kind
from db.crawl_runs import record_source
from db.store import record_page, store_article

logger = logging.getLogger(__name__)

# item fields that are not columns of `pages`
TRANSIENT = ("entries", "new_entries", "failed", "revisit", "encoding", "language_hint", "extraction")


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


def store_item(db: sqlite_utils.Database, item: dict, *, resolver, stats, run_id: int | None = None) -> dict:
    """Store one item; an article item carries its extraction result under 'extraction'
    ({'article': {...}} or {'error': reason}). Returns a short summary of what was stored."""
    item = dict(item)
    kind = item.pop("type")
    outlet = item["outlet"]
    prefix = f"narratives/{outlet}"
    extra = {k: item.pop(k) for k in TRANSIENT if k in item}
    stats.inc_value(f"{prefix}/pages")
    if item.get("fetched_at"):
        stats.min_value(f"{prefix}/first_at", item["fetched_at"])
        stats.max_value(f"{prefix}/last_at", item["fetched_at"])
    if item.get("status") == 304:
        stats.inc_value(f"{prefix}/not_modified")
    if extra.get("revisit"):
        stats.inc_value(f"{prefix}/revisits")
    if extra.get("failed"):  # the request failed (HTTP error, timeout, robots.txt, ...)
        stats.inc_value(f"{prefix}/errors")
        if item.get("error") == "forbidden by robots.txt":
            stats.inc_value(f"{prefix}/robots_forbidden")
    if kind == "page":
        if item.get("error"):
            error = error_kind(item["error"])
            stats.inc_value(f"{prefix}/errors_by_kind/{error}")
            if error == "address_refused":
                stats.inc_value(f"{prefix}/addresses_refused")
        with db.conn:
            record_page(db, dict(item))
            if run_id is not None and item.get("kind") in ("feed", "sitemap"):
                record_source(db, run_id, dict(item, entries=extra.get("entries"), new_entries=extra.get("new_entries")))
        return {"url": item["url"], "outlet": outlet, "error": item.get("error")}
    result = extra.get("extraction") or {"error": "not extracted"}
    with db.conn:
        if "error" in result:
            item["error"] = result["error"]
            record_page(db, dict(item))
            stats.inc_value(f"{prefix}/not_extracted")
            stats.inc_value(f"{prefix}/errors_by_kind/{error_kind(result['error'])}")
            return {"url": item["url"], "outlet": outlet, "error": result["error"]}
        page_id = record_page(db, dict(item))
        extracted = result["article"]
        existed, changed = store_article(db, article_row(extracted, item, page_id), citation_rows(extracted, resolver),
                                         keep_revision=True, report=True)
    if not existed:
        stats.inc_value(f"{prefix}/articles_new")
    elif changed:
        stats.inc_value(f"{prefix}/articles_updated")
    return {"url": item["url"], "outlet": outlet, "title": extracted.get("title")}
