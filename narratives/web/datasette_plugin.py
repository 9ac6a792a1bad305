"""Datasette plugin of narrative-tracker: metadata, saved queries and narrative pages.

Installed with the package (entry point `narratives`), so `narratives serve DB` and a plain
`datasette DB` both load it; it applies only to databases that have the narrative-tracker tables.

Hooks:
  get_metadata       titles, descriptions, units and facets from metadata.yml (`database:`)
  canned_queries     the saved queries of metadata.yml (`queries:`) whose tables and views exist
  register_routes    /DB/-/narratives, /DB/-/narrative/ID, /DB/-/event/ID, /DB/-/watch/ID (timeline,
                     spread graph, articles with their stance) and the bundled assets under
                     /-/narratives-static/ (no CDN)
  render_cell        a `page` column holding "narrative/ID" links to that page
  database_actions, table_actions   links to the narrative pages

The pages read timelines and adopters through the functions the CLI uses (`db.spread`), edges and
bursts from `spread_edges` and `narrative_bursts`, stance from `subject_members`, `stances` and
`subject_stances` (LISTED_CTE); an older database gets pages that say what it lacks.
"""
from __future__ import annotations

import copy
import logging
import re
import sqlite3
import threading
from pathlib import Path

import sqlite_utils
import yaml
from datasette import Response, hookimpl
from datasette.utils.asgi import asgi_static
from markupsafe import Markup, escape

from narratives.web.charts import (STANCES, bucket_timeline, chart_data, choose_bucket, fmt_after, fmt_lag,
                                   outlet_colors, stance_chart, stance_rows, subject_summary)
from db.connection import schema_names
from db.spread import EDGE_LIMIT, adopters, edge_counts
from db.spread import edges as spread_edges
from db.spread import timeline as spread_timeline

logger = logging.getLogger(__name__)


def _plain_404s() -> None:
    """Datasette 0.65's last-resort error handler prints every error with rich when rich is
    importable (transformers pulls it in), and rich refuses to print outside an `except` block,
    which is where Datasette reports a path no route matches: the 404 became a 500 ("Internal
    Server Error") for e.g. /DB/-/narratives/1. Without rich it renders the 404 page as meant;
    tracebacks of real errors are still printed (by `traceback`)."""
    try:
        import datasette.handle_exception as handler
    except ImportError:
        return
    if getattr(handler, "rich", None) is not None:
        handler.rich = None


_plain_404s()

HERE = Path(__file__).resolve().parent
TEMPLATES_DIR = HERE / "templates"
STATIC_DIR = HERE / "static"
METADATA_PATH = HERE / "metadata.yml"
STATIC_PREFIX = "/-/narratives-static/"

KINDS = ("narrative", "event", "watch")
KIND_LABELS = {"narrative": "Narrative", "event": "Event", "watch": "Watched narrative"}
REQUIRED_TABLES = {"articles", "narratives", "outlets"}
SPREAD_OBJECTS = ("subject_members", "timeline_daily", "spread_outlets", "spread_edges")
ARTICLE_LIMIT = 1000
PAGE_TIME_LIMIT_MS = 20_000
STANCE_OBJECTS = ("stances", "subject_stances")  # migration m023; a database served unmigrated has neither


# -- metadata ----------------------------------------------------------------------------------

_metadata_cache: dict | None = None


def project_metadata() -> dict:
    """metadata.yml (beside this module) as a dict (read once)."""
    global _metadata_cache
    if _metadata_cache is None:
        _metadata_cache = yaml.safe_load(METADATA_PATH.read_text(encoding="utf-8"))
    return _metadata_cache


_ours_lock = threading.Lock()
_ours_cache: dict[tuple, bool] = {}


def is_narratives_database(db) -> bool:
    """True when the Datasette database *db* has the narrative-tracker tables (cached per file)."""
    if db is None or getattr(db, "is_memory", False) or not getattr(db, "path", None):
        return False
    key = (db.name, str(db.path))
    with _ours_lock:
        if key in _ours_cache:
            return _ours_cache[key]
    try:
        names = schema_names(db.path, immutable=not getattr(db, "is_mutable", True))
    except sqlite3.Error as exc:
        logger.debug("cannot inspect %s: %s", db.path, exc)
        names = set()
    ours = REQUIRED_TABLES <= names
    with _ours_lock:
        _ours_cache[key] = ours
    return ours


def narratives_databases(datasette) -> list[str]:
    return [name for name, db in list(datasette.databases.items()) if is_narratives_database(db)]


