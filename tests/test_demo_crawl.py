"""The whole crawl of the bundled demo web, checked against its ground truth (demo/ground_truth.json)."""
import sqlite3
from collections import defaultdict
from urllib.parse import urlsplit

import pytest

from demo.server import start_demo_web
from tests.conftest import ALLOW_LOOPBACK, run_cli

FAST = ["-s", "AUTOTHROTTLE_START_DELAY=0.05", *ALLOW_LOOPBACK]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("demo")
    db = tmp / "demo.db"
    with start_demo_web() as web:
        web.write_outlets_toml(tmp / "outlets.toml")
        assert run_cli("outlets", "import", db, tmp / "outlets.toml").returncode == 0
        first = run_cli("crawl", db, *FAST)
        first_log = web.request_log
        web.clear_log()
        second = run_cli("crawl", db, *FAST)
        second_log = web.request_log
        gt = web.ground_truth
        bases = {o["name"]: web.base_url(o["name"]) for o in gt["outlets"]}
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    yield {"db": conn, "gt": gt, "first": first, "second": second, "first_log": first_log,
           "second_log": second_log, "bases": bases}
    conn.close()


def article_ids(demo):
    """stored article id -> ground-truth id, matched by outlet and path."""
    by_path = {(a["outlet"], a["path"].rstrip("/")): a["id"] for a in demo["gt"]["articles"]}
    out = {}
    for row in demo["db"].execute("SELECT id, outlet, url FROM articles"):
        out[row["id"]] = by_path.get((row["outlet"], urlsplit(row["url"]).path.rstrip("/")))
    return out


def test_every_demo_article_stored_once(demo):
    assert demo["first"].returncode == 0, demo["first"].stderr
    ids = article_ids(demo)
    assert None not in ids.values(), "an article row matches no ground-truth article"
    assert sorted(ids.values()) == sorted(a["id"] for a in demo["gt"]["articles"])


def test_publication_times_match_ground_truth_to_the_minute(demo):
    gt = {a["id"]: a for a in demo["gt"]["articles"]}
    ids = article_ids(demo)
    wrong = []
    for row in demo["db"].execute("SELECT id, published_at, date_source FROM articles"):
        expected = gt[ids[row["id"]]]["published_at"]  # 'YYYY-MM-DDTHH:MMZ'
        if (row["published_at"] or "")[:16] != expected[:16]:
            wrong.append((ids[row["id"]], row["published_at"], row["date_source"], expected))
    assert wrong == []


def test_traps_robots_scope_and_404(demo):
    requested = defaultdict(set)
    for entry in demo["first_log"]:
        requested[entry.site].add(entry.path.split("?")[0].rstrip("/"))
    for trap in demo["gt"]["robots_disallowed"]:
        assert trap["path"].rstrip("/") not in requested[trap["outlet"]]
    for row in demo["gt"]["planted_404"]:
        url = demo["bases"][row["outlet"]].rstrip("/") + row["path"]
        (page,) = demo["db"].execute("SELECT status, error FROM pages WHERE url = ?", [url]).fetchall()
        assert (page["status"], page["error"]) == (404, "http 404")
    # nothing outside the six outlets was fetched, and every site saw robots.txt first
    assert {e.site for e in demo["first_log"]} == set(demo["bases"])
    for site in demo["bases"]:
        first = next(e for e in demo["first_log"] if e.site == site)
        assert first.path == "/robots.txt"


def test_citations_of_ground_truth_found(demo):
    ids = {v: k for k, v in article_ids(demo).items()}  # gt id -> stored id
    outlet_of = {a["id"]: a["outlet"] for a in demo["gt"]["articles"]}
    missing = []
    for edge in demo["gt"]["edges"]:
        if edge["kind"] != "citation":
            continue
        for cited, citing in edge["article_pairs"]:
            found = demo["db"].execute(
                "SELECT count(*) FROM citations WHERE article_id = ? AND target_outlet = ?",
                [ids[citing], outlet_of[cited]]).fetchone()[0]
            if not found:
                missing.append((cited, citing))
    assert missing == []


def test_recrawl_fetches_no_article_again(demo):
    assert demo["second"].returncode == 0, demo["second"].stderr
    article_paths = defaultdict(set)
    for a in demo["gt"]["articles"]:
        article_paths[a["outlet"]].add(a["path"].rstrip("/"))
    refetched = [(e.site, e.path) for e in demo["second_log"] if e.path.split("?")[0].rstrip("/") in article_paths[e.site]]
    assert refetched == []
    assert demo["db"].execute("SELECT count(*) FROM articles").fetchone()[0] == len(demo["gt"]["articles"])
