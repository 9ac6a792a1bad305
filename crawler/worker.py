"""Extraction of one fetched page, as a picklable function for worker processes.

The crawl runs it in a process pool so trafilatura never blocks the Scrapy reactor;
`narratives extract` runs the same function over stored pages.
"""
from __future__ import annotations

import logging

from crawler.decoding import decode_html
from crawler.exceptions import ExtractionError
from crawler.extraction import extract_article
from db.store import compress_html

logger = logging.getLogger(__name__)


def extract_page(page: dict, compress: bool = False) -> dict:
    """page: url, body (bytes), encoding, hints, language_hint -> {'article': {...}} or {'error': str};
    with `compress`, also 'html_z': the body as stored (zlib), so the crawl's reactor thread does not
    spend ~3 ms per 150 KB page compressing it."""
    result = _extract(page)
    if compress and page.get("body"):
        result["html_z"] = compress_html(page["body"])
    return result


def _extract(page: dict) -> dict:
    body = page.get("body") or b""
    if not body.strip():
        return {"error": "empty body"}
    if b"\x00" in body[:4096] and not body.startswith((b"\xff\xfe", b"\xfe\xff")):
        return {"error": "binary content under an HTML content type"}
    text, encoding = decode_html(body, page.get("encoding"))
    hints = page.get("hints") or {}
    try:
        extracted = extract_article(
            text,
            page.get("final_url") or page["url"],
            feed_date=hints.get("feed_date"),
            sitemap_date=hints.get("sitemap_date"),
            language_hint=page.get("language_hint"),
        )
    except ExtractionError as exc:
        return {"error": f"no article extracted: {exc}"}
    except Exception as exc:  # a stranger's page must not stop the crawl; keep the reason
        logger.exception("extraction failed for %s", page.get("url"))
        return {"error": f"extraction failed: {type(exc).__name__}: {exc}"[:500]}
    return {"article": extracted.as_dict(), "encoding": encoding}
