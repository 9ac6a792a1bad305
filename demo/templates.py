"""HTML, feed, sitemap and robots.txt templates of the demo web (f-strings, no dependencies).

Each outlet has a `style` with its own page shell, byline and date markup, so extractors face
variety:

- herald    (northern-herald):       JSON-LD NewsArticle datePublished (Europe/London offset); date only (no time) visible
- wordpress (global-insight-review): <meta property="article:published_time"> (+05:30); canonical with ?utm_ params;
                                     "Source-" lines, "Read more:", ends with "Exit mobile version"
- wire      (eurasia-daily-wire):    <time datetime="...+03:00"> only
- observer  (continental-observer):  no machine-readable date: /YYYY/MM/DD/ in the URL path and a visible
                                     "Tuesday, 3 March 2026, 09:20 CET" line
- voice     (free-voice-today):      JSON-LD datePublished (New York offset); some canonicals with ?utm_source;
                                     ends with "Exit mobile version"
- baltic    (baltic-morning-post):   article:published_time meta (Riga offset) + <time datetime> in UTC, cookie banner
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import format_datetime
from html import escape

from demo.model import LINK_RE, READMORE_RE, Article, Content, OutletSpec, local_time

OFF_WEB_URL = "http://example.invalid/x"
STATIC_PAGES = {"/about/": "About us", "/contact/": "Contact", "/privacy-policy/": "Privacy policy"}
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


@dataclass
class RenderContext:
    content: Content
    base_urls: dict[str, str]  # outlet name -> "http://127.0.0.11:8001" (no trailing slash)

    def url(self, a: Article) -> str:
        return self.base_urls[a.outlet] + a.path

    def abs(self, outlet: OutletSpec, path: str) -> str:
        return self.base_urls[outlet.name] + path


def iso_local(tz: str, utc: datetime, seconds: bool = True) -> str:
    local, _ = local_time(tz, utc)
    return local.isoformat(timespec="seconds" if seconds else "minutes")


def rfc822_local(tz: str, utc: datetime) -> str:
    local, _ = local_time(tz, utc)
    return format_datetime(local)


def _attr(s: str) -> str:
    return escape(s, quote=True)


def body_html(ctx: RenderContext, a: Article, p_class: str = "") -> str:
    out = []
    cls = f' class="{p_class}"' if p_class else ""
    by_id = ctx.content.by_id
    for p in a.paragraphs:
        m = READMORE_RE.match(p)
        if m:
            t = by_id[m.group(1)]
            out.append(f'<p class="read-more"><strong>Read more:</strong> <a href="{_attr(ctx.url(t))}">{escape(t.title)}</a></p>')
            continue
        pieces, last = [], 0
        for lm in LINK_RE.finditer(p):
            pieces.append(escape(p[last:lm.start()]))
            pieces.append(f'<a href="{_attr(ctx.url(by_id[lm.group(1)]))}">{escape(lm.group(2))}</a>')
            last = lm.end()
        pieces.append(escape(p[last:]))
        out.append(f"<p{cls}>{''.join(pieces)}</p>")
    return "\n".join(out)


def plain_text(a: Article) -> str:
    """The visible body text (tokens resolved to anchor text / read-more titles are left out)."""
    paras = [LINK_RE.sub(r"\2", p) for p in a.paragraphs if not READMORE_RE.match(p)]
    return "\n\n".join(paras)


def _summary(a: Article, n: int = 220) -> str:
    text = plain_text(a).split("\n\n")[0]
    return text if len(text) <= n else text[:n].rsplit(" ", 1)[0] + "..."


def related(ctx: RenderContext, a: Article, n: int = 3) -> list[Article]:
    same = [x for x in ctx.content.outlet_articles(a.outlet) if x.id != a.id]
    same.sort(key=lambda x: (x.section != a.section, abs((x.published - a.published).total_seconds())))
    return same[:n]


def _li_links(ctx: RenderContext, arts: list[Article]) -> str:
    return "\n".join(f'<li><a href="{_attr(ctx.url(x))}">{escape(x.title)}</a></li>' for x in arts)


# ---------------------------------------------------------------------------------------------
# page shells per style
def _nav(o: OutletSpec, cls: str = "") -> str:
    items = "".join(f'<li><a href="/{s}/">{escape(label)}</a></li>' for s, label in o.sections)
    return f'<nav class="{cls or "main-nav"}"><ul><li><a href="/">Home</a></li>{items}</ul></nav>'


def _footer_links() -> str:
    return " | ".join(f'<a href="{p}">{t}</a>' for p, t in STATIC_PAGES.items())


def shell(ctx: RenderContext, o: OutletSpec, *, title: str, head: str, main: str, body_class: str = "") -> str:
    st = o.style
    if st == "herald":
        header = (f'<header class="masthead"><div class="brand"><a href="/">The Northern Herald</a></div>'
                  f'<p class="tagline">Independent journalism since 1891</p>{_nav(o)}</header>')
        footer = (f'<footer class="site-footer"><p>{_footer_links()}</p><p>&copy; 2026 Northern Herald Media Ltd. '
                  f'Registered in England and Wales.</p></footer>')
    elif st == "wordpress":
        header = (f'<div id="page" class="site"><a class="skip-link screen-reader-text" href="#content">Skip to content</a>'
                  f'<header id="masthead" class="site-header"><p class="site-title"><a href="/" rel="home">Global Insight Review</a></p>'
                  f'<p class="site-description">News, analysis and views from a multipolar world</p>{_nav(o, "main-navigation")}</header>'
                  f'<div id="content" class="site-content">')
        footer = (f'</div><footer id="colophon" class="site-footer"><div class="site-info">{_footer_links()} | '
                  f'Proudly powered by WordPress</div></footer></div>')
    elif st == "wire":
        header = (f'<div class="topbar">EURASIA DAILY WIRE &mdash; news agency</div><header class="hdr">'
                  f'<a class="logo" href="/">Eurasia Daily Wire</a>{_nav(o, "rubrics")}</header>')
        footer = (f'<footer><p>&copy; Eurasia Daily Wire, 2026. Use of materials is permitted with a hyperlink to the source.</p>'
                  f'<p>{_footer_links()}</p></footer>')
    elif st == "observer":
        header = (f'<header id="top"><div class="logo"><a href="/">The Continental Observer</a></div>'
                  f'<div class="claim">Europe, seen clearly</div>{_nav(o)}</header>')
        footer = (f'<footer id="bottom"><div class="newsletter">Get the Observer Briefing every morning. '
                  f'<a href="/contact/">Sign up</a></div><p>{_footer_links()}</p><p>&copy; Continental Observer Verlag GmbH</p></footer>')
    elif st == "voice":
        header = (f'<div class="breaking">BREAKING: Stay informed, share the truth.</div><header class="site-header">'
                  f'<a class="site-logo" href="/">FREE VOICE TODAY</a>{_nav(o, "menu-primary")}</header>')
        footer = (f'<footer class="site-footer"><p>{_footer_links()}</p><p>Copyright &copy; 2026 Free Voice Today. All rights reserved.</p>'
                  f'</footer>')
    elif st == "baltic":
        header = (f'<div class="cookie-banner">We use cookies to improve your experience. '
                  f'<a href="/privacy-policy/">Learn more</a> <button>Accept</button></div>'
                  f'<header class="bmp-header"><a href="/" class="bmp-logo">Baltic Morning Post</a>{_nav(o, "bmp-nav")}</header>')
        footer = (f'<footer class="bmp-footer"><p>{_footer_links()}</p><p>&copy; 2026 Baltic Morning Post, Riga</p></footer>')
    else:
        raise ValueError(st)
    return (f'<!DOCTYPE html>\n<html lang="{o.html_lang}">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>{escape(title)}</title>\n{head}\n'
            f'</head>\n<body class="{body_class}">\n{header}\n{main}\n{footer}\n</body>\n</html>\n')


def _feed_link(ctx: RenderContext, o: OutletSpec) -> str:
    kind = "application/rss+xml" if o.feed_format == "rss" else "application/atom+xml"
    return f'<link rel="alternate" type="{kind}" title="{_attr(o.display)}" href="{_attr(ctx.abs(o, o.feed_path))}">'


# ---------------------------------------------------------------------------------------------
def render_article(ctx: RenderContext, a: Article) -> str:
    o = ctx.content.outlet(a.outlet)
    url = ctx.url(a)
    local, abbr = local_time(o.tz, a.published)
    body = body_html(ctx, a)
    rel = _li_links(ctx, related(ctx, a))
    og = (f'<meta property="og:type" content="article">\n<meta property="og:title" content="{_attr(a.title)}">\n'
          f'<meta property="og:url" content="{_attr(url)}">\n<meta property="og:site_name" content="{_attr(o.display)}">\n'
          f'<meta name="description" content="{_attr(_summary(a))}">\n{_feed_link(ctx, o)}')
    sec_label = dict(o.sections)[a.section]
    st = o.style
    if st == "herald":
        ld = {"@context": "https://schema.org", "@type": "NewsArticle", "headline": a.title,
              "datePublished": iso_local(o.tz, a.published), "dateModified": iso_local(o.tz, a.published),
              "author": {"@type": "Person", "name": a.author}, "articleSection": sec_label,
              "publisher": {"@type": "Organization", "name": o.display}, "mainEntityOfPage": url}
        head = f'{og}\n<link rel="canonical" href="{_attr(url)}">\n<script type="application/ld+json">{json.dumps(ld)}</script>'
        main = (f'<main id="main"><article class="story"><p class="kicker"><a href="/{a.section}/">{escape(sec_label)}</a></p>'
                f'<h1 class="headline">{escape(a.title)}</h1>\n<div class="meta"><span class="byline">By {escape(a.author)}</span> '
                f'<span class="date">{local.day} {MONTHS[local.month - 1]} {local.year}</span></div>\n'
                f'<div class="story-body">\n{body}\n</div></article>\n'
                f'<aside class="related"><h2>Related articles</h2><ul>{rel}</ul></aside>'
                f'<div class="share">Share this article: <a href="/contact/">Email</a></div></main>')
        return shell(ctx, o, title=f"{a.title} | The Northern Herald", head=head, main=main, body_class="article")
    if st == "wordpress":
        canon = f"{url}?utm_source=rss&utm_medium=rss&utm_campaign={a.slug}"
        head = (f'{og}\n<link rel="canonical" href="{_attr(canon)}">\n<meta property="og:locale" content="en_US">\n'
                f'<meta property="article:published_time" content="{iso_local(o.tz, a.published)}">\n'
                f'<meta property="article:section" content="{_attr(sec_label)}">\n<meta name="author" content="{_attr(a.author)}">')
        arts = ctx.content.outlet_articles(o.name)
        i = arts.index(a)
        nav = ""
        if i + 1 < len(arts):
            nav += f'<div class="nav-previous"><a href="{_attr(ctx.url(arts[i + 1]))}" rel="prev">{escape(arts[i + 1].title)}</a></div>'
        if i > 0:
            nav += f'<div class="nav-next"><a href="{_attr(ctx.url(arts[i - 1]))}" rel="next">{escape(arts[i - 1].title)}</a></div>'
        main = (f'<main id="main" class="site-main"><article class="post type-post status-publish format-standard">'
                f'<header class="entry-header"><span class="cat-links"><a href="/{a.section}/" rel="category tag">{escape(sec_label)}</a></span>'
                f'<h1 class="entry-title">{escape(a.title)}</h1><div class="entry-meta"><span class="posted-on">'
                f'{MONTHS[local.month - 1]} {local.day}, {local.year}</span> <span class="byline">by '
                f'<span class="author vcard">{escape(a.author)}</span></span></div></header>\n'
                f'<div class="entry-content">\n{body}\n<div class="sharedaddy"><h3>Share this:</h3>'
                f'<a href="/contact/">Share on social media</a></div></div>\n'
                f'<div class="jp-relatedposts"><h3>Related</h3><ul>{rel}</ul></div></article>\n'
                f'<nav class="navigation post-navigation"><h2 class="screen-reader-text">Post navigation</h2>{nav}</nav>'
                f'<div id="comments"><h3>Leave a Reply</h3><p>You must be logged in to post a comment.</p></div></main>\n'
                f'<a class="exit-mobile" href="{_attr(url)}">Exit mobile version</a>')
        return shell(ctx, o, title=f"{a.title} - Global Insight Review", head=head, main=main,
                     body_class="post-template-default single single-post")
    if st == "wire":
        head = f'{og}\n<link rel="canonical" href="{_attr(url)}">\n<meta name="twitter:card" content="summary_large_image">'
        dt = local.isoformat(timespec="minutes")
        main = (f'<main><div class="news-item"><div class="rubric"><a href="/{a.section}/">{escape(sec_label)}</a></div>'
                f'<h1>{escape(a.title)}</h1>\n<div class="news-meta"><time datetime="{dt}">{local:%H:%M %d.%m.%Y}</time> '
                f'<span class="author">{escape(a.author)}</span></div>\n<div class="text">\n{body}\n</div>'
                f'<div class="subscribe">Subscribe to our channel for breaking news.</div></div>\n'
                f'<div class="more-news"><h3>More news</h3><ul>{rel}</ul></div></main>')
        return shell(ctx, o, title=f"{a.title} \u2014 Eurasia Daily Wire", head=head, main=main, body_class="news")
    if st == "observer":
        head = f'{og}\n<link rel="canonical" href="{_attr(url)}">'
        when = f"{DAYS[local.weekday()]}, {local.day} {MONTHS[local.month - 1]} {local.year}, {local:%H:%M} {abbr}"
        main = (f'<div class="page"><div class="breadcrumbs"><a href="/">Home</a> &rsaquo; <a href="/{a.section}/">{escape(sec_label)}</a></div>'
                f'<div class="post"><h1 class="post-title">{escape(a.title)}</h1>\n<div class="post-info">{escape(a.author)} &middot; '
                f'{when}</div>\n<div class="post-content">\n{body}\n</div></div>\n'
                f'<div class="also-read"><h4>You may also like</h4><ul>{rel}</ul></div>'
                f'<div class="donate">The Observer is reader-funded. <a href="/about/">Support us</a>.</div></div>')
        return shell(ctx, o, title=f"{a.title} | The Continental Observer", head=head, main=main, body_class="single")
    if st == "voice":
        canon = url if a.published.minute % 2 == 0 else f"{url}?utm_source=canonical&utm_medium=web"
        ld = {"@context": "https://schema.org", "@graph": [{"@type": "NewsArticle", "headline": a.title,
              "datePublished": iso_local(o.tz, a.published), "author": [{"@type": "Person", "name": a.author}],
              "publisher": {"@type": "Organization", "name": o.display}}]}
        head = f'{og}\n<link rel="canonical" href="{_attr(canon)}">\n<script type="application/ld+json">{json.dumps(ld)}</script>'
        hour = local.hour % 12 or 12
        main = (f'<div class="container"><article class="td-post"><h1 class="entry-title">{escape(a.title)}</h1>\n'
                f'<div class="td-meta">By <a href="/about/">{escape(a.author)}</a> - {MONTHS[local.month - 1]} {local.day}, {local.year} '
                f'at {hour}:{local:%M} {"AM" if local.hour < 12 else "PM"} ET</div>\n<div class="td-post-content">\n{body}\n</div>'
                f'<div class="donate-box">Free Voice Today is 100% reader supported. <a href="/about/">Donate</a></div></article>\n'
                f'<div class="td-related"><h4>RELATED ARTICLES</h4><ul>{rel}</ul></div></div>\n'
                f'<a class="exit-mobile" href="{_attr(url)}">Exit mobile version</a>')
        return shell(ctx, o, title=f"{a.title} - Free Voice Today", head=head, main=main, body_class="single-post")
    if st == "baltic":
        head = (f'{og}\n<link rel="canonical" href="{_attr(url)}">\n'
                f'<meta property="article:published_time" content="{iso_local(o.tz, a.published)}">\n'
                f'<meta property="article:author" content="{_attr(a.author)}">')
        utc_iso = a.published.strftime("%Y-%m-%dT%H:%M:%SZ")
        label = '<div class="label">FACT CHECK</div>' if a.section == "factcheck" else ""
        main = (f'<main class="bmp-main"><article class="bmp-article">{label}<h1>{escape(a.title)}</h1>\n'
                f'<div class="bmp-meta"><span class="bmp-author">{escape(a.author)}</span> <time datetime="{utc_iso}">'
                f'{local:%d.%m.%Y %H:%M}</time></div>\n<div class="bmp-body">\n{body}\n</div>'
                f'<p class="bmp-tip">Have a tip? <a href="/contact/">Contact our newsroom</a>.</p></article>\n'
                f'<section class="bmp-related"><h2>Read also</h2><ul>{rel}</ul></section></main>')
        return shell(ctx, o, title=f"{a.title} \u2013 Baltic Morning Post", head=head, main=main, body_class="article-page")
    raise ValueError(st)


# ---------------------------------------------------------------------------------------------
def _listing(ctx: RenderContext, o: OutletSpec, arts: list[Article]) -> str:
    items = []
    for x in arts:
        local, _ = local_time(o.tz, x.published)
        date = f"{local.day} {MONTHS[local.month - 1][:3]} {local.year}"
        items.append(f'<li class="teaser"><a href="{_attr(ctx.url(x))}">{escape(x.title)}</a> '
                     f'<span class="teaser-date">{date}</span><p>{escape(_summary(x, 140))}</p></li>')
    return '<ul class="teasers">' + "\n".join(items) + "</ul>"


def _traps_box(ctx: RenderContext, o: OutletSpec) -> str:
    """Links a polite, in-scope crawler must not follow: robots-disallowed pages, other outlets'
    articles (out of this outlet's scope) and an off-web URL."""
    others = [a for a in sorted(ctx.content.articles, key=lambda a: (a.published, a.id))
              if a.outlet != o.name and a.kind != "narrative"]
    picks = [others[(sum(map(ord, o.name)) + k * 17) % len(others)] for k in range(2)]
    links = [f'<li><a href="{_attr(ctx.url(x))}">{escape(x.title)}</a> ({escape(ctx.content.outlet(x.outlet).display)})</li>'
             for x in picks]
    links.append(f'<li><a href="{OFF_WEB_URL}">Advertise with us</a></li>')
    trap = "".join(f'<li><a href="{p}">Exclusive preview</a></li>' for p in o.trap_pages)
    return f'<aside class="partners"><h3>From around the web</h3><ul>{trap}{"".join(links)}</ul></aside>'


PAGE_SIZE = 8


def section_pages(o: OutletSpec) -> bool:
    return o.style in ("herald", "wordpress")


def section_page_path(o: OutletSpec, section: str, page: int) -> str:
    if page == 1:
        return f"/{section}/"
    return f"/{section}/?page={page}" if o.style == "herald" else f"/{section}/page/{page}/"


def render_section(ctx: RenderContext, o: OutletSpec, section: str, page: int = 1) -> tuple[str, int]:
    """HTML of one section page and the number of pages of that section."""
    arts = [a for a in ctx.content.outlet_articles(o.name) if a.section == section]
    n_pages = max(1, -(-len(arts) // PAGE_SIZE)) if section_pages(o) else 1
    if section_pages(o):
        arts = arts[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
    label = dict(o.sections)[section]
    pager = ""
    if n_pages > 1:
        pager = '<div class="pagination">' + " ".join(
            f'<a href="{section_page_path(o, section, p)}">{p}</a>' for p in range(1, n_pages + 1) if p != page) + "</div>"
    main = (f'<main class="section"><h1>{escape(label)}</h1>\n{_listing(ctx, o, arts)}\n{pager}\n'
            f'{_traps_box(ctx, o) if page == 1 else ""}</main>')
    head = f'<link rel="canonical" href="{_attr(ctx.abs(o, section_page_path(o, section, page)))}">\n{_feed_link(ctx, o)}'
    return shell(ctx, o, title=f"{label} - {o.display}", head=head, main=main, body_class="section"), n_pages


def render_home(ctx: RenderContext, o: OutletSpec) -> str:
    arts = ctx.content.outlet_articles(o.name)
    blocks = []
    for s, label in o.sections:
        sec = [a for a in arts if a.section == s][:3]
        blocks.append(f'<section class="home-block"><h2><a href="/{s}/">{escape(label)}</a></h2>'
                      f'<ul>{_li_links(ctx, sec)}</ul></section>')
    main = (f'<main class="home"><h1 class="visually-hidden">{escape(o.display)}</h1>'
            f'<section class="latest"><h2>Latest</h2>{_listing(ctx, o, arts[:10])}</section>\n'
            f'{"".join(blocks)}\n{_traps_box(ctx, o)}</main>')
    head = f'<link rel="canonical" href="{_attr(ctx.abs(o, "/"))}">\n<meta property="og:title" content="{_attr(o.display)}">\n{_feed_link(ctx, o)}'
    return shell(ctx, o, title=o.display, head=head, main=main, body_class="home")


def render_static(ctx: RenderContext, o: OutletSpec, path: str) -> str:
    title = STATIC_PAGES[path]
    main = (f'<main class="static"><h1>{title}</h1><p>{escape(o.display)} is a fictional outlet of the narrative-tracker '
            f'demo web. This page exists so that boilerplate links resolve.</p></main>')
    return shell(ctx, o, title=f"{title} - {o.display}", head="", main=main, body_class="page")


def render_trap(ctx: RenderContext, o: OutletSpec, path: str) -> str:
    main = ('<main><h1>Unpublished draft</h1><p>This page is disallowed by robots.txt. A polite crawler never '
            'fetches it; the demo web logs every request so tests can check that.</p></main>')
    return shell(ctx, o, title=f"Draft - {o.display}", head='<meta name="robots" content="noindex">', main=main)


def render_robots(ctx: RenderContext, o: OutletSpec) -> str:
    lines = []
    if o.style == "observer":
        lines += ["User-agent: BadBot", "Disallow: /", ""]
    lines.append("User-agent: *")
    if o.robots_disallow:
        lines += [f"Disallow: {p}" for p in o.robots_disallow]
    else:
        lines.append("Disallow:")
    if o.style == "wordpress":
        lines.append("Allow: /wp-admin/admin-ajax.php")
    lines.append("")
    lines += [f"Sitemap: {ctx.abs(o, p)}" for p in o.sitemaps]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
def _xml(s: str) -> str:
    return escape(s, quote=False)


def feed_items(ctx: RenderContext, o: OutletSpec) -> list[Article]:
    return ctx.content.outlet_articles(o.name)


def render_feed(ctx: RenderContext, o: OutletSpec) -> str:
    arts = feed_items(ctx, o)
    newest = arts[0].published
    if o.feed_format == "rss":
        items = []
        if o.feed_404:  # planted: an entry whose page is gone (404)
            when = datetime(2026, 5, 29, 10, 0, tzinfo=timezone.utc)
            u = ctx.abs(o, o.feed_404)
            items.append(f"<item><title>Border clash report (withdrawn)</title><link>{_xml(u)}</link>"
                         f'<guid isPermaLink="true">{_xml(u)}</guid><pubDate>{rfc822_local(o.tz, when)}</pubDate>'
                         f"<description>This story has been withdrawn.</description></item>")
            newest = max(newest, when)
        for a in arts:
            link = ctx.url(a)
            if o.style == "wordpress":
                link += f"?utm_source=rss&utm_medium=rss&utm_campaign={a.slug}"
            items.append(
                f"<item><title>{_xml(a.title)}</title><link>{_xml(link)}</link>"
                f'<guid isPermaLink="false">{o.name}-{a.id}</guid><pubDate>{rfc822_local(o.tz, a.published)}</pubDate>'
                f"<dc:creator>{_xml(a.author)}</dc:creator><category>{_xml(dict(o.sections)[a.section])}</category>"
                f"<description>{_xml(_summary(a))}</description></item>")
        return ('<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" '
                'xmlns:dc="http://purl.org/dc/elements/1.1/">\n<channel>\n'
                f"<title>{_xml(o.display)}</title><link>{_xml(ctx.abs(o, '/'))}</link>"
                f"<description>Latest news from {_xml(o.display)}</description><language>{o.html_lang.lower()}</language>"
                f"<lastBuildDate>{rfc822_local(o.tz, newest)}</lastBuildDate>"
                f'<atom:link href="{_attr(ctx.abs(o, o.feed_path))}" rel="self" type="application/rss+xml"/>\n'
                + "\n".join(items) + "\n</channel>\n</rss>\n")
    entries = []
    for a in arts:
        entries.append(
            f"<entry><title>{_xml(a.title)}</title><link rel=\"alternate\" type=\"text/html\" href=\"{_attr(ctx.url(a))}\"/>"
            f"<id>tag:{o.name}.demo,2026:{a.id}</id><published>{iso_local(o.tz, a.published)}</published>"
            f"<updated>{iso_local(o.tz, a.published)}</updated><author><name>{_xml(a.author)}</name></author>"
            f"<summary>{_xml(_summary(a))}</summary></entry>")
    return ('<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">\n'
            f"<title>{_xml(o.display)}</title><id>tag:{o.name}.demo,2026:feed</id>"
            f'<link rel="self" href="{_attr(ctx.abs(o, o.feed_path))}"/><link rel="alternate" href="{_attr(ctx.abs(o, "/"))}"/>'
            f"<updated>{iso_local(o.tz, newest)}</updated>\n" + "\n".join(entries) + "\n</feed>\n")


def render_sitemaps(ctx: RenderContext, o: OutletSpec) -> dict[str, tuple[str, datetime]]:
    """path -> (xml, last modified) for every sitemap file of the outlet."""
    arts = ctx.content.outlet_articles(o.name)
    ns = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'

    def urlset(items: list[Article]) -> str:
        rows = "\n".join(f"<url><loc>{_xml(ctx.url(a))}</loc><lastmod>{iso_local(o.tz, a.published)}</lastmod></url>"
                         for a in items)
        return f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset {ns}>\n{rows}\n</urlset>\n'

    out: dict[str, tuple[str, datetime]] = {}
    if o.sitemap_kind == "urlset":
        out[o.sitemaps[0]] = (urlset(arts), arts[0].published)
    elif o.sitemap_kind == "index-monthly":
        months = sorted({a.published.strftime("%Y-%m") for a in arts})
        rows = []
        for ym in months:
            items = [a for a in arts if a.published.strftime("%Y-%m") == ym]
            path = o.monthly_sitemap_path(ym)
            out[path] = (urlset(items), items[0].published)
            rows.append(f"<sitemap><loc>{_xml(ctx.abs(o, path))}</loc><lastmod>{iso_local(o.tz, items[0].published)}</lastmod></sitemap>")
        out[o.sitemaps[0]] = (f'<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex {ns}>\n' + "\n".join(rows)
                              + "\n</sitemapindex>\n", arts[0].published)
    elif o.sitemap_kind == "google-news":
        rows = "\n".join(
            f"<url><loc>{_xml(ctx.url(a))}</loc><news:news><news:publication><news:name>{_xml(o.display)}</news:name>"
            f"<news:language>{o.language}</news:language></news:publication>"
            f"<news:publication_date>{iso_local(o.tz, a.published)}</news:publication_date>"
            f"<news:title>{_xml(a.title)}</news:title></news:news></url>" for a in arts)
        out[o.sitemaps[0]] = (f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset {ns} '
                              f'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">\n{rows}\n</urlset>\n',
                              arts[0].published)
    else:
        raise ValueError(o.sitemap_kind)
    return out