@hookimpl
def get_metadata(datasette, key, database, table):
    names = narratives_databases(datasette)
    if not names:
        return {}
    meta = project_metadata()
    out = {"title": meta["title"], "description_html": meta["description_html"], "databases": {}}
    for name in names:
        db_meta = copy.deepcopy(meta["database"])
        db_meta["description_html"] = db_meta["description_html"].replace(
            "{database_url}", datasette.urls.database(name))
        out["databases"][name] = db_meta
    return out


# -- saved queries -----------------------------------------------------------------------------

@hookimpl
def canned_queries(datasette, database, actor):
    async def inner():
        db = datasette.databases.get(database)
        if not is_narratives_database(db):
            return {}
        present = set(await db.table_names()) | set(await db.view_names())
        queries = {}
        for name, query in project_metadata()["queries"].items():
            if set(query.get("requires", [])) <= present:
                queries[name] = {k: v for k, v in query.items() if k != "requires"}
        return queries

    return inner


PAGE_CELL = re.compile(r"^(narrative|event|watch)/(\d+)$")


@hookimpl
def render_cell(row, value, column, table, database, datasette):
    if column != "page" or not isinstance(value, str):
        return None
    m = PAGE_CELL.match(value)
    if not m or not is_narratives_database(datasette.databases.get(database)):
        return None
    href = subject_url(datasette, database, m.group(1), int(m.group(2)))
    return Markup(f'<a href="{escape(href)}">{escape(value)}</a>')


# -- links -------------------------------------------------------------------------------------

def index_url(datasette, database: str) -> str:
    return datasette.urls.database(database) + "/-/narratives"


def subject_url(datasette, database: str, kind: str, subject_id: int) -> str:
    return f"{datasette.urls.database(database)}/-/{kind}/{subject_id}"


@hookimpl
def database_actions(datasette, actor, database, request):
    if is_narratives_database(datasette.databases.get(database)):
        return [{"href": index_url(datasette, database), "label": "Narrative pages: timelines and spread graphs"}]


@hookimpl
def table_actions(datasette, actor, database, table, request):
    if table in ("narratives", "events", "watched_narratives", "spread_outlets", "spread_edges", "timeline_daily") \
            and is_narratives_database(datasette.databases.get(database)):
        return [{"href": index_url(datasette, database), "label": "Narrative pages: timelines and spread graphs"}]


# -- templates and static files ----------------------------------------------------------------

@hookimpl
def prepare_jinja2_environment(env, datasette):
    # The plugin is a module inside the `narratives.web` package, so Datasette does not find templates/ and
    # static/ by itself: add the templates to the loader (after Datasette's own and --template-dir).
    from jinja2 import ChoiceLoader, FileSystemLoader

    if not getattr(env, "_narratives_templates", False):
        env.loader = ChoiceLoader([env.loader, FileSystemLoader(str(TEMPLATES_DIR))])
        env._narratives_templates = True
    env.filters.update(nt_lag=fmt_lag, nt_after=fmt_after)


@hookimpl
def register_routes(datasette):
    return [
        (r"^/-/narratives-static/(?P<path>.+)$", asgi_static(STATIC_DIR)),
        (r"^/(?P<database>[^/]+)/-/narratives$", index_page),
        (r"^/(?P<database>[^/]+)/-/(?P<kind>narrative|event|watch)/(?P<subject_id>\d+)$", subject_page),
    ]


# -- stance ------------------------------------------------------------------------------------
#
# A subject's articles with their stance toward its claim: the members (subject_members) with the
# judge's verdict ("carries", or "not judged" where no judge covered them) and the articles that
# report or debunk it (subject_stances) that are not members, each article once. The page's list,
# its counts per stance and its timeline stacked by stance all read this one CTE.

LISTED_CTE = """
    members AS (SELECT article_id, score FROM subject_members WHERE kind = :kind AND subject_id = :sid),
    listed AS (
      SELECT m.article_id, 1 AS member, m.score, coalesce(s.stance, 'not judged') AS stance,
             CASE s.stance WHEN 'carries' THEN s.p_carries WHEN 'reports' THEN s.p_reports
                           WHEN 'debunks' THEN s.p_debunks WHEN 'unrelated' THEN s.p_unrelated END AS p
      FROM members m
      LEFT JOIN stances s ON s.kind = :kind AND s.subject_id = :sid AND s.article_id = m.article_id
      UNION ALL
      SELECT c.article_id, 0, NULL, c.stance, CASE c.stance WHEN 'reports' THEN c.p_reports ELSE c.p_debunks END
      FROM subject_stances c
      WHERE c.kind = :kind AND c.subject_id = :sid AND c.article_id NOT IN (SELECT article_id FROM members))"""


