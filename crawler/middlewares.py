"""Downloader middleware that keeps every request inside its outlet's scope."""
from __future__ import annotations

import logging

from scrapy.exceptions import IgnoreRequest

logger = logging.getLogger(__name__)


class OutOfScope(IgnoreRequest):
    """A request (or a redirect) would leave the outlet's scope."""


class ScopeMiddleware:
    """Drops requests outside the scope of the outlet they were made for.

    Redirects are new requests carrying the same meta, so a redirect that leaves the outlet is
    dropped here too. Requests without an outlet (robots.txt) may only go to an outlet's origin.
    """

    def __init__(self, crawler):
        self.crawler = crawler
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_request(self, request, spider=None):
        spider = self.crawler.spider
        outlets = getattr(spider, "outlets_by_name", None)
        if outlets is None:
            return None
        name = request.meta.get("outlet")
        if name is not None:
            outlet = outlets.get(name)
            if outlet is not None and outlet.scope.contains(request.url):
                return None
        elif any(o.scope.same_origin(request.url) for o in outlets.values()):
            return None
        self.stats.inc_value("narratives/out_of_scope")
        logger.debug("dropped out-of-scope request %s (outlet %s)", request.url, name)
        raise OutOfScope(f"out of scope of outlet {name}: {request.url}")
