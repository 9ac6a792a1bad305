"""One real crawl of the hostile web (tests/hostile_web.py): every hostile page ends with its
reason recorded, the crawl goes on and finishes, nothing leaves the outlets' scopes, articles
stored before are untouched, a long reader does not block it, and memory stays bounded."""
import json
import sqlite3
import subprocess
import sys
import time
from urllib.parse import urlsplit

import pytest

from tests.conftest import REPO, run_cli, db_rows as rows
from tests.hostile_web import (ALLOWED_ADDRESSES, DNS_SCRIPT, FEED_BUDGET, HOSTS, MiB, OTHER_PORT_SITE, PRIVATE_TARGETS,
                               build_hostile_web, guard_urls, outlets_toml)

pytestmark = pytest.mark.slow

SETTINGS = ["-s", "DOWNLOAD_TIMEOUT=3", "-s", "RETRY_TIMES=1", "-s", "AUTOTHROTTLE_START_DELAY=0.05",
            "-s", "AUTOTHROTTLE_MAX_DELAY=1", "-s", "NARRATIVES_EXTRACT_WORKERS=1",
            # the hostile web is on loopback: each outlet's server allowed, address by address; host
            # names answered by the tests' resolver (tests/scripted_dns.py), never by real DNS
            "-s", f"NARRATIVES_ALLOW_ADDRESSES={ALLOWED_ADDRESSES}",
            "-s", "NARRATIVES_DNS_RESOLVER=tests.scripted_dns.ScriptedResolver",
            "-s", f"NARRATIVES_TEST_DNS={json.dumps(DNS_SCRIPT)}"]
RSS_LIMIT = 1024 * MiB
MEASURE = ("import resource, subprocess, sys\n"
           "code = subprocess.call(sys.argv[1:])\n"
           "print('PEAK_RSS_KB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
           "sys.exit(code)\n")
EARLIER = [  # stored before the crawl; must come out of it unchanged
    {"url": f"http://{HOSTS['pages']}/earlier-{i}.html", "outlet": "pages", "title": f"Earlier story {i}",
     "text": f"An earlier story number {i} about the harbour cranes and the council budget. " * 10,
     "published_at": "2026-01-0{}T10:00:00Z".format(i + 1)}
    for i in range(3)
]

