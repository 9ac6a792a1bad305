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


# -- stance toward the claim (issue 16) ----------------------------------------------------------
#
# The small database plus verdicts written by hand (no judge model): narrative 1's members 1, 2, 3
# and 5 carry its claim, 4 and 6 are not judged; articles 7, 8 and 11 debunk it, 9 reports it and
# 10 is unrelated (not shown); the watched narrative's article 3 debunks it (so it is no member).

STANCE_ARTICLES = [  # id, outlet, published_at, stance toward narrative 1
    (7, "beta-times", "2026-01-06T08:00:00Z", "debunks"), (8, "delta-daily", "2026-01-08T08:00:00Z", "debunks"),
    (9, "delta-daily", "2026-02-22T10:00:00Z", "reports"), (10, "gamma-post", "2026-01-06T09:00:00Z", "unrelated"),
    (11, "delta-daily", "2026-01-10T12:00:00Z", "debunks"),
]
STANCE_COUNTS = {"carries": 4, "not judged": 2, "reports": 1, "debunks": 3}


def add_stance(conn, kind, subject_id, article_id, stance, p=0.8):
    probs = {f"p_{s}": (p if s == stance else (1 - p) / 3) for s in ("carries", "reports", "debunks", "unrelated")}
    conn.execute("""INSERT INTO stances (kind, subject_id, article_id, stance, p_carries, p_reports, p_debunks,
                    p_unrelated, evidence, claim_hash, content_hash, model_id, run_id, judged_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'c', 'h', 'hand-made', 1, '2026-03-01T00:00:00Z')""",
                 [kind, subject_id, article_id, stance, probs["p_carries"], probs["p_reports"], probs["p_debunks"],
                  probs["p_unrelated"], json.dumps([f"passage of article {article_id}"])])


@pytest.fixture(scope="module")
def stance_db(small_db, tmp_path_factory):
    path = tmp_path_factory.mktemp("stance") / "stance.db"
    shutil.copy(small_db, path)
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO outlets (name, home, language) VALUES ('delta-daily', 'http://127.0.0.1/delta-daily/', 'en')")
    for aid, outlet, published, _ in STANCE_ARTICLES:
        conn.execute("""INSERT INTO articles (id, url, outlet, title, text, language, published_at, date_source,
                        fetched_at) VALUES (?, ?, ?, ?, ?, 'en', ?, 'feed', '2026-03-01T00:00:00Z')""",
                     [aid, f"http://127.0.0.1/{outlet}/{aid}", outlet, f"On the jihadists claim, article {aid}",
                      "claim " * 50, published])
    for aid in (1, 2, 3, 5):
        add_stance(conn, "narrative", 1, aid, "carries", 0.9)
    for aid, _, _, stance in STANCE_ARTICLES:
        add_stance(conn, "narrative", 1, aid, stance)
    # narrative 2: reported, never debunked; narrative 3: merged away (its verdicts are not shown)
    conn.execute("""INSERT INTO narratives (id, label, headline, status, article_count, outlet_count, event_count)
                    VALUES (2, 'second / claim', 'A second claim', 'active', 1, 1, 1),
                           (3, 'merged / claim', 'Merged away', 'merged', 0, 0, 0)""")
    conn.execute("INSERT INTO narrative_memberships (narrative_id, article_id, run_id, score, method, model_id) "
                 "VALUES (2, 5, 1, 0.7, 'test', 'm')")
    add_stance(conn, "narrative", 2, 5, "carries")
    add_stance(conn, "narrative", 2, 9, "reports")
    add_stance(conn, "narrative", 3, 8, "debunks")
    # the watched narrative (threshold 0.5: articles 2 to 6 match): 3 debunks it, 2 carries it
    add_stance(conn, "watch", 1, 2, "carries")
    add_stance(conn, "watch", 1, 3, "debunks")
    # article 5's verdict was read through its full translation, article 9 (migration m026)
    conn.execute("UPDATE stances SET via_article_id = 9 WHERE kind = 'narrative' AND subject_id = 1 AND article_id = 5")
    conn.commit()
    conn.close()
    return path


