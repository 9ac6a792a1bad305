"""The loopback news web of the end-to-end benchmark (bench/e2e.py), served from its own process.

    python -m bench.e2e_web --pages 5000 --outlets 8 --ready READY.json --stats STATS.json

Pages are real page templates with real article texts: each scrapinghub-aeb page has its gold
body cut out and its title, canonical URL and charset turned into slots; page i fills template
i % T with text i (the real English articles of giveme5w1h, SemEval and aeb, then deterministic
mixes of three real articles' paragraphs), rendered on request. Outlets `e2e-K` each have a
loopback host 127.0.0.(70+K) with robots.txt, an RSS feed of the newest 50 articles, a home page,
and a sitemap index of 500-URL sitemaps (even outlets with Google News dates, odd ones with
<lastmod> only). READY.json gets the outlets once every server listens; on SIGTERM the process
writes its CPU seconds and request counts to STATS.json.
"""
from __future__ import annotations

import argparse
import gzip
import html
import json
import logging
import random
import re
import resource
import signal
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import lxml.html

from bench.shared_data import shared_data_dir
from bench.synth import real_pool
from crawler.decoding import decode_html

logger = logging.getLogger(__name__)

TITLE, CANON, BODY = "@@E2E-TITLE@@", "@@E2E-CANON@@", "@@E2E-BODY@@"
_SLOT = re.compile("(@@E2E-(?:TITLE|CANON|BODY)@@)")
START = datetime(2026, 6, 1, tzinfo=timezone.utc)
SPAN_DAYS = 90
SITEMAP_SIZE = 500
_WS = re.compile(r"\s+")


def _norm(text: str | None) -> str:
    return _WS.sub(" ", text or "").strip()


# ------------------------------------------------------------------ templates


def make_template(body: bytes, gold: str, url: str) -> list[str] | None:
    """The page split at its slots ([text, slot, text, ...]); None when the body block is not found.

    Links are made absolute against the page's original URL: they point to the original site,
    outside every loopback outlet's scope, as links to other sites do on the real web. The page
    declares English (its texts are English)."""
    text, _enc = decode_html(body, None)
    text = re.sub(r"^\s*<\?xml[^>]*>", "", text)
    try:
        doc = lxml.html.document_fromstring(text)
    except (ValueError, lxml.etree.ParserError):
        return None
    for base in doc.iterfind(".//base"):
        base.getparent().remove(base)
    doc.make_links_absolute(url, handle_failures="discard")
    doc.set("lang", "en")
    for el in doc.iterfind(".//meta[@http-equiv]"):
        if el.get("http-equiv").lower() == "content-language":
            el.getparent().remove(el)
    gold_n = _norm(gold)
    counts: dict = {}
    for p in doc.iter("p"):
        t = _norm(p.text_content())
        if len(t) > 30 and t in gold_n and p.getparent() is not None:
            counts[p.getparent()] = counts.get(p.getparent(), 0) + 1
    if not counts:
        return None
    block, n = max(counts.items(), key=lambda kv: kv[1])
    if n < 2:
        return None
    # every descendant block that repeats gold text goes (the first one's place takes the body)
    doomed = []
    for el in block.iterdescendants():
        if not isinstance(el.tag, str) or el.tag not in ("p", "h2", "h3", "h4", "blockquote", "ul", "ol", "div", "figure"):
            continue
        t = _norm(el.text_content())
        if t and t in gold_n and not any(anc in doomed for anc in el.iterancestors()):
            doomed.append(el)
    first = doomed[0]
    marker = lxml.html.Element("span")
    marker.text = BODY
    first.addprevious(marker)
    for el in doomed:
        parent = el.getparent()
        if el.tail and el.tail.strip():
            el.tail = None
        parent.remove(el)
    head = doc.find("head")
    if head is None:
        return None
    for el in list(head):
        if el.tag == "meta" and (el.get("charset") or (el.get("http-equiv") or "").lower() == "content-type"):
            head.remove(el)
        elif el.tag == "link" and "canonical" in (el.get("rel") or "").lower():
            head.remove(el)
        elif el.tag == "meta" and (el.get("property") or el.get("name") or "").lower() in ("og:url", "og:title", "twitter:title"):
            if (el.get("property") or el.get("name")).lower() == "og:url":
                head.remove(el)
            else:
                el.set("content", TITLE)
    head.insert(0, lxml.html.fromstring(f'<link rel="canonical" href="{CANON}">'))
    head.insert(0, lxml.html.fromstring('<meta charset="utf-8">'))
    title = doc.find(".//title")
    if title is not None:
        title.text = TITLE
        for child in list(title):
            title.remove(child)
    h1 = doc.find(".//h1")
    if h1 is not None:
        for child in list(h1):
            h1.remove(child)
        h1.text = TITLE
    out = "<!DOCTYPE html>\n" + lxml.html.tostring(doc, encoding="unicode", method="html")
    out = out.replace(f"<span>{BODY}</span>", BODY)
    return _SLOT.split(out)


