"""`narratives run`: the run lock, crawl_runs stats, incremental re-runs and the revision window."""
import json
import os
import subprocess
import sys
import time

import pytest

from tests.conftest import ALLOW_LOOPBACK, REPO, run_cli, db_rows as rows, import_outlets
from tests.fixture_sites import GrowingWeb

FAST = ["-s", "AUTOTHROTTLE_START_DELAY=0.05", "-s", "NARRATIVES_EXTRACT_WORKERS=1", "-s", "DOWNLOAD_TIMEOUT=5",
        *ALLOW_LOOPBACK]


def outlet_runs(db, run_id):
    out = {}
    for r in rows(db, "SELECT * FROM crawl_run_outlets WHERE run_id = ?", run_id):
        r["requests_by_kind"] = json.loads(r["requests_by_kind"])
        r["errors_by_kind"] = json.loads(r["errors_by_kind"])
        out[r["outlet"]] = r
    return out


@pytest.fixture
def growing(tmp_path):
    web = GrowingWeb({"steady": "127.0.0.41", "quiet": "127.0.0.42"})
    web.publish("steady", 4)
    web.publish("quiet", 3)
    db = tmp_path / "n.db"
    import_outlets(db, web.outlets_toml(), tmp_path)
    yield web, db
    web.stop()


def test_second_run_on_unchanged_web_fetches_only_feeds_sitemaps_and_home(growing):
    web, db = growing
    first = run_cli("run", db, "--no-process", *FAST)
    assert first.returncode == 0, first.stderr
    assert "crawl run 1 finished" in first.stdout and "7 new articles" in first.stdout
    web.web.clear_log()
    second = run_cli("run", db, "--no-process", *FAST)
    assert second.returncode == 0, second.stderr
    runs = rows(db, "SELECT * FROM crawl_runs ORDER BY id")
    assert [(r["status"], r["articles_new"]) for r in runs] == [("finished", 7), ("finished", 0)]
    first_stats, second_stats = outlet_runs(db, 1), outlet_runs(db, 2)
    assert first_stats["steady"]["requests_by_kind"]["article"] == 4
    assert first_stats["quiet"]["articles_new"] == 3
    for name in ("steady", "quiet"):
        st = second_stats[name]
        # robots.txt, the feed, the sitemap and the home page; no article
        assert st["requests_by_kind"] == {"feed": 1, "robots": 1, "section": 1, "sitemap": 1}, st
        assert st["requests"] == 4 and st["articles_new"] == st["articles_updated"] == 0
        assert st["not_modified"] == 3 and st["pages"] == 3  # every page answered 304
        assert st["errors"] == 0 and st["errors_by_kind"] == {}
        assert st["robots_sha1"] and st["robots_sha1"] == first_stats[name]["robots_sha1"]
    # what the fixture servers saw agrees
    assert not [e for e in web.request_log if e.path.startswith("/news/")]
    sources = rows(db, "SELECT url, status, entries, new_entries FROM crawl_run_sources WHERE run_id = 2 ORDER BY url")
    assert {(s["status"], s["new_entries"]) for s in sources} == {(304, 0)}
    assert sorted(s["entries"] for s in sources) == [3, 3, 4, 4]  # re-read from the stored copies
    table = run_cli("runs", db, "--json")
    assert [r["id"] for r in json.loads(table.stdout)] == [2, 1]


def test_new_articles_only_and_revisions_kept_not_duplicated(growing):
    web, db = growing
    assert run_cli("run", db, "--no-process", *FAST).returncode == 0
    web.publish("steady", 2)
    web.revise("steady", 1, "An update: the cranes arrived a week late.")
    web.web.clear_log()
    r = run_cli("run", db, "--no-process", "--revisit-hours", "24", *FAST)
    assert r.returncode == 0, r.stderr
    fetched = sorted(e.path for e in web.request_log if e.site == "steady" and e.path.startswith("/news/"))
    # the two new articles, and each stored one of the window once (all are dated now)
    assert fetched == sorted(f"/news/{k}.html" for k in range(1, 7))
    st = outlet_runs(db, 2)["steady"]
    assert (st["articles_new"], st["articles_updated"], st["revisits"]) == (2, 1, 4)
    assert rows(db, "SELECT count(*) AS n, count(DISTINCT url) AS d FROM articles")[0] == {"n": 9, "d": 9}
    (article,) = rows(db, "SELECT id, text FROM articles WHERE url LIKE '%127.0.0.41%/news/1.html'")
    assert "a week late" in article["text"]
    (rev,) = rows(db, "SELECT * FROM article_revisions")
    assert rev["article_id"] == article["id"] and "a week late" not in rev["text"]
    # once: the next run inside the window fetches no stored article again
    web.web.clear_log()
    assert run_cli("run", db, "--no-process", "--revisit-hours", "24", *FAST).returncode == 0
    assert not [e for e in web.request_log if e.site == "steady" and e.path.startswith("/news/1")]


