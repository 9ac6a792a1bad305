"""`narratives health`: a feed that goes silent is flagged against its own history, a healthy outlet
is not; error spikes, broken feeds and robots.txt changes from recorded crawl runs."""
import json

import pytest

from db import open_db
from db.crawl_runs import finish_crawl_run, record_source, start_crawl_run
from crawler.health import check_health
from tests.conftest import ALLOW_LOOPBACK, run_cli, import_outlets
from tests.fixture_sites import GrowingWeb

FAST = ["--no-process", "-s", "AUTOTHROTTLE_START_DELAY=0.02", "-s", "NARRATIVES_EXTRACT_WORKERS=1",
        "-s", "NARRATIVES_PROGRESS_INTERVAL=0", *ALLOW_LOOPBACK]


def test_silent_feed_flagged_healthy_outlet_not(tmp_path):
    web = GrowingWeb({"steady": "127.0.0.46", "quiet": "127.0.0.47"})
    try:
        db = tmp_path / "n.db"
        import_outlets(db, web.outlets_toml(), tmp_path)
        r = run_cli("health", db)
        assert r.returncode == 0 and "no crawl runs yet" in r.stdout

        def run(quiet_publishes: bool):
            web.publish("steady", 2)
            if quiet_publishes:
                web.publish("quiet", 2)
            r = run_cli("run", db, *FAST)
            assert r.returncode == 0, r.stderr

        for _ in range(4):  # a backfill run, then three runs of history: 2 new articles each
            run(quiet_publishes=True)
        run(quiet_publishes=False)
        run(quiet_publishes=False)
        early = run_cli("health", db, "--json")
        assert early.returncode == 0, early.stdout  # 2 silent runs x 2 per run: not yet unusual
        assert json.loads(early.stdout) == []
        run(quiet_publishes=False)
        late = run_cli("health", db, "--json")
        assert late.returncode == 1
        findings = json.loads(late.stdout)
        assert {(f["outlet"], f["check"], f["severity"]) for f in findings} == {("quiet", "silent", "attention")}
        assert sorted(f["source"].rsplit("/", 1)[1] for f in findings) == ["rss.xml", "sitemap.xml"]
        assert findings[0]["details"]["runs_silent"] == 3 and findings[0]["details"]["rate_per_run"] == 2.0
        table = run_cli("health", db)
        assert table.returncode == 1 and "feed silent: no new entry in the last 3 runs" in table.stdout
        assert "needs attention: 1 of 2 outlets" in table.stdout
        steady = run_cli("health", db, "--outlet", "steady")
        assert steady.returncode == 0 and "all 1 outlets healthy" in steady.stdout
        assert run_cli("health", db, "--outlet", "nope").returncode == 2
    finally:
        web.stop()


def record(db, outlet, *, new=2, requests=10, errors=0, errors_by_kind=None, robots="r1", forbidden=0,
           feed_error=None, status="finished"):
    run_id = start_crawl_run(db, outlets=[outlet])
    with db.conn:
        record_source(db, run_id, {"outlet": outlet, "url": f"http://{outlet}/rss.xml", "kind": "feed",
                                   "status": 500 if feed_error else 200, "error": feed_error,
                                   "entries": 20, "new_entries": 0 if feed_error else new})
    finish_crawl_run(db, run_id, {outlet: {"requests": requests, "articles_new": new, "errors": errors,
                                           "errors_by_kind": errors_by_kind or {}, "robots_sha1": robots,
                                           "robots_forbidden": forbidden, "pages": requests}}, status=status)


@pytest.fixture
def db(tmp_path):
    handle = open_db(tmp_path / "h.db")
    yield handle
    handle.close()


def checks(db):
    findings, _ = check_health(db)
    return {(f.outlet, f.check, f.severity) for f in findings}


def test_broken_feed_and_error_spike(db):
    for _ in range(8):
        record(db, "a")
    assert checks(db) == set()
    record(db, "a", new=0, errors=6, errors_by_kind={"http_5xx": 6}, feed_error="http 500")
    assert checks(db) == {("a", "broken", "notice")}  # one failed fetch: a notice, exit 0
    record(db, "a", new=0, errors=7, errors_by_kind={"http_5xx": 7}, feed_error="http 500")
    assert checks(db) == {("a", "broken", "attention"), ("a", "error_spike", "attention")}


def test_output_drop_and_robots_change(db):
    for _ in range(10):
        record(db, "b", new=4)
    for _ in range(6):
        record(db, "b", new=1)  # 6 runs with 6 new where about 24 were expected
    assert ("b", "output_drop", "attention") in checks(db)
    record(db, "c", robots="r1")
    record(db, "c", robots="r2")
    assert checks(db) >= {("c", "robots_changed", "notice")}
    record(db, "c", robots="r3", forbidden=4)
    assert ("c", "robots_changed", "attention") in checks(db)


def test_failing_runs_need_attention(db):
    record(db, "d")
    record(db, "d", status="interrupted")
    record(db, "d", status="failed")
    assert (None, "runs_failing", "attention") in checks(db)