@pytest.fixture(scope="module")
def stance_ds(stance_db):
    return build_datasette(stance_db)


def sql_stance_counts(conn, kind: str, subject_id: int) -> dict[str, int]:
    """Counts per stance straight from the tables: members by verdict, and the non-members that report or debunk."""
    member_sql = {"narrative": "SELECT article_id FROM narrative_memberships WHERE narrative_id = :sid",
                  "watch": """SELECT m.article_id FROM watch_matches m JOIN watched_narratives w ON w.id = m.watch_id
                              WHERE m.watch_id = :sid AND m.score >= w.effective_threshold AND NOT EXISTS (
                                SELECT 1 FROM stances s WHERE s.kind = 'watch' AND s.subject_id = :sid
                                AND s.article_id = m.article_id AND s.stance != 'carries')"""}[kind]
    found = conn.execute(f"""
        SELECT coalesce(s.stance, 'not judged'), count(*) FROM ({member_sql}) m
        LEFT JOIN stances s ON s.kind = :kind AND s.subject_id = :sid AND s.article_id = m.article_id GROUP BY 1
        UNION ALL
        SELECT s.stance, count(*) FROM stances s WHERE s.kind = :kind AND s.subject_id = :sid
          AND s.stance IN ('reports', 'debunks') AND s.article_id NOT IN ({member_sql}) GROUP BY 1""",
                         {"kind": kind, "sid": subject_id}).fetchall()
    out: dict[str, int] = {}
    for stance, n in found:
        out[stance] = out.get(stance, 0) + n
    return out


def shown_counts(tree) -> dict[str, int]:
    return {b.get("data-stance"): int(b.text_content()) for b in tree.xpath("//b[@class='nt-stance-count']")}


def test_stance_page_marks_counts_and_coverage(stance_ds, stance_db):
    r = get(stance_ds, "/stance/-/narrative/1")
    assert r.status_code == 200
    tree = lxml_html.fromstring(r.text)
    conn = sqlite3.connect(stance_db)
    counts = sql_stance_counts(conn, "narrative", 1)
    assert counts == STANCE_COUNTS
    # the counts on the page are SQL's, one per stance, zeros included
    assert shown_counts(tree) == counts
    # one stance mark per article row, with colour (a class) and the word; the unrelated one not listed
    rows = tree.xpath("//table[@id='article-list']/tbody/tr")
    assert len(rows) == sum(counts.values()) == 10
    for tr in rows:
        marks = tr.xpath(".//span[contains(concat(' ', @class, ' '), ' nt-stance ')]")
        assert len(marks) == 1
        stance = tr.get("data-stance")
        assert marks[0].text_content() == stance and f"nt-stance-{stance.replace(' ', '-')}" in marks[0].get("class")
    assert {tr.get("data-stance") for tr in rows} == set(STANCE_COUNTS)
    # each article's language, from SQL
    header = [th.text_content() for th in tree.xpath("//table[@id='article-list']/thead/tr/th")]
    languages = dict(conn.execute("SELECT id, coalesce(language, '') FROM articles").fetchall())
    shown = {int(tr.xpath(".//a/@href")[0].rsplit("/", 1)[1]): tr.xpath("td")[header.index("lang")].text_content()
             for tr in rows}
    assert shown == {aid: languages[aid] for aid in shown} and set(shown.values()) == {"en"}
    # a verdict read through a translation links the article the judge read, on that row only
    via = {int(tr.xpath(".//a/@href")[0].rsplit("/", 1)[1]): tr.xpath(".//a[@class='nt-via']/@href") for tr in rows}
    assert {aid: links for aid, links in via.items() if links} == {5: ["/stance/articles/9"]}
    assert "article 10" not in r.text
    # first debunk and its lag after the origin (alpha-news at 08:00 on Jan 5; beta-times 24 h later)
    assert "alpha-news" in tree.xpath("//p[@id='origin']")[0].text_content()
    first = " ".join(tree.xpath("//p[@id='first-debunk']")[0].text_content().split())
    assert "First debunk: beta-times, 2026-01-06 08:00 UTC" in first and "24 h after the origin" in first
    debunked = [[" ".join(td.text_content().split()) for td in tr.xpath("td")]
                for tr in tree.xpath("//table[@id='debunked-by']/tbody/tr")]
    assert [(d[0], d[3], d[4]) for d in debunked] == [("beta-times", "+24 h", "1"), ("delta-daily", "+3 days", "2")]
    reported = tree.xpath("//table[@id='reported-by']/tbody/tr/td[1]/text()")
    assert reported == ["delta-daily"]
    # the chart can stack by stance: every listed article in one bucket of the stance timeline
    data = page_data(r.text)
    assert data["stack"] == "outlet" and [s["name"] for s in data["stances"]] == list(STANCE_COUNTS)
    assert sum(b["articles"] for b in data["stance_buckets"]) == 10
    by_stance: dict[str, int] = {}
    for b in data["stance_buckets"]:
        for k, n in b["stances"].items():
            by_stance[k] = by_stance.get(k, 0) + n
    assert by_stance == counts
    assert page_data(get(stance_ds, "/stance/-/narrative/1?stack=stance").text)["stack"] == "stance"
    weekly = page_data(get(stance_ds, "/stance/-/narrative/1?bucket=week").text)
    assert {b["start"] for b in weekly["stance_buckets"]} == {"2026-01-05", "2026-02-16"}
    conn.close()


