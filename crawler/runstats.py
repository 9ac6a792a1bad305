"""Per-outlet crawl statistics: the counters a crawl run records in `crawl_run_outlets`.

Counters live in Scrapy's stats collector (or `Counters`, its stand-in outside a crawl) under
flat keys ``narratives/<outlet>/<counter>`` and ``narratives/<outlet>/<group>/<kind>``;
`outlet_run_stats` turns them into one dict per outlet.
"""
from __future__ import annotations

import hashlib
import logging
from collections import defaultdict

from scrapy import signals

from crawler.addresses import address_refused

logger = logging.getLogger(__name__)

GROUPS = ("requests_by_kind", "errors_by_kind")


def error_kind(reason: str | None) -> str:
    """The coarse kind of a failure reason (`http 404` -> http_4xx, `timeout`, ...)."""
    r = (reason or "").lower()
    if r.startswith("http "):
        code = r[5:8]
        return f"http_{code[0]}xx" if code[:1].isdigit() else "http_other"
    if r == "forbidden by robots.txt":
        return "robots"
    if r == "timeout":
        return "timeout"
    if r.startswith("address refused"):  # the address guard (crawler/addresses.py)
        return "address_refused"
    if r in ("connection refused", "host name not resolved") or r.startswith(("connection lost", "connection closed")):
        return "connection"
    for prefix, kind in (("malformed feed", "malformed_feed"), ("malformed sitemap", "malformed_sitemap"),
                         ("no article extracted", "not_extracted"), ("extraction", "not_extracted"),
                         ("not html", "not_html"), ("empty body", "empty_body"), ("binary content", "not_html"),
                         ("too large", "too_large"), ("redirect", "redirect"), ("max redirections", "redirect")):
        if r.startswith(prefix):
            return kind
    return "other"


class Counters:
    """The part of Scrapy's StatsCollector interface the ingest path uses, for use outside a crawl."""

    def __init__(self):
        self._stats: dict = {}

    def inc_value(self, key, count=1, start=0):
        self._stats[key] = self._stats.get(key, start) + count

    def set_value(self, key, value):
        self._stats[key] = value

    def get_value(self, key, default=None):
        return self._stats.get(key, default)

    def min_value(self, key, value):
        self._stats[key] = min(self._stats.get(key, value), value)

    def max_value(self, key, value):
        self._stats[key] = max(self._stats.get(key, value), value)

    def get_stats(self) -> dict:
        return dict(self._stats)


def outlet_run_stats(flat: dict) -> dict[str, dict]:
    """{outlet: {counter: n, requests_by_kind: {...}, errors_by_kind: {...}, robots_sha1, first_at, last_at}}."""
    out: dict[str, dict] = defaultdict(lambda: {g: {} for g in GROUPS})
    for key, value in flat.items():
        parts = str(key).split("/")
        if parts[0] != "narratives" or len(parts) < 3:
            continue
        outlet = parts[1]
        if len(parts) == 4 and parts[2] in GROUPS:
            if int(value):  # a request the address guard refused is counted, then taken back out
                out[outlet][parts[2]][parts[3]] = int(value)
        elif len(parts) == 3:
            out[outlet][parts[2]] = value
    return dict(out)


class RequestStats:
    """Counts the requests that reach each outlet's servers (after the scope and robots.txt checks,
    retries and redirects included; not those the address guard refused when their connection was
    to be made) and hashes the robots.txt each outlet serves."""

    def __init__(self, crawler):
        self.crawler = crawler
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler):
        ext = cls(crawler)
        crawler.signals.connect(ext.request_reached, signal=signals.request_reached_downloader)
        crawler.signals.connect(ext.response_received, signal=signals.response_received)
        crawler.signals.connect(ext.address_refused, signal=address_refused)
        return ext

    def _outlet_of(self, request) -> str | None:
        name = request.meta.get("outlet")
        if name:
            return name
        outlets = getattr(self.crawler.spider, "outlets_by_name", None) or {}
        for outlet in outlets.values():  # robots.txt: the outlet(s) on that origin
            if outlet.scope.same_origin(request.url):
                return outlet.name
        return None

    def request_reached(self, request, spider=None, count=1):
        outlet = self._outlet_of(request)
        if outlet is None:
            return
        kind = request.meta.get("kind") or ("robots" if request.url.endswith("/robots.txt") else "other")
        self.stats.inc_value(f"narratives/{outlet}/requests", count)
        self.stats.inc_value(f"narratives/{outlet}/requests_by_kind/{kind}", count)

    def address_refused(self, request, reason, reached_downloader=False):
        if reached_downloader:  # counted when it reached the downloader; nothing was sent
            self.request_reached(request, count=-1)

    def response_received(self, response, request, spider=None):
        if not request.meta.get("dont_obey_robotstxt") or not request.url.endswith("/robots.txt"):
            return
        digest = (hashlib.sha1(response.body).hexdigest()[:16] if response.status == 200
                  else f"status {response.status}")
        outlets = getattr(self.crawler.spider, "outlets_by_name", None) or {}
        for outlet in outlets.values():
            if outlet.scope.same_origin(request.url):
                self.stats.set_value(f"narratives/{outlet.name}/robots_sha1", digest)