async def has_stances(db, kind: str) -> bool:
    """Whether the subject can have a stance: a narrative or watched narrative, in a database that
    has the stance judge's table and view (an unmigrated one, served read-only, has not)."""
    if kind == "event":
        return False
    return set(STANCE_OBJECTS) <= set(await db.table_names()) | set(await db.view_names())


async def stance_counts(db, kind: str, subject_id: int) -> dict[str, int]:
    """Articles per stance, counted in SQL: members by their verdict, reports and debunks beside them."""
    found = await rows(db, f"WITH {LISTED_CTE} SELECT stance, count(*) AS n FROM listed GROUP BY stance",
                       {"kind": kind, "sid": subject_id})
    return {r["stance"]: r["n"] for r in found}


async def stance_days(db, kind: str, subject_id: int) -> list[dict]:
    """(day, stance, articles) rows: the timeline stacked by stance."""
    return await rows(db, f"""WITH {LISTED_CTE}
        SELECT substr(t.time, 1, 10) AS day, l.stance, count(*) AS articles
        FROM listed l JOIN article_times t ON t.article_id = l.article_id
        GROUP BY day, l.stance ORDER BY day, l.stance""", {"kind": kind, "sid": subject_id})


async def coverage_firsts(db, kind: str, subject_id: int, origin_time: str | None) -> dict[str, list[dict]]:
    """Per stance ("reports", "debunks") the outlets that took it, in order of their first such
    article: that article, its time and source, the outlet's articles of that stance and the lag
    after the origin (hours; negative: before the first carrier). What `narratives spread` lists
    as reported by / debunked by."""
    found = await rows(db, f"""WITH {LISTED_CTE},
        c AS (
          SELECT l.stance, t.outlet, t.article_id, t.time, t.time_source,
                 row_number() OVER (PARTITION BY l.stance, t.outlet ORDER BY t.time, t.article_id) AS nth,
                 count(*) OVER (PARTITION BY l.stance, t.outlet) AS articles
          FROM listed l JOIN article_times t ON t.article_id = l.article_id
          WHERE l.stance IN ('reports', 'debunks') AND NOT l.member)
        SELECT c.stance, c.outlet, c.article_id AS first_article_id, c.time AS first_seen_at, c.time_source,
               c.articles, a.title AS first_title, a.url AS first_url,
               round((julianday(c.time) - julianday(:origin)) * 24, 2) AS lag_after_origin_hours
        FROM c JOIN articles a ON a.id = c.article_id
        WHERE c.nth = 1 ORDER BY c.stance, c.time, c.article_id""",
                       {"kind": kind, "sid": subject_id, "origin": origin_time})
    return {stance: [r for r in found if r["stance"] == stance] for stance in ("reports", "debunks")}


def article_filter(request, counts: dict[str, int]) -> list[str] | None:
    """The stances `?stance=...` asks for (the filter's form, without script); None: every stance."""
    asked = [s for s in request.args.getlist("stance") if s]
    known = set(STANCES) | set(counts)
    asked = [s for s in asked if s in known]
    return asked if asked and set(asked) != known else None


# -- pages -------------------------------------------------------------------------------------

class PageError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


async def error_page(datasette, request, exc: PageError) -> Response:
    # rendered here, not raised to Datasette, whose handler prints a full traceback for every 404
    html = await datasette.render_template("error.html", {"ok": False, "error": str(exc), "status": exc.status,
                                                          "title": None}, request=request)
    return Response.html(html, status=exc.status)


def page(view):
    async def inner(datasette, request):
        try:
            return await view(datasette, request)
        except PageError as exc:
            return await error_page(datasette, request, exc)

    inner.__name__ = view.__name__
    return inner


async def check_access(datasette, request, database: str):
    db = datasette.databases.get(database)
    if db is None or not is_narratives_database(db):
        raise PageError(404, f"no narrative-tracker database named {database!r}")
    if not await datasette.permission_allowed(request.actor, "view-instance", default=True) or \
            not await datasette.permission_allowed(request.actor, "view-database", database, default=True):
        raise PageError(403, "you may not view this database")
    return db


