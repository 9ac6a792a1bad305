"""Spider callbacks on responses built from fixture bytes (no network)."""
import pytest
from scrapy import Request
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, Response, TextResponse, XmlResponse
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.test import get_crawler
from twisted.python.failure import Failure

from crawler.middlewares import OutOfScope, ScopeMiddleware
from crawler.outlets import Outlet
from crawler.spiders.outlets import OutletsSpider, looks_like_article
from db import open_db
from db.store import store_article, upsert_outlets

HOME = "http://127.0.0.21:9001/"
OTHER = "http://127.0.0.22:9002/"


@pytest.fixture
def spider(tmp_path):
    db_path = tmp_path / "n.db"
    db = open_db(db_path)
    upsert_outlets(db, [Outlet("alpha", HOME, feeds=(HOME + "rss.xml",), language="en").as_row(),
                        Outlet("beta", OTHER).as_row()])
    store_article(db, {"url": HOME + "stored.html", "outlet": "alpha", "text": "already here"})
    db.close()
    crawler = get_crawler(OutletsSpider, {"NARRATIVES_DB": str(db_path), "NARRATIVES_MAX_PAGES_PER_OUTLET": 5})
    sp = crawler._create_spider()
    yield sp
    sp.db.close()


def response(cls, url, body, *, meta, status=200, headers=None):
    req = Request(url, meta=meta)
    return cls(url=url, body=body, request=req, status=status, headers=headers or {})


def requests_of(results):
    return [r for r in results if isinstance(r, Request)]


def items_of(results):
    return [r for r in results if isinstance(r, dict)]


def test_feed_yields_page_item_and_article_requests_with_dates(spider):
    body = f"""<rss version="2.0"><channel>
      <item><link>{HOME}a.html?utm_source=rss</link><pubDate>Tue, 03 Mar 2026 09:15:00 GMT</pubDate><title>A</title></item>
      <item><link>{HOME}stored.html</link></item>
      <item><link>{OTHER}elsewhere.html</link></item>
    </channel></rss>""".encode()
    res = list(spider.parse_feed(response(XmlResponse, HOME + "rss.xml", body, meta={"outlet": "alpha", "kind": "feed"})))
    (item,) = items_of(res)
    assert item["kind"] == "feed" and item["status"] == 200 and item.get("error") is None
    (req,) = requests_of(res)  # the stored article and the other outlet's URL are not requested
    assert req.url == HOME + "a.html"  # tracking parameter removed
    assert req.meta["hints"] == {"feed_date": "2026-03-03T09:15:00Z", "feed_title": "A"}
    assert req.meta["outlet"] == "alpha" and req.meta["via"] == "feed"


def test_malformed_feed_is_recorded_with_reason(spider):
    res = list(spider.parse_feed(response(TextResponse, HOME + "rss.xml", b"<html>oops</html>",
                                          meta={"outlet": "alpha", "kind": "feed"})))
    (item,) = res
    assert item["error"].startswith("malformed feed: not an RSS or Atom feed")


def test_not_modified_feed_records_304_only(spider):
    res = list(spider.parse_feed(response(Response, HOME + "rss.xml", b"", status=304,
                                          meta={"outlet": "alpha", "kind": "feed"})))
    assert len(res) == 1 and res[0]["status"] == 304


def test_sitemap_date_is_merged_into_an_already_scheduled_request(spider):
    feed = f"<rss><channel><item><link>{HOME}b.html</link></item></channel></rss>".encode()
    (req,) = requests_of(spider.parse_feed(response(XmlResponse, HOME + "rss.xml", feed, meta={"outlet": "alpha", "kind": "feed"})))
    sitemap = f"""<urlset xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"><url><loc>{HOME}b.html</loc>
      <news:news><news:publication_date>2026-04-01T10:00:00Z</news:publication_date></news:news></url></urlset>""".encode()
    res = list(spider.parse_sitemap(response(XmlResponse, HOME + "sitemap.xml", sitemap,
                                             meta={"outlet": "alpha", "kind": "sitemap", "sitemap_depth": 0})))
    assert requests_of(res) == []
    assert req.meta["hints"]["sitemap_date"] == "2026-04-01T10:00:00Z"


def test_page_limit_per_outlet(spider):
    links = "".join(f'<a href="/n{i}.html">n{i}</a>' for i in range(20))
    res = list(spider.parse_page(response(HtmlResponse, HOME, f"<html><body>{links}</body></html>".encode(),
                                          meta={"outlet": "alpha", "kind": "section", "link_depth": 0})))
    assert len(requests_of(res)) == 5  # NARRATIVES_MAX_PAGES_PER_OUTLET