def test_stance_page_agrees_with_the_cli(stance_ds, stance_db, tmp_path):
    """The page's SQL and db/spread.py (`narratives spread`, the report) tell the same story."""
    from db.spread import spread, stance_timeline

    copy = tmp_path / "copy.db"
    shutil.copy(stance_db, copy)
    cli = spread(open_db(copy), "narrative", 1)
    tree = lxml_html.fromstring(get(stance_ds, "/stance/-/narrative/1").text)
    assert cli["stance_counts"] == shown_counts(tree)
    for key, table in (("debunked_by", "debunked-by"), ("reported_by", "reported-by")):
        page = [(tr.xpath("td[1]")[0].text_content(), tr.xpath("td[2]")[0].text_content())
                for tr in tree.xpath(f"//table[@id='{table}']/tbody/tr")]
        assert page == [(r["outlet"], r["first_seen_at"][:16].replace("T", " ")) for r in cli[key]]
    assert cli["first_debunk"]["outlet"] == "beta-times" and cli["first_debunk"]["lag_after_origin_hours"] == 24
    data = page_data(get(stance_ds, "/stance/-/narrative/1").text)
    cli_days = {(r["bucket"], r["stance"]): r["articles"] for r in stance_timeline(open_db(copy), "narrative", 1)}
    page_days = {(b["start"], k): n for b in data["stance_buckets"] for k, n in b["stances"].items()}
    assert page_days == cli_days


