"""A small two-outlet fixture web with every kind of bad input the crawler must survive.

All text here is written for the tests.
"""
from __future__ import annotations

import time

from demo.webserver import FixtureWeb, Response

PARAS = [
    "The harbour authority said on Monday that the new cranes would be installed by summer, after months of "
    "delay caused by a shortage of parts and a dispute with the contractor over the price of steel.",
    "Workers at the port welcomed the news but warned that the old cranes were unsafe and that accidents had "
    "become more frequent during the winter, when storms hit the coast almost every week.",
    "The mayor promised that the city would pay for training, and that local firms would get a share of the "
    "maintenance contracts once the cranes are running at full capacity next year.",
    "Opposition councillors asked for an independent audit of the project, saying the budget had grown by a "
    "third since the plan was first presented to the public two years ago.",
]


def article_html(title: str, paras: list[str], *, date: str, lang: str = "en", extra_head: str = "",
                 charset_meta: str = "utf-8") -> str:
    body = "".join(f"<p>{p}</p>" for p in paras)
    return (f'<!doctype html><html lang="{lang}"><head><meta charset="{charset_meta}"><title>{title}</title>'
            f'<meta property="og:type" content="article"><meta property="article:published_time" content="{date}">'
            f'{extra_head}</head><body><nav><a href="/">Home</a> <a href="/world/">World</a></nav>'
            f'<article><h1>{title}</h1>{body}</article><footer>© Fixture News</footer></body></html>')


def html(text: str) -> Response:
    return Response(body=text.encode("utf-8"))