async def rows(db, sql: str, params=()) -> list[dict]:
    params = params if isinstance(params, dict) else list(params)
    result = await db.execute(sql, params, custom_time_limit=PAGE_TIME_LIMIT_MS)
    return [dict(r) for r in result.rows]


def _spread_rows(conn: sqlite3.Connection, kind: str, subject_id: int) -> tuple[list, list, dict, list, dict]:
    """(articles per day and outlet, outlets in adoption order, article count and first/last day,
    the strongest edges of each kind, edge totals per kind)."""
    handle = sqlite_utils.Database(conn)
    timeline = [{"day": r["bucket"], "outlet": r["outlet"], "articles": r["articles"]}
                for r in spread_timeline(handle, kind, subject_id)]
    nodes = adopters(handle, kind, subject_id)
    days = [r["day"] for r in timeline]
    span = {"n": sum(r["articles"] for r in timeline), "first": min(days, default=None), "last": max(days, default=None)}
    return (timeline, nodes, span, spread_edges(handle, kind, subject_id, per_kind=EDGE_LIMIT),
            edge_counts(handle, kind, subject_id))


async def missing_objects(db) -> list[str]:
    present = set(await db.table_names()) | set(await db.view_names())
    return [name for name in SPREAD_OBJECTS if name not in present]


@page
async def index_page(datasette, request):
    database = request.url_vars["database"]
    db = await check_access(datasette, request, database)
    narratives = await rows(db, """
        SELECT id, label, headline, status, article_count, outlet_count, event_count, first_seen_at, last_seen_at
        FROM narratives ORDER BY status = 'active' DESC, article_count DESC, id""")
    watches = await rows(db, "SELECT id, name, description FROM watched_narratives ORDER BY id") \
        if "watched_narratives" in await db.table_names() else []
    events = await rows(db, """
        SELECT id, title, article_count, outlet_count, first_at, last_at FROM events
        WHERE article_count >= 2 ORDER BY article_count DESC, first_at, id LIMIT 100""") \
        if "events" in await db.table_names() else []
    missing = await missing_objects(db)
    coverage = {}  # narrative id -> {"reports": n, "debunks": n}: the articles beside its members
    if await has_stances(db, "narrative"):
        for r in await rows(db, """SELECT subject_id, stance, count(*) AS n FROM subject_stances
                                   WHERE kind = 'narrative' GROUP BY subject_id, stance"""):
            coverage.setdefault(r["subject_id"], {})[r["stance"]] = r["n"]
    return Response.html(await datasette.render_template("narratives_index.html", {
        "database": database, "database_url": datasette.urls.database(database),
        "narratives": narratives, "watches": watches, "events": events, "missing": missing,
        "has_stance": await has_stances(db, "narrative"), "coverage": coverage,
        "static": STATIC_PREFIX, "subject_url": lambda kind, i: subject_url(datasette, database, kind, i),
        "queries_url": datasette.urls.database(database),
    }, request=request))


MEMBER_ARTICLES = """
    SELECT a.id, a.outlet, coalesce(a.published_at, a.fetched_at) AS time,
           CASE WHEN a.published_at IS NOT NULL THEN coalesce(a.date_source, 'published') ELSE 'first fetch'
           END AS time_source, a.title, a.url, a.language, round(s.score, 3) AS score, NULL AS stance, NULL AS p, 1 AS member
    FROM subject_members s JOIN articles a ON a.id = s.article_id
    WHERE s.kind = :kind AND s.subject_id = :sid
    ORDER BY time, a.id LIMIT :limit"""

STANCE_ARTICLES = f"""WITH {LISTED_CTE}
    SELECT a.id, a.outlet, coalesce(a.published_at, a.fetched_at) AS time,
           CASE WHEN a.published_at IS NOT NULL THEN coalesce(a.date_source, 'published') ELSE 'first fetch'
           END AS time_source, a.title, a.url, a.language, round(l.score, 3) AS score, l.stance, round(l.p, 3) AS p, l.member,
           {{via}} AS via
    FROM listed l JOIN articles a ON a.id = l.article_id
    WHERE {{where}}
    ORDER BY time, a.id LIMIT :limit"""
# the article the judge read in one's place (its full translation; migration m026)
VIA = ("(SELECT x.via_article_id FROM stances x WHERE x.kind = :kind AND x.subject_id = :sid "
       "AND x.article_id = a.id)")


