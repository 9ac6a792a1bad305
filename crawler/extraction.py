"""Article extraction: text and metadata from one HTML page.

`extract_article(html, url, ...)` is the only entry point the crawler and `narratives extract`
use. It is a pure function (no Scrapy, no database), so it can run in a worker process.
"""
from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import asdict, dataclass, field

import trafilatura

from crawler.exceptions import ExtractionError

logger = logging.getLogger(__name__)

EXTRACTOR_VERSION = f"trafilatura-{trafilatura.__version__}+nt1"


@dataclass
class Extracted:
    url: str
    canonical_url: str
    title: str | None
    text: str
    author: str | None = None
    description: str | None = None
    sitename: str | None = None
    language: str | None = None
    language_source: str | None = None  # "html", "detected", "outlet"
    published_at: str | None = None  # ISO-8601; date only "YYYY-MM-DD" or full timestamp
    date_source: str | None = None  # "feed", "sitemap", "jsonld", "meta", "url", "text", ...
    content_hash: str = ""
    links: list[dict] = field(default_factory=list)  # [{"url", "text"}] outbound links of the body
    attributions: list[dict] = field(default_factory=list)  # [{"kind", "name", "url"}]
    extractor: str = EXTRACTOR_VERSION

    def as_dict(self) -> dict:
        return asdict(self)


def content_hash(text: str) -> str:
    normalized = re.sub(r"\s+", " ", text).strip().lower()
    return hashlib.sha256(normalized.encode("utf-8")).hexdigest()


def extract_article(
    html: str | bytes,
    url: str,
    *,
    feed_date: str | None = None,
    sitemap_date: str | None = None,
    language_hint: str | None = None,
) -> Extracted:
    """Extract one article; raise ExtractionError when the page holds none."""
    doc = trafilatura.bare_extraction(html, url=url, with_metadata=True)
    if doc is None or not (doc.text or "").strip():
        raise ExtractionError("no article text found")
    text = doc.text.strip()
    published, source = None, None
    if feed_date:
        published, source = feed_date, "feed"
    elif sitemap_date:
        published, source = sitemap_date, "sitemap"
    elif doc.date:
        published, source = doc.date, "html"
    return Extracted(
        url=url,
        canonical_url=doc.url or url,
        title=doc.title,
        text=text,
        author=doc.author,
        description=doc.description,
        sitename=doc.sitename,
        language=language_hint,
        language_source="outlet" if language_hint else None,
        published_at=published,
        date_source=source,
        content_hash=content_hash(text),
    )
