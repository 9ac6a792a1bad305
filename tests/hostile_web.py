"""A hostile fixture web on loopback: servers that lie, stall, flood, bomb and redirect.

Unlike `demo.webserver.FixtureWeb`, a route here is a function that owns the connection: it
may send a 50 MB body lazily, trickle one byte per second, stream chunks forever, send a gzip
bomb or hang up without answering. Every request is logged with its arrival time, and
streaming routes count the bytes they managed to send before the client hung up, so tests can
assert what the crawler did from the servers' side.

Only 127.0.0.0/8 can be bound (`demo.webserver.check_loopback`). Streaming routes stop on
their own after a safety cap, so a broken test never leaves a thread writing forever.
"""
from __future__ import annotations

import email.utils
import logging
import socket
import threading
import time
import zlib
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable
from urllib.parse import urlsplit

from demo.webserver import check_loopback

logger = logging.getLogger(__name__)

MiB = 1024 * 1024
STREAM_CAP_SECONDS = 30.0  # no streaming route writes for longer than this


@dataclass(frozen=True)
class Hit:
    site: str
    method: str
    path: str  # path plus query, as sent
    headers: dict
    at: float  # time.monotonic() on arrival


class Conn:
    """What a route gets: the request and a few ways to answer (or not)."""

    def __init__(self, web: "HostileWeb", site: str, handler: BaseHTTPRequestHandler, nth: int):
        self.web, self.site, self.h, self.nth = web, site, handler, nth  # nth: 1 for the first request of this path
        self.path = urlsplit(handler.path).path

    def head(self, status: int, headers: dict | None = None, content_type: str | None = "text/html; charset=utf-8"):
        self.h.send_response(status)
        if content_type:
            self.h.send_header("Content-Type", content_type)
        for k, v in (headers or {}).items():
            self.h.send_header(k, v)
        self.h.end_headers()

    def write(self, data: bytes) -> bool:
        """Send bytes; False once the client has gone."""
        try:
            self.h.wfile.write(data)
            self.h.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.h.close_connection = True
            return False
        self.web.count_sent(self.site, self.path, len(data))
        return True

    def send(self, status: int = 200, body: bytes = b"", headers: dict | None = None,
             content_type: str | None = "text/html; charset=utf-8"):
        self.head(status, {**(headers or {}), "Content-Length": str(len(body))}, content_type)
        if self.h.command != "HEAD" and body:
            self.write(body)

    def hang_up(self):
        """Close the connection without a byte of response."""
        self.h.close_connection = True
        try:
            self.h.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


Route = Callable[[Conn], None]


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):  # a client hanging up is what these servers expect
        logger.debug("connection from %s ended with an error", client_address, exc_info=True)


class _Site:
    def __init__(self, name: str, host: str, port: int):
        self.name, self.host, self.port = name, host, port
        self.routes: dict[str, Route] = {}
        self.server: ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None


