"""Scale-out: many workers crawl through scrapy-redis, one coordinator writes SQLite.

    machine A (the database)                 machines B, C, ... (no database)
    narratives run news.db --redis URL       narratives worker --redis URL
      publishes the crawl in Redis  ──────▶    one shared request queue and duplicate filter;
      (outlets, stored URLs, validators,       the same spider, scope, robots.txt, AutoThrottle;
       stored feed copies)                     extraction on the worker; items pushed to Redis
      ingests items  ◀─────────────────────    by scrapy-redis's RedisPipeline
      through crawler.store_items (one writer)

Redis keys (prefix NARRATIVES_REDIS_PREFIX, default "narratives"):
    :crawl     the published crawl (JSON)    :requests, :dupefilter  scrapy-redis queue, fingerprints
    :items     items for the coordinator     :stats      per-outlet counters of the workers
    :stored    hashes of stored URLs         :revisit    hashes of articles due for a revisit
    :pages     validators of feeds/sitemaps/sections, :bodies their stored copies (for 304s)
    :busy:<worker>  set while a worker has work in flight (expires if the worker dies)
"""
from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import socket
import time
import zlib
from dataclasses import dataclass

from scrapy import signals
from scrapy.exceptions import DontCloseSpider
from scrapy_redis.scheduler import Scheduler as RedisScheduler
from twisted.internet import task

from crawler.exceptions import DistributedCrawlError

logger = logging.getLogger(__name__)

BUSY_TTL = 15  # seconds a busy mark outlives a worker that died without clearing it


# -- keys and connection ------------------------------------------------------------------------


@dataclass(frozen=True)
class Keys:
    prefix: str = "narratives"

    def __getattr__(self, name):  # keys.requests -> "narratives:requests"
        if name.startswith("_"):
            raise AttributeError(name)
        return f"{self.prefix}:{name}"

    def busy(self, worker: str) -> str:
        return f"{self.prefix}:busy:{worker}"


def connect(url: str):
    import redis

    try:
        server = redis.Redis.from_url(url, socket_timeout=30, socket_connect_timeout=10)
        server.ping()
    except ValueError as exc:
        raise DistributedCrawlError(f"bad Redis URL {url!r}: {exc}") from None
    except redis.RedisError as exc:
        raise DistributedCrawlError(f"cannot reach Redis at {url}: {exc}") from None
    return server


def url_key(url: str) -> str:
    return hashlib.sha1(url.encode("utf-8")).hexdigest()[:16]


def worker_settings(redis_url: str, prefix: str) -> dict:
    """Scrapy settings that turn a crawl into a scrapy-redis worker (politeness settings untouched)."""
    keys = Keys(prefix)
    return {
        "NARRATIVES_REDIS_URL": redis_url,
        "NARRATIVES_REDIS_PREFIX": prefix,
        "REDIS_URL": redis_url,
        "SCHEDULER": "crawler.distributed.WorkerScheduler",
        "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
        "SCHEDULER_QUEUE_KEY": keys.requests,
        "SCHEDULER_DUPEFILTER_KEY": keys.dupefilter,
        "SCHEDULER_PERSIST": True,  # one worker finishing must not flush the queue the others share
        "REDIS_ITEMS_KEY": keys.items,
        "REDIS_ITEMS_SERIALIZER": "crawler.distributed.serialize_item",
        "ITEM_PIPELINES": {"crawler.pipelines.ExtractPipeline": 200, "scrapy_redis.pipelines.RedisPipeline": 300},
    }


# -- items on the wire ----------------------------------------------------------------------------


def _encode(value):
    if isinstance(value, bytes):
        return {"__b64__": base64.b64encode(zlib.compress(value, 6)).decode("ascii")}
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    return value


def _decode(value):
    if isinstance(value, dict):
        if set(value) == {"__b64__"}:
            return zlib.decompress(base64.b64decode(value["__b64__"]))
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def serialize_item(item) -> str:
    return json.dumps(_encode(dict(item)), ensure_ascii=False)


