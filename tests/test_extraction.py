"""extract_article against hand-checked golden pages, and unit tests of its helpers.

The golden pages in tests/golden/ are fictional articles written for these tests; each .json
holds the expectation a person wrote after reading the page (not a snapshot of the output).
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.scoring import same_day, token_f1, token_prf
from crawler import attribution, dates
from crawler.exceptions import ExtractionError
from crawler.extraction import content_hash, extract_article, normalize_language
from crawler.urls import canonicalize_url, strip_tracking

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(p.stem for p in GOLDEN.glob("*.json"))

FILLER = (
    "The committee met again on Monday to discuss the proposal in detail, and members said "
    "they expected a final vote before the end of the month after hearing from residents. "
)


def page(body: str, head: str = "", lang: str | None = "en") -> str:
    lang_attr = f' lang="{lang}"' if lang else ""
    return f"<!DOCTYPE html><html{lang_attr}><head><title>T</title>{head}</head><body>{body}</body></html>"


def article(*paragraphs: str, head: str = "", lang: str | None = "en", title: str = "A test headline") -> str:
    ps = "".join(f"<p>{p}</p>" for p in paragraphs)
    return page(f"<article><h1>{title}</h1>{ps}</article>", head, lang)


@pytest.mark.parametrize("case", CASES)
def test_golden_page(case):
    expected = json.loads((GOLDEN / f"{case}.json").read_text(encoding="utf-8"))
    html = (GOLDEN / f"{case}.html").read_text(encoding="utf-8")
    got = extract_article(html, expected["url"])
    assert got.title == expected["title"]
    assert got.text.split("\n") == expected["text"]
    for key in ("published_at", "published_date", "date_source", "language", "language_source",
                "canonical_url", "attributions", "links"):
        assert getattr(got, key) == expected[key], key
    assert got.content_hash == content_hash("\n".join(expected["text"]))


# ------------------------------------------------------------------ dates


def test_feed_then_sitemap_dates_win():
    html = article(FILLER * 3, head='<meta property="article:published_time" content="2020-01-02">')
    got = extract_article(html, "https://x.example/a", feed_date="2021-05-06T10:00:00+02:00",
                          sitemap_date="2021-05-01")
    assert (got.published_at, got.date_source) == ("2021-05-06T08:00:00Z", "feed")
    got = extract_article(html, "https://x.example/a", sitemap_date="2021-05-01")
    assert (got.published_at, got.date_source) == ("2021-05-01", "sitemap")
    got = extract_article(html, "https://x.example/a")
    assert (got.published_at, got.date_source) == ("2020-01-02", "meta")


def test_jsonld_published_not_modified():
    ld = ('<script type="application/ld+json">{"@type": "NewsArticle", "dateModified": '
          '"2020-03-09T10:00:00Z", "datePublished": "2020-03-01T23:30:00-02:00"}</script>')
    got = extract_article(article(FILLER * 3, head=ld), "https://x.example/a")
    assert got.published_at == "2020-03-02T01:30:00Z"
    assert got.published_date == "2020-03-01"
    assert got.date_source == "jsonld"


def test_url_date_and_time_element():
    got = extract_article(article(FILLER * 3), "https://x.example/2019/07/08/story")
    assert (got.published_at, got.date_source) == ("2019-07-08", "url")
    html = page(f'<article><p>{FILLER * 3}</p><footer><time datetime="2018-04-05T12:00:00Z">x</time></footer></article>')
    got = extract_article(html, "https://x.example/story")
    assert (got.published_at, got.date_source) == ("2018-04-05T12:00:00Z", "time-element")


@pytest.mark.parametrize(
    "value, iso",
    [
        ("2021-03-04", "2021-03-04"),
        ("2021-03-04T05:06:07Z", "2021-03-04T05:06:07Z"),
        ("2021-03-04T22:00:00-05:00", "2021-03-05T03:00:00Z"),
        ("2021-03-04 05:06", "2021-03-04T05:06:00Z"),
        ("Thu, 04 Mar 2021 10:00:00 +0100", "2021-03-04T09:00:00Z"),
        ("20210304", "2021-03-04"),
        ("not a date", None),
        ("2021-13-45", None),
        ("1890-01-01", None),
    ],
)
def test_to_iso(value, iso):
    assert dates.to_iso(value) == iso


def test_url_date_patterns():
    assert dates.url_date("https://a.example/2020/1/2/x") == "2020-01-02"
    assert dates.url_date("https://a.example/news/20200102/x") == "2020-01-02"
    assert dates.url_date("https://a.example/news/2020-01-02-title") == "2020-01-02"
    assert dates.url_date("https://a.example/item/12345678901") is None


# ------------------------------------------------------------------ language


def test_language_sources():
    got = extract_article(article(FILLER * 3, lang="en-US"), "https://x.example/a")
    assert (got.language, got.language_source) == ("en", "html")
    meta = '<meta http-equiv="content-language" content="fr-FR">'
    got = extract_article(article(FILLER * 3, head=meta, lang=None), "https://x.example/a")
    assert (got.language, got.language_source) == ("fr", "html")
    got = extract_article(article(FILLER * 3, lang=None), "https://x.example/a", language_hint="de")
    assert (got.language, got.language_source) == ("en", "detected")


@pytest.mark.parametrize("value, code", [("en-US", "en"), ("de_DE", "de"), ("PT-br", "pt"), ("x-default", None), ("", None)])
def test_normalize_language(value, code):
    assert normalize_language(value) == code


# ------------------------------------------------------------------ attributions and boilerplate


@pytest.mark.parametrize(
    "line, parsed",
    [
        ("Source- Euronews", ("source", ["Euronews"])),
        ("Source: Daily Example", ("source", ["Daily Example"])),
        ("Sources: Wire One, Wire Two and Wire Three", ("source", ["Wire One", "Wire Two", "Wire Three"])),
        ("Read more: A headline about ports", ("read_more", ["A headline about ports"])),
        ("Read also: Another headline", ("read_more", ["Another headline"])),
        ("Via Lakeside Radio", ("via", ["Lakeside Radio"])),
        ("Sources say the minister will resign next week.", None),
        ("Via the new road, trucks reach the port in an hour and the town saves money every month.", None),
        ("The source: nobody could say where the report came from, officials admitted in a long statement "
         "that went on for many more words than any attribution line ever would in practice at all.", None),
    ],
)
def test_parse_attribution(line, parsed):
    assert attribution.parse_attribution(line) == parsed


def test_attribution_link_and_removal():
    html = article(
        FILLER * 2,
        'Source: <a href="https://wire.example/story?utm_source=x">Wire Example</a>',
        "Closing paragraph of the story, long enough to be kept as article text by any extractor.",
    )
    got = extract_article(html, "https://x.example/a")
    assert "Wire Example" not in got.text
    assert got.attributions == [{"kind": "source", "name": "Wire Example", "url": "https://wire.example/story"}]
    assert {"url": "https://wire.example/story", "text": "Wire Example"} in got.links


def test_boilerplate_lines():
    assert attribution.is_boilerplate("Exit mobile version")
    assert attribution.is_boilerplate("Impressum | Datenschutz | Kontakt")
    assert not attribution.is_boilerplate("| a | b | c |")
    assert not attribution.is_boilerplate("Prices rose | fell | rose again, traders said.")


def test_links_exclude_navigation_and_resolve_base():
    body = (
        '<nav><a href="/nav-link">Navigation</a></nav><article><h1>Headline here</h1>'
        f'<p>{FILLER}See <a href="rel/page.html">the report</a> for details.</p><p>{FILLER}</p></article>'
        '<footer><a href="/footer-link">Footer</a></footer>'
    )
    got = extract_article(page(body, head='<base href="https://cdn.example/base/">'), "https://x.example/a")
    assert got.links == [{"url": "https://cdn.example/base/rel/page.html", "text": "the report"}]


# ------------------------------------------------------------------ URLs


def test_strip_tracking_and_canonicalize():
    url = "HTTPS://News.Example:443/a/b?id=3&utm_source=x&UTM_Medium=y&fbclid=1&gclid=2&mc_cid=3&mc_eid=4&igshid=5&_ga=6&yclid=7&cmpid=8&ref_src=9#frag"
    assert strip_tracking(url) == "https://News.Example:443/a/b?id=3#frag"  # urllib lower-cases the scheme
    assert canonicalize_url(url) == "https://news.example/a/b?id=3"
    assert canonicalize_url("http://a.example:8080") == "http://a.example:8080/"
    assert strip_tracking("https://a.example/x?b=1&a=2") == "https://a.example/x?b=1&a=2"


def test_canonical_from_og_url_and_fallback():
    og = '<meta property="og:url" content="https://x.example/og?utm_campaign=z">'
    assert extract_article(article(FILLER * 3, head=og), "https://x.example/a?x=1").canonical_url == "https://x.example/og"
    assert extract_article(article(FILLER * 3), "https://x.example/a?fbclid=1#c").canonical_url == "https://x.example/a"


# ------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    "html, reason",
    [
        ("", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4, "binary"),
        (page("<p>Too short.</p>"), "text"),
        (page("<div></div>"), "text"),
    ],
)
def test_extraction_errors(html, reason):
    with pytest.raises(ExtractionError, match=reason):
        extract_article(html, "https://x.example/a")


# ------------------------------------------------------------------ scoring helpers


def test_token_f1():
    assert token_f1("The cat sat", "the cat sat") == 1.0
    p, r, f = token_prf("a b c d", "a b")
    assert (p, r) == (0.5, 1.0) and abs(f - 2 / 3) < 1e-9
    assert token_f1("", "") == 1.0 and token_f1("x", "") == 0.0
    assert same_day("2020-01-02T03:04:05Z", "2020-01-02") and not same_day(None, "2020-01-02")
    assert not same_day("2022-01-26", "2022-01.26")
