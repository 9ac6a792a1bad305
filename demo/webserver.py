"""A generic multi-site fixture web server for tests and demos (stdlib only).

`FixtureWeb` serves several *sites*, each on its own loopback (host, port), from background
threads. A site is a mapping ``path -> response`` where a response is a `Response`, a
``(status, headers, body)`` tuple, or a callable ``(Request) -> response``. Lookup tries the
full request target (path plus query) first, then the path alone; anything else is a 404.

Responses that declare validators (``etag`` / ``last_modified``) answer conditional GETs
(``If-None-Match`` / ``If-Modified-Since``) with 304. Every request is appended to a
thread-safe log that tests read through `FixtureWeb.request_log` (a list of
`LoggedRequest(site, method, path, headers)` named tuples; ``path`` keeps the query string).

Only loopback addresses (127.0.0.0/8, or "localhost" meaning 127.0.0.1) can be bound.

    web = FixtureWeb()
    web.add_site("a", {"/": Response(body=b"hi")}, host="127.0.0.11")
    with web:
        urllib.request.urlopen(web.base_url("a"))
        assert web.request_log[0].path == "/"
"""
from __future__ import annotations

import email.utils
import hashlib
import ipaddress
import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Mapping, NamedTuple, Union
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)


class FixtureWebError(ValueError):
    """Invalid fixture-web configuration (non-loopback host, unknown or duplicate site)."""


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = "text/html; charset=utf-8"
    etag: str | None = None  # quoted or bare; quoted on output
    last_modified: datetime | None = None  # aware datetime

    @classmethod
    def with_validators(cls, body: bytes, *, content_type: str, last_modified: datetime | None = None,
                        status: int = 200, headers: dict | None = None) -> "Response":
        """A response whose ETag is a hash of its body (and Last-Modified when given)."""
        return cls(status=status, body=body, headers=dict(headers or {}), content_type=content_type,
                   etag=hashlib.sha1(body).hexdigest()[:16], last_modified=last_modified)


@dataclass(frozen=True)
class Request:
    site: str
    method: str
    target: str  # path plus query string, as sent
    path: str
    query: str
    headers: dict[str, str]


class LoggedRequest(NamedTuple):
    site: str
    method: str
    path: str  # request target: path plus query string
    headers: dict[str, str]


ResponseLike = Union[Response, tuple, bytes, str]
Route = Union[ResponseLike, Callable[[Request], ResponseLike]]


def _as_response(value) -> Response:
    if isinstance(value, Response):
        return value
    if isinstance(value, bytes):
        return Response(body=value)
    if isinstance(value, str):
        return Response(body=value.encode("utf-8"))
    if isinstance(value, tuple) and len(value) == 3:
        status, headers, body = value
        headers = dict(headers or {})
        ctype = None
        for k in list(headers):
            if k.lower() == "content-type":
                ctype = headers.pop(k)
        if isinstance(body, str):
            body = body.encode("utf-8")
        return Response(status=int(status), body=body, headers=headers, content_type=ctype)
    raise TypeError(f"not a response: {value!r}")


def check_loopback(host: str) -> str:
    """Return the IP literal to bind, refusing anything outside 127.0.0.0/8."""
    if host == "localhost":
        return "127.0.0.1"
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        raise FixtureWebError(f"host {host!r} is not an IP literal; only loopback 127.0.0.0/8 may be bound") from None
    if addr.version != 4 or not addr.is_loopback:
        raise FixtureWebError(f"host {host!r} is not a loopback address (127.0.0.0/8); refusing to bind it")
    return str(addr)


class _Site:
    def __init__(self, name: str, routes: Mapping[str, Route], host: str, port: int):
        self.name = name
        self.routes: dict[str, Route] = dict(routes)
        self.host = host
        self.port = port
        self.server: ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None
        self.not_found: Route | None = None


def _not_modified(req_headers: dict[str, str], resp: Response) -> bool:
    if resp.status != 200:
        return False
    inm = req_headers.get("if-none-match")
    if inm is not None and resp.etag is not None:
        tags = {t.strip().removeprefix("W/").strip('"') for t in inm.split(",")}
        return "*" in tags or resp.etag.strip('"') in tags
    ims = req_headers.get("if-modified-since")
    if ims is not None and resp.last_modified is not None:
        try:
            since = email.utils.parsedate_to_datetime(ims)
        except (TypeError, ValueError):
            return False
        if since.tzinfo is None:
            since = since.replace(tzinfo=timezone.utc)
        return resp.last_modified.replace(microsecond=0) <= since
    return False