def deserialize_item(data: bytes | str) -> dict:
    return _decode(json.loads(data))


# -- worker side -----------------------------------------------------------------------------------


class RedisState:
    """The spider's questions about earlier crawls, answered from what the coordinator published."""

    def __init__(self, server, keys: Keys):
        self.server = server
        self.keys = keys
        raw = server.get(keys.crawl)
        if raw is None:
            raise DistributedCrawlError("no crawl is published in Redis (start `narratives run DB --redis URL`)")
        self.crawl = json.loads(raw)
        self.run_id = self.crawl["run_id"]
        self.revisit_since = self.crawl.get("revisit_since")
        self.refresh = bool(self.crawl.get("refresh"))

    @classmethod
    def from_settings(cls, settings):
        return cls(connect(settings.get("NARRATIVES_REDIS_URL")), Keys(settings.get("NARRATIVES_REDIS_PREFIX")))

    def outlet_rows(self, names):
        rows = self.crawl["outlets"]
        return [r for r in rows if not names or r["name"] in names]

    def validators(self, url):
        raw = self.server.hget(self.keys.pages, url)
        if not raw:
            return None, None
        etag, last_modified = json.loads(raw)
        return etag, last_modified

    def stored_page(self, url):
        raw = self.server.hget(self.keys.bodies, url)
        if not raw:
            return None, None
        data = json.loads(raw)
        return zlib.decompress(base64.b64decode(data["body"])), data.get("final_url")

    def article_stored(self, url):
        return bool(self.server.sismember(self.keys.stored, url_key(url)))

    def revisit_due(self, url, since):
        return bool(self.server.sismember(self.keys.revisit, url_key(url)))

    def current_run(self) -> int | None:
        raw = self.server.get(self.keys.crawl)
        return json.loads(raw)["run_id"] if raw else None

    def close(self):
        self.server.close()


class WorkerScheduler(RedisScheduler):
    """scrapy-redis's scheduler; a worker marks itself busy the moment it takes a request, so the
    coordinator never sees an empty queue and idle workers while a request is in flight."""

    worker_id = f"{socket.gethostname()}:{os.getpid()}"

    def next_request(self):
        request = super().next_request()
        if request is not None:
            self.server.set(f"{self.spider.settings.get('NARRATIVES_REDIS_PREFIX')}:busy:{self.worker_id}", 1,
                            ex=BUSY_TTL)
        return request


