import gzip

import pytest

from crawler.discovery import DiscoveryError, iso_utc, maybe_gunzip, parse_feed, parse_sitemap

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>T</title>
<item><title>One</title><link>https://a.example/one</link><pubDate>Tue, 03 Mar 2026 09:15:00 +0100</pubDate></item>
<item><title>Two</title><guid>https://a.example/two</guid></item>
<item><title>Relative</title><link>/three</link><pubDate>not a date</pubDate></item>
</channel></rss>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title>
<entry><title>A</title><link rel="self" href="https://a.example/self"/><link href="https://a.example/a"/>
<published>2026-03-04T10:00:00-05:00</published><updated>2026-03-05T00:00:00Z</updated></entry>
</feed>"""


def test_rss_entries_dates_normalised_to_utc():
    parsed = parse_feed(RSS, "https://a.example/rss.xml")
    assert parsed.problem is None
    entries = parsed.entries
    assert [e.url for e in entries] == ["https://a.example/one", "https://a.example/two", "https://a.example/three"]
    assert entries[0].published_at == "2026-03-03T08:15:00Z"
    assert entries[0].title == "One"
    assert entries[1].published_at is None and entries[2].published_at is None


def test_atom_prefers_alternate_link_and_published_date():
    (entry,) = parse_feed(ATOM, "https://a.example/atom.xml").entries
    assert entry.url == "https://a.example/a"
    assert entry.published_at == "2026-03-04T15:00:00Z"


@pytest.mark.parametrize("body", [b"", b"   ", b"<html><body>not a feed</body></html>", b"\x89PNG\r\n\x1a\n\x00\x00"])
def test_malformed_feeds_raise_discovery_error(body):
    with pytest.raises(DiscoveryError):
        parse_feed(body, "https://a.example/rss")


def test_entity_expansion_and_external_entities_are_not_resolved(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">'
        + f'<!ENTITY x SYSTEM "file://{secret}">'.encode()
        + b']><rss><channel><item><title>&c;&x;</title><link>https://a.example/x</link></item></channel></rss>'
    )
    entries = parse_feed(bomb, "https://a.example/rss").entries
    assert len(entries) == 1
    assert "TOPSECRET" not in (entries[0].title or "")
    assert len(entries[0].title or "") < 1000


def test_sitemap_index_urlset_and_google_news():
    index = b"""<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
    <sitemap><loc>https://a.example/sm-1.xml</loc><lastmod>2026-03-31</lastmod></sitemap></sitemapindex>"""
    parsed = parse_sitemap(index, "https://a.example/sitemap.xml")
    kind, entries = parsed.kind, parsed.entries
    assert kind == "index" and [e.url for e in entries] == ["https://a.example/sm-1.xml"]
    urlset = b"""<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
      xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
    <url><loc>https://a.example/n1</loc><lastmod>2026-04-02T00:00:00Z</lastmod>
      <news:news><news:publication><news:name>A</news:name></news:publication>
      <news:publication_date>2026-04-01T12:30:00+02:00</news:publication_date><news:title>N1</news:title></news:news></url>
    <url><loc>https://a.example/n2</loc><lastmod>2026-04-02</lastmod></url></urlset>"""
    parsed = parse_sitemap(urlset, "https://a.example/sitemap.xml")
    kind, entries = parsed.kind, parsed.entries
    assert kind == "urlset"
    assert (entries[0].url, entries[0].published_at, entries[0].title) == ("https://a.example/n1", "2026-04-01T10:30:00Z", "N1")
    # <lastmod> says when a page changed, not when it was published
    assert entries[1].published_at is None


def test_gzipped_sitemap_and_size_limit():
    body = gzip.compress(b"<urlset><url><loc>https://a.example/x</loc></url></urlset>")
    assert parse_sitemap(maybe_gunzip(body, 10_000), "https://a.example/").entries[0].url == "https://a.example/x"
    bomb = gzip.compress(b"\0" * 5_000_000)
    with pytest.raises(DiscoveryError):
        maybe_gunzip(bomb, 1_000_000)


def test_truncated_feed_is_recovered_and_the_problem_reported():
    body = b'<rss><channel><item><link>https://a.example/ok</link></item><item><link>https://a.example/cut'
    parsed = parse_feed(body, "https://a.example/rss")
    assert parsed.problem and parsed.problem.startswith("not well-formed XML")
    assert parsed.entries[0].url == "https://a.example/ok"


def test_iso_utc():
    assert iso_utc("2026-03-03") == "2026-03-03"
    assert iso_utc("2026-03-03T10:00:00+02:00") == "2026-03-03T08:00:00Z"
    assert iso_utc("Tue, 03 Mar 2026 09:15:00 GMT") == "2026-03-03T09:15:00Z"
    assert iso_utc("yesterday") is None
