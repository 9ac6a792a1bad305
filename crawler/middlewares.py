"""Downloader middlewares: scope, Retry-After, redirect loops."""
from __future__ import annotations

import logging
import time
from datetime import timezone
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin

from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.task import deferLater
from w3lib.url import safe_url_string

from crawler.urls import canonicalize_url

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


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); None if unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class RetryAfterMiddleware:
    """Honours Retry-After on 429 and 503: nothing more goes to that host until the time is up,
    then the request is retried (within RETRY_TIMES). A wait longer than
    NARRATIVES_RETRY_AFTER_MAX is not waited: the page fails with its status now, without the
    immediate retries that would hammer a server that asked for a pause.

    Sits after RetryMiddleware (550) so it sees these responses first.
    """

    CODES = (429, 503)

    def __init__(self, crawler):
        self.crawler = crawler
        self.stats = crawler.stats
        self.max_wait = crawler.settings.getfloat("NARRATIVES_RETRY_AFTER_MAX", 300.0)
        self.not_before: dict[str, float] = {}  # host:port -> monotonic time

    @classmethod
    def from_crawler(cls, crawler):
        if not crawler.settings.getbool("RETRY_ENABLED"):
            raise NotConfigured("RETRY_ENABLED is off")
        return cls(crawler)

    async def process_request(self, request, spider=None):
        key = urlparse_cached(request).netloc
        wait = self.not_before.get(key, 0.0) - time.monotonic()
        if wait > 0:
            from twisted.internet import reactor  # the one Scrapy installed

            self.stats.inc_value("narratives/retry_after/held")
            await maybe_deferred_to_future(deferLater(reactor, wait, lambda: None))
        return None

    def process_response(self, request, response, spider=None):
        if response.status not in self.CODES or request.meta.get("dont_retry"):
            return response
        raw = response.headers.get(b"Retry-After")
        delay = retry_after_seconds(raw.decode("latin-1") if raw else None)
        if delay is None:
            return response  # RetryMiddleware retries as usual
        if delay > self.max_wait:
            self.stats.inc_value("narratives/retry_after/too_long")
            logger.info("%s asks to come back in %.0f s (over NARRATIVES_RETRY_AFTER_MAX %.0f s): not retried",
                        request.url, delay, self.max_wait)
            request.meta["dont_retry"] = True
            return response
        key = urlparse_cached(request).netloc
        self.not_before[key] = max(self.not_before.get(key, 0.0), time.monotonic() + delay)
        retry = get_retry_request(request, spider=self.crawler.spider, reason=f"{response.status} Retry-After")
        if retry is None:
            request.meta["dont_retry"] = True
            return response
        self.stats.inc_value("narratives/retry_after/honoured")
        logger.debug("%s: %d, Retry-After %.1f s honoured", request.url, response.status, delay)
        return retry


class RedirectLoopMiddleware:
    """Fails a redirect that leads back to a URL of its own chain, with the reason.

    Without it, a loop (or a page redirecting to itself) ends silently in the duplicate filter
    and the page leaves no trace. Sits after RedirectMiddleware (600) so it sees redirects first.
    """

    def __init__(self, crawler):
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_response(self, request, response, spider=None):
        if response.status not in (301, 302, 303, 307, 308) or request.meta.get("dont_redirect"):
            return response
        location = response.headers.get(b"Location")
        if not location:
            return response
        target = canonicalize_url(urljoin(request.url, safe_url_string(location.decode("latin-1"))))
        chain = {canonicalize_url(u) for u in (*request.meta.get("redirect_urls", ()), request.url)}
        if target in chain:
            self.stats.inc_value("narratives/redirect_loops")
            raise IgnoreRequest(f"redirect loop: {request.url} redirects back to {target}")
        return response