# (outlet, path) -> what must be recorded for it: an exact error, or a prefix of it (ending in "…")
FAILURES = {
    ("pages", "/nested.html"): "no article extracted: …",  # 100,000 nested <div>s
    ("pages", "/tag-soup.html"): "no article extracted: …",  # unclosed script and comment swallow the text
    ("pages", "/binary.html"): "binary content under an HTML content type",
    ("streams", "/huge-declared.html"): "too large: the declared body exceeds DOWNLOAD_MAXSIZE",
    ("streams", "/huge-streamed.html"): "too large: the body exceeds DOWNLOAD_MAXSIZE",
    ("streams", "/endless.html"): "too large: the body exceeds DOWNLOAD_MAXSIZE",
    ("streams", "/gzip-bomb.html"): "too large: the body exceeds DOWNLOAD_MAXSIZE when decompressed",
    ("streams", "/deflate-bomb.html"): "too large: the body exceeds DOWNLOAD_MAXSIZE when decompressed",
    ("streams", "/trickle.html"): "timeout",
    ("streams", "/hang-up.html"): "connection closed by the server without a response",
    ("streams", "/cut-short.html"): "connection lost mid-response (data loss)",
    ("redirects", "/loop-a.html"): "redirect loop: …",
    ("redirects", "/self.html"): "redirect loop: …",
    ("redirects", "/chain-0.html"): "max redirections reached",
    ("redirects", "/to-other-port.html"): "redirect out of scope to …",
    ("redirects", "/to-canary.html"): "redirect out of scope to …",
    ("redirects", "/to-metadata.html"): "redirect out of scope to http://169.254.169.254/…",
    ("redirects", "/to-private.html"): "redirect out of scope to http://10.0.0.1/admin",
    ("redirects", "/refresh-to-private.html"): "redirect out of scope to http://192.168.1.1/router",
    ("busy", "/closed-for-a-day.html"): "http 503 (Retry-After: 86400)",
    ("feeds", "/bomb.xml"): "malformed feed (0 entries recovered): …",
    ("feeds", "/huge-feed.xml"): "too large: the body exceeds DOWNLOAD_MAXSIZE",
    ("feeds", "/binary-feed.xml"): "malformed feed: …",
    ("feeds", "/sitemap-bomb.xml"): "malformed sitemap (1 entries recovered): …",
    ("feeds", "/sitemap-zip-bomb.xml.gz"): "malformed sitemap: gzipped sitemap larger than …",
    ("robots-huge", "/private/secret.html"): "forbidden by robots.txt",
    ("robots-declared", "/private/secret.html"): "forbidden by robots.txt",
    ("robots-closed", "/rss.xml"): "forbidden by robots.txt",
    ("robots-closed", "/"): "forbidden by robots.txt",
    # the address guard: a name answering an allowed address to the first look-up (robots.txt) and
    # an internal one to the next; a name that resolves to an internal service; a literal IPv6 form
    # of an allowed address (the allowance opens 127.0.0.71/32 as written, not ::ffff:127.0.0.71)
    ("dns-rebinding", "/"): "address refused: rebind.hostile.test -> 127.0.0.84 (loopback, 127.0.0.0/8)",
    ("dns-rebinding", "/rss.xml"): "address refused: rebind.hostile.test -> 127.0.0.84 (loopback, 127.0.0.0/8)",
    ("internal-name", "/"): "address refused: admin.hostile.test -> 127.0.0.84 (loopback, 127.0.0.0/8)",
    ("internal-name", "/rss.xml"): "address refused: admin.hostile.test -> 127.0.0.84 (loopback, 127.0.0.0/8)",
    ("mapped-literal", "/"): "address refused: ::ffff:127.0.0.71 (loopback, 127.0.0.0/8, IPv4-mapped 127.0.0.71)",
    ("mapped-literal", "/rss.xml"): "address refused: ::ffff:127.0.0.71 (loopback, 127.0.0.0/8, IPv4-mapped 127.0.0.71)",
}
# (outlet, path) -> text the stored article must contain
ARTICLES = {
    ("pages", "/good.html"): "new cranes would be installed by summer",
    ("pages", "/no-charset.html"): "Портовое управление",  # cp1251, declared nowhere
    ("pages", "/meta-charset.html"): "Портовое управление",  # cp1251, declared only in <meta>
    ("pages", "/bom-utf8.html"): "café owners of Zürich",  # UTF-8 BOM, header says ISO-8859-1
    ("pages", "/bom-utf16.html"): "café owners of Zürich",  # UTF-16 BOM
    ("pages", "/latin1-lie.html"): "café owners of Zürich",  # says ISO-8859-1, is UTF-8
    ("streams", "/good.html"): "new cranes",
    ("redirects", "/moved-here.html"): "new cranes",  # an in-scope 301
    ("busy", "/rate-limited.html"): "new cranes",  # 429, Retry-After: 2
    ("busy", "/unavailable.html"): "new cranes",  # 503, Retry-After: an HTTP date
    ("feeds", "/from-bomb-sitemap.html"): "new cranes",  # recovered from the sitemap with an entity bomb
    ("robots-huge", "/good.html"): "new cranes",
    ("robots-declared", "/good.html"): "new cranes",
    ("robots-garbage", "/good.html"): "new cranes",
}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    web = build_hostile_web()
    db, requests_log = tmp / "h.db", tmp / "requests.log"
    try:
        (tmp / "outlets.toml").write_text(outlets_toml(web))
        assert run_cli("outlets", "import", db, tmp / "outlets.toml").returncode == 0
        (tmp / "earlier.jsonl").write_text("".join(json.dumps(a) + "\n" for a in EARLIER))
        assert run_cli("import", db, tmp / "earlier.jsonl").returncode == 0
        earlier = rows(db, "SELECT * FROM articles ORDER BY id")
        # a long reader (Datasette-like, read-only) holds a read transaction for the whole crawl
        reader = sqlite3.connect(f"file:{db}?mode=ro", uri=True, isolation_level=None)
        reader.execute("BEGIN")
        seen_before = reader.execute("SELECT count(*) FROM articles").fetchone()[0]
        started = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-c", MEASURE, sys.executable, "-m", "narratives.cli", "crawl", str(db), *SETTINGS,
             "-s", f"NARRATIVES_REQUEST_LOG={requests_log}"],
            cwd=REPO, capture_output=True, text=True, timeout=300)
        elapsed = time.monotonic() - started
        seen_during = reader.execute("SELECT count(*) FROM articles").fetchone()[0]
        reader.execute("COMMIT")
        reader.close()
        peak_kb = int(proc.stderr.rsplit("PEAK_RSS_KB", 1)[1].split()[0])
        yield {"web": web, "db": db, "proc": proc, "elapsed": elapsed, "peak_rss": peak_kb * 1024,
               "earlier": earlier, "reader": (seen_before, seen_during),
               "requests": requests_log.read_text().splitlines(),
               "urls": {n: web.base_url(n) for n in HOSTS} | guard_urls(web)}
    finally:
        web.stop()


