"""The demo web as data: outlets, events, narratives and articles loaded from demo/content/*.toml,
copies resolved, paths assigned, and the ground truth derived from them.

Content conventions (demo/README.md):
- `body` paragraphs separated by blank lines; inside them `{{link:ARTICLE_ID|anchor}}` (a link to
  that article) and a paragraph `{{readmore:ARTICLE_ID}}` (a "Read more" link, same outlet);
- a copy has `copy_of` (+ `copy_drop` paragraph indexes, `prepend`/`append`, `title`): the
  original's paragraphs minus dropped and "Read more" ones; it inherits event, narratives, kind
  and stances;
- stance toward a narrative's claim: *carries* (asserts it, or relays it without distance),
  *reports* (attributes it and keeps a distance), *debunks* (refutes it) or *unrelated*. An
  article carries every narrative in its `narratives`; every other pair where it covers one of the
  narrative's events needs a `stances = { N1 = "reports", ... }` entry, decided by reading it;
- `translates = "ID"`: the article translates an earlier article of another outlet.
"""
from __future__ import annotations

import re
import tomllib
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

CONTENT_DIR = Path(__file__).resolve().parent / "content"
GROUND_TRUTH_PATH = Path(__file__).resolve().parent / "ground_truth.json"
ARTICLE_FILES = ("n1_jihadists.toml", "n2_vaccines.toml", "n3_sanctions.toml", "n4_farmers.toml", "unrelated.toml",
                 "ru_moskovsky_telegraf.toml")

LINK_RE = re.compile(r"\{\{link:([a-z0-9-]+)\|([^}]*)\}\}")
READMORE_RE = re.compile(r"^\{\{readmore:([a-z0-9-]+)\}\}$")
KINDS = {"narrative", "neutral", "debunk", "unrelated"}
STANCES = ("carries", "reports", "debunks", "unrelated")
ARTICLE_FIELDS = {"id", "outlet", "section", "slug", "title", "author", "published", "event", "narratives", "kind",
                  "cites", "body", "copy_of", "copy_drop", "prepend", "append", "stances", "translates"}


class ContentError(Exception):
    """The demo content is inconsistent (unknown id, bad field...)."""


# ---------------------------------------------------------------------------------------------
# time zones: fixed rules, valid for the demo's years (no tz database needed)
def _last_sunday(year: int, month: int) -> date:
    d = date(year, month + 1, 1) - timedelta(days=1) if month < 12 else date(year, 12, 31)
    return d - timedelta(days=(d.weekday() + 1) % 7)


def _nth_sunday(year: int, month: int, n: int) -> date:
    d = date(year, month, 1)
    d += timedelta(days=(6 - d.weekday()) % 7)
    return d + timedelta(weeks=n - 1)


def _eu_summer(utc: datetime) -> bool:
    start = datetime.combine(_last_sunday(utc.year, 3), datetime.min.time(), timezone.utc) + timedelta(hours=1)
    end = datetime.combine(_last_sunday(utc.year, 10), datetime.min.time(), timezone.utc) + timedelta(hours=1)
    return start <= utc < end


def _us_summer(utc: datetime) -> bool:
    start = datetime.combine(_nth_sunday(utc.year, 3, 2), datetime.min.time(), timezone.utc) + timedelta(hours=7)
    end = datetime.combine(_nth_sunday(utc.year, 11, 1), datetime.min.time(), timezone.utc) + timedelta(hours=6)
    return start <= utc < end


def local_time(tz: str, utc: datetime) -> tuple[datetime, str]:
    """The aware local datetime and zone abbreviation for `utc` in one of the demo's zones."""
    if tz == "Europe/London":
        off, abbr = (1, "BST") if _eu_summer(utc) else (0, "GMT")
    elif tz == "Europe/Berlin":
        off, abbr = (2, "CEST") if _eu_summer(utc) else (1, "CET")
    elif tz == "Europe/Riga":
        off, abbr = (3, "EEST") if _eu_summer(utc) else (2, "EET")
    elif tz == "Europe/Moscow":
        off, abbr = 3, "MSK"
    elif tz == "Asia/Kolkata":
        off, abbr = 5.5, "IST"
    elif tz == "America/New_York":
        off, abbr = (-4, "EDT") if _us_summer(utc) else (-5, "EST")
    else:
        raise ContentError(f"unsupported time zone {tz!r}")
    zone = timezone(timedelta(hours=off), abbr)
    return utc.astimezone(zone), abbr


