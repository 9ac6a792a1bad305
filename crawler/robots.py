"""robots.txt read the way RFC 9309 asks: at most the first 500 KiB of it.

Scrapy fetches robots.txt with the crawl's DOWNLOAD_MAXSIZE; a robots.txt above it fails, and
Scrapy then crawls the host as if it had none, so a hostile (or broken) 50 MB robots.txt whose
first line says ``Disallow: /private/`` would open /private/ to us. This extension stops
reading robots.txt after NARRATIVES_ROBOTSTXT_MAXSIZE bytes and lets Scrapy parse what came
(RFC 9309 section 2.5: crawlers may stop parsing after 500 KiB). A compressed robots.txt keeps
DOWNLOAD_MAXSIZE as its limit, so it cannot become a decompression bomb.
"""
from __future__ import annotations

import logging

from scrapy import signals
from scrapy.exceptions import NotConfigured, StopDownload
from scrapy.utils.httpobj import urlparse_cached

logger = logging.getLogger(__name__)


def is_robots_request(request) -> bool:
    return bool(request.meta.get("dont_obey_robotstxt")) and urlparse_cached(request).path == "/robots.txt"


class RobotsTxtLimit:
    def __init__(self, crawler, limit: int):
        self.stats = crawler.stats
        self.limit = limit

    @classmethod
    def from_crawler(cls, crawler):
        limit = crawler.settings.getint("NARRATIVES_ROBOTSTXT_MAXSIZE", 500 * 1024)
        if not crawler.settings.getbool("ROBOTSTXT_OBEY") or limit <= 0:
            raise NotConfigured("robots.txt not obeyed, or no size limit")
        ext = cls(crawler, limit)
        crawler.signals.connect(ext.headers_received, signal=signals.headers_received)
        crawler.signals.connect(ext.bytes_received, signal=signals.bytes_received)
        return ext

    def headers_received(self, headers, body_length, request, spider):
        # an identity-encoded robots.txt is cut below instead of failing on its declared size
        if is_robots_request(request) and not headers.get(b"Content-Encoding"):
            request.meta["download_maxsize"] = 0

    def bytes_received(self, data, request, spider):
        if not is_robots_request(request):
            return
        received = request.meta.get("_robots_bytes", 0) + len(data)
        request.meta["_robots_bytes"] = received
        if received > self.limit:
            self.stats.inc_value("narratives/robotstxt_truncated")
            logger.warning("%s is larger than %d bytes: only its beginning is read", request.url, self.limit)
            raise StopDownload(fail=False)