def test_stance_filter_without_script(stance_ds, stance_db):
    """The filter's form asks the server when script is off: ?stance=... lists those stances only."""
    r = get(stance_ds, "/stance/-/narrative/1?stance=debunks&stance=reports&bucket=week")
    tree = lxml_html.fromstring(r.text)
    rows = tree.xpath("//table[@id='article-list']/tbody/tr/@data-stance")
    assert sorted(rows) == ["debunks"] * 3 + ["reports"]
    assert shown_counts(tree) == STANCE_COUNTS  # the counts stay whole
    boxes = {i.get("value"): i.get("checked") is not None for i in tree.xpath("//form[@class='nt-stance-filter']//input[@name='stance']")}
    assert boxes == {"carries": False, "not judged": False, "reports": True, "debunks": True}
    assert tree.xpath("//form[@class='nt-stance-filter']/@data-loaded") == ["reports,debunks"]
    assert tree.xpath("//form[@class='nt-stance-filter']//input[@name='bucket']/@value") == ["week"]
    # an unknown stance is ignored, every stance asked for is no filter at all
    for query in ("stance=nonsense", "stance=carries&stance=not+judged&stance=reports&stance=debunks"):
        tree = lxml_html.fromstring(get(stance_ds, f"/stance/-/narrative/1?{query}").text)
        assert len(tree.xpath("//table[@id='article-list']/tbody/tr")) == 10


def test_watch_and_event_pages_with_stances(stance_ds, stance_db):
    conn = sqlite3.connect(stance_db)
    counts = sql_stance_counts(conn, "watch", 1)
    conn.close()
    assert counts == {"carries": 1, "not judged": 3, "debunks": 1}
    tree = lxml_html.fromstring(get(stance_ds, "/stance/-/watch/1").text)
    assert {k: v for k, v in shown_counts(tree).items() if v} == counts
    rows = tree.xpath("//table[@id='article-list']/tbody/tr")
    assert len(rows) == 5 and [tr.get("data-stance") for tr in rows if "nt-coverage" in (tr.get("class") or "")] == ["debunks"]
    # events have no claim, so no stance
    event = get(stance_ds, "/stance/-/event/1")
    assert event.status_code == 200 and "nt-stance" not in event.text and "stance_buckets" not in page_data(event.text)
    # a narrative no judge has read: everything "not judged", said as such
    conn = sqlite3.connect(stance_db)
    tree = lxml_html.fromstring(get(stance_ds, "/stance/-/narrative/2").text)
    assert "No article debunks it." in tree.xpath("//p[@id='first-debunk']")[0].text_content()
    conn.close()


def test_debunked_narratives_saved_query(stance_ds):
    rows = get(stance_ds, "/stance/debunked_narratives.json?_shape=array").json()
    # narrative 2 is only reported, narrative 3 (debunked) was merged away
    assert [r["id"] for r in rows] == [1]
    row = rows[0]
    assert row["page"] == "narrative/1" and row["origin_outlet"] == "alpha-news"
    assert row["origin_at"] == "2026-01-05T08:00:00Z"
    assert (row["first_debunk_outlet"], row["first_debunk_at"], row["first_debunk_article"]) == \
        ("beta-times", "2026-01-06T08:00:00Z", 7)
    assert (row["lag_hours"], row["lag_days"]) == (24.0, 1.0)
    assert (row["debunks"], row["debunking_outlets"], row["reports"], row["members"]) == (3, 2, 1, 6)
    html = get(stance_ds, "/stance/debunked_narratives").text
    assert 'href="/stance/-/narrative/1"' in html and "Debunked narratives and their lag" in html


def test_stances_described_with_a_stance_facet(stance_ds):
    meta = get(stance_ds, "/-/metadata.json").json()["databases"]["stance"]["tables"]
    assert "stance" in meta["stances"]["facets"] and "stance" in meta["subject_stances"]["facets"]
    assert "debunks" in meta["stances"]["columns"]["stance"]
    facets = get(stance_ds, "/stance/stances.json?_size=0").json()["facet_results"]
    assert {f["value"]: f["count"] for f in facets["stance"]["results"]} == \
        {"carries": 6, "debunks": 5, "reports": 2, "unrelated": 1}
    facets = get(stance_ds, "/stance/subject_stances.json?_size=0").json()["facet_results"]
    assert {f["value"]: f["count"] for f in facets["stance"]["results"]} == {"debunks": 4, "reports": 2}