def parse_utc(value: str) -> datetime:
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\dZ", value):
        raise ContentError(f"published {value!r} must be 'YYYY-MM-DDTHH:MMZ' (UTC)")
    return datetime.strptime(value, "%Y-%m-%dT%H:%MZ").replace(tzinfo=timezone.utc)


def format_utc(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%MZ")


# ---------------------------------------------------------------------------------------------
@dataclass
class OutletSpec:
    name: str
    display: str
    language: str
    html_lang: str
    country: str
    host: str
    style: str
    tz: str
    feed_path: str
    feed_format: str
    sitemaps: list[str]
    sitemap_kind: str
    sections: list[tuple[str, str]]
    robots_disallow: list[str]
    trap_pages: list[str]
    feed_404: str | None = None

    @property
    def section_paths(self) -> list[str]:
        return [f"/{s}/" for s, _ in self.sections]

    def monthly_sitemap_path(self, ym: str) -> str:
        return f"/sitemaps/{ym}.xml" if self.style == "herald" else f"/sitemap-posts-{ym}.xml"


@dataclass
class Article:
    id: str
    outlet: str
    section: str
    slug: str
    title: str
    author: str
    published: datetime
    event: str | None
    narratives: list[str]
    kind: str
    paragraphs: list[str]
    explicit_cites: list[str]
    copy_of: str | None = None
    copy_kind: str | None = None  # "full" | "partial"
    path: str = ""
    cites: list[str] = field(default_factory=list)
    read_more: list[str] = field(default_factory=list)
    stances: dict[str, str] = field(default_factory=dict)  # narrative id -> declared stance (non-carriers)
    translates: str | None = None  # id of the earlier article, in another language, this one translates
    language: str = ""  # its outlet's

    def stance(self, narrative: str) -> str | None:
        """The article's stance toward a narrative's claim (None: not declared, does not touch it)."""
        return "carries" if narrative in self.narratives else self.stances.get(narrative)

    @property
    def is_distractor(self) -> bool:
        return not self.narratives

    @property
    def published_at(self) -> str:
        return format_utc(self.published)


@dataclass
class Content:
    outlets: list[OutletSpec]
    narratives: list[dict]
    events: list[dict]
    articles: list[Article]

    def outlet(self, name: str) -> OutletSpec:
        for o in self.outlets:
            if o.name == name:
                return o
        raise ContentError(f"unknown outlet {name!r}")

    def article(self, article_id: str) -> Article:
        try:
            return self.by_id[article_id]
        except KeyError:
            raise ContentError(f"unknown article id {article_id!r}") from None

    @property
    def by_id(self) -> dict[str, Article]:
        return {a.id: a for a in self.articles}

    def readable(self, languages: set[str] | None) -> list[Article]:
        """The articles in `languages` (None: all): what a model reading those languages embeds."""
        return [a for a in self.articles if languages is None or a.language in languages]

    def outlet_articles(self, name: str) -> list[Article]:
        return sorted((a for a in self.articles if a.outlet == name), key=lambda a: a.published, reverse=True)


def _paragraphs(text: str | None) -> list[str]:
    if not text:
        return []
    return [" ".join(p.split()) for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]


def _number(article_id: str) -> int:
    return 10000 + zlib.crc32(article_id.encode()) % 90000


def article_path(outlet: OutletSpec, a: Article) -> str:
    if outlet.style == "herald":
        return f"/{a.section}/{a.slug}-{_number(a.id)}"
    if outlet.style == "wordpress":
        return f"/{a.slug}/"
    if outlet.style == "wire":
        return f"/news/{_number(a.id)}-{a.slug}"
    if outlet.style == "observer":
        local, _ = local_time(outlet.tz, a.published)
        return f"/{local:%Y/%m/%d}/{a.slug}/"
    if outlet.style == "voice":
        return f"/stories/{a.slug}"
    if outlet.style == "baltic":
        return f"/articles/{_number(a.id)}/{a.slug}"
    raise ContentError(f"unknown style {outlet.style!r}")


def mentions(text: str, display: str) -> bool:
    """True when `text` names an outlet (its display name, with or without a leading 'The')."""
    bare = display[4:] if display.startswith("The ") else display
    return bare.lower() in text.lower()


def load_content(content_dir: Path = CONTENT_DIR) -> Content:
    odata = tomllib.loads((content_dir / "outlets.toml").read_text("utf-8"))
    outlets = []
    for o in odata["outlet"]:
        outlets.append(OutletSpec(
            name=o["name"], display=o["display"], language=o["language"], html_lang=o["html_lang"],
            country=o["country"], host=o["host"], style=o["style"], tz=o["tz"], feed_path=o["feed"]["path"],
            feed_format=o["feed"]["format"], sitemaps=list(o["sitemaps"]), sitemap_kind=o["sitemap_kind"],
            sections=[tuple(s) for s in o["sections"]], robots_disallow=list(o["robots_disallow"]),
            trap_pages=list(o["trap_pages"]), feed_404=o.get("feed_404")))
    ndata = tomllib.loads((content_dir / "narratives.toml").read_text("utf-8"))
    raw: list[dict] = []
    for fname in ARTICLE_FILES:
        raw.extend(tomllib.loads((content_dir / fname).read_text("utf-8"))["article"])
    content = Content(outlets, ndata["narrative"], ndata["event"], [])
    outlet_names = {o.name for o in outlets}
    raw_by_id: dict[str, dict] = {}
    for r in raw:
        unknown = set(r) - ARTICLE_FIELDS
        if unknown:
            raise ContentError(f"article {r.get('id')!r}: unknown field(s) {sorted(unknown)}")
        if r["id"] in raw_by_id:
            raise ContentError(f"duplicate article id {r['id']!r}")
        if r["outlet"] not in outlet_names:
            raise ContentError(f"article {r['id']!r}: unknown outlet {r['outlet']!r}")
        raw_by_id[r["id"]] = r
    # originals first, then copies (a copy of a copy is not supported)
    built: dict[str, Article] = {}
    for r in raw:
        if "copy_of" in r:
            continue
        kind = r["kind"]
        if kind not in KINDS:
            raise ContentError(f"article {r['id']!r}: kind {kind!r} not in {sorted(KINDS)}")
        built[r["id"]] = Article(
            id=r["id"], outlet=r["outlet"], section=r["section"], slug=r["slug"], title=r["title"],
            author=r["author"], published=parse_utc(r["published"]), event=r.get("event"),
            narratives=list(r.get("narratives", [])), kind=kind, paragraphs=_paragraphs(r["body"]),
            explicit_cites=list(r.get("cites", [])), stances=dict(r.get("stances", {})), translates=r.get("translates"))
    for r in raw:
        if "copy_of" not in r:
            continue
        orig = built.get(r["copy_of"])
        if orig is None:
            raise ContentError(f"copy {r['id']!r}: original {r['copy_of']!r} unknown or itself a copy")
        drop = set(r.get("copy_drop", []))
        kept = [p for i, p in enumerate(orig.paragraphs) if i not in drop and not READMORE_RE.match(p)]
        partial = bool(drop - {i for i, p in enumerate(orig.paragraphs) if READMORE_RE.match(p)})
        paragraphs = _paragraphs(r.get("prepend")) + kept + _paragraphs(r.get("append"))
        text = " ".join(paragraphs)
        cites = list(r.get("cites", []))
        for cid in orig.explicit_cites:  # "Source- X" lines kept from the original count for the copy
            if mentions(LINK_RE.sub(r"\2", text), content.outlet(raw_by_id[cid]["outlet"]).display):
                cites.append(cid)
        built[r["id"]] = Article(
            id=r["id"], outlet=r["outlet"], section=r["section"], slug=orig.slug, title=r.get("title", orig.title),
            author=r["author"], published=parse_utc(r["published"]), event=orig.event,
            narratives=list(orig.narratives), kind=orig.kind, paragraphs=paragraphs, explicit_cites=cites,
            copy_of=orig.id, copy_kind="partial" if partial else "full", stances=dict(orig.stances))
    content.articles = [built[r["id"]] for r in raw]
    _check_stances(content)
    for a in content.articles:
        a.path = article_path(content.outlet(a.outlet), a)
        a.language = content.outlet(a.outlet).language
        if a.translates and (a.translates not in built or built[a.translates].outlet == a.outlet
                             or built[a.translates].published >= a.published):
            raise ContentError(f"article {a.id!r}: translates {a.translates!r}, which must be an earlier article "
                               "of another outlet")
        links = [m.group(1) for p in a.paragraphs for m in LINK_RE.finditer(p)]
        for cid in links + a.explicit_cites:
            if cid not in raw_by_id:
                raise ContentError(f"article {a.id!r}: cites unknown article {cid!r}")
        a.cites = sorted({c for c in links + a.explicit_cites if built[c].outlet != a.outlet})
        a.read_more = [m.group(1) for p in a.paragraphs if (m := READMORE_RE.match(p))]
        for rid in a.read_more:
            if rid not in built:
                raise ContentError(f"article {a.id!r}: read-more target {rid!r} unknown")
    return content


def touching(content: Content, narrative: str) -> list[Article]:
    """Articles that touch a narrative: its carriers and every other article of its events."""
    events = {a.event for a in content.articles if narrative in a.narratives and a.event}
    return [a for a in content.articles if narrative in a.narratives or a.event in events]


def _check_stances(content: Content) -> None:
    ids = {n["id"] for n in content.narratives}
    for a in content.articles:
        for nid, stance in a.stances.items():
            if nid not in ids:
                raise ContentError(f"article {a.id!r}: stance toward unknown narrative {nid!r}")
            if stance not in STANCES or stance == "carries":
                raise ContentError(f"article {a.id!r}: stance {stance!r} toward {nid}: give one of "
                                   f"{STANCES[1:]} (an article carries the narratives it lists)")
    for nid in sorted(ids):
        missing = [a.id for a in touching(content, nid) if a.stance(nid) is None]
        if missing:
            raise ContentError(f"narrative {nid}: no stance for the articles of its events {missing}")


# ---------------------------------------------------------------------------------------------
def build_ground_truth(content: Content) -> dict:
    arts = sorted(content.articles, key=lambda a: (a.published, a.id))
    by_id = content.by_id
    outlets = []
    for o in content.outlets:
        sitemap_children = []
        if o.sitemap_kind == "index-monthly":
            sitemap_children = [o.monthly_sitemap_path(ym) for ym in sorted({a.published.strftime("%Y-%m")
                                for a in content.articles if a.outlet == o.name})]
        outlets.append({
            "name": o.name, "display_name": o.display, "language": o.language, "html_lang": o.html_lang,
            "country": o.country, "host": o.host, "style": o.style, "timezone_in_markup": o.tz,
            "home": "/", "feeds": [o.feed_path], "feed_format": o.feed_format,
            "sitemaps": list(o.sitemaps), "sitemap_kind": o.sitemap_kind, "sitemap_children": sitemap_children,
            "sections": o.section_paths, "robots_disallow": list(o.robots_disallow),
            "article_count": sum(1 for a in content.articles if a.outlet == o.name),
        })
    narratives = []
    for n in content.narratives:
        members = [a for a in arts if n["id"] in a.narratives]
        adoption, seen = [], set()
        for a in members:
            if a.outlet not in seen:
                seen.add(a.outlet)
                adoption.append({"outlet": a.outlet, "first_article": a.id, "first_published_at": a.published_at})
        narratives.append({
            "id": n["id"], "label": n["label"], "description": n["description"],
            "origin_article": members[0].id, "origin_outlet": members[0].outlet,
            "events": sorted({a.event for a in members if a.event}),
            "outlets": sorted({a.outlet for a in members}),
            "adoption_order": adoption,
            "articles": [a.id for a in members],
            # every (article, narrative) pair that touches it, decided by reading the text
            "stances": {a.id: a.stance(n["id"]) for a in arts if a.id in {t.id for t in touching(content, n["id"])}},
        })
    events = []
    for e in content.events:
        members = [a for a in arts if a.event == e["id"]]
        events.append({"id": e["id"], "title": e["title"], "start": e["start"],
                       "narratives": sorted({n for a in members for n in a.narratives}),
                       "articles": [a.id for a in members]})
    articles = []
    for a in arts:
        articles.append({
            "id": a.id, "outlet": a.outlet, "language": a.language, "path": a.path, "section": f"/{a.section}/",
            "title": a.title,
            "author": a.author, "published_at": a.published_at, "event": a.event, "narratives": a.narratives,
            "kind": a.kind, "is_distractor": a.is_distractor, "copied_from": a.copy_of, "copy_kind": a.copy_kind,
            "cites": a.cites, "read_more": a.read_more, "translated_from": a.translates,
            "stances": {n["id"]: a.stance(n["id"]) for n in content.narratives if a.stance(n["id"])},
        })
    edges: dict[tuple, list] = {}
    for a in arts:
        if a.copy_of:
            o = by_id[a.copy_of]
            edges.setdefault((o.outlet, a.outlet, "copy"), []).append([o.id, a.id])
        for cid in a.cites:
            c = by_id[cid]
            edges.setdefault((c.outlet, a.outlet, "citation"), []).append([c.id, a.id])
        if a.translates:
            t = by_id[a.translates]
            edges.setdefault((t.outlet, a.outlet, "translation"), []).append([t.id, a.id])
    edge_list = [{"from_outlet": f, "to_outlet": t, "kind": k, "article_pairs": pairs}
                 for (f, t, k), pairs in sorted(edges.items())]
    robots = []
    for o in content.outlets:
        for p in o.trap_pages:
            robots.append({"outlet": o.name, "path": p, "linked_from": ["/", o.section_paths[0]]})
    n_unrelated = sum(1 for a in content.articles if a.kind == "unrelated")
    return {
        "format_version": 1,
        "about": "Ground truth of the narrative-tracker demo web (demo/README.md). Paths are relative to each "
                 "outlet's base URL; times are UTC to the minute.",
        "conventions": {
            "published_at": "UTC, 'YYYY-MM-DDTHH:MMZ'",
            "copy_edge": "from_outlet = outlet of the original, to_outlet = the copier; article_pairs = [[original_id, copy_id]]",
            "citation_edge": "from_outlet = cited outlet, to_outlet = citing outlet; article_pairs = [[cited_id, citing_id]]",
            "copied_from": "id of the original article (copies are always published after it)",
            "translation_edge": "from_outlet = outlet of the original, to_outlet = the translating outlet; "
                                "article_pairs = [[original_id, translation_id]]",
            "translated_from": "id of the earlier article, in another language, the article translates",
            "language": "the article's language (its outlet's)",
            "cites": "ids of other outlets' articles the body attributes by hyperlink and/or 'Source: X' / 'Source- X' line; "
                     "same-outlet 'Read more' links are listed in read_more instead",
            "is_distractor": "true when the article carries no narrative (neutral/debunk coverage of an event, or unrelated news)",
            "narrative_origin": "earliest article carrying the narrative",
            "stances": "toward a narrative's claim: carries (asserts it, or relays it without distance: attribution "
                       "alone is not distance), reports (attributes it and keeps a distance: denial, counter-source, "
                       "'without evidence', questioning context), debunks (refutes or fact-checks it), unrelated "
                       "(never states or refers to it, even when its facts bear on it); given for every article of "
                       "the narrative's events and every carrier",
        },
        "counts": {
            "outlets": len(outlets), "articles": len(articles), "events": len(events), "narratives": len(narratives),
            "narrative_articles": sum(1 for a in content.articles if a.narratives),
            "distractors": sum(1 for a in content.articles if a.is_distractor),
            "event_distractors": sum(1 for a in content.articles if a.is_distractor and a.event),
            "unrelated": n_unrelated,
            "copies": sum(1 for a in content.articles if a.copy_of),
            "translations": sum(1 for a in content.articles if a.translates),
            "languages": {lang: sum(1 for a in content.articles if a.language == lang)
                          for lang in sorted({a.language for a in content.articles})},
            "citations": sum(len(a.cites) for a in content.articles),
            "multi_narrative_articles": sum(1 for a in content.articles if len(a.narratives) > 1),
            "stance_pairs": {s: sum(1 for a in content.articles for n in content.narratives
                                    if a.stance(n["id"]) == s) for s in STANCES},
        },
        "outlets": outlets,
        "events": events,
        "narratives": narratives,
        "articles": articles,
        "edges": edge_list,
        "robots_disallowed": robots,
        "planted_404": [{"outlet": o.name, "path": o.feed_404, "listed_in": o.feed_path}
                        for o in content.outlets if o.feed_404],
        "off_web_links": ["http://example.invalid/x"],
    }
