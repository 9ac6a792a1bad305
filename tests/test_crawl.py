"""Whole crawls of a local fixture web through the real spider, in a subprocess."""
import sqlite3

import pytest

from tests.conftest import ALLOW_LOOPBACK
from tests.fixture_sites import build_fixture_web, outlets_toml

FAST = ["-s", "DOWNLOAD_TIMEOUT=2", "-s", "RETRY_TIMES=0", "-s", "AUTOTHROTTLE_START_DELAY=0.05",
        "-s", "NARRATIVES_EXTRACT_WORKERS=1", *ALLOW_LOOPBACK]


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("crawl")
    web = build_fixture_web(slow_seconds=5)
    from tests.conftest import run_cli

    db = tmp / "n.db"
    (tmp / "outlets.toml").write_text(outlets_toml(web))
    assert run_cli("outlets", "import", db, tmp / "outlets.toml").returncode == 0
    first = run_cli("crawl", db, *FAST)
    first_log = list(web.request_log)
    web.clear_log()
    second = run_cli("crawl", db, *FAST)
    second_log = list(web.request_log)
    before = rows(db, "SELECT url, title, text, published_at, content_hash FROM articles ORDER BY url")
    extract = run_cli("extract", db, "--workers", "1")
    after = rows(db, "SELECT url, title, text, published_at, content_hash FROM articles ORDER BY url")
    yield {"db": db, "first": first, "second": second, "first_log": first_log, "second_log": second_log, "web": web,
           "extract": extract, "before_extract": before, "after_extract": after}
    web.stop()


def rows(db, sql, *params):
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    return [dict(r) for r in conn.execute(sql, params)]


def page_error(db, path):
    (row,) = rows(db, "SELECT status, error FROM pages WHERE url LIKE ?", "%" + path)
    return row


def test_crawl_exits_ok_and_prints_per_outlet_summary(crawled):
    r = crawled["first"]
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split()[:3] == ["outlet", "pages", "articles_new"]
    by_outlet = {line.split()[0]: line.split() for line in lines[1:]}
    assert by_outlet["alpha"][2] == "4"  # good, linked, broken, cp1251
    assert by_outlet["beta"][2] == "1"
    assert "crawl finished (finished)" in r.stderr


def test_articles_stored_with_dates_and_sources(crawled):
    arts = {r["url"].rsplit("/", 1)[1]: r for r in rows(crawled["db"], "SELECT * FROM articles")}
    assert set(arts) == {"good.html", "linked.html", "broken.html", "cp1251.html", "beta-story.html"}
    good = arts["good.html"]
    assert good["title"] == "Cranes arrive at the harbour"
    assert good["published_at"].startswith("2026-03-03T09:15") and good["date_source"] == "feed"
    assert "utm_" not in good["url"] and "utm_" not in good["canonical_url"]
    assert "new cranes would be installed by summer" in good["text"]
    assert "© Fixture News" not in good["text"]
    beta = arts["beta-story.html"]
    assert beta["published_at"].startswith("2026-03-07T10:00") and beta["date_source"] == "sitemap"
    assert arts["linked.html"]["published_at"].startswith("2026-03-04")
    assert "Портовое управление" in arts["cp1251.html"]["text"]  # charset lie repaired
    assert arts["cp1251.html"]["language"] == "ru"
    assert "budget had grown by a third" in arts["broken.html"]["text"]
    assert all(a["content_hash"] and len(a["content_hash"]) == 64 for a in arts.values())
    # compressed HTML kept for offline re-extraction
    assert all(r["html"] for r in rows(crawled["db"], "SELECT html FROM pages WHERE kind = 'article' AND error IS NULL"))


def test_failures_recorded_with_reason_and_crawl_went_on(crawled):
    db = crawled["db"]
    assert page_error(db, "/news/empty.html")["error"] == "empty body"
    assert page_error(db, "/news/report.pdf")["error"] == "not HTML (application/pdf)"
    assert page_error(db, "/news/error500.html") == {"status": 500, "error": "http 500"}
    assert page_error(db, "/news/gone.html") == {"status": 404, "error": "http 404"}
    assert page_error(db, "/news/slow.html")["error"] == "timeout"
    assert page_error(db, "/broken-feed.xml")["error"].startswith("malformed feed")
    assert page_error(db, "/sitemap-bad.xml")["error"].startswith("malformed sitemap")
    assert page_error(db, "/private/secret.html")["error"] == "forbidden by robots.txt"


def test_robots_and_scope_obeyed_per_server_logs(crawled):
    log = crawled["first_log"]
    alpha_paths = {e.path for e in log if e.site == "alpha"}
    beta_paths = {e.path for e in log if e.site == "beta"}
    assert "/robots.txt" in alpha_paths and "/robots.txt" in beta_paths
    assert not any(p.startswith("/private/") for p in alpha_paths)
    assert "/news/only-linked-from-alpha.html" not in beta_paths
    assert "/news/not-ours.html" not in beta_paths
    ua = {e.headers.get("user-agent") for e in log}
    assert all(u and u.startswith("narrative-tracker/") and "contact" in u for u in ua)


def test_recrawl_fetches_no_stored_article_again(crawled):
    r = crawled["second"]
    assert r.returncode == 0, r.stderr
    fetched = {e.path.split("?")[0] for e in crawled["second_log"]}
    for stored in ("/news/good.html", "/news/linked.html", "/news/broken.html", "/news/cp1251.html", "/news/beta-story.html"):
        assert stored not in fetched
    # the feed was asked for conditionally and answered 304
    feed_requests = [e for e in crawled["second_log"] if e.path == "/rss.xml"]
    assert feed_requests and "if-none-match" in feed_requests[0].headers
    assert page_error(crawled["db"], "/rss.xml")["status"] == 304
    assert rows(crawled["db"], "SELECT count(*) AS n FROM articles")[0]["n"] == 5


def test_citations_resolved_to_outlets(crawled):
    cites = rows(crawled["db"], """SELECT c.kind, c.target_outlet, c.text, c.target_url FROM citations c
                                  JOIN articles a ON a.id = c.article_id WHERE a.url LIKE '%/news/good.html'""")
    assert {"kind": "source", "target_outlet": "beta", "text": "Beta", "target_url": None} in cites
    links = [c for c in cites if c["kind"] == "link" and c["target_outlet"] == "beta"]
    assert [c["target_url"].rsplit("/", 1)[1] for c in links] == ["beta-story.html"]
    (good,) = rows(crawled["db"], "SELECT text FROM articles WHERE url LIKE '%/news/good.html'")
    assert "Source: Beta" not in good["text"]


def test_offline_extract_reproduces_the_articles(crawled):
    r = crawled["extract"]
    assert r.returncode == 0, r.stderr
    assert "extracted 5 articles from 5 stored pages (0 without an article)" in r.stdout
    assert crawled["after_extract"] == crawled["before_extract"]