class FixtureWeb:
    """Several loopback web sites served from background threads."""

    def __init__(self):
        self._sites: dict[str, _Site] = {}
        self._log: list[LoggedRequest] = []
        self._lock = threading.Lock()
        self._started = False

    # -- configuration -------------------------------------------------------------------
    def add_site(self, name: str, routes: Mapping[str, Route] | None = None, *, host: str = "127.0.0.1",
                 port: int = 0) -> None:
        if name in self._sites:
            raise FixtureWebError(f"site {name!r} already added")
        site = _Site(name, routes or {}, check_loopback(host), int(port))
        self._sites[name] = site
        if self._started:
            self._start_site(site)

    def routes(self, site: str) -> dict[str, Route]:
        """The live route table of a site; add or replace entries at any time."""
        return self._site(site).routes

    def set_not_found(self, site: str, route: Route) -> None:
        """Response (or callable) used for unknown paths instead of the plain 404."""
        self._site(site).not_found = route

    @property
    def sites(self) -> list[str]:
        return list(self._sites)

    def _site(self, name: str) -> _Site:
        try:
            return self._sites[name]
        except KeyError:
            raise FixtureWebError(f"unknown site {name!r}") from None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> "FixtureWeb":
        if self._started:
            return self
        try:
            for site in self._sites.values():
                self._start_site(site)
        except OSError:
            self.stop()
            raise
        self._started = True
        return self

    def stop(self) -> None:
        for site in self._sites.values():
            if site.server is not None:
                site.server.shutdown()
                site.server.server_close()
                site.server = None
            if site.thread is not None:
                site.thread.join(timeout=5)
                site.thread = None
        self._started = False

    def __enter__(self) -> "FixtureWeb":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def address(self, site: str) -> tuple[str, int]:
        s = self._site(site)
        if s.server is None:
            raise FixtureWebError(f"site {site!r} is not started")
        return s.host, s.server.server_address[1]

    def base_url(self, site: str) -> str:
        host, port = self.address(site)
        return f"http://{host}:{port}/"

    # -- request log -----------------------------------------------------------------------
    @property
    def request_log(self) -> list[LoggedRequest]:
        """A snapshot copy of every request served so far, in arrival order."""
        with self._lock:
            return list(self._log)

    def requests_for(self, site: str) -> list[LoggedRequest]:
        return [r for r in self.request_log if r.site == site]

    def clear_log(self) -> None:
        with self._lock:
            self._log.clear()

    def _record(self, entry: LoggedRequest) -> None:
        with self._lock:
            self._log.append(entry)

    # -- serving ---------------------------------------------------------------------------
    def _resolve(self, site: _Site, request: Request) -> Response:
        route = site.routes.get(request.target)
        if route is None:
            route = site.routes.get(request.path)
        if route is None:
            route = site.not_found
        if route is None:
            return Response(status=404, body=b"<!doctype html><title>404 Not Found</title><h1>Not Found</h1>")
        if callable(route):
            route = route(request)
        return _as_response(route)

    def _start_site(self, site: _Site) -> None:
        web = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "FixtureWeb/1.0"
            timeout = 10

            def log_message(self, fmt, *args):  # keep test output quiet
                logger.debug("%s %s", site.name, fmt % args)

            def _handle(self, send_body: bool):
                headers = {k.lower(): v for k, v in self.headers.items()}
                parts = urlsplit(self.path)
                request = Request(site.name, self.command, self.path, parts.path or "/", parts.query, headers)
                web._record(LoggedRequest(site.name, self.command, self.path, headers))
                try:
                    resp = web._resolve(site, request)
                except Exception:  # a broken fixture must show up as a 500, not a hung client
                    logger.exception("fixture route failed: %s %s", site.name, self.path)
                    resp = Response(status=500, body=b"fixture error")
                status = 304 if _not_modified(headers, resp) else resp.status
                body = b"" if status == 304 else resp.body
                self.send_response(status)
                if resp.content_type and status != 304:
                    self.send_header("Content-Type", resp.content_type)
                if resp.etag is not None:
                    self.send_header("ETag", '"%s"' % resp.etag.strip('"'))
                if resp.last_modified is not None:
                    self.send_header("Last-Modified", email.utils.format_datetime(
                        resp.last_modified.astimezone(timezone.utc), usegmt=True))
                for k, v in resp.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if send_body and body:
                    self.wfile.write(body)

            def do_GET(self):
                self._handle(True)

            def do_HEAD(self):
                self._handle(False)

        server = ThreadingHTTPServer((site.host, site.port), Handler)
        server.daemon_threads = True
        site.server = server
        site.thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, name=f"fixtureweb-{site.name}", daemon=True)
        site.thread.start()
