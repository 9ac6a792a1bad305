"""Scrapy settings of narrative-tracker (polite by default).

Every setting can be overridden with `narratives crawl -s KEY=VALUE` or `scrapy crawl -s`.
The project's own settings carry the NARRATIVES_ prefix; NARRATIVES_* environment variables
set them too (e.g. NARRATIVES_CONTACT=you@example.org).
"""
import os

BOT_NAME = "narrative-tracker"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

# Who we are: outlets should be able to reach the person running the crawl.
NARRATIVES_CONTACT = os.environ.get("NARRATIVES_CONTACT", "set NARRATIVES_CONTACT to an e-mail or URL")
USER_AGENT = os.environ.get(
    "NARRATIVES_USER_AGENT",
    f"narrative-tracker/0.1 (+https://github.com/narrative-tracker/narrative-tracker; contact: {NARRATIVES_CONTACT})",
)

ROBOTSTXT_OBEY = True
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
CONCURRENT_REQUESTS = 32
CONCURRENT_REQUESTS_PER_DOMAIN = 4
DOWNLOAD_DELAY = 0
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024
DOWNLOAD_WARNSIZE = 4 * 1024 * 1024
RETRY_ENABLED = True
RETRY_TIMES = 2
REDIRECT_MAX_TIMES = 5
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"

DOWNLOADER_MIDDLEWARES = {
    # before RobotsTxtMiddleware (100): an out-of-scope URL must not even cost a robots.txt fetch
    "crawler.middlewares.ScopeMiddleware": 50,
    # after RetryMiddleware (550): 429/503 with Retry-After are retried when the server asked
    "crawler.middlewares.RetryAfterMiddleware": 560,
    # after RedirectMiddleware (600): a redirect back into its own chain fails with a reason
    "crawler.middlewares.RedirectLoopMiddleware": 610,
    # the address guard (crawler/addresses.py): literal IPs refused before anything is sent; a
    # refusal at connection time reported with its reason, before RetryMiddleware (550) could retry it
    "crawler.addresses.AddressGuardMiddleware": 590,
}
# The reactor's name resolver is the address guard: every connection (pages, redirects,
# robots.txt, feeds, sitemaps) goes only to addresses it has checked. NARRATIVES_DNS_RESOLVER
# does the look-ups (Scrapy's caching resolver; scrapy.resolver.CachingHostnameResolver adds IPv6).
TWISTED_DNS_RESOLVER = "crawler.addresses.GuardedResolver"
NARRATIVES_DNS_RESOLVER = "scrapy.resolver.CachingThreadedResolver"
ITEM_PIPELINES = {
    "crawler.pipelines.StorePipeline": 300,
}
EXTENSIONS = {
    "crawler.progress.CrawlProgress": 500,
    "crawler.runstats.RequestStats": 510,
    "crawler.requestlog.RequestLog": 515,
    "crawler.robots.RobotsTxtLimit": 520,
}

# The project's own settings.
NARRATIVES_DB = os.environ.get("NARRATIVES_DB", "narratives.db")
NARRATIVES_OUTLETS = ""  # comma-separated outlet names; empty = all outlets in the database
NARRATIVES_REFRESH = False  # True: fetch article URLs again even when already stored
NARRATIVES_MAX_PAGES_PER_OUTLET = 2000  # default per-outlet page limit (outlets file may set its own)
# Home and section pages are depth 0 and links are followed from pages below this depth.
# Articles listed by feeds and sitemaps are not link-followed: those lists already enumerate them.
NARRATIVES_LINK_DEPTH = 2
NARRATIVES_SITEMAP_DEPTH = 3  # how deep sitemap indexes may nest
NARRATIVES_SITEMAP_MAXSIZE = 50 * 1024 * 1024  # decompressed size limit of one sitemap
NARRATIVES_EXTRACT_WORKERS = 0  # extraction processes; 0 = one per CPU core
NARRATIVES_PROGRESS_INTERVAL = 10.0  # seconds between progress lines
NARRATIVES_LOG_SUMMARY_TABLE = True  # log the per-outlet table when the crawl ends
NARRATIVES_RETRY_AFTER_MAX = 300  # seconds; a 429/503 asking for a longer pause is not retried in this crawl
NARRATIVES_ROBOTSTXT_MAXSIZE = 500 * 1024  # bytes of a robots.txt that are read (RFC 9309: at least 500 KiB)
NARRATIVES_DB_MAX_SIZE = 0  # bytes the database may grow to during a crawl (SQLite max_page_count); 0 = no limit
NARRATIVES_REQUEST_LOG = ""  # file to append every request sent ("METHOD URL" lines); empty = off
# Networks the address guard opens for every outlet, comma-separated ("127.0.0.0/8,10.20.0.0/16").
# Off by default: loopback, private, link-local, unspecified, multicast, reserved and carrier-grade
# NAT addresses are refused (per outlet: `allow_addresses` in the outlets file).
NARRATIVES_ALLOW_ADDRESSES = os.environ.get("NARRATIVES_ALLOW_ADDRESSES", "")
# Revision window: a stored article published (or first fetched) within this many hours is
# fetched once more to catch later edits; a changed text is kept as a revision (article_revisions).
# 0 = off: stored articles are never fetched again.
NARRATIVES_REVISIT_WINDOW_HOURS = 0.0
NARRATIVES_CRAWL_RUN_ID = 0  # set by `narratives crawl`/`run`: the crawl_runs row the crawl reports to
# Scale-out: a worker (`narratives worker --redis URL`) crawls through scrapy-redis (shared request
# queue and duplicate filter) and ships extracted items to the coordinator, which alone writes SQLite.
NARRATIVES_REDIS_URL = ""
NARRATIVES_REDIS_PREFIX = "narratives"  # Redis key prefix, so several trackers can share one Redis
