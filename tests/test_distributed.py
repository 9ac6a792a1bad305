"""Scale-out through scrapy-redis: two worker processes crawl one fixture web through a real
redis-server on loopback; the coordinator alone writes SQLite; every article is stored once."""
import json
import os
import shutil
import socket
import subprocess
import sys
import time

import pytest

from tests.conftest import ALLOW_LOOPBACK, REPO, run_cli, db_query as query, import_outlets
from tests.fixture_sites import GrowingWeb


BASE = ["-s", "AUTOTHROTTLE_START_DELAY=0.02", "-s", "NARRATIVES_EXTRACT_WORKERS=1",
        "-s", "NARRATIVES_PROGRESS_INTERVAL=0"]
SETTINGS = [*BASE, *ALLOW_LOOPBACK]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    if shutil.which("redis-server") is None:
        pytest.skip("needs redis-server (Debian package redis-server; .ci/run installs it)")
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "",
                             "--appendonly", "no", "--dir", str(workdir)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as c:
                c.sendall(b"PING\r\n")
                if c.recv(16).startswith(b"+PONG"):
                    break
        except OSError:
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(timeout=10)


def popen(*args, env=None):
    return subprocess.Popen([sys.executable, "-m", "narratives.cli", *map(str, args)], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=None if env is None else dict(os.environ, **env))


def worker(redis_url, name, settings=SETTINGS, env=None):
    ua = f"narrative-tracker/0.1 (worker {name}; contact: tests@example.org)"
    return popen("worker", "--redis", redis_url, "--once", "--wait", 60, "--max-idle", 60, *settings,
                 "-s", "CONCURRENT_REQUESTS=4", "-s", f"USER_AGENT={ua}", env=env)


def test_two_workers_crawl_one_web_every_article_stored_once(tmp_path, redis_url):
    other = "http://127.0.0.99:1/elsewhere.html"

    def both_workers_arrived(timeout=30):
        # articles are served once both workers asked for robots.txt: neither can take the whole crawl
        # just because it started first (each worker takes at most CONCURRENT_REQUESTS at a time)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if len({e.headers.get("user-agent") for e in web.request_log if e.path == "/robots.txt"}) >= 2:
                return
            time.sleep(0.05)

    web = GrowingWeb({"east": "127.0.0.51", "west": "127.0.0.52", "north": "127.0.0.53"}, delay=0.05,
                     home_extra=f'<a href="/private/secret.html">s</a><a href="{other}">x</a>',
                     gate=both_workers_arrived)
    try:
        for name in ("east", "west", "north"):
            web.publish(name, 8)
        db = tmp_path / "n.db"
        import_outlets(db, web.outlets_toml(), tmp_path)

        coordinator = popen("run", db, "--redis", redis_url, "--no-process", "--wait-workers", 60, *SETTINGS)
        workers = [worker(redis_url, "A"), worker(redis_url, "B")]
        out, err = coordinator.communicate(timeout=120)
        assert coordinator.returncode == 0, err
        results = [w.communicate(timeout=60) for w in workers]
        assert [w.returncode for w in workers] == [0, 0], [r[1][-2000:] for r in results]
        assert "crawl run 1 finished" in out and "24 new articles" in out

        # every article once, from the coordinator's single writer
        assert query(db, "SELECT count(*), count(DISTINCT url) FROM articles") == [(24, 24)]
        assert {u for (u,) in query(db, "SELECT url FROM articles")} == web.article_urls()
        assert query(db, "PRAGMA integrity_check") == [("ok",)]
        # the shared duplicate filter: no page fetched twice, though both workers started the same feeds
        log = web.request_log
        paths = [(e.site, e.path) for e in log if e.path != "/robots.txt"]
        assert len(paths) == len(set(paths)), sorted(p for p in paths if paths.count(p) > 1)
        article_uas = {e.headers["user-agent"] for e in log if e.path.startswith("/news/")}
        assert len(article_uas) == 2, ("both workers fetched articles", [r[0] + r[1][-3000:] for r in results])
        # polite on the workers too: robots.txt obeyed, scope kept, contact in the User-Agent
        assert not [e for e in log if e.path.startswith("/private/")]
        assert all("contact: tests@example.org" in e.headers["user-agent"] for e in log)
        (run,) = query(db, "SELECT mode, status, articles_new, requests, errors FROM crawl_runs")
        assert run[:3] == ("distributed", "finished", 24) and run[3] >= 24 + 3 * 4
        # the robots.txt-forbidden link of each outlet (an article's "World" link may 404 too: when a
        # worker reads the home page before the feed, its articles are followed one level, as locally)
        assert run[4] >= 3
        per = {r[0]: r[1:] for r in query(db, "SELECT outlet, robots_forbidden, robots_sha1, requests_by_kind "
                                              "FROM crawl_run_outlets")}
        assert set(per) == {"east", "west", "north"}
        assert all(f == 1 and sha and json.loads(k)["article"] >= 8 for f, sha, k in per.values()), per

        # the next run on the unchanged web, one worker: only feeds, sitemaps and home pages
        web.web.clear_log()
        coordinator = popen("run", db, "--redis", redis_url, "--no-process", "--wait-workers", 60, *SETTINGS)
        one = worker(redis_url, "A")
        out, err = coordinator.communicate(timeout=120)
        assert coordinator.returncode == 0, err
        assert one.wait(timeout=60) == 0
        assert not [e for e in web.request_log if e.path.startswith("/news/")]
        (run,) = query(db, "SELECT status, articles_new FROM crawl_runs WHERE id = 2")
        assert run == ("finished", 0)
        assert {k for (k,) in query(db, "SELECT requests_by_kind FROM crawl_run_outlets WHERE run_id = 2")} == {
            json.dumps({"feed": 1, "robots": 1, "section": 1, "sitemap": 1})}
    finally:
        web.stop()