def page_row(h, outlet, path):
    found = rows(h["db"], "SELECT status, error, kind FROM pages WHERE url = ?", h["urls"][outlet] + path.lstrip("/"))
    assert found, f"no page recorded for {outlet} {path}"
    return found[0]


def test_the_crawl_finishes_despite_the_hostile_web(hostile):
    proc = hostile["proc"]
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    assert hostile["elapsed"] < 120  # no server could stall it
    summary = {line.split()[0]: line.split() for line in proc.stdout.splitlines()[1:]}
    assert set(summary) >= {"pages", "streams", "redirects", "busy", "feeds", "robots-huge"}


def test_peak_rss_stays_under_1_gib(hostile):
    # the largest process of the crawl (crawler or extraction worker), from getrusage of a wrapper
    print(f"peak RSS while crawling the hostile web: {hostile['peak_rss'] / MiB:.0f} MiB")
    assert 0 < hostile["peak_rss"] < RSS_LIMIT


@pytest.mark.parametrize("outlet,path", list(FAILURES), ids=[f"{o}{p}" for o, p in FAILURES])
def test_hostile_page_recorded_with_its_reason(hostile, outlet, path):
    expected = FAILURES[(outlet, path)]
    error = page_row(hostile, outlet, path)["error"]
    if expected.endswith("…"):
        assert error and error.startswith(expected[:-1]), error
    else:
        assert error == expected


@pytest.mark.parametrize("outlet,path", list(ARTICLES), ids=[f"{o}{p}" for o, p in ARTICLES])
def test_article_stored_from_hostile_outlet(hostile, outlet, path):
    found = rows(hostile["db"], "SELECT title, text FROM articles WHERE url = ?", hostile["urls"][outlet] + path.lstrip("/"))
    assert found and ARTICLES[(outlet, path)] in found[0]["text"], found
    assert "Ã" not in found[0]["text"] + (found[0]["title"] or "")  # no mojibake


def test_oversized_bodies_were_cut_off_not_downloaded(hostile):
    web = hostile["web"]
    # 50 MB pages, endless streams: the crawler hung up soon after DOWNLOAD_MAXSIZE (10 MiB)
    assert web.bytes_sent("streams", "/huge-declared.html") < 10 * MiB  # refused on its Content-Length
    for site, path in [("streams", "/huge-streamed.html"), ("streams", "/endless.html"), ("feeds", "/huge-feed.xml")]:
        assert web.bytes_sent(site, path) < 2 * 25 * MiB, (site, path)  # at most two tries, well under 50 MB each
    for site in ("robots-huge", "robots-declared"):
        assert web.bytes_sent(site, "/robots.txt") < 10 * MiB  # robots.txt read up to 500 KiB


def test_redirect_loops_do_not_spin(hostile):
    web = hostile["web"]
    assert len(web.hits("redirects", "/self.html")) == 1
    assert len(web.hits("redirects", "/loop-a.html")) == 1 and len(web.hits("redirects", "/loop-b.html")) == 1
    assert len(web.hits("redirects", "/chain-6.html")) == 0  # REDIRECT_MAX_TIMES = 5


def test_no_request_leaves_the_outlet_scopes(hostile):
    web = hostile["web"]
    # servers no outlet includes (another loopback host, another port of an outlet's host): silent
    assert web.hits("canary") == [] and web.hits(OTHER_PORT_SITE) == []
    # every request the servers saw was for a configured outlet's own server
    assert {h.site for h in web.request_log} == set(HOSTS) - {"canary"} | {"rebinding"}
    # the crawler's own request log: only outlet origins, never a private, link-local or metadata address
    origins = {urlsplit(u).netloc for n, u in hostile["urls"].items() if n != "canary"}
    sent = [line.split(" ", 1)[1] for line in hostile["requests"] if not line.startswith("REFUSED ")]
    assert sent and {urlsplit(u).netloc for u in sent} <= origins
    for target in PRIVATE_TARGETS + ["http://169.254.169.254/", "http://10.0.0.1/", "http://192.168.1.1/"]:
        assert not any(u.startswith(target.rstrip("/")) for u in sent), target