def load_templates(data: Path) -> list[list[str]]:
    aeb = data / "scrapinghub-aeb"
    gold = json.loads((aeb / "ground-truth.json").read_text(encoding="utf-8"))
    out = []
    for pid in sorted(gold):
        parts = make_template(gzip.decompress((aeb / "html" / f"{pid}.html.gz").read_bytes()), gold[pid]["articleBody"],
                              gold[pid]["url"])
        if parts is not None and parts.count(BODY) == 1:
            out.append(parts)
    return out


# ------------------------------------------------------------------ texts


def page_texts(pages: int, seed: int = 6) -> list[tuple[str, list[str]]]:
    """(title, paragraphs) per page: real articles first, then combinations of three of them."""
    pool = [(t.strip(), [p.strip() for p in x.split("\n") if p.strip()]) for t, x in real_pool(10 ** 6)]
    pool = [(t, ps) for t, ps in pool if t and len(ps) >= 3]
    out = list(pool[:pages])
    rng = random.Random(seed)
    seen = {tuple(ps) for _t, ps in out}
    while len(out) < pages:
        picks = rng.sample(range(len(pool)), 3)
        paras: list[str] = []
        for k in picks:
            ps = pool[k][1]
            n = max(2, len(ps) // 3)
            start = rng.randrange(0, max(1, len(ps) - n + 1))
            paras.extend(ps[start:start + n])
        if tuple(paras) in seen:
            continue
        seen.add(tuple(paras))
        out.append((pool[picks[0]][0], paras))
    return out


# ------------------------------------------------------------------ the web


class NewsWeb:
    """All outlets: which page lives where, and the documents each outlet serves."""

    def __init__(self, pages: int, outlets: int, templates: list[list[str]], seed: int = 6):
        self.texts = page_texts(pages, seed)
        self.templates = templates
        self.outlets = outlets
        self.pages = pages
        self.base: dict[int, str] = {}

    def date(self, i: int) -> datetime:
        return START + timedelta(seconds=SPAN_DAYS * 86400 * i / max(1, self.pages))

    def path(self, i: int) -> str:
        d = self.date(i)
        return f"/{d:%Y/%m/%d}/story-{i}.html"

    def of_outlet(self, k: int) -> list[int]:
        return list(range(k, self.pages, self.outlets))

    def url(self, i: int) -> str:
        return self.base[i % self.outlets] + self.path(i)

    def article(self, i: int) -> bytes:
        title, paras = self.texts[i]
        body = "\n".join(f"<p>{html.escape(p, quote=False)}</p>" for p in paras)
        slots = {TITLE: html.escape(title), CANON: html.escape(self.url(i)), BODY: body}
        return "".join(slots.get(part, part) for part in self.templates[i % len(self.templates)]).encode("utf-8")

    def robots(self, k: int) -> bytes:
        return f"User-agent: *\nDisallow: /search\nSitemap: {self.base[k]}/sitemap.xml\n".encode()

    def home(self, k: int) -> bytes:
        newest = self.of_outlet(k)[::-1][:30]
        links = "".join(f'<li><a href="{self.path(i)}">{html.escape(self.texts[i][0])}</a></li>' for i in newest)
        return (f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>Outlet e2e-{k}</title></head>"
                f"<body><nav><a href=/>Home</a> <a href=/search>Search</a></nav><ul>{links}</ul></body></html>").encode()

    def feed(self, k: int) -> bytes:
        items = "".join(
            f"<item><title>{html.escape(self.texts[i][0])}</title><link>{self.url(i)}</link>"
            f"<pubDate>{self.date(i):%a, %d %b %Y %H:%M:%S} +0000</pubDate></item>"
            for i in self.of_outlet(k)[::-1][:50])
        return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>e2e-{k}</title>'
                f"<link>{self.base[k]}/</link>{items}</channel></rss>").encode()

    def sitemap_index(self, k: int) -> bytes:
        n = (len(self.of_outlet(k)) + SITEMAP_SIZE - 1) // SITEMAP_SIZE
        maps = "".join(f"<sitemap><loc>{self.base[k]}/sitemap-{j}.xml</loc></sitemap>" for j in range(n))
        return (f'<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                f"{maps}</sitemapindex>").encode()

    def sitemap(self, k: int, j: int) -> bytes | None:
        chunk = self.of_outlet(k)[j * SITEMAP_SIZE:(j + 1) * SITEMAP_SIZE]
        if not chunk:
            return None
        news = k % 2 == 0  # even outlets: Google News sitemaps with publication dates
        urls = "".join(
            f"<url><loc>{self.url(i)}</loc><lastmod>{self.date(i):%Y-%m-%dT%H:%M:%SZ}</lastmod>"
            + (f"<news:news><news:publication_date>{self.date(i):%Y-%m-%dT%H:%M:%SZ}</news:publication_date>"
               f"<news:title>{html.escape(self.texts[i][0])}</news:title></news:news>" if news else "")
            + "</url>" for i in chunk)
        return (f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
                f'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">{urls}</urlset>').encode()

    def respond(self, k: int, path: str) -> tuple[int, str, bytes]:
        path = path.split("?")[0]
        if path == "/robots.txt":
            return 200, "text/plain", self.robots(k)
        if path == "/":
            return 200, "text/html; charset=utf-8", self.home(k)
        if path == "/feed.xml":
            return 200, "application/rss+xml", self.feed(k)
        if path == "/sitemap.xml":
            return 200, "application/xml", self.sitemap_index(k)
        m = re.fullmatch(r"/sitemap-(\d+)\.xml", path)
        if m and (body := self.sitemap(k, int(m.group(1)))) is not None:
            return 200, "application/xml", body
        m = re.fullmatch(r"/\d{4}/\d\d/\d\d/story-(\d+)\.html", path)
        if m and int(m.group(1)) < self.pages and int(m.group(1)) % self.outlets == k and self.path(int(m.group(1))) == path:
            return 200, "text/html; charset=utf-8", self.article(int(m.group(1)))
        return 404, "text/plain", b"not found"


def serve(web: NewsWeb, first_host: int = 70) -> tuple[list[ThreadingHTTPServer], dict]:
    counts = {"requests": 0, "bytes": 0}
    lock = threading.Lock()
    servers = []
    for k in range(web.outlets):
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real servers
            outlet = k

            def do_GET(self):
                status, ctype, body = web.respond(self.outlet, self.path)
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                with lock:
                    counts["requests"] += 1
                    counts["bytes"] += len(body)

            def log_message(self, *args):
                pass

        server = ThreadingHTTPServer((f"127.0.0.{first_host + k}", 0), Handler)
        server.daemon_threads = True
        web.base[k] = f"http://127.0.0.{first_host + k}:{server.server_address[1]}"
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    return servers, counts


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=5000)
    ap.add_argument("--outlets", type=int, default=8)
    ap.add_argument("--ready", type=Path, required=True, help="JSON written once the servers listen")
    ap.add_argument("--stats", type=Path, required=True, help="JSON written on SIGTERM (CPU, requests)")
    args = ap.parse_args(argv)
    data = shared_data_dir()
    if data is None:
        print("../shared/data not found", file=sys.stderr)
        return 2
    templates = load_templates(data)
    web = NewsWeb(args.pages, args.outlets, templates)
    servers, counts = serve(web)
    sizes = [len(web.article(i)) for i in range(0, args.pages, max(1, args.pages // 200))]
    cpu0 = time.process_time()  # building the web is set-up, not serving
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    args.ready.write_text(json.dumps({
        "outlets": [{"name": f"e2e-{k}", "home": f"{web.base[k]}/", "feeds": [f"{web.base[k]}/feed.xml"],
                     "sitemaps": [f"{web.base[k]}/sitemap.xml"]} for k in range(args.outlets)],
        "templates": len(templates), "pages": args.pages, "mean_page_bytes": sum(sizes) / len(sizes),
        "setup_cpu_s": cpu0,
    }))
    stop.wait()
    for s in servers:
        s.shutdown()
    ru = resource.getrusage(resource.RUSAGE_SELF)
    args.stats.write_text(json.dumps({"serve_cpu_s": time.process_time() - cpu0, **counts,
                                      "peak_rss_mib": ru.ru_maxrss / 1024}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