def test_section_page_follows_only_in_scope_links(spider):
    html = f"""<html><body><a href="/news/1.html">1</a><a href="{OTHER}x.html">other outlet</a>
      <a href="http://example.invalid/x">off web</a><a href="mailto:a@b">mail</a><a href="#top">top</a>
      <a href="/news/1.html#comments">dup</a></body></html>""".encode()
    res = list(spider.parse_page(response(HtmlResponse, HOME, html, meta={"outlet": "alpha", "kind": "section", "link_depth": 0})))
    (item,) = items_of(res)
    assert item["kind"] == "section"
    assert [r.url for r in requests_of(res)] == [HOME + "news/1.html"]


def test_links_not_followed_below_depth_limit(spider):
    html = b"<html><body><a href='/deeper.html'>d</a></body></html>"
    res = list(spider.parse_page(response(HtmlResponse, HOME + "x.html", html,
                                          meta={"outlet": "alpha", "kind": "article", "link_depth": 2, "via": "link"})))
    assert requests_of(res) == []


def test_pdf_and_empty_pages_are_recorded_not_extracted(spider):
    pdf = response(Response, HOME + "doc.pdf", b"%PDF-1.7 ...", headers={"Content-Type": "application/pdf"},
                   meta={"outlet": "alpha", "kind": "article", "link_depth": 1, "via": "feed"})
    (item,) = spider.parse_page(pdf)
    assert item["error"] == "not HTML (application/pdf)" and item["type"] == "page"
    empty = response(HtmlResponse, HOME + "e.html", b"  ", meta={"outlet": "alpha", "kind": "article", "via": "feed"})
    (item,) = spider.parse_page(empty)
    assert item["error"] == "empty body"


def test_article_from_feed_becomes_article_item(spider):
    html = b"<html><body><p>Short.</p></body></html>"
    res = response(HtmlResponse, HOME + "a.html", html, headers={"Content-Type": "text/html; charset=utf-8", "ETag": '"x1"'},
                   meta={"outlet": "alpha", "kind": "article", "link_depth": 1, "via": "feed", "hints": {"feed_date": "2026-03-01"}})
    (item,) = items_of(spider.parse_page(res))
    assert item["type"] == "article" and item["hints"] == {"feed_date": "2026-03-01"}
    assert item["body"] == html and item["etag"] == '"x1"' and item["language_hint"] == "en"


def test_looks_like_article():
    listing = HtmlResponse(url=HOME, body=("<html><body>" + "<a href='/x'>headline words here</a><p>teaser</p>" * 40 + "</body></html>").encode())
    assert not looks_like_article(listing)
    article = HtmlResponse(url=HOME, body=("<html><body><p>" + "word " * 300 + "</p><a href='/'>home</a></body></html>").encode())
    assert looks_like_article(article)
    tagged = HtmlResponse(url=HOME, body=b'<html><head><meta property="og:type" content="website"></head><p>x</p></html>')
    assert not looks_like_article(tagged)


def test_errback_reasons(spider):
    def fail_with(exc, url=HOME + "f.html"):
        req = Request(url, meta={"outlet": "alpha", "kind": "article"})
        failure = Failure(exc)
        failure.request = req
        return list(spider.on_error(failure))

    resp500 = HtmlResponse(HOME + "f.html", status=500, body=b"", request=Request(HOME + "f.html"))
    (item,) = fail_with(HttpError(resp500))
    assert (item["status"], item["error"]) == (500, "http 500")
    (item,) = fail_with(IgnoreRequest("Forbidden by robots.txt"))
    assert item["error"] == "forbidden by robots.txt"
    from scrapy.exceptions import DownloadTimeoutError

    (item,) = fail_with(DownloadTimeoutError("took too long"))
    assert item["error"] == "timeout"
    assert fail_with(OutOfScope("out of scope of outlet alpha: x")) == []


def test_scope_middleware_drops_out_of_scope_requests_and_redirects(spider):
    mw = ScopeMiddleware(spider.crawler)
    spider.crawler.spider = spider
    assert mw.process_request(Request(HOME + "ok.html", meta={"outlet": "alpha"})) is None
    with pytest.raises(OutOfScope):
        mw.process_request(Request(OTHER + "x.html", meta={"outlet": "alpha"}))
    with pytest.raises(OutOfScope):  # a redirect keeps the meta of the request it came from
        mw.process_request(Request("http://169.254.169.254/latest/meta-data", meta={"outlet": "alpha", "redirect_times": 1}))
    assert mw.process_request(Request(HOME + "robots.txt")) is None  # robots.txt: outlet origin only
    with pytest.raises(OutOfScope):
        mw.process_request(Request("http://127.0.0.99:1/robots.txt"))