class WorkerHeartbeat:
    """A worker's link to the coordinator: pushes its counters (requests per outlet and kind,
    robots.txt hashes), keeps its busy mark, picks up work others queued, and lets the spider
    close only once the coordinator has closed the crawl (or after --max-idle seconds)."""

    def __init__(self, crawler):
        self.crawler = crawler
        s = crawler.settings
        self.keys = Keys(s.get("NARRATIVES_REDIS_PREFIX"))
        self.server = connect(s.get("NARRATIVES_REDIS_URL"))
        self.max_idle = s.getfloat("NARRATIVES_WORKER_MAX_IDLE", 0)
        self.worker_id = WorkerScheduler.worker_id
        self.pushed: dict = {}
        self.idle_since: float | None = None
        self.loop = None

    @classmethod
    def from_crawler(cls, crawler):
        ext = cls(crawler)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self, spider):
        self.run_id = spider.state.run_id
        self.loop = task.LoopingCall(self.beat)
        self.loop.start(0.25, now=False)

    def flush_stats(self):
        stats = self.crawler.stats.get_stats()
        pipe = self.server.pipeline(transaction=False)
        for key, value in stats.items():
            if not str(key).startswith("narratives/"):
                continue
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                delta = value - self.pushed.get(key, 0)
                if delta:
                    pipe.hincrby(self.keys.stats, key, int(delta))
            elif self.pushed.get(key) != value:
                pipe.hset(self.keys.stats, key, str(value))
            self.pushed[key] = value
        pipe.execute()

    def beat(self):
        engine = self.crawler.engine
        try:
            idle = engine.spider_is_idle()
        except RuntimeError:
            return
        self.flush_stats()  # before the busy mark goes: the coordinator reads complete counters
        if idle:
            self.server.delete(self.keys.busy(self.worker_id))
        else:
            self.server.set(self.keys.busy(self.worker_id), 1, ex=BUSY_TTL)
            self.idle_since = None
        slot = getattr(engine, "_slot", None)
        if slot is not None and self.server.zcard(self.keys.requests):
            slot.nextcall.schedule()  # work queued by another worker: take it now, not at the next heartbeat

    def spider_idle(self, spider):
        if self.server.zcard(self.keys.requests):
            raise DontCloseSpider
        self.flush_stats()
        self.server.delete(self.keys.busy(self.worker_id))
        if spider.state.current_run() != self.run_id:
            return  # the coordinator closed this crawl: done
        now = time.monotonic()
        self.idle_since = self.idle_since or now
        if self.max_idle and now - self.idle_since >= self.max_idle:
            logger.warning("idle for %.0fs while crawl run %s is still open: stopping", now - self.idle_since,
                           self.run_id)
            return
        raise DontCloseSpider  # other workers may still queue work for this crawl

    def spider_closed(self, spider, reason):
        if self.loop and self.loop.running:
            self.loop.stop()
        try:
            self.flush_stats()
            self.server.delete(self.keys.busy(self.worker_id))
        finally:
            self.server.close()


def wait_for_crawl(redis_url: str, prefix: str, timeout: float | None, poll: float = 1.0) -> dict | None:
    """The published crawl, once there is one (None after *timeout* seconds)."""
    server = connect(redis_url)
    keys = Keys(prefix)
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        while True:
            raw = server.get(keys.crawl)
            if raw:
                return json.loads(raw)
            if deadline is not None and time.monotonic() >= deadline:
                return None
            time.sleep(poll)
    finally:
        server.close()


def run_worker_crawl(redis_url: str, prefix: str, overrides: dict, *, log_level: str, max_idle: float) -> dict:
    """One worker crawl in this process (the reactor runs once): returns Scrapy's stats."""
    from scrapy.crawler import CrawlerProcess
    from scrapy.settings import Settings

    s = Settings()
    s.setmodule("crawler.settings", priority="project")
    s.setdict(overrides, priority="cmdline")
    s.setdict(worker_settings(redis_url, prefix), priority="cmdline")
    s.set("NARRATIVES_WORKER_MAX_IDLE", max_idle, priority="cmdline")
    extensions = dict(s.getdict("EXTENSIONS"))
    extensions["crawler.distributed.WorkerHeartbeat"] = 520
    s.set("EXTENSIONS", extensions, priority="cmdline")
    s.set("LOG_INSTALL_ROOT_HANDLER", False, priority="cmdline")
    s.set("NARRATIVES_LOG_SUMMARY_TABLE", False, priority="cmdline")
    s.set("LOG_LEVEL", log_level, priority="cmdline")
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "crawler.settings")
    process = CrawlerProcess(s)
    crawler = process.create_crawler("outlets")
    process.crawl(crawler)
    process.start()
    try:
        return crawler.stats.get_stats()
    except RuntimeError:
        return {}


# -- coordinator side ---------------------------------------------------------------------------------


def _batched(iterable, n=1000):
    batch = []
    for x in iterable:
        batch.append(x)
        if len(batch) >= n:
            yield batch
            batch = []
    if batch:
        yield batch