@pytest.fixture(scope="module")
def unmigrated_db(small_db, tmp_path_factory):
    """The small database as it was before the stance judge (migration m023): what a plain
    `datasette DB` serves, read-only, until a `narratives` command migrates it."""
    path = tmp_path_factory.mktemp("unmigrated") / "old.db"
    shutil.copy(small_db, path)
    conn = sqlite3.connect(path)
    conn.executescript("""
        DROP VIEW subject_stances;
        DROP VIEW subject_members;
        DROP TABLE stances;
        CREATE VIEW subject_members AS
          SELECT 'narrative' AS kind, m.narrative_id AS subject_id, m.article_id, m.score
            FROM narrative_memberships m JOIN narratives n ON n.id = m.narrative_id WHERE n.status = 'active'
          UNION ALL
          SELECT 'event', event_id, article_id, score FROM event_memberships
          UNION ALL
          SELECT 'watch', m.watch_id, m.article_id, m.score
            FROM watch_matches m JOIN watched_narratives w ON w.id = m.watch_id WHERE m.score >= w.effective_threshold;
        DELETE FROM _migrations WHERE name = 'm023_stances';""")
    conn.commit()
    conn.close()
    return path


def test_unmigrated_database_pages_without_stance(unmigrated_db):
    ds = build_datasette(unmigrated_db, immutable=True)
    r = get(ds, "/old/-/narrative/1")
    assert r.status_code == 200 and "nt-stance" not in r.text and 'id="first-debunk"' not in r.text
    assert len(lxml_html.fromstring(r.text).xpath("//table[@id='article-list']/tbody/tr")) == 6
    assert "stance_buckets" not in page_data(r.text)
    assert get(ds, "/old/-/event/1").status_code == 200
    queries = {q["name"] for q in get(ds, "/old.json").json()["queries"]}
    assert "debunked_narratives" not in queries and "narrative_timeline" in queries


def serve_in_subprocess(path: Path):
    port = free_port()
    code = ("import sys; from narratives.web.server import serve; "
            "sys.exit(serve(sys.argv[1], '127.0.0.1', int(sys.argv[2]), migrate=False))")
    proc = subprocess.Popen([sys.executable, "-c", code, str(path), str(port)], cwd=REPO, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=dict(os.environ, PYTHONUNBUFFERED="1"))
    base = f"http://127.0.0.1:{port}"
    wait_for(f"{base}/-/versions.json", proc)
    return proc, base


@pytest.fixture
def stance_server(stance_db):
    proc, base = serve_in_subprocess(stance_db)
    try:
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_stance_marks_in_headless_chromium(chromium_binary, stance_db, stance_server, tmp_path):
    """As the browser shows it: one stance mark per article, the counts SQL gives."""
    url = f"{stance_server}/stance/-/narrative/1"
    r = chromium(chromium_binary, tmp_path / "profile", "--window-size=1280,1000", "--dump-dom", url)
    assert r.returncode == 0, r.stderr[-2000:]
    tree = lxml_html.fromstring(r.stdout)
    assert tree.xpath("//body/@data-charts") == ["ready"], "the chart script did not run"
    conn = sqlite3.connect(stance_db)
    counts = sql_stance_counts(conn, "narrative", 1)
    conn.close()
    rows = tree.xpath("//table[@id='article-list']/tbody/tr")
    assert len(rows) == sum(counts.values())
    assert [len(tr.xpath(".//span[contains(concat(' ', @class, ' '), ' nt-stance ')]")) for tr in rows] == [1] * len(rows)
    assert shown_counts(tree) == counts
    # the stance legend drawn in the chart when it starts stacked by stance: colour and word for each stance
    r = chromium(chromium_binary, tmp_path / "profile", "--dump-dom", url + "?stack=stance")
    tree = lxml_html.fromstring(r.stdout)
    svg = tree.xpath("//*[local-name()='svg'][contains(@class, 'timeline')]")[0]
    assert svg.get("data-stack") == "stance"
    keys = tree.xpath("//*[local-name()='g'][contains(@class, 'stance-key')]")
    assert [k.get("data-stance") for k in keys] == list(STANCE_COUNTS)
    assert [k.xpath("string(*[local-name()='text'])") for k in keys] == list(STANCE_COUNTS)
    rects = tree.xpath("//*[local-name()='g'][contains(concat(' ', @class, ' '), ' mark ')]/*[local-name()='rect']")
    assert {r.get("data-key") for r in rects} == set(STANCE_COUNTS)


