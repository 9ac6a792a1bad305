"""The Datasette plugin (narratives/web/datasette_plugin.py) and `narratives serve` (narratives/web/server.py).

Fast tests run on a small hand-made database; the slow ones on the demo pipeline database
(demo web -> outlets import -> crawl -> process), and the browser test drives headless Chromium
(the Debian package `chromium`; skipped where it is not installed) against a real server.
"""
from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from lxml import html as lxml_html

from clustering.spread_stage import update_spread
from narratives.web.server import ServeError, build_datasette, free_port, serve
from db import open_db
from tests.conftest import REPO

CHROMIUM_PACKAGE = "chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run", "--disable-sync", "--hide-scrollbars",
                  "--disable-dev-shm-usage"]
SPREAD_OBJECTS = ("subject_members", "timeline_daily", "spread_outlets", "spread_edges", "outlet_influence",
                  "narrative_bursts")


# -- helpers ------------------------------------------------------------------------------------

def get(ds, path):
    async def go():
        return await ds.client.get(path)
    return asyncio.run(go())


def page_data(text: str) -> dict:
    m = re.search(r'<script type="application/json" id="nt-data">(.*?)</script>', text, re.S)
    assert m, "the page carries no chart data"
    return json.loads(m.group(1))


def ensure_spread_objects(path: Path) -> None:
    """The pages read the real spread views and tables created by the migrations."""
    conn = sqlite3.connect(path)
    present = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
    conn.close()
    missing = {"subject_members", "timeline_daily", "spread_outlets", "outlet_influence", "spread_edges",
               "narrative_bursts"} - present
    assert not missing, f"spread objects missing from the schema: {sorted(missing)}"


def expected_buckets(conn, kind: str, subject_id: int, bucket: str) -> int:
    day = "substr(coalesce(a.published_at, a.fetched_at), 1, 10)"
    key = day if bucket == "day" else f"date({day}, '-' || ((strftime('%w', {day}) + 6) % 7) || ' days')"
    return conn.execute(f"""SELECT count(DISTINCT {key}) FROM subject_members s JOIN articles a ON a.id = s.article_id
                            WHERE s.kind = ? AND s.subject_id = ?""", [kind, subject_id]).fetchone()[0]


def expected_outlets(conn, narrative_id: int) -> int:
    return conn.execute("""SELECT count(DISTINCT a.outlet) FROM narrative_memberships m
                           JOIN articles a ON a.id = m.article_id WHERE m.narrative_id = ?""",
                        [narrative_id]).fetchone()[0]


# -- a small hand-made database -----------------------------------------------------------------