@page
async def subject_page(datasette, request):
    database = request.url_vars["database"]
    kind = request.url_vars["kind"]
    subject_id = int(request.url_vars["subject_id"])
    db = await check_access(datasette, request, database)
    table = {"narrative": "narratives", "event": "events", "watch": "watched_narratives"}[kind]
    if table not in await db.table_names():
        raise PageError(404, f"this database has no {table} table")
    found = await rows(db, f"SELECT * FROM [{table}] WHERE id = ?", [subject_id])
    if not found:
        raise PageError(404, f"no {KIND_LABELS[kind].lower()} with id {subject_id}")
    subject = subject_summary(kind, found[0])
    missing = await missing_objects(db)
    context = {
        "database": database, "database_url": datasette.urls.database(database),
        "index_url": index_url(datasette, database), "kind": kind, "kind_label": KIND_LABELS[kind],
        "subject_id": subject_id, "subject": subject, "missing": missing, "static": STATIC_PREFIX,
        "table": table, "articles": [], "article_total": 0, "article_limit": ARTICLE_LIMIT, "data": None,
        "edge_total": 0, "edge_shown": 0, "edge_limit": EDGE_LIMIT,
        "outlets": [], "has_stance": False, "origin": [],
    }
    if not missing:
        params = {"kind": kind, "sid": subject_id, "limit": ARTICLE_LIMIT}
        # the functions the CLI's `timeline` and `spread` call: they read the spread stage's counts
        # when current (a few rows however large the narrative), else the members
        timeline, nodes, span, edges, counts = await db.execute_fn(lambda conn: _spread_rows(conn, kind, subject_id))
        bursts = []
        if "narrative_bursts" in set(await db.table_names()) | set(await db.view_names()):
            bursts = await rows(db, """SELECT burst, start_day, end_day, articles FROM narrative_bursts
                                       WHERE kind = :kind AND subject_id = :sid ORDER BY start_day""", params)
        total = span["n"]
        bucket = choose_bucket([r["day"] for r in timeline], request.args.get("bucket"))
        colors = outlet_colors(nodes, {r["outlet"] for r in timeline})
        origin = [n for n in nodes if n["is_origin"]]
        stance_part = stance_chart(None)
        if await has_stances(db, kind):
            by_stance = await stance_counts(db, kind, subject_id)
            shown = article_filter(request, by_stance)
            picked = {f"s{i}": st for i, st in enumerate(shown or [])}
            where = f"l.stance IN ({', '.join(':' + k for k in picked)})" if picked else "1"
            via = VIA if "via_article_id" in await db.table_columns("stances") else "NULL"
            articles = await rows(db, STANCE_ARTICLES.format(where=where, via=via), dict(params, **picked))
            firsts = await coverage_firsts(db, kind, subject_id, origin[0]["first_seen_at"] if origin else None)
            # the timeline by stance: from the members' counts alone while no verdict touches the subject
            judged = await rows(db, "SELECT 1 FROM stances WHERE kind = :kind AND subject_id = :sid LIMIT 1", params)
            days = await stance_days(db, kind, subject_id) if judged else \
                [{"day": r["day"], "stance": "not judged", "articles": r["articles"]} for r in timeline]
            stack = request.args.get("stack") or "outlet"
            stance_part = stance_chart(bucket_timeline(days, bucket, key="stance"), stack)
            listed_total = sum(by_stance.values())
            context.update({
                "has_stance": True, "judged": bool(judged), "stance_counts": stance_rows(by_stance),
                "stance_filter": shown, "stack": stance_part["stack"],
                "reported_by": firsts["reports"], "debunked_by": firsts["debunks"],
                "first_debunk": firsts["debunks"][0] if firsts["debunks"] else None,
                "listed_total": listed_total if shown is None else sum(by_stance.get(st, 0) for st in shown),
                "bucket_arg": request.args.get("bucket"),
            })
        else:
            articles = await rows(db, MEMBER_ARTICLES, params)
            context["listed_total"] = total
        context.update({
            "articles": articles, "article_total": total, "span": span, "origin": origin,
            "edge_total": sum(counts.values()), "edge_shown": len(edges),
            "outlets": [{"name": o, "color": c} for o, c in colors.items()], "colors": colors,
            "data": chart_data(kind, subject_id, subject["title"], bucket, bucket_timeline(timeline, bucket), bursts,
                               nodes, edges, colors, article_url=datasette.urls.table(database, "articles"),
                               **stance_part),
        })
    return Response.html(await datasette.render_template("narratives_subject.html", context, request=request))