def test_bad_redis_url_is_a_usage_error(tmp_path):
    db = tmp_path / "n.db"
    (tmp_path / "o.toml").write_text('[[outlet]]\nname = "x"\nhome = "http://127.0.0.54:9/"\n')
    assert run_cli("outlets", "import", db, tmp_path / "o.toml").returncode == 0
    r = run_cli("run", db, "--redis", f"redis://127.0.0.1:{free_port()}/0", "--no-process")
    assert r.returncode == 2 and "cannot reach Redis" in r.stderr
    assert query(db, "SELECT count(*) FROM crawl_runs") == [(0,)]


def test_items_travel_through_redis_unchanged():
    from crawler.distributed import deserialize_item, serialize_item

    item = {"type": "article", "url": "http://127.0.0.9/a.html", "body": b"<html>\xff\x00</html>",
            "hints": {"feed_date": "2026-03-01"}, "extraction": {"article": {"text": "t", "title": None}}, "status": 200}
    assert deserialize_item(serialize_item(item)) == item


def test_database_full_stops_the_distributed_ingest(tmp_path, redis_url):
    from tests.hostile_web import build_filler_web, filler_toml

    web = build_filler_web(40, host="127.0.0.82")
    try:
        db = tmp_path / "n.db"
        import_outlets(db, filler_toml(web), tmp_path)
        limit = db.stat().st_size + 400 * 1024
        coordinator = popen("run", db, "--redis", redis_url, "--no-process", "--wait-workers", 60, *SETTINGS,
                            "-s", f"NARRATIVES_DB_MAX_SIZE={limit}")
        one = worker(redis_url, "A")
        out, err = coordinator.communicate(timeout=120)
        assert coordinator.returncode == 1, err
        assert "crawl stopped: database" in err and "is full" in err and "Traceback" not in err
        one.communicate(timeout=60)  # the closed crawl sends the worker away
        assert query(db, "PRAGMA integrity_check") == [("ok",)]
        (kept,) = query(db, "SELECT count(*) FROM articles")[0]
        assert 1 <= kept < 40
        assert query(db, "SELECT mode, status, reason FROM crawl_runs") == [("distributed", "failed", "database_full")]

        coordinator = popen("run", db, "--redis", redis_url, "--no-process", "--wait-workers", 60, *SETTINGS)
        one = worker(redis_url, "A")
        out, err = coordinator.communicate(timeout=120)
        assert coordinator.returncode == 0, err
        assert one.wait(timeout=60) == 0
        assert query(db, "SELECT count(*), count(DISTINCT url) FROM articles") == [(40, 40)]
    finally:
        web.stop()


def test_workers_apply_the_address_guard(tmp_path, redis_url):
    """A worker refuses by address as a local crawl does. No global allowance here: the outlet whose
    own allow_addresses (published with the crawl) opens its address is crawled; the other one's
    refusals reach the coordinator's database with their reason, and its server sees nothing."""
    web = GrowingWeb({"open": "127.0.0.56", "shut": "127.0.0.57"})
    try:
        web.publish("open", 3)
        web.publish("shut", 3)
        db = tmp_path / "n.db"
        toml = web.outlets_toml().replace('name = "open"\n', 'name = "open"\nallow_addresses = ["127.0.0.56/32"]\n')
        import_outlets(db, toml, tmp_path)
        none = {"NARRATIVES_ALLOW_ADDRESSES": ""}
        coordinator = popen("run", db, "--redis", redis_url, "--no-process", "--wait-workers", 60, *BASE, env=none)
        one = worker(redis_url, "A", settings=BASE, env=none)
        out, err = coordinator.communicate(timeout=120)
        assert coordinator.returncode == 0, err
        assert one.wait(timeout=60) == 0
        assert {u for (u,) in query(db, "SELECT url FROM articles")} == web.article_urls("open")
        assert not [e for e in web.request_log if e.site == "shut"]
        reason = "address refused: 127.0.0.57 (loopback, 127.0.0.0/8)"
        refused = query(db, "SELECT kind, error FROM pages WHERE outlet = 'shut' ORDER BY kind")
        assert refused == [("feed", reason), ("section", reason), ("sitemap", reason)]
        assert query(db, "SELECT outlet, addresses_refused, errors_by_kind FROM crawl_run_outlets ORDER BY outlet") == [
            ("open", 0, "{}"), ("shut", 3, json.dumps({"address_refused": 3}))]
        assert query(db, "SELECT requests FROM crawl_run_outlets WHERE outlet = 'shut'") == [(0,)]  # nothing sent
    finally:
        web.stop()