@pytest.fixture(scope="module")
def small_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("datasette") / "small.db"
    db = open_db(path)
    db["runs"].insert({"id": 1, "stage": "process", "started_at": "2026-01-01T00:00:00Z"})
    for name in ("alpha-news", "beta-times", "gamma-post"):
        db["outlets"].insert({"name": name, "home": f"http://127.0.0.1/{name}/", "language": "en"})
    articles = [  # id, outlet, published_at (one article without a date: its fetch time counts)
        (1, "alpha-news", "2026-01-05T08:00:00Z"), (2, "beta-times", "2026-01-05T20:00:00Z"),
        (3, "alpha-news", "2026-01-07T09:00:00Z"), (4, "gamma-post", None),
        (5, "beta-times", "2026-02-20T10:00:00Z"), (6, "alpha-news", "2026-02-21T10:00:00Z"),
    ]
    for aid, outlet, published in articles:
        db["articles"].insert({"id": aid, "url": f"http://127.0.0.1/{outlet}/{aid}", "outlet": outlet,
                               "title": f"Jihadists armed by the West, report {aid}", "text": "jihadists " * 50,
                               "language": "en", "published_at": published, "date_source": published and "feed",
                               "fetched_at": "2026-01-09T12:00:00Z"})
    db["narratives"].insert({"id": 1, "label": "west / jihadists / arms", "keywords": '["west", "jihadists"]',
                             "headline": "The West arms jihadists", "status": "active", "article_count": 6,
                             "outlet_count": 3, "event_count": 2, "first_seen_at": "2026-01-05T08:00:00Z",
                             "last_seen_at": "2026-02-21T10:00:00Z"})
    for aid, _, _ in articles:
        db["narrative_memberships"].insert({"narrative_id": 1, "article_id": aid, "run_id": 1, "score": 0.8,
                                            "method": "test", "model_id": "m"})
    db["events"].insert({"id": 1, "title": "Report on jihadists", "article_count": 4, "outlet_count": 3,
                         "first_at": "2026-01-05T08:00:00Z", "last_at": "2026-01-09T12:00:00Z"})
    for aid in (1, 2, 3, 4):
        db["event_memberships"].insert({"article_id": aid, "event_id": 1, "run_id": 1, "score": 0.9,
                                        "method": "test", "model_id": "m"})
    db["watched_narratives"].insert({"id": 1, "name": "West arms jihadists", "description": "The West arms them",
                                     "threshold": 0.5, "model_id": "m"})
    db.execute("UPDATE watched_narratives SET effective_threshold = 0.5")
    for aid, _, _ in articles:
        db["watch_matches"].insert({"watch_id": 1, "article_id": aid, "score": 0.4 + 0.05 * aid, "passage": "p",
                                    "run_id": 1, "model_id": "m"})
    db.conn.commit()
    # what `process` keeps per subject (first appearances, articles per day), as after a run; the
    # edges and bursts below are hand-made instead of the stage's
    update_spread(db)
    db.execute("DELETE FROM spread_edges")
    db.execute("DELETE FROM narrative_bursts")
    db.conn.commit()
    db.conn.close()
    ensure_spread_objects(path)
    conn = sqlite3.connect(path)
    cols = [r[1] for r in conn.execute("PRAGMA table_info(spread_edges)")]
    for row in (("narrative", 1, "alpha-news", "beta-times", "copy", 12.0, 2, "[1, 2]"),
                ("narrative", 1, "beta-times", "gamma-post", "citation", 100.0, 1, "[2, 4]")):
        conn.execute(f"INSERT INTO spread_edges ({', '.join(cols[:8])}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row)
    conn.execute("INSERT INTO narrative_bursts (kind, subject_id, burst, start_day, end_day, articles) "
                 "VALUES ('narrative', 1, 1, '2026-01-05', '2026-01-09', 4), "
                 "('narrative', 1, 2, '2026-02-20', '2026-02-21', 2)")
    conn.commit()
    conn.close()
    return path


@pytest.fixture(scope="module")
def small_ds(small_db):
    return build_datasette(small_db)


def test_metadata_descriptions_units_and_facets(small_ds):
    meta = get(small_ds, "/-/metadata.json").json()
    assert meta["title"] == "narrative-tracker"
    tables = meta["databases"]["small"]["tables"]
    assert tables["articles"]["facets"] == ["outlet", "language", "date_source"]
    assert tables["spread_outlets"]["units"]["lag_hours"] == "hour"
    assert "first appearance" in tables["spread_outlets"]["columns"]["adoption_rank"]
    r = get(small_ds, "/small/articles.json?_size=1")
    assert r.status_code == 200 and set(r.json()["facet_results"]) >= {"outlet", "language", "date_source"}
    r = get(small_ds, "/small/articles")
    assert "Extracted articles, one per URL" in r.text


def test_saved_queries_return_rows(small_ds):
    queries = {q["name"] for q in get(small_ds, "/small.json").json()["queries"]}
    assert queries >= {"narrative_timeline", "spread_path", "outlet_leaderboard", "article_search",
                       "recurring_narratives"}
    timeline = get(small_ds, "/small/narrative_timeline.json?narrative_id=1&_shape=array").json()
    assert [r["day"] for r in timeline] == ["2026-01-05", "2026-01-07", "2026-01-09", "2026-02-20", "2026-02-21"]
    assert sum(r["articles"] for r in timeline) == 6
    path = get(small_ds, "/small/spread_path.json?narrative_id=1&_shape=array").json()
    assert [r["outlet"] for r in path] == ["alpha-news", "beta-times", "gamma-post"] and path[0]["is_origin"] == 1
    assert "copy from alpha-news" in path[1]["reached_via"]
    leaders = get(small_ds, "/small/outlet_leaderboard.json?_shape=array").json()
    assert leaders[0]["outlet"] == "alpha-news" and leaders[0]["originated"] == 1
    found = get(small_ds, "/small/article_search.json?q=jihadists&_shape=array").json()
    assert len(found) == 6 and "[jihadists]" in found[0]["snippet"]
    recurring = get(small_ds, "/small/recurring_narratives.json?_shape=array").json()
    assert recurring[0]["id"] == 1 and recurring[0]["bursts"] == 2
    # the `page` column links to the narrative page
    assert 'href="/small/-/narrative/1"' in get(small_ds, "/small/recurring_narratives").text


def test_served_read_only(small_ds, small_db):
    db = small_ds.databases["small"]
    assert db.is_mutable  # a crawl may go on writing: read connections use ?mode=ro
    conn = db.connect()
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        conn.execute("DELETE FROM articles")
    conn.close()
    snapshot = build_datasette(small_db, immutable=True)
    assert not snapshot.databases["small"].is_mutable


def test_narrative_page_has_chart_and_graph_data(small_ds, small_db):
    r = get(small_ds, "/small/-/narrative/1")
    assert r.status_code == 200
    assert "west / jihadists / arms" in r.text and "/-/narratives-static/narratives.js" in r.text
    data = page_data(r.text)
    assert data["bucket"] == "day"
    conn = sqlite3.connect(small_db)
    assert len(data["buckets"]) == expected_buckets(conn, "narrative", 1, "day") == 5
    assert [n["outlet"] for n in data["nodes"]] == ["alpha-news", "beta-times", "gamma-post"]
    assert len(data["nodes"]) == expected_outlets(conn, 1)
    assert {(e["from_outlet"], e["to_outlet"], e["edge_kind"]) for e in data["edges"]} == {
        ("alpha-news", "beta-times", "copy"), ("beta-times", "gamma-post", "citation")}
    assert len(data["bursts"]) == 2
    # weekly buckets on request: weeks start on Monday
    weekly = page_data(get(small_ds, "/small/-/narrative/1?bucket=week").text)
    assert [b["start"] for b in weekly["buckets"]] == ["2026-01-05", "2026-02-16"]
    assert len(weekly["buckets"]) == expected_buckets(conn, "narrative", 1, "week")
    conn.close()
    # every article listed, with a link to its row
    assert r.text.count('href="/small/articles/') == 6


def test_event_watch_and_index_pages(small_ds):
    event = get(small_ds, "/small/-/event/1")
    assert event.status_code == 200 and len(page_data(event.text)["nodes"]) == 3
    watch = get(small_ds, "/small/-/watch/1")
    assert watch.status_code == 200 and "West arms jihadists" in watch.text
    index = get(small_ds, "/small/-/narratives")
    assert index.status_code == 200
    for href in ("/small/-/narrative/1", "/small/-/event/1", "/small/-/watch/1"):
        assert f'href="{href}"' in index.text
    assert get(small_ds, "/small/-/narrative/99").status_code == 404
    assert get(small_ds, "/nosuchdb/-/narrative/1").status_code == 404
    assert get(small_ds, "/-/narratives-static/narratives.css").status_code == 200
    assert "/small/-/narratives" in get(small_ds, "/small").text  # database action / description link


def test_serve_refuses_what_it_cannot_serve(tmp_path):
    with pytest.raises(ServeError, match="does not exist"):
        serve(tmp_path / "missing.db")
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(ServeError, match="not a narrative-tracker database"):
        serve(other)


def test_plain_datasette_loads_the_plugin(small_db):
    """Installed with the package: `datasette DB` alone gets the metadata, queries and pages."""
    datasette = Path(sys.executable).parent / "datasette"
    if not datasette.exists():
        pytest.skip("the datasette script is not installed beside this Python")
    r = subprocess.run([str(datasette), str(small_db), "--get", "/small/-/narrative/1"], capture_output=True,
                       text=True, timeout=60, cwd=small_db.parent)
    assert r.returncode == 0, r.stderr
    assert 'id="nt-data"' in r.stdout


# -- the demo pipeline database and a real browser ----------------------------------------------

@pytest.fixture(scope="module")
def demo_db(tmp_path_factory, demo_processed):
    db = tmp_path_factory.mktemp("datasette-demo") / "demo.db"
    shutil.copy(demo_processed[0], db)
    ensure_spread_objects(db)
    return db


@pytest.fixture(scope="module")
def chromium_binary() -> str:
    """Chromium's path; skips (before the demo database is built) where it is not installed."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip(f"headless browser test needs Chromium: install the Debian package `{CHROMIUM_PACKAGE}` "
                f"(apt-get install {CHROMIUM_PACKAGE}); .ci/run does")


def chromium(binary, profile: Path, *args, timeout=90) -> subprocess.CompletedProcess:
    return subprocess.run([binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args], capture_output=True,
                          text=True, timeout=timeout)


def wait_for(url: str, proc: subprocess.Popen, seconds: float = 60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the server exited with {proc.returncode}: {proc.stdout.read()}")
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer within {seconds} s")


@pytest.fixture
def demo_server(demo_db):
    port = free_port()
    code = "import sys; from narratives.web.server import serve; sys.exit(serve(sys.argv[1], '127.0.0.1', int(sys.argv[2])))"
    proc = subprocess.Popen([sys.executable, "-c", code, str(demo_db), str(port)], cwd=REPO, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env=dict(os.environ, PYTHONUNBUFFERED="1"))
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{base}/-/versions.json", proc)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def count_class(tree, tag: str, cls: str) -> int:
    return len(tree.xpath(f"//*[local-name()='{tag}'][contains(concat(' ', normalize-space(@class), ' '), ' {cls} ')]"))


@pytest.mark.slow
def test_narrative_page_in_headless_chromium(chromium_binary, demo_db, demo_server, tmp_path):
    binary = chromium_binary
    conn = sqlite3.connect(demo_db)
    narrative_id = conn.execute("SELECT id FROM narratives WHERE status = 'active' "
                                "ORDER BY article_count DESC, id LIMIT 1").fetchone()[0]
    url = f"{demo_server}/demo/-/narrative/{narrative_id}"
    r = chromium(binary, tmp_path / "profile", "--window-size=1280,1000", "--dump-dom", url)
    assert r.returncode == 0, r.stderr[-2000:]
    tree = lxml_html.fromstring(r.stdout)
    assert tree.xpath("//body/@data-charts") == ["ready"], "the chart script did not run"
    # timeline: exactly one mark per time bucket with articles
    svg = tree.xpath("//*[local-name()='svg'][contains(@class, 'timeline')]")[0]
    bucket = svg.get("data-bucket")
    buckets = expected_buckets(conn, "narrative", narrative_id, bucket)
    assert buckets > 1
    assert count_class(tree, "g", "mark") == buckets
    # spread graph: exactly one node per outlet of the narrative
    outlets = expected_outlets(conn, narrative_id)
    assert outlets > 1
    nodes = tree.xpath("//*[local-name()='g'][contains(concat(' ', @class, ' '), ' node ')]/@data-outlet")
    assert len(nodes) == outlets and len(set(nodes)) == outlets
    # a saved query, rendered by Datasette in the same browser, returns rows
    r = chromium(binary, tmp_path / "profile", "--dump-dom",
                 f"{demo_server}/demo/narrative_timeline?narrative_id={narrative_id}")
    rows = lxml_html.fromstring(r.stdout).xpath("//table[contains(@class, 'rows-and-columns')]/tbody/tr")
    assert len(rows) == expected_buckets(conn, "narrative", narrative_id, "day")
    conn.close()
    # a screenshot to look at
    shot = tmp_path / f"narrative-{narrative_id}.png"
    r = chromium(binary, tmp_path / "profile", "--window-size=1280,1600", f"--screenshot={shot}", url)
    assert r.returncode == 0 and shot.stat().st_size > 10_000, r.stderr[-2000:]
    print(f"\nscreenshot of {url}: {shot}")


def test_every_table_is_described_or_hidden(tmp_path):
    """A table a migration adds shows up in Datasette: it gets a description in narratives/web/metadata.yml,
    or is hidden there when it is the pipeline's own bookkeeping."""
    import yaml

    from narratives.web.datasette_plugin import METADATA_PATH

    tables = yaml.safe_load(METADATA_PATH.read_text("utf-8"))["database"]["tables"]
    db = open_db(tmp_path / "all.db")
    names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
                                      "AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'articles_fts_%'")]
    bare = sorted(n for n in names if not (tables.get(n, {}).get("description") or tables.get(n, {}).get("hidden")))
    assert not bare, f"tables without a description or hidden: in narratives/web/metadata.yml: {bare}"


def test_unknown_paths_are_404_not_500(small_ds):
    # rich (pulled in by transformers) used to turn Datasette's 404 for unrouted paths into a 500
    for path in ("/small/-/narratives/1", "/small/-/narrative/999", "/no-such-database"):
        r = get(small_ds, path)
        assert r.status_code == 404, (path, r.status_code)
    assert get(small_ds, "/small/-/narrative/1").status_code == 200
