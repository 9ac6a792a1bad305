"""The crawler's own record of every request it sent (NARRATIVES_REQUEST_LOG).

A request is written when it reaches the downloader, i.e. after every downloader middleware
(scope, robots.txt, Retry-After) let it through: what is in the file went out on the network,
what was dropped is not. One line per request: ``METHOD URL``. Off when the setting is empty.

The address guard (crawler/addresses.py) decides when the connection is made, after that: a
request it refuses gets a line ``REFUSED METHOD URL (reason)``, and nothing was sent for it (a
host name refused at connection time has its ``METHOD URL`` line just before; a literal IP
address is refused before it reaches the downloader, so it has only the REFUSED line).
"""
from __future__ import annotations

import logging

from scrapy import signals
from scrapy.exceptions import NotConfigured

from crawler.addresses import address_refused

logger = logging.getLogger(__name__)


class RequestLog:
    def __init__(self, path: str):
        self.path = path
        self.file = None

    @classmethod
    def from_crawler(cls, crawler):
        path = crawler.settings.get("NARRATIVES_REQUEST_LOG")
        if not path:
            raise NotConfigured  # off unless asked for: no warning on every crawl
        ext = cls(path)
        crawler.signals.connect(ext.opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.closed, signal=signals.spider_closed)
        crawler.signals.connect(ext.reached, signal=signals.request_reached_downloader)
        crawler.signals.connect(ext.refused, signal=address_refused)
        return ext

    def opened(self, spider):
        self.file = open(self.path, "a", encoding="utf-8", buffering=1)

    def reached(self, request, spider):
        if self.file is not None:
            self.file.write(f"{request.method} {request.url}\n")

    def refused(self, request, reason, reached_downloader=False):
        if self.file is not None:
            self.file.write(f"REFUSED {request.method} {request.url} ({reason})\n")

    def closed(self, spider, reason):
        if self.file is not None:
            self.file.close()
            self.file = None
