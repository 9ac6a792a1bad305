"""The one spider: every configured outlet, discovered through feeds, sitemaps and section pages."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

import scrapy
from scrapy.http import HtmlResponse, TextResponse

from crawler import settings as defaults
from crawler.decoding import charset_of
from crawler.discovery import DiscoveryError, maybe_gunzip, parse_feed, parse_sitemap
from crawler.failures import failure_reason
from crawler.middlewares import OutOfScope
from crawler.outlets import Outlet
from crawler.urls import canonicalize_url
from db import open_db
from db.store import article_revisit_due, article_stored, outlet_rows, page_validators, stored_page

logger = logging.getLogger(__name__)

HTML_TYPES = ("text/html", "application/xhtml+xml")


def utcnow() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def looks_like_article(response: TextResponse) -> bool:
    """A cheap guess whether a page found by link following is an article or a listing."""
    og_type = (response.css('meta[property="og:type"]::attr(content)').get() or "").lower()
    if og_type:
        return og_type == "article"
    for block in response.css('script[type="application/ld+json"]::text').getall():
        if "Article" in block or "BlogPosting" in block or "Report" in block:
            return True
    words = sum(len(p.split()) for p in response.css("p ::text").getall())
    links = len(response.css("a[href]"))
    return words >= 120 and words > links * 6


class LocalState:
    """What the spider asks about earlier crawls, answered from the SQLite database.

    Scale-out workers have no database; `crawler.distributed.RedisState` answers the same
    questions from what the coordinator published in Redis.
    """

    def __init__(self, db):
        self.db = db

    def outlet_rows(self, names):
        return outlet_rows(self.db, names)

    def validators(self, url):
        return page_validators(self.db, url)

    def stored_page(self, url):
        return stored_page(self.db, url)

    def article_stored(self, url):
        return article_stored(self.db, url)

    def revisit_due(self, url, since):
        return article_revisit_due(self.db, url, since)

    def close(self):
        self.db.close()


class OutletsSpider(scrapy.Spider):
    """Crawl outlets stored in the database (`narratives outlets import`).

    Arguments (``-a``): ``outlets=a,b`` to crawl some outlets only; ``refresh=1`` to fetch stored
    articles again. The database is the NARRATIVES_DB setting.
    """

    name = "outlets"

    def __init__(self, outlets: str = "", refresh: str = "", *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._outlet_arg = outlets
        self._refresh_arg = refresh

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        s = crawler.settings
        names = [n for n in (spider._outlet_arg or s.get("NARRATIVES_OUTLETS") or "").split(",") if n.strip()]
        spider.db_path = s.get("NARRATIVES_DB")
        if s.get("NARRATIVES_REDIS_URL"):  # a scale-out worker: no database, the coordinator's Redis
            from crawler.distributed import RedisState

            spider.state = RedisState.from_settings(s)
            spider.db = None
            spider.distributed = True
        else:
            spider.db = open_db(spider.db_path)
            spider.state = LocalState(spider.db)
            spider.distributed = False
        spider.outlets_by_name = {
            row["name"]: Outlet.from_row(row) for row in spider.state.outlet_rows([n.strip() for n in names])
        }
        spider.refresh = str(spider._refresh_arg).lower() in ("1", "true", "yes") or s.getbool("NARRATIVES_REFRESH")
        # defaults come from crawler.settings even when a caller built Settings without it
        spider.default_max_pages = s.getint("NARRATIVES_MAX_PAGES_PER_OUTLET", defaults.NARRATIVES_MAX_PAGES_PER_OUTLET)
        spider.link_depth = s.getint("NARRATIVES_LINK_DEPTH", defaults.NARRATIVES_LINK_DEPTH)
        spider.sitemap_depth = s.getint("NARRATIVES_SITEMAP_DEPTH", defaults.NARRATIVES_SITEMAP_DEPTH)
        spider.sitemap_maxsize = s.getint("NARRATIVES_SITEMAP_MAXSIZE", defaults.NARRATIVES_SITEMAP_MAXSIZE)
        hours = s.getfloat("NARRATIVES_REVISIT_WINDOW_HOURS", defaults.NARRATIVES_REVISIT_WINDOW_HOURS)
        spider.revisit_since = ((datetime.now(timezone.utc) - timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")
                                if hours > 0 else None)
        if spider.distributed:  # the coordinator's choices hold for every worker
            spider.revisit_since = spider.state.revisit_since
            spider.refresh = spider.refresh or spider.state.refresh
        spider.scheduled: dict[str, dict] = {}  # url -> hints dict shared with the request's meta
        spider.budget = {name: 0 for name in spider.outlets_by_name}
        return spider

    @property
    def stats(self):
        return self.crawler.stats

    # -- requests -----------------------------------------------------------------

    def _meta(self, outlet: Outlet, kind: str, **extra) -> dict:
        return {"outlet": outlet.name, "kind": kind, **extra}

    def _budget_left(self, outlet: Outlet) -> bool:
        return self.budget[outlet.name] < (outlet.max_pages or self.default_max_pages)

    def _entries_within_budget(self, outlet: Outlet, entries: list):
        """Entries until the outlet's page budget is spent: a sitemap of millions of URLs must
        not hold the reactor (and every other download) while each URL is looked up."""
        for i, entry in enumerate(entries):
            if not self._budget_left(outlet):
                self.stats.inc_value(f"narratives/{outlet.name}/over_limit", len(entries) - i)
                return
            yield entry

    def _take_budget(self, outlet: Outlet) -> bool:
        limit = outlet.max_pages or self.default_max_pages
        if self.budget[outlet.name] >= limit:
            self.stats.inc_value(f"narratives/{outlet.name}/over_limit")
            return False
        self.budget[outlet.name] += 1
        return True

    def _conditional(self, url: str) -> dict:
        etag, last_modified = self.state.validators(url)
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        return headers

    async def start(self):
        # start requests skip the duplicate filter, except on scale-out workers: there the shared
        # filter lets only the first worker queue each feed, sitemap and section
        if not self.outlets_by_name:
            logger.warning("no outlets in %s: import some with `narratives outlets import`", self.db_path)
        for outlet in self.outlets_by_name.values():
            for url in outlet.feeds:
                yield scrapy.Request(
                    url, callback=self.parse_feed, errback=self.on_error, dont_filter=not self.distributed,
                    headers=self._conditional(url), priority=10,
                    meta=self._meta(outlet, "feed", handle_httpstatus_list=[304]),
                )
            for url in outlet.sitemaps:
                self.scheduled[canonicalize_url(url)] = {}  # an index listing itself is not fetched again
                yield scrapy.Request(
                    url, callback=self.parse_sitemap, errback=self.on_error, dont_filter=not self.distributed,
                    headers=self._conditional(url), priority=5,
                    meta=self._meta(outlet, "sitemap", sitemap_depth=0, handle_httpstatus_list=[304]),
                )
            for url in dict.fromkeys((outlet.home, *outlet.sections)):
                self.scheduled[canonicalize_url(url)] = {}
                yield scrapy.Request(
                    url, callback=self.parse_page, errback=self.on_error, dont_filter=not self.distributed,
                    headers=self._conditional(url),
                    meta=self._meta(outlet, "section", link_depth=0, handle_httpstatus_list=[304]),
                )

    def article_request(self, outlet: Outlet, url: str, *, depth: int, via: str, **hints):
        """A request for a candidate article, or None when it is out of scope, stored or over budget."""
        return self._candidate(outlet, url, depth=depth, via=via, **hints)[0]

    def _candidate(self, outlet: Outlet, url: str, *, depth: int, via: str, **hints):
        """(request or None, whether the URL is an article not stored before this crawl)."""
        url = canonicalize_url(url)
        if not outlet.scope.contains(url):
            self.stats.inc_value("narratives/links_out_of_scope")
            return None, False
        known = self.scheduled.get(url)
        if known is not None:
            for key, value in hints.items():  # a later feed/sitemap may add a date the first lacked
                if value and not known.get(key):
                    known[key] = value
            return None, not known.get("_stored", False)
        revisit = False
        if not self.refresh and self.state.article_stored(url):
            if self.revisit_since is None or not self.state.revisit_due(url, self.revisit_since):
                self.stats.inc_value(f"narratives/{outlet.name}/already_stored")
                self.scheduled[url] = {"_stored": True}
                return None, False
            revisit = True  # published within the revision window and fetched once: fetch again, once
        if not self._take_budget(outlet):
            return None, not revisit
        shared_hints = {k: v for k, v in hints.items() if v}
        self.scheduled[url] = shared_hints
        meta = self._meta(outlet, "article", link_depth=depth, hints=shared_hints, via=via)
        headers = {}
        if revisit:
            meta.update(revisit=True, handle_httpstatus_list=[304])
            headers = self._conditional(url)
        return scrapy.Request(url, callback=self.parse_page, errback=self.on_error, headers=headers, meta=meta), not revisit

    # -- callbacks ----------------------------------------------------------------

    def _page_item(self, response, kind: str, **extra) -> dict:
        headers = response.headers
        return {
            "type": "page",
            "url": response.request.url,
            "final_url": response.url if response.url != response.request.url else None,
            "outlet": response.meta["outlet"],
            "kind": kind,
            "status": response.status,
            "fetched_at": utcnow(),
            "etag": (headers.get(b"ETag") or b"").decode("latin-1") or None,
            "last_modified": (headers.get(b"Last-Modified") or b"").decode("latin-1") or None,
            "content_type": (headers.get(b"Content-Type") or b"").decode("latin-1") or None,
            **extra,
        }

    def _stored_copy(self, response) -> tuple[bytes | None, str]:
        """On a 304: the body stored by an earlier crawl, so what it lists is checked again (a crawl
        killed after storing a feed but before storing its articles must not lose them)."""
        body, final_url = self.state.stored_page(response.request.url)
        return body, final_url or response.url

    def parse_feed(self, response):
        outlet = self.outlets_by_name[response.meta["outlet"]]
        body, base_url = response.body, response.url
        if response.status == 304:
            body, base_url = self._stored_copy(response)
            if not body:
                yield self._page_item(response, "feed")
                return
        try:
            parsed = parse_feed(body, base_url)
        except DiscoveryError as exc:
            yield self._page_item(response, "feed", body=response.body, error=f"malformed feed: {exc}")
            return
        entries = parsed.entries
        requests, new = [], 0
        for entry in self._entries_within_budget(outlet, entries):
            req, is_new = self._candidate(outlet, entry.url, depth=self.link_depth, via="feed",
                                          feed_date=entry.published_at, feed_title=entry.title)
            new += is_new
            if req is not None:
                requests.append(req)
        extra = {"entries": len(entries), "new_entries": new}
        if response.status == 304:
            yield self._page_item(response, "feed", **extra)
        else:
            yield self._page_item(response, "feed", body=response.body, error=self._problem("feed", parsed), **extra)
            self.stats.inc_value(f"narratives/{outlet.name}/feed_entries", len(entries))
        yield from requests

    @staticmethod
    def _problem(what: str, parsed) -> str | None:
        if parsed.problem is None:
            return None
        return f"malformed {what} ({len(parsed.entries)} entries recovered): {parsed.problem}"[:500]

    def parse_sitemap(self, response):
        outlet = self.outlets_by_name[response.meta["outlet"]]
        body, base_url = response.body, response.url
        if response.status == 304:
            body, base_url = self._stored_copy(response)
            if not body:
                yield self._page_item(response, "sitemap")
                return
        try:
            parsed = parse_sitemap(maybe_gunzip(body, self.sitemap_maxsize), base_url)
        except (DiscoveryError, OSError, EOFError) as exc:
            yield self._page_item(response, "sitemap", body=response.body, error=f"malformed sitemap: {exc}")
            return
        kind, entries = parsed.kind, parsed.entries
        page_extra = {} if response.status == 304 else {"body": response.body, "error": self._problem("sitemap", parsed)}
        depth = response.meta.get("sitemap_depth", 0)
        if kind == "index":
            yield self._page_item(response, "sitemap", **page_extra)
            if depth >= self.sitemap_depth:
                logger.warning("sitemap index %s nests deeper than %d levels: not followed", response.url, depth)
                return
            for entry in self._entries_within_budget(outlet, entries):
                url = canonicalize_url(entry.url)
                if url in self.scheduled or not outlet.scope.contains(url) or not self._take_budget(outlet):
                    continue
                self.scheduled[url] = {}
                yield scrapy.Request(
                    url, callback=self.parse_sitemap, errback=self.on_error,
                    headers=self._conditional(url),
                    meta=self._meta(outlet, "sitemap", sitemap_depth=depth + 1, handle_httpstatus_list=[304]),
                )
            return
        requests, new = [], 0
        for entry in self._entries_within_budget(outlet, entries):
            req, is_new = self._candidate(outlet, entry.url, depth=self.link_depth, via="sitemap",
                                          sitemap_date=entry.published_at, sitemap_title=entry.title)
            new += is_new
            if req is not None:
                requests.append(req)
        yield self._page_item(response, "sitemap", entries=len(entries), new_entries=new, **page_extra)
        yield from requests

    def parse_page(self, response):
        """A section page or a candidate article: store it, follow its links while depth allows."""
        outlet = self.outlets_by_name[response.meta["outlet"]]
        kind = response.meta["kind"]
        revisit = {"revisit": True} if response.meta.get("revisit") else {}
        if response.status == 304:
            yield self._page_item(response, kind, **revisit)
            if kind == "section":  # links of the stored copy: nothing listed there may be lost
                body, base_url = self._stored_copy(response)
                if body:
                    stored = HtmlResponse(url=base_url, body=body, request=response.request)
                    yield from self._follow_links(outlet, stored, response.meta.get("link_depth", 0))
            return
        ctype = (response.headers.get(b"Content-Type") or b"").decode("latin-1").split(";")[0].strip().lower()
        if not response.body.strip():
            yield self._page_item(response, kind, error="empty body", **revisit)
            return
        if not isinstance(response, TextResponse) or (ctype and ctype not in HTML_TYPES):
            yield self._page_item(response, kind, error=f"not HTML ({ctype or 'unknown content type'})", **revisit)
            return
        depth = response.meta.get("link_depth", 0)
        # feeds and sitemaps list articles; a page reached by a link must look like one
        if kind == "article" and (response.meta.get("via") != "link" or looks_like_article(response)):
            yield {
                **self._page_item(response, "article", body=response.body, **revisit),
                "type": "article",
                # only what the server declared: the worker reads <meta> and BOMs itself, exactly as
                # `narratives extract` does offline (Scrapy's own guess would be cp1252 for cp1251)
                "encoding": charset_of(response.headers.get(b"Content-Type", b"").decode("latin-1")),
                "hints": response.meta.get("hints") or {},
                "language_hint": outlet.language,
            }
        else:
            yield self._page_item(response, "section", body=response.body)
        yield from self._follow_links(outlet, response, depth)

    def _follow_links(self, outlet: Outlet, response, depth: int):
        if depth >= self.link_depth:
            return
        for href in response.css("a::attr(href)").getall():
            href = href.strip()
            if not href or href.startswith(("#", "mailto:", "javascript:", "tel:")):
                continue
            req = self.article_request(outlet, response.urljoin(href), depth=depth + 1, via="link")
            if req is not None:
                yield req

    def on_error(self, failure):
        request = failure.request
        meta = request.meta
        status, reason = failure_reason(failure)
        outlet = meta.get("outlet")
        # a failure after redirects is the failure of the URL the crawl asked for
        url = (meta.get("redirect_urls") or [request.url])[0]
        if outlet is None:
            return
        if isinstance(failure.value, OutOfScope):
            if not meta.get("redirect_urls"):
                return  # a link: filtered before it was requested, nothing to record
            self.stats.inc_value(f"narratives/{outlet}/redirects_out_of_scope")
            reason = f"redirect out of scope to {request.url}"[:500]
        logger.debug("failed %s: %s", url, reason)
        item = {
            "type": "page",
            "url": url,
            "outlet": outlet,
            "kind": meta.get("kind", "article"),
            "status": status,
            "fetched_at": utcnow(),
            "error": reason,
            "failed": True,  # counted as an error of the outlet where the item is stored
        }
        if meta.get("revisit"):
            item["revisit"] = True
        yield item

    def closed(self, reason):
        self.state.close()