def publish_crawl(server, keys: Keys, db, *, run_id: int, outlets: list[dict], revisit_since: str | None,
                  refresh: bool) -> dict:
    """Reset the crawl's keys and publish what workers need; returns counts of what was published."""
    for name in ("crawl", "requests", "dupefilter", "items", "stats", "stored", "revisit", "pages", "bodies"):
        server.delete(getattr(keys, name))
    stored = 0
    for batch in _batched(u for row in db.execute("SELECT url, canonical_url FROM articles") for u in row if u):
        server.sadd(keys.stored, *[url_key(u) for u in batch])
        stored += len(batch)
    revisit = 0
    if revisit_since:
        due = db.execute("""SELECT a.url, p.etag, p.last_modified FROM articles a JOIN pages p ON p.id = a.page_id
                            WHERE coalesce(a.published_at, a.fetched_at) >= ? AND coalesce(p.fetch_count, 1) < 2""",
                         [revisit_since])
        for batch in _batched(due):
            server.sadd(keys.revisit, *[url_key(u) for u, _, _ in batch])
            for url, etag, last_modified in batch:  # a revisit is a conditional request too
                if etag or last_modified:
                    server.hset(keys.pages, url, json.dumps([etag, last_modified]))
            revisit += len(batch)
    pages = 0
    names = [o["name"] for o in outlets]
    rows = db.execute(f"""SELECT url, etag, last_modified, html, final_url FROM pages
                          WHERE kind IN ('feed', 'sitemap', 'section') AND status IN (200, 304)
                            AND outlet IN ({', '.join('?' for _ in names)})""", names)
    for url, etag, last_modified, html, final_url in rows:
        if etag or last_modified:
            server.hset(keys.pages, url, json.dumps([etag, last_modified]))
        if html:
            server.hset(keys.bodies, url, json.dumps({"body": base64.b64encode(html).decode("ascii"),
                                                      "final_url": final_url}))
        pages += 1
    crawl = {"run_id": run_id, "outlets": outlets, "revisit_since": revisit_since, "refresh": refresh}
    server.set(keys.crawl, json.dumps(crawl))  # last: workers start once everything is in place
    return {"stored": stored, "revisit": revisit, "pages": pages}


def crawl_quiet(server, keys: Keys) -> bool:
    """No request queued, no item waiting, no worker busy."""
    if server.zcard(keys.requests) or server.llen(keys.items):
        return False
    return not any(True for _ in server.scan_iter(match=keys.busy("*"), count=100))


def worker_stats(server, keys: Keys) -> dict:
    out = {}
    for k, v in server.hgetall(keys.stats).items():
        k, v = k.decode(), v.decode()
        try:
            out[k] = int(v)
        except ValueError:
            out[k] = v
    return out


def close_crawl(server, keys: Keys) -> None:
    """Workers stop once the crawl key is gone; queue and filter are dropped (the next run starts clean)."""
    for name in ("crawl", "requests", "dupefilter", "revisit", "pages", "bodies"):
        server.delete(getattr(keys, name))


class _Interrupted(Exception):
    pass