def test_overlapping_runs_only_one_writes(tmp_path):
    web = GrowingWeb({"slowpoke": "127.0.0.43"}, delay=1.5)
    try:
        web.publish("slowpoke", 4)
        db = tmp_path / "n.db"
        import_outlets(db, web.outlets_toml(), tmp_path)
        # crawl only: crawl + process in one run is exercised by the crontab/systemd recipe test
        first = subprocess.Popen([sys.executable, "-m", "narratives.cli", "run", str(db), "--no-process", *FAST,
                                  "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1"],
                                 cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        lock = tmp_path / "n.db.lock"
        deadline = time.time() + 30
        while not (lock.exists() and lock.read_text()) and time.time() < deadline:
            time.sleep(0.05)
        assert json.loads(lock.read_text())["pid"] == first.pid
        # a second run, and a manual crawl, while the first holds the lock (it crawls for 6 s or more)
        second, crawl = (subprocess.Popen([sys.executable, "-m", "narratives.cli", cmd, str(db), *FAST], cwd=REPO,
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                         for cmd in ("run", "crawl"))
        out2, err2 = second.communicate(timeout=120)
        assert second.returncode == 0, err2
        assert "skipped: another run holds the lock" in out2 and f"pid {first.pid}" in out2
        _, err3 = crawl.communicate(timeout=120)
        assert crawl.returncode == 1 and "another run holds the lock" in err3  # a manual crawl: a failure
        out, err = first.communicate(timeout=300)
        assert first.returncode == 0, err
        assert "crawl run 1 finished" in out
        runs = rows(db, "SELECT id, status, articles_new FROM crawl_runs")
        assert runs == [{"id": 1, "status": "finished", "articles_new": 4}]
        assert lock.read_text() == ""  # released
    finally:
        web.stop()


def test_bad_arguments_exit_2_and_write_nothing(growing):
    web, db = growing
    r = run_cli("run", db, "--outlet", "nope", "--no-process")
    assert r.returncode == 2 and "unknown outlet(s): nope" in r.stderr
    r = run_cli("run", db, "-s", "NOEQUALS", "--no-process")
    assert r.returncode == 2
    assert rows(db, "SELECT count(*) AS n FROM crawl_runs")[0]["n"] == 0
    r = run_cli("run", str(db) + ".missing", "--no-process")
    assert r.returncode == 2 and "does not exist" in r.stderr


def test_run_lock_is_exclusive_and_names_its_holder(tmp_path):
    from crawler.exceptions import RunLockedError
    from crawler.runlock import RunLock

    db = tmp_path / "x.db"
    with RunLock(db, "run"):
        with pytest.raises(RunLockedError, match=r"`narratives run` \(pid \d+"):
            RunLock(db, "crawl").acquire()
    with RunLock(db, "crawl"):  # released on exit
        pass


def test_error_kinds_of_the_crawlers_failure_reasons():
    from crawler.runstats import error_kind

    assert {r: error_kind(r) for r in (
        "http 404", "http 503 (Retry-After: 86400)", "timeout", "forbidden by robots.txt",
        "connection closed by the server without a response", "connection lost mid-response (data loss)",
        "too large: the body exceeds DOWNLOAD_MAXSIZE when decompressed",
        "redirect loop: http://a/x redirects back to http://a/y", "redirect out of scope to http://10.0.0.1/",
        "max redirections reached", "malformed sitemap: x", "binary content under an HTML content type",
    )} == {
        "http 404": "http_4xx", "http 503 (Retry-After: 86400)": "http_5xx", "timeout": "timeout",
        "forbidden by robots.txt": "robots", "connection closed by the server without a response": "connection",
        "connection lost mid-response (data loss)": "connection",
        "too large: the body exceeds DOWNLOAD_MAXSIZE when decompressed": "too_large",
        "redirect loop: http://a/x redirects back to http://a/y": "redirect",
        "redirect out of scope to http://10.0.0.1/": "redirect", "max redirections reached": "redirect",
        "malformed sitemap: x": "malformed_sitemap", "binary content under an HTML content type": "not_html",
    }


def test_follower_runs_under_the_crawls_lock(tmp_path, monkeypatch):
    """`crawl --process` holds the run lock for its `process --follow`; nobody else skips it."""
    from narratives.commands import process as cli_module
    from crawler.exceptions import RunLockedError
    from crawler.runlock import RunLock

    db = tmp_path / "n.db"
    with RunLock(db, "crawl"):
        monkeypatch.setenv(cli_module.LOCK_HELD_ENV, str(os.getppid()))
        with cli_module.process_lock(db, True):  # the follower of a crawl: no lock of its own
            pass
        with pytest.raises(RunLockedError):  # not a follower
            cli_module.process_lock(db, False).acquire()
        monkeypatch.setenv(cli_module.LOCK_HELD_ENV, "999999999")
        with pytest.raises(RunLockedError):  # vouched for by a process that is not an ancestor
            cli_module.process_lock(db, True).acquire()