def test_names_and_literals_leading_to_refused_addresses_reach_nothing(hostile):
    web = hostile["web"]
    # the internal service: not one request, by any name, rebinding included
    assert web.hits("internal") == []
    # the rebinding name's allowed address served robots.txt only (its first look-up); the next
    # connections were refused when made, and not retried
    assert [h.path for h in web.hits("rebinding")] == ["/robots.txt"]
    # nothing reached 127.0.0.71 through its IPv4-mapped form (the `pages` outlet fetched its own pages)
    mapped = guard_urls(web)["mapped-literal"]
    assert not [line for line in hostile["requests"] if line.startswith("GET " + mapped)]
    # the request log says what was refused and why (nothing went out for those lines)
    refused = [line for line in hostile["requests"] if line.startswith("REFUSED ")]
    for outlet, path in [("internal-name", "/"), ("internal-name", "/rss.xml"), ("mapped-literal", "/"),
                         ("dns-rebinding", "/")]:
        url = hostile["urls"][outlet] + path.lstrip("/")
        assert any(line.startswith(f"REFUSED GET {url} (address refused: ") for line in refused), (url, refused)
    per = {r["outlet"]: r["addresses_refused"] for r in rows(hostile["db"], "SELECT * FROM crawl_run_outlets")}
    assert per["dns-rebinding"] == per["internal-name"] == per["mapped-literal"] == 2
    assert sum(per.values()) == 6


def test_retry_after_is_honoured(hostile):
    web = hostile["web"]
    first, second = web.hits("busy", "/rate-limited.html")  # 429, Retry-After: 2
    assert second.at - first.at >= 1.9
    first, second = web.hits("busy", "/unavailable.html")  # 503, Retry-After: now + 3 s as an HTTP date
    assert second.at - first.at >= 1.5  # HTTP dates have one-second resolution
    # a server asking for a day is left alone: one request, no immediate retries
    assert len(web.hits("busy", "/closed-for-a-day.html")) == 1


def test_robots_txt_huge_garbage_or_closed(hostile):
    web = hostile["web"]
    assert web.hits("robots-huge", "/private/secret.html") == []  # its first line was obeyed
    assert web.hits("robots-declared", "/private/secret.html") == []  # even with a 50 MB Content-Length
    assert [h.path for h in web.hits("robots-closed")] == ["/robots.txt"]  # Disallow: / -> nothing else
    assert len(web.hits("robots-garbage", "/good.html")) == 1  # unreadable rules forbid nothing


def test_recursive_and_enormous_sitemaps_and_entity_bombs(hostile):
    web = hostile["web"]
    assert len(web.hits("feeds", "/sitemap-self.xml")) == 1 and len(web.hits("feeds", "/sitemap-other.xml")) == 1
    many = [h for h in web.request_log if h.site == "feeds" and h.path.startswith("/many/")]
    assert 0 < len(many) <= FEED_BUDGET  # 100,000 listed URLs, the outlet's page budget fetched
    # external entities were never resolved: no request to their URL, no local file in what was stored
    assert web.hits("canary", "/xxe") == []
    assert not rows(hostile["db"], "SELECT 1 FROM articles WHERE text LIKE '%root:%' OR title LIKE '%root:%'")


def test_earlier_articles_untouched_and_database_intact(hostile):
    db = hostile["db"]
    assert rows(db, "PRAGMA integrity_check") == [{"integrity_check": "ok"}]
    urls = [a["url"] for a in hostile["earlier"]]
    now = rows(db, f"SELECT * FROM articles WHERE url IN ({','.join('?' * len(urls))}) ORDER BY id", *urls)
    assert now == hostile["earlier"]


def test_a_long_reader_neither_blocks_the_crawl_nor_sees_half_of_it(hostile):
    before, during = hostile["reader"]
    assert before == during == len(hostile["earlier"])  # its snapshot stayed consistent
    total = rows(hostile["db"], "SELECT count(*) AS n FROM articles")[0]["n"]
    assert total >= len(hostile["earlier"]) + len(ARTICLES)