def coordinate_crawl(db_path, redis_url: str, outlet_names: list[str], overrides: dict, *, prefix: str = "narratives",
                     wait_workers: float = 300, progress=None, progress_every: float = 10.0):
    """Publish a crawl for the workers, ingest their items into SQLite until the crawl is done,
    record the run. The caller holds the run lock. Returns a crawler.runner.CrawlOutcome."""
    import signal
    from datetime import datetime, timedelta, timezone

    from crawler import settings as defaults
    from crawler.citations import OutletResolver
    from crawler.exceptions import DATABASE_FULL
    from crawler.outlets import Outlet
    from crawler.progress import outlet_summary
    from crawler.runner import CrawlOutcome
    from crawler.runstats import Counters, outlet_run_stats
    from crawler.store_items import store_item
    from db import open_db
    from db.connection import is_full_error, limit_size
    from db.crawl_runs import finish_crawl_run, mark_abandoned, start_crawl_run
    from db.store import outlet_rows

    server = connect(redis_url)
    keys = Keys(prefix)
    db = open_db(db_path)
    rows = outlet_rows(db, outlet_names)
    killed = mark_abandoned(db)
    hours = float(overrides.get("NARRATIVES_REVISIT_WINDOW_HOURS", defaults.NARRATIVES_REVISIT_WINDOW_HOURS) or 0)
    revisit_since = ((datetime.now(timezone.utc) - timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")
                     if hours > 0 else None)
    refresh = str(overrides.get("NARRATIVES_REFRESH", "")).lower() in ("1", "true", "yes")
    run_id = start_crawl_run(db, outlets=[r["name"] for r in rows], mode="distributed",
                             params={"settings": overrides, "redis": redis_url, "prefix": prefix})
    published = publish_crawl(server, keys, db, run_id=run_id, outlets=rows, revisit_since=revisit_since,
                              refresh=refresh)
    logger.info("crawl run %d published in Redis (%d stored URLs, %d feed/sitemap/section copies)",
                run_id, published["stored"], published["pages"])
    resolver = OutletResolver(Outlet.from_row(r) for r in outlet_rows(db))
    counters = Counters()
    status, reason = "finished", "finished"
    max_size = int(overrides.get("NARRATIVES_DB_MAX_SIZE", defaults.NARRATIVES_DB_MAX_SIZE) or 0)
    unlimited = db.execute("PRAGMA max_page_count").fetchone()[0]
    if max_size:  # the ingest, like a local crawl's StorePipeline, stops when the database reaches it
        limit_size(db, max_size)
    started = last_report = time.monotonic()
    stored = quiet = 0

    def on_term(signum, frame):
        raise _Interrupted()

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        while True:
            popped = server.blpop([keys.items], timeout=1)
            if popped:
                try:
                    store_item(db, deserialize_item(popped[1]), resolver=resolver, stats=counters, run_id=run_id)
                except Exception as exc:
                    if not is_full_error(exc):
                        raise
                    # the failed write was rolled back; what was stored stays, the rest is fetched next run
                    logger.error("database %s is full (%s): stopping the crawl", db_path, exc)
                    counters.inc_value("narratives/database_full")
                    status, reason = "failed", DATABASE_FULL
                    break
                stored += 1
                quiet = 0
            elif not server.scard(keys.dupefilter):  # no worker has taken the crawl yet
                if time.monotonic() - started > wait_workers:
                    status, reason = "failed", f"no worker took the crawl within {wait_workers:.0f}s"
                    break
            elif crawl_quiet(server, keys):
                quiet += 1
                if quiet >= 2:  # twice, a second apart: a worker between two requests is not idle
                    break
            else:
                quiet = 0
            if progress and time.monotonic() - last_report >= progress_every:
                last_report = time.monotonic()
                progress(stored, server.zcard(keys.requests),
                         sum(1 for _ in server.scan_iter(match=keys.busy("*"), count=100)))
    except (KeyboardInterrupt, _Interrupted):
        status, reason = "interrupted", "shutdown"
    finally:
        signal.signal(signal.SIGTERM, previous)
        flat = worker_stats(server, keys)
        for key, value in counters.get_stats().items():
            flat[key] = flat.get(key, 0) + value if isinstance(value, int) and key in flat else value
        close_crawl(server, keys)
        server.close()
        names = {r["name"] for r in rows}  # crawl-wide counters (narratives/retry_after/held, ...) are not outlets
        per_outlet = {name: st for name, st in outlet_run_stats(flat).items() if name in names}
        for name in names:
            per_outlet.setdefault(name, {})
        duration = time.monotonic() - started
        if max_size:  # the run's own record is written past the limit, as a local crawl's is
            db.execute(f"PRAGMA max_page_count = {int(unlimited)}")
        totals = finish_crawl_run(db, run_id, per_outlet, status=status, reason=reason, duration_s=duration)
        db.close()
    return CrawlOutcome(run_id, reason, status, outlet_summary(flat), totals, duration, killed)