class HostileWeb:
    def __init__(self):
        self._sites: dict[str, _Site] = {}
        self._lock = threading.Lock()
        self._log: list[Hit] = []
        self._sent: dict[tuple[str, str], int] = defaultdict(int)
        self._counts: dict[tuple[str, str], int] = defaultdict(int)

    def add_site(self, name: str, host: str, port: int = 0) -> None:
        self._sites[name] = _Site(name, check_loopback(host), port)

    def route(self, site: str, path: str, handler: Route) -> None:
        self._sites[site].routes[path] = handler

    def routes(self, site: str, mapping: dict[str, Route]) -> None:
        self._sites[site].routes.update(mapping)

    def base_url(self, site: str) -> str:
        s = self._sites[site]
        return f"http://{s.host}:{s.server.server_address[1]}/"

    def port(self, site: str) -> int:
        return self._sites[site].server.server_address[1]

    def start_site(self, name: str, host: str, port: int) -> None:
        """Add a site and start serving it now (e.g. on a port another site uses on another address)."""
        self.add_site(name, host, port)
        self._start(self._sites[name])

    @property
    def request_log(self) -> list[Hit]:
        with self._lock:
            return list(self._log)

    def hits(self, site: str, path: str | None = None) -> list[Hit]:
        return [h for h in self.request_log if h.site == site and (path is None or urlsplit(h.path).path == path)]

    def bytes_sent(self, site: str, path: str) -> int:
        with self._lock:
            return self._sent[(site, path)]

    def count_sent(self, site: str, path: str, n: int) -> None:
        with self._lock:
            self._sent[(site, path)] += n

    def clear_log(self) -> None:
        with self._lock:
            self._log.clear()
            self._sent.clear()
            self._counts.clear()

    def _hit(self, site: str, handler: BaseHTTPRequestHandler) -> int:
        path = urlsplit(handler.path).path
        with self._lock:
            self._log.append(Hit(site, handler.command, handler.path,
                                 {k.lower(): v for k, v in handler.headers.items()}, time.monotonic()))
            self._counts[(site, path)] += 1
            return self._counts[(site, path)]

    def start(self) -> "HostileWeb":
        for site in self._sites.values():
            self._start(site)
        return self

    def stop(self) -> None:
        for site in self._sites.values():
            if site.server is not None:
                site.server.shutdown()
                site.server.server_close()
                site.server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _start(self, site: _Site) -> None:
        web = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "HostileWeb/1.0"
            timeout = 40

            def log_message(self, fmt, *args):
                logger.debug("%s %s", site.name, fmt % args)

            def do_GET(self):
                nth = web._hit(site.name, self)
                route = site.routes.get(urlsplit(self.path).path)
                conn = Conn(web, site.name, self, nth)
                if route is None:
                    conn.send(404, b"<html><body>not found</body></html>")
                    return
                try:
                    route(conn)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True
                except Exception:
                    logger.exception("hostile route failed: %s %s", site.name, self.path)
                    self.close_connection = True

            do_HEAD = do_GET

        server = _Server((site.host, site.port), Handler)
        site.server = server
        site.thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                       name=f"hostileweb-{site.name}", daemon=True)
        site.thread.start()


# -- routes -------------------------------------------------------------------------------------


def page(body: bytes | str, content_type: str | None = "text/html; charset=utf-8", status: int = 200,
         headers: dict | None = None) -> Route:
    data = body.encode("utf-8") if isinstance(body, str) else body

    def route(c: Conn):
        c.send(status, data, headers, content_type)
    return route


def redirect(location: str | Callable[[], str], status: int = 302) -> Route:
    def route(c: Conn):
        c.send(status, b"", {"Location": location() if callable(location) else location})
    return route


def meta_refresh(location: str) -> Route:
    return page(f'<html><head><meta http-equiv="refresh" content="0; url={location}"></head><body>moved</body></html>')


def lazy_body(size: int, *, declare_length: bool, content_type: str = "text/html; charset=utf-8",
              first: bytes = b"<html><body>") -> Route:
    """`size` bytes generated while sending, 64 KiB at a time, until done or the client hangs up."""
    filler = b"<p>" + b"lorem ipsum dolor sit amet " * 9600 + b"</p>\n"  # ~256 KiB

    def route(c: Conn):
        headers = {"Content-Length": str(size)} if declare_length else {"Connection": "close"}
        c.head(200, headers, content_type)
        if not declare_length:
            c.h.close_connection = True
        sent = 0
        if not c.write(first):
            return
        sent += len(first)
        deadline = time.monotonic() + STREAM_CAP_SECONDS
        while sent < size and time.monotonic() < deadline:
            chunk = filler[: size - sent]
            if not c.write(chunk):
                return
            sent += len(chunk)
    return route


