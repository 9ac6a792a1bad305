"""The offline extract stage: stored HTML -> articles again, e.g. after an extractor upgrade."""
from __future__ import annotations

import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import sqlite_utils

from crawler.citations import OutletResolver, citation_rows
from crawler.decoding import charset_of
from crawler.outlets import Outlet
from crawler.store_items import article_row
from crawler.worker import extract_page
from db.store import iter_pages_to_extract, outlet_rows, store_article

logger = logging.getLogger(__name__)


@dataclass
class ExtractResult:
    pages: int = 0
    articles: int = 0
    failed: int = 0


def extract_pages(
    db: sqlite_utils.Database, outlets: list[str] | None = None, *, workers: int = 1, progress=None
) -> ExtractResult:
    """Re-extract every stored article page (all, or of some outlets); store articles and citations."""
    rows = outlet_rows(db, outlets)
    languages = {r["name"]: r["language"] for r in rows}
    resolver = OutletResolver(Outlet.from_row(r) for r in outlet_rows(db))
    result = ExtractResult()
    pages = (dict(p, language_hint=languages.get(p["outlet"]), encoding=charset_of(p["content_type"]))
             for p in iter_pages_to_extract(db, [r["name"] for r in rows]))

    def store(page, outcome):
        result.pages += 1
        with db.conn:
            if "error" in outcome:
                result.failed += 1
                db["pages"].update(page["id"], {"error": outcome["error"]})
            else:
                db["pages"].update(page["id"], {"error": None})
                extracted = outcome["article"]
                page_row = {"url": page["url"], "outlet": page["outlet"], "fetched_at": page["fetched_at"]}
                store_article(db, article_row(extracted, page_row, page["id"]), citation_rows(extracted, resolver))
                result.articles += 1
        if progress and result.pages % 100 == 0:
            progress(result)

    if workers <= 1:
        for page in pages:
            store(page, extract_page(page))
    else:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("forkserver")) as pool:
            # bounded look-ahead: a million stored pages must not all sit in memory
            window: list = []
            for page in pages:
                window.append((page, pool.submit(extract_page, page)))
                if len(window) >= workers * 8:
                    p, fut = window.pop(0)
                    store(p, fut.result())
            for p, fut in window:
                store(p, fut.result())
    return result