def test_stance_filter_and_stack_control_in_headless_chromium(chromium_binary, stance_db, stance_server, tmp_path):
    """Ticking the controls: the filter hides and shows rows in place, the timeline restacks."""
    from tests.cdp import Browser

    visible = "Array.from(document.querySelectorAll('tr[data-stance]')).filter(t => !t.hidden).map(t => t.dataset.stance)"
    with Browser(chromium_binary, tmp_path / "cdp-profile", CHROMIUM_FLAGS) as b:
        b.open(f"{stance_server}/stance/-/narrative/1")
        assert sorted(b.evaluate(visible)) == sorted(s for s, n in STANCE_COUNTS.items() for _ in range(n))
        assert b.evaluate("document.querySelector('form.nt-stance-filter .nt-apply').hidden") is True
        for stance in ("debunks", "not judged"):
            b.evaluate(f"document.querySelector('input[name=stance][value=\"{stance}\"]').click()")
        assert sorted(b.evaluate(visible)) == ["carries"] * 4 + ["reports"]
        assert b.evaluate("document.getElementById('nt-shown').textContent").startswith("Showing 5 of the 10")
        b.evaluate("document.querySelector('input[name=stance][value=debunks]').click()")
        assert b.evaluate(visible).count("debunks") == 3
        # stack by stance, then back by outlet: the same buckets, other keys
        marks = "document.querySelectorAll('svg.timeline g.mark').length"
        by_outlet = b.evaluate(marks)
        b.evaluate("document.querySelector('input[name=stack][value=stance]').click()")
        assert b.evaluate("document.querySelector('svg.timeline').dataset.stack") == "stance"
        keys = b.evaluate("Array.from(new Set(Array.from(document.querySelectorAll('svg.timeline g.mark rect'))"
                          ".map(r => r.getAttribute('data-key'))))")
        assert set(keys) == set(STANCE_COUNTS)
        assert b.evaluate(marks) > by_outlet  # coverage on days with no member
        b.evaluate("document.querySelector('input[name=stack][value=outlet]').click()")
        assert b.evaluate(marks) == by_outlet
        # a page filtered by the server: ticking a stance it left out asks the server again
        b.open(f"{stance_server}/stance/-/narrative/1?stance=debunks")
        assert b.evaluate(visible) == ["debunks"] * 3
        b.evaluate("document.querySelector('input[name=stance][value=reports]').click()")
        b.wait_for("document.querySelectorAll('tr[data-stance]').length === 4 && "
                   "document.body.getAttribute('data-charts') === 'ready'")
        assert "stance=reports" in b.evaluate("location.search")


def test_unmigrated_database_watch_page(unmigrated_db):
    ds = build_datasette(unmigrated_db, immutable=True)
    assert get(ds, "/old/-/watch/1").status_code == 200


def test_index_lists_reports_and_debunks(stance_ds, small_ds):
    tree = lxml_html.fromstring(get(stance_ds, "/stance/-/narratives").text)
    header = [th.text_content() for th in tree.xpath("//table[1]/thead/tr/th")]
    row = {header[i]: td.text_content().strip() for i, td in enumerate(tree.xpath("//table[1]/tbody/tr[1]/td"))}
    assert row["id"] == "1" and (row["reports"], row["debunks"]) == ("1", "3")
    assert 'href="/stance/debunked_narratives"' in get(stance_ds, "/stance/-/narratives").text