@lru_cache(maxsize=None)
def zero_bomb(encoding: str, size: int = 64 * MiB) -> bytes:
    """`size` zero bytes compressed (gzip, deflate = zlib stream): about 1/1000 of `size`."""
    wbits = {"gzip": 31, "deflate": 15}[encoding]
    comp = zlib.compressobj(9, zlib.DEFLATED, wbits)
    block = b"\0" * MiB
    out = [comp.compress(block) for _ in range(size // MiB)]
    out.append(comp.flush())
    return b"".join(out)


def compression_bomb(encoding: str) -> Route:
    def route(c: Conn):
        c.send(200, zero_bomb(encoding), {"Content-Encoding": encoding})
    return route


def endless_chunked(chunk_size: int = 64 * 1024) -> Route:
    """A chunked response that never ends (until the client hangs up or the safety cap)."""
    chunk = b"<p>" + b"x" * (chunk_size - 8) + b"</p>\n"
    frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"

    def route(c: Conn):
        c.head(200, {"Transfer-Encoding": "chunked"})
        c.write(b"5\r\n<html\r\n")
        deadline = time.monotonic() + STREAM_CAP_SECONDS
        while time.monotonic() < deadline:
            if not c.write(frame):
                return
        c.h.close_connection = True
    return route


def trickle(length: int = 10_000, interval: float = 1.0) -> Route:
    """Declares `length` bytes and sends one byte per `interval` seconds."""
    def route(c: Conn):
        c.head(200, {"Content-Length": str(length)})
        deadline = time.monotonic() + STREAM_CAP_SECONDS
        for _ in range(length):
            if not c.write(b"<") or time.monotonic() > deadline:
                c.h.close_connection = True
                return
            time.sleep(interval)
    return route


def hang_up() -> Route:
    def route(c: Conn):
        c.hang_up()
    return route


def cut_short(declared: int = 100_000, sent: bytes = b"<html><body><p>the beginning of a story") -> Route:
    """Declares `declared` bytes, sends a few, hangs up."""
    def route(c: Conn):
        c.head(200, {"Content-Length": str(declared)})
        c.write(sent)
        c.hang_up()
    return route


def in_turn(*routes: Route) -> Route:
    """The n-th request of the path gets the n-th route; later ones get the last."""
    def route(c: Conn):
        routes[min(c.nth, len(routes)) - 1](c)
    return route


def busy(status: int, retry_after: str | Callable[[], str] | None) -> Route:
    def route(c: Conn):
        headers = {}
        if retry_after is not None:
            headers["Retry-After"] = retry_after() if callable(retry_after) else retry_after
        c.send(status, b"<html><body>busy, come back later</body></html>", headers)
    return route


def http_date(seconds_from_now: float) -> str:
    return email.utils.formatdate(time.time() + seconds_from_now, usegmt=True)


# -- the hostile web the suite crawls -------------------------------------------------------------

# one loopback host per outlet (Scrapy throttles per host), plus two servers no outlet includes
HOSTS = {
    "pages": "127.0.0.71", "streams": "127.0.0.72", "redirects": "127.0.0.73", "busy": "127.0.0.74",
    "feeds": "127.0.0.75", "robots-huge": "127.0.0.76", "robots-garbage": "127.0.0.77",
    "robots-closed": "127.0.0.78", "canary": "127.0.0.79", "robots-declared": "127.0.0.80",
}
# the same host as the `redirects` outlet on another port: inside no outlet's scope either
OTHER_PORT_SITE = "redirects-other-port"
FEED_BUDGET = 25  # max_pages of the `feeds` outlet (its enormous sitemap lists 100,000 URLs)
CYRILLIC = ("Портовое управление заявило в понедельник, что новые краны будут установлены к лету. "
            "Рабочие порта приветствовали эту новость, но предупредили, что старые краны небезопасны. ") * 3
ACCENTED = ("The café owners of Zürich and Genève say the naïve façade of the old déjà-vu theatre "
            "was restored with € 2 million from the canton. ") * 4
PRIVATE_TARGETS = ["http://169.254.169.254/latest/meta-data/iam/", "http://10.0.0.1/admin",
                   "http://192.168.1.1/", "http://[fd00::1]/", "http://[::1]:9/", "http://0.0.0.0:80/"]
# The address guard (crawler/addresses.py): outlets whose host names lead where no outlet may go.
# The names are answered by the tests' resolver (tests/scripted_dns.py, DNS_SCRIPT); 127.0.0.84
# stands for an internal service (cloud metadata, an admin page) and is in no allowance. Its
# server shares its port with the rebinding name's first address, so one URL can reach either.
GUARD_HOSTS = {"rebinding": "127.0.0.83", "internal": "127.0.0.84"}
REBIND_NAME, INTERNAL_NAME = "rebind.hostile.test", "admin.hostile.test"
DNS_SCRIPT = {REBIND_NAME: [["127.0.0.83"], ["127.0.0.84"]],  # DNS rebinding: allowed first, internal next
              INTERNAL_NAME: [["127.0.0.84"]]}
# what the hostile crawl allows: the outlets' own servers, address by address (not 127.0.0.84)
ALLOWED_ADDRESSES = ",".join(f"{h}/32" for h in [*HOSTS.values(), GUARD_HOSTS["rebinding"]])


def _rss(base: str, paths: list[str], extra: str = "") -> bytes:
    items = "".join(f"<item><title>{p}</title><link>{p if '://' in p else base + p.lstrip('/')}</link></item>"
                    for p in paths)
    return f'<?xml version="1.0"?>{extra}<rss version="2.0"><channel><title>t</title>{items}</channel></rss>'.encode()


def _article(title: str, paras: list[str] | None = None, **kw) -> str:
    from tests.fixture_sites import PARAS, article_html

    return article_html(title, paras or PARAS, date="2026-03-03T10:00:00Z", **kw)


def _no_links_home(c: Conn):
    c.send(200, b"<html><body><p>Front page.</p></body></html>")


def build_hostile_web() -> HostileWeb:
    from tests.fixture_sites import PARAS

    zero_bomb("gzip"), zero_bomb("deflate")  # compressed now, not while the crawl waits
    web = HostileWeb()
    for name, host in HOSTS.items():
        web.add_site(name, host)
    web.add_site(OTHER_PORT_SITE, HOSTS["redirects"])
    web.add_site("rebinding", GUARD_HOSTS["rebinding"])
    web.start()
    web.start_site("internal", GUARD_HOSTS["internal"], web.port("rebinding"))
    url = {name: web.base_url(name) for name in HOSTS} | {OTHER_PORT_SITE: web.base_url(OTHER_PORT_SITE)}
    canary, other_port = url["canary"], url[OTHER_PORT_SITE]
    allow = page(b"User-agent: *\nAllow: /\n", "text/plain")
    good = page(_article("A good story"))

    # -- broken markup, charsets, binary ---------------------------------------------------------
    p = url["pages"]
    nested = ("<div>" * 100_000 + "".join(f"<p>{x}</p>" for x in PARAS) + "</div>" * 100_000)
    web.routes("pages", {
        "/robots.txt": allow, "/": _no_links_home, "/good.html": good,
        "/rss.xml": page(_rss(p, ["good.html", "nested.html", "tag-soup.html", "no-charset.html", "meta-charset.html",
                                  "bom-utf8.html", "bom-utf16.html", "latin1-lie.html", "binary.html"]),
                         "application/rss+xml"),
        "/nested.html": page("<html><head><title>Nested</title></head><body>" + nested + "</body></html>"),
        "/tag-soup.html": page("<html><head><title>Soup</title><body></html><table><tr><td><p>" + PARAS[0]
                               + "</b></i></table><<<>>><p>" + PARAS[1] + "<script>document.write('<p>')"
                               + "<p>" + PARAS[2] + "<!-- unclosed comment <p>" + PARAS[3] + "<span>" * 5000),
        # no charset anywhere: cp1251 bytes
        "/no-charset.html": page(_article("Краны", [CYRILLIC], lang="ru", charset_meta="").replace(
            '<meta charset="">', "").encode("cp1251"), "text/html"),
        # the header says nothing, the page says windows-1251 in a <meta>
        "/meta-charset.html": page(_article("Краны", [CYRILLIC], lang="ru", charset_meta="windows-1251").encode("cp1251"),
                                   "text/html"),
        # a UTF-8 BOM beats a header that claims ISO-8859-1
        "/bom-utf8.html": page(b"\xef\xbb\xbf" + _article("Caf\u00e9 news", [ACCENTED]).encode("utf-8"),
                               "text/html; charset=iso-8859-1"),
        "/bom-utf16.html": page(_article("Caf\u00e9 news in UTF-16", [ACCENTED]).encode("utf-16"), "text/html"),
        # says ISO-8859-1, sends UTF-8 (the commonest lie)
        "/latin1-lie.html": page(_article("Caf\u00e9 lie", [ACCENTED], charset_meta="iso-8859-1").encode("utf-8"),
                                 "text/html; charset=iso-8859-1"),
        "/binary.html": page(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 64, "text/html"),
    })

    # -- size and time attacks --------------------------------------------------------------------
    s = url["streams"]
    web.routes("streams", {
        "/robots.txt": allow, "/": _no_links_home, "/good.html": good,
        "/rss.xml": page(_rss(s, ["good.html", "huge-declared.html", "huge-streamed.html", "gzip-bomb.html",
                                  "deflate-bomb.html", "endless.html", "trickle.html", "hang-up.html",
                                  "cut-short.html"]), "application/rss+xml"),
        "/huge-declared.html": lazy_body(50 * MiB, declare_length=True),
        "/huge-streamed.html": lazy_body(50 * MiB, declare_length=False),
        "/gzip-bomb.html": compression_bomb("gzip"),
        "/deflate-bomb.html": compression_bomb("deflate"),
        "/endless.html": endless_chunked(),
        "/trickle.html": trickle(),
        "/hang-up.html": hang_up(),
        "/cut-short.html": cut_short(),
    })

    # -- redirects and links that lead out of scope -----------------------------------------------
    r = url["redirects"]
    links = "".join(f'<a href="{t}">x</a>' for t in PRIVATE_TARGETS + [canary + "from-link", other_port + "from-link"])
    web.routes("redirects", {
        "/robots.txt": allow,
        "/": page(f"<html><body>{links}<a href='/good.html'>good</a></body></html>"),
        "/good.html": good,
        "/rss.xml": page(_rss(r, ["loop-a.html", "self.html", "chain-0.html", "moved.html", "to-other-port.html",
                                  "to-canary.html", "to-metadata.html", "to-private.html", "refresh-to-private.html",
                                  canary + "from-feed", other_port + "from-feed", *PRIVATE_TARGETS]),
                         "application/rss+xml"),
        "/loop-a.html": redirect(r + "loop-b.html"),
        "/loop-b.html": redirect(r + "loop-a.html"),
        "/self.html": redirect(r + "self.html"),
        **{f"/chain-{i}.html": redirect(f"{r}chain-{i + 1}.html") for i in range(20)},
        "/moved.html": redirect(r + "moved-here.html", 301),
        "/moved-here.html": page(_article("Moved story")),
        "/to-other-port.html": redirect(other_port + "stolen"),
        "/to-canary.html": redirect(canary + "stolen", 307),
        "/to-metadata.html": redirect("http://169.254.169.254/latest/meta-data/iam/security-credentials/"),
        "/to-private.html": redirect("http://10.0.0.1/admin", 301),
        "/refresh-to-private.html": meta_refresh("http://192.168.1.1/router"),
    })

    # -- 429 and 503 with Retry-After -------------------------------------------------------------
    b = url["busy"]
    web.routes("busy", {
        "/robots.txt": allow, "/": _no_links_home,
        "/rss.xml": page(_rss(b, ["rate-limited.html", "unavailable.html", "closed-for-a-day.html"]),
                         "application/rss+xml"),
        "/rate-limited.html": in_turn(busy(429, "2"), page(_article("Rate limited story"))),
        "/unavailable.html": in_turn(busy(503, lambda: http_date(3)), page(_article("Unavailable story"))),
        "/closed-for-a-day.html": busy(503, "86400"),
    })

    # -- feeds and sitemaps -----------------------------------------------------------------------
    f = url["feeds"]
    bomb_dtd = ('<!DOCTYPE rss [<!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">'
                + "".join(f'<!ENTITY {n} "{("&" + p + ";") * 10}">' for p, n in zip("abcdefgh", "bcdefghi"))
                + f'<!ENTITY xxe SYSTEM "{canary}xxe"><!ENTITY file SYSTEM "file:///etc/passwd">]>')
    bomb_feed = (f'<?xml version="1.0"?>{bomb_dtd}<rss version="2.0"><channel><title>&i;</title>'
                 f'<item><title>&i;&xxe;&file;</title><link>{f}from-bomb-feed.html</link></item></channel></rss>')
    bomb_sitemap = (f'<?xml version="1.0"?>{bomb_dtd.replace("rss", "urlset", 1)}<urlset><url><loc>{f}from-bomb-sitemap.html</loc>'
                    '<news:title xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">&i;&xxe;</news:title>'
                    '</url></urlset>')
    many = "".join(f"<url><loc>{f}many/{i}.html</loc></url>" for i in range(100_000))
    web.routes("feeds", {
        "/robots.txt": allow, "/": _no_links_home,
        "/bomb.xml": page(bomb_feed, "application/rss+xml"),
        "/huge-feed.xml": lazy_body(50 * MiB, declare_length=False, content_type="application/rss+xml",
                                    first=b'<?xml version="1.0"?><rss><channel><title>'),
        "/binary-feed.xml": page(b"\x89PNG\r\n\x1a\n\x00\x00" + bytes(range(256)) * 16, "application/rss+xml"),
        "/sitemap-self.xml": page(f'<?xml version="1.0"?><sitemapindex><sitemap><loc>{f}sitemap-self.xml</loc></sitemap>'
                                  f'<sitemap><loc>{f}sitemap-other.xml</loc></sitemap></sitemapindex>', "application/xml"),
        "/sitemap-other.xml": page(f'<?xml version="1.0"?><sitemapindex><sitemap><loc>{f}sitemap-self.xml</loc></sitemap>'
                                   f'<sitemap><loc>{f}sitemap-other.xml</loc></sitemap></sitemapindex>', "application/xml"),
        "/sitemap-bomb.xml": page(bomb_sitemap, "application/xml"),
        "/sitemap-many.xml": page(f'<?xml version="1.0"?><urlset>{many}</urlset>', "application/xml"),
        "/sitemap-zip-bomb.xml.gz": page(zero_bomb("gzip"), "application/x-gzip"),
        "/from-bomb-feed.html": page(_article("Story from a feed with an entity bomb")),
        "/from-bomb-sitemap.html": page(_article("Story from a sitemap with an entity bomb")),
        **{f"/many/{i}.html": page(_article(f"Sitemap story {i}")) for i in range(200)},
    })

    # -- robots.txt: huge, garbage, closed --------------------------------------------------------
    web.routes("robots-huge", {
        "/robots.txt": lazy_body(50 * MiB, declare_length=False, content_type="text/plain",
                                 first=b"User-agent: *\nDisallow: /private/\n"),
        "/": _no_links_home, "/good.html": good, "/private/secret.html": good,
        "/rss.xml": page(_rss(url["robots-huge"], ["good.html", "private/secret.html"]), "application/rss+xml"),
    })
    web.routes("robots-declared", {  # the same, with a Content-Length of 50 MB
        "/robots.txt": lazy_body(50 * MiB, declare_length=True, content_type="text/plain",
                                 first=b"User-agent: *\nDisallow: /private/\n"),
        "/": _no_links_home, "/good.html": good, "/private/secret.html": good,
        "/rss.xml": page(_rss(url["robots-declared"], ["good.html", "private/secret.html"]), "application/rss+xml"),
    })
    web.routes("robots-garbage", {
        "/robots.txt": page(b"\x00\xff<html><body>User-agent: * Disallow Allow: ::: \xfe\xfe" * 200, "text/plain"),
        "/": _no_links_home, "/good.html": good,
        "/rss.xml": page(_rss(url["robots-garbage"], ["good.html"]), "application/rss+xml"),
    })
    web.routes("robots-closed", {
        "/robots.txt": page(b"User-agent: *\nDisallow: /\n", "text/plain"),
        "/": _no_links_home, "/good.html": good,
        "/rss.xml": page(_rss(url["robots-closed"], ["good.html"]), "application/rss+xml"),
    })
    for site in ("canary", OTHER_PORT_SITE):
        web.route(site, "/", page(_article("Nobody may come here")))

    # -- names that resolve to refused addresses (the address guard) -----------------------------
    close = {"Connection": "close"}  # every request a new connection, so a new look-up
    for site in ("rebinding", "internal"):
        base = guard_urls(web)["dns-rebinding"]
        web.routes(site, {
            "/robots.txt": page(b"User-agent: *\nAllow: /\n", "text/plain", headers=close),
            "/": page(f"<html><body><a href='/good.html'>story</a> ({site})</body></html>", headers=close),
            "/rss.xml": page(_rss(base, ["good.html"]), "application/rss+xml", headers=close),
            "/good.html": page(_article(f"Served by {site}"), headers=close),
            "/latest/meta-data/iam/security-credentials/": page(b"AccessKeyId: AKIA-NOT-FOR-CRAWLERS", "text/plain"),
        })
    return web


def guard_urls(web: HostileWeb) -> dict[str, str]:
    """The base URLs of the outlets the address guard refuses (see GUARD_HOSTS)."""
    port = web.port("rebinding")
    return {"dns-rebinding": f"http://{REBIND_NAME}:{port}/", "internal-name": f"http://{INTERNAL_NAME}:{port}/",
            # the IPv4-mapped IPv6 form of an allowed outlet's address: allowed as 127.0.0.71/32, not as this
            "mapped-literal": f"http://[::ffff:{HOSTS['pages']}]:{web.port('pages')}/"}


def outlets_toml(web: HostileWeb) -> str:
    u = {name: web.base_url(name) for name in HOSTS} | guard_urls(web)

    def outlet(name, feeds=(), sitemaps=(), extra=""):
        fl = ", ".join(f'"{u[name]}{x}"' for x in feeds)
        sl = ", ".join(f'"{u[name]}{x}"' for x in sitemaps)
        return f'[[outlet]]\nname = "{name}"\nhome = "{u[name]}"\nfeeds = [{fl}]\nsitemaps = [{sl}]\nlanguage = "en"\n{extra}\n'

    return "\n".join([
        outlet("pages", ["rss.xml"]),
        outlet("streams", ["rss.xml"]),
        outlet("redirects", ["rss.xml"]),
        outlet("busy", ["rss.xml"]),
        outlet("feeds", ["bomb.xml", "huge-feed.xml", "binary-feed.xml"],
               ["sitemap-self.xml", "sitemap-bomb.xml", "sitemap-many.xml", "sitemap-zip-bomb.xml.gz"],
               f"max_pages = {FEED_BUDGET}"),
        outlet("robots-huge", ["rss.xml"]),
        outlet("robots-declared", ["rss.xml"]),
        outlet("robots-garbage", ["rss.xml"]),
        outlet("robots-closed", ["rss.xml"]),
        outlet("dns-rebinding", ["rss.xml"]),
        outlet("internal-name", ["rss.xml"]),
        outlet("mapped-literal", ["rss.xml"]),
    ])


def filler_text(seed: int, words: int = 2500) -> str:
    """Text that does not compress much, so a few articles fill a small database."""
    import random

    rng = random.Random(seed)
    vocab = ["harbour", "council", "budget", "crane", "workers", "mayor", "audit", "steel", "contract", "storm",
             "winter", "training", "port", "city", "firms", "opposition", "project", "public", "summer", "parts"]
    sentences, n = [], 0
    while n < words:
        k = rng.randint(8, 20)
        sentences.append(" ".join(rng.choice(vocab) + str(rng.randint(0, 999)) for _ in range(k)).capitalize() + ".")
        n += k
    return " ".join(sentences)


def build_filler_web(count: int = 40, delay: float = 0.0, host: str = "127.0.0.81") -> HostileWeb:
    """One outlet (`filler`) whose feed lists `count` long articles, each answered after `delay` s."""
    web = HostileWeb()
    web.add_site("filler", host)
    web.start()
    base = web.base_url("filler")

    def article(i: int) -> Route:
        body = _article(f"Filler story {i}", [filler_text(i)[j:j + 2000] for j in range(0, 16000, 2000)]).encode()

        def route(c: Conn):
            time.sleep(delay)
            c.send(200, body)
        return route

    web.routes("filler", {
        "/robots.txt": page(b"User-agent: *\nAllow: /\n", "text/plain"), "/": _no_links_home,
        "/rss.xml": page(_rss(base, [f"story-{i}.html" for i in range(count)]), "application/rss+xml"),
        **{f"/story-{i}.html": article(i) for i in range(count)},
    })
    return web


def filler_toml(web: HostileWeb) -> str:
    base = web.base_url("filler")
    return f'[[outlet]]\nname = "filler"\nhome = "{base}"\nfeeds = ["{base}rss.xml"]\nlanguage = "en"\n'