def build_fixture_web(slow_seconds: float = 6.0) -> FixtureWeb:
    web = FixtureWeb()
    web.add_site("alpha", host="127.0.0.31")
    web.add_site("beta", host="127.0.0.32")
    web.start()
    a, b = web.base_url("alpha"), web.base_url("beta")

    cyrillic = ("Портовое управление заявило в понедельник, что новые краны будут установлены к лету. "
                "Рабочие порта приветствовали эту новость, но предупредили, что старые краны небезопасны. ") * 3

    def slow(_request):
        time.sleep(slow_seconds)
        return html(article_html("Slow", PARAS, date="2026-03-05T10:00:00Z"))

    feed_items = [
        (a + "news/good.html?utm_source=rss&utm_medium=feed", "Tue, 03 Mar 2026 09:15:00 GMT"),
        (a + "news/broken.html", None),
        (a + "news/cp1251.html", None),
        (a + "news/empty.html", None),
        (a + "news/report.pdf", None),
        (a + "news/error500.html", None),
        (a + "news/slow.html", None),
        (a + "news/gone.html", None),
        (b + "news/not-ours.html", None),  # another outlet's URL in alpha's feed: out of scope
    ]
    rss = "".join(
        f"<item><title>t</title><link>{u}</link>{f'<pubDate>{d}</pubDate>' if d else ''}</item>" for u, d in feed_items
    )
    web.routes("alpha").update({
        "/robots.txt": Response(body=b"User-agent: *\nDisallow: /private/\n", content_type="text/plain"),
        "/rss.xml": Response.with_validators(f'<?xml version="1.0"?><rss version="2.0"><channel><title>A</title>{rss}</channel></rss>'.encode(),
                                             content_type="application/rss+xml"),
        "/broken-feed.xml": Response(body=b"<rss><channel><item><link>", content_type="application/rss+xml"),
        "/": html('<html><body><a href="/news/linked.html">Linked story</a> <a href="/private/secret.html">secret</a>'
                  f'<a href="{b}news/only-linked-from-alpha.html">beta story</a> <a href="http://example.invalid/x">x</a>'
                  '<a href="/world/">World</a></body></html>'),
        "/world/": html('<html><body><a href="/news/linked.html">Linked again</a></body></html>'),
        "/news/good.html": html(article_html("Cranes arrive at the harbour", PARAS + [
            f'The council debate was first reported <a href="{b}news/beta-story.html">by our colleagues</a>.',
            "Source: Beta"], date="2026-03-03T10:15:00+01:00",
                                             extra_head=f'<link rel="canonical" href="{a}news/good.html?utm_campaign=x">')),
        "/news/linked.html": html(article_html("Audit demanded for port project", PARAS[::-1], date="2026-03-04T08:00:00Z")),
        # unclosed and stray tags, no </html>, then 200 unclosed <div>s
        "/news/broken.html": html("<html><head><title>Port audit</title><body><div><p>" + PARAS[0] + "<p>" + PARAS[1]
                                  + "</b></i></table><p>" + PARAS[3] + "<span>" + "<div>" * 200 + "end"),
        # declares UTF-8 but sends cp1251
        "/news/cp1251.html": Response(body=article_html("Краны в порту", [cyrillic], date="2026-03-06T09:00:00Z",
                                                        lang="ru").encode("cp1251"),
                                      content_type="text/html; charset=utf-8"),
        "/news/empty.html": Response(body=b""),
        "/news/report.pdf": Response(body=b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n", content_type="application/pdf"),
        "/news/error500.html": Response(status=500, body=b"<html><body>Internal error</body></html>"),
        "/news/slow.html": slow,
        "/private/secret.html": html(article_html("Secret", PARAS, date="2026-03-01T00:00:00Z")),
    })
    web.routes("beta").update({
        "/robots.txt": Response(body=b"User-agent: *\nAllow: /\n", content_type="text/plain"),
        "/sitemap.xml": Response(body=(f'<?xml version="1.0"?><sitemapindex><sitemap><loc>{b}sitemap-1.xml</loc></sitemap>'
                                       f'<sitemap><loc>{b}sitemap-bad.xml</loc></sitemap></sitemapindex>').encode(),
                                 content_type="application/xml"),
        "/sitemap-1.xml": Response(body=(f'<?xml version="1.0"?><urlset xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">'
                                         f'<url><loc>{b}news/beta-story.html</loc><news:news><news:publication_date>'
                                         '2026-03-07T12:00:00+02:00</news:publication_date></news:news></url></urlset>').encode(),
                                   content_type="application/xml"),
        "/sitemap-bad.xml": Response(body=b"this is not xml at all", content_type="application/xml"),
        "/news/beta-story.html": html(article_html("Council votes on crane budget", PARAS[1:], date="2026-03-07T10:00:00Z")),
        "/news/only-linked-from-alpha.html": html(article_html("Never fetched", PARAS, date="2026-03-08T10:00:00Z")),
        "/news/not-ours.html": html(article_html("Never fetched either", PARAS, date="2026-03-08T10:00:00Z")),
    })
    return web


def outlets_toml(web: FixtureWeb) -> str:
    a, b = web.base_url("alpha"), web.base_url("beta")
    return f"""
[[outlet]]
name = "alpha"
home = "{a}"
feeds = ["{a}rss.xml", "{a}broken-feed.xml"]
sections = ["{a}world/"]
language = "en"

[[outlet]]
name = "beta"
home = "{b}"
sitemaps = ["{b}sitemap.xml"]
language = "en"
"""


class GrowingWeb:
    """Outlets that publish new articles between crawls (tests of incremental runs, resume, health).

    Every outlet serves robots.txt, an RSS feed of its newest articles, a sitemap of all of them
    and a home page linking the newest ones; all with validators (ETag), so an unchanged page
    answers a conditional request with 304. `publish(outlet, n)` adds n articles; `revise`
    changes one. Articles are dated now, so the revision window applies to them.
    """

    def __init__(self, outlets: dict[str, str], *, delay: float = 0.0, feed_size: int = 20, home_extra: str = "",
                 gate=None):
        self.web = FixtureWeb()
        self.delay = delay
        self.gate = gate  # called before an article is served (e.g. to wait for every crawler to arrive)
        self.home_extra = home_extra  # more HTML for every home page (e.g. forbidden or out-of-scope links)
        self.feed_size = feed_size
        self.articles: dict[str, list[dict]] = {name: [] for name in outlets}
        for name, host in outlets.items():
            self.web.add_site(name, host=host)
        self.web.start()
        for name in outlets:
            self._render(name)

    @property
    def request_log(self):
        return self.web.request_log

    def base_url(self, outlet: str) -> str:
        return self.web.base_url(outlet)

    def article_urls(self, outlet: str | None = None) -> set[str]:
        names = [outlet] if outlet else list(self.articles)
        return {self.base_url(o) + a["path"].lstrip("/") for o in names for a in self.articles[o]}

    def publish(self, outlet: str, n: int) -> None:
        from datetime import datetime, timezone

        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        for _ in range(n):
            k = len(self.articles[outlet]) + 1
            title = f"{outlet.capitalize()} report number {k} on the harbour cranes"
            paras = [f"This is report {k} of {outlet}, written for the tests of incremental crawls."] + \
                    PARAS[k % 4:] + PARAS[:k % 4] + [f"Report {k} ends here, with its own closing line."]
            self.articles[outlet].append({"path": f"/news/{k}.html", "title": title, "paras": paras, "date": now})
        self._render(outlet)

    def revise(self, outlet: str, k: int, sentence: str) -> None:
        self.articles[outlet][k - 1]["paras"].append(sentence)
        self._render(outlet)

    def _render(self, outlet: str) -> None:
        base = self.base_url(outlet)
        arts = self.articles[outlet]
        newest = arts[::-1][: self.feed_size]
        items = "".join(f"<item><title>{a['title']}</title><link>{base}{a['path'][1:]}</link></item>" for a in newest)
        urls = "".join(f"<url><loc>{base}{a['path'][1:]}</loc></url>" for a in arts)
        links = "".join(f'<li><a href="{a["path"]}">{a["title"]}</a></li>' for a in newest[:5])
        routes = {
            "/robots.txt": Response(body=b"User-agent: *\nDisallow: /private/\n", content_type="text/plain"),
            "/private/secret.html": Response(body=article_html("Secret", PARAS, date="2026-03-01").encode()),
            "/rss.xml": Response.with_validators(
                f'<?xml version="1.0"?><rss version="2.0"><channel><title>{outlet}</title>{items}</channel></rss>'.encode(),
                content_type="application/rss+xml"),
            "/sitemap.xml": Response.with_validators(
                f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'.encode(),
                content_type="application/xml"),
            "/": Response.with_validators(f"<html><body><ul>{links}</ul>{self.home_extra}</body></html>".encode(),
                                          content_type="text/html; charset=utf-8"),
        }
        for a in arts:
            page = Response.with_validators(article_html(a["title"], a["paras"], date=a["date"]).encode(),
                                            content_type="text/html; charset=utf-8")
            routes[a["path"]] = self._delayed(page) if self.delay or self.gate else page
        self.web.routes(outlet).update(routes)

    def _delayed(self, page: Response):
        def route(_request):
            if self.gate:
                self.gate()
            time.sleep(self.delay)
            return page
        return route

    def outlets_toml(self) -> str:
        out = []
        for name in self.articles:
            b = self.base_url(name)
            out.append(f'[[outlet]]\nname = "{name}"\nhome = "{b}"\nfeeds = ["{b}rss.xml"]\n'
                       f'sitemaps = ["{b}sitemap.xml"]\nlanguage = "en"\n')
        return "\n".join(out)

    def stop(self) -> None:
        self.web.stop()
