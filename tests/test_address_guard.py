"""The address guard in whole crawls (issue #32): real Scrapy crawls in a subprocess, through the
real guard (crawler/addresses.py), of fixture sites on 127.0.0.0/8.

Host names are answered by a resolver the test controls (tests/scripted_dns.py, via
NARRATIVES_DNS_RESOLVER): every answer lies in 127.0.0.0/8 and a name outside the script is not
resolved, so no test sends anything, or tries to connect, outside loopback. Each test allows
less than all of loopback (or nothing), so loopback addresses stand for the private, link-local
and metadata addresses a real outlet list could lead to; the servers' own logs show what
reached them.
"""
import json
import socket

import pytest

from crawler import settings as crawl_settings
from demo.webserver import FixtureWeb, Response
from tests.conftest import db_rows as rows, import_outlets, run_cli
from tests.fixture_sites import PARAS, article_html

FAST = ["-s", "AUTOTHROTTLE_START_DELAY=0.02", "-s", "NARRATIVES_EXTRACT_WORKERS=1", "-s", "DOWNLOAD_TIMEOUT=5",
        "-s", "NARRATIVES_PROGRESS_INTERVAL=0"]
NO_ALLOWANCE = {"NARRATIVES_ALLOW_ADDRESSES": ""}  # whatever the caller's environment says
CLOSE = {"Connection": "close"}  # every request needs a new connection, so a new look-up


def scripted(script: dict, log=None) -> list[str]:
    """Settings that make the guard ask tests/scripted_dns.py instead of the system's DNS."""
    out = ["-s", "NARRATIVES_DNS_RESOLVER=tests.scripted_dns.ScriptedResolver",
           "-s", f"NARRATIVES_TEST_DNS={json.dumps(script)}"]
    return out + (["-s", f"NARRATIVES_TEST_DNS_LOG={log}"] if log else [])


def lookups(log) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def news_site(web: FixtureWeb, site: str, base: str, title: str, headers=None) -> None:
    """robots.txt, a feed listing one article, a home page, the article; base: the URL the outlet uses."""
    h = dict(headers or {})
    web.routes(site).update({
        "/robots.txt": Response(body=b"User-agent: *\nAllow: /\n", content_type="text/plain", headers=h),
        "/rss.xml": Response(body=(f'<?xml version="1.0"?><rss version="2.0"><channel><title>{site}</title><item>'
                                   f"<title>{title}</title><link>{base}news/1.html</link></item></channel></rss>").encode(),
                             content_type="application/rss+xml", headers=h),
        "/": Response(body=b"<html><body><p>Front page.</p></body></html>", headers=h),
        "/news/1.html": Response(body=article_html(title, PARAS, date="2026-03-03T10:00:00Z").encode(), headers=h),
    })


def errors(db, outlet) -> dict[str, str]:
    return {r["url"].rsplit(":", 1)[1]: r["error"] for r in rows(db, "SELECT url, error FROM pages WHERE outlet = ? "
                                                                      "AND error IS NOT NULL", outlet)}


# -- a name that resolves to a refused address ---------------------------------------------------


@pytest.fixture(scope="module")
def loop_web():
    web = FixtureWeb()
    web.add_site("loop", host="127.0.0.2")
    web.add_site("intranet", host="127.0.0.3")
    web.start()
    ports = {name: web.address(name)[1] for name in ("loop", "intranet")}
    base = {"loop": f"http://loop.test:{ports['loop']}/", "intranet": f"http://wiki.intranet.test:{ports['intranet']}/"}
    news_site(web, "loop", base["loop"], "Cranes arrive at the harbour")
    news_site(web, "intranet", base["intranet"], "Minutes of the works council")
    toml = (f'[[outlet]]\nname = "loop"\nhome = "{base["loop"]}"\nfeeds = ["{base["loop"]}rss.xml"]\n\n'
            f'[[outlet]]\nname = "intranet"\nhome = "{base["intranet"]}"\nfeeds = ["{base["intranet"]}rss.xml"]\n'
            'allow_addresses = ["127.0.0.3/32"]\n')
    yield web, toml, {"loop.test": [["127.0.0.2"]], "wiki.intranet.test": [["127.0.0.3"]]}
    web.stop()


def test_a_name_resolving_to_127_0_0_2_is_refused_without_the_allowance_and_crawled_with_it(tmp_path, loop_web):
    web, toml, script = loop_web
    web.clear_log()
    db, dns_log = tmp_path / "n.db", tmp_path / "lookups.log"
    import_outlets(db, toml, tmp_path)

    # 1. no global allowance: loop.test -> 127.0.0.2 is refused; the intranet outlet's own allowance
    # opens its own address (127.0.0.3/32) and nothing else
    r = run_cli("crawl", db, *FAST, *scripted(script, dns_log), env=NO_ALLOWANCE)
    assert r.returncode == 0, r.stderr
    assert not web.requests_for("loop"), "nothing may reach the refused address"
    reason = "address refused: loop.test -> 127.0.0.2 (loopback, 127.0.0.0/8)"
    port = web.address("loop")[1]
    assert errors(db, "loop") == {f"{port}/": reason, f"{port}/rss.xml": reason}
    assert {e.path for e in web.requests_for("intranet")} == {"/robots.txt", "/rss.xml", "/", "/news/1.html"}
    assert [a["title"] for a in rows(db, "SELECT title FROM articles")] == ["Minutes of the works council"]
    # a refusal is not retried (RETRY_TIMES stays 2): one look-up per refused request (robots.txt, feed, home)
    assert lookups(dns_log).count("loop.test 127.0.0.2") == 3
    # counted in the run, per outlet and as an error kind; shown in the crawl's summary table
    (run,) = rows(db, "SELECT status, errors FROM crawl_runs")
    assert run == {"status": "finished", "errors": 2}
    per = {o["outlet"]: o for o in rows(db, "SELECT * FROM crawl_run_outlets")}
    assert per["loop"]["addresses_refused"] == 2 and json.loads(per["loop"]["errors_by_kind"]) == {"address_refused": 2}
    # nothing was sent: no request counted (robots.txt, feed and home were refused at connection time)
    assert per["loop"]["requests"] == 0 and json.loads(per["loop"]["requests_by_kind"]) == {}
    assert per["intranet"]["addresses_refused"] == 0 and per["intranet"]["errors"] == 0
    table = {line.split()[0]: line.split() for line in r.stdout.splitlines()}
    assert table["outlet"][-1] == "addresses_refused" and table["loop"][-1] == "2"
    assert reason in r.stderr  # logged once per host and address, with what to do about it

    # narratives pages --errors shows each refused fetch with its reason; health flags it
    shown = run_cli("pages", db, "--errors", "--json")
    assert sorted(p["error"] for p in json.loads(shown.stdout)) == [reason, reason]
    assert "address refused: loop.test -> 127.0.0.2" in run_cli("pages", db, "--errors").stdout
    health = run_cli("health", db, "--json")
    assert health.returncode == 1
    findings = {(f["outlet"], f["check"], f["severity"]): f for f in json.loads(health.stdout)}
    # the refusals (attention), and the feed they made fail (a notice after one run)
    assert set(findings) == {("loop", "address_refused", "attention"), ("loop", "broken", "notice")}
    finding = findings["loop", "address_refused", "attention"]
    assert finding["message"].startswith(f"2 fetches refused by address in run 1: {reason}; ")
    assert "address_refused" in run_cli("health", db).stdout
    listed = {o["name"]: o["allow_addresses"] for o in json.loads(run_cli("outlets", "list", db, "--json").stdout)}
    assert listed == {"intranet": "127.0.0.3/32", "loop": None}

    # 2. the global allowance from the environment opens 127.0.0.2: the outlet is crawled
    r = run_cli("crawl", db, *FAST, *scripted(script), env={"NARRATIVES_ALLOW_ADDRESSES": "127.0.0.2/32"})
    assert r.returncode == 0, r.stderr
    assert "address guard: also connecting to 127.0.0.2/32 (NARRATIVES_ALLOW_ADDRESSES)" in r.stderr
    assert {e.path for e in web.requests_for("loop")} == {"/robots.txt", "/rss.xml", "/", "/news/1.html"}
    assert sorted(a["title"] for a in rows(db, "SELECT title FROM articles")) == [
        "Cranes arrive at the harbour", "Minutes of the works council"]
    assert errors(db, "loop") == {}
    assert rows(db, "SELECT addresses_refused FROM crawl_run_outlets WHERE run_id = 2 AND outlet = 'loop'") == [
        {"addresses_refused": 0}]


def test_replacing_the_resolver_does_not_switch_the_guard_off(tmp_path, loop_web):
    """TWISTED_DNS_RESOLVER set to another resolver: the middleware wraps it in the guard."""
    web, toml, script = loop_web
    web.clear_log()
    db = tmp_path / "n.db"
    import_outlets(db, toml, tmp_path)
    r = run_cli("crawl", db, *FAST, "-s", "TWISTED_DNS_RESOLVER=tests.scripted_dns.ScriptedResolver",
                "-s", f"NARRATIVES_TEST_DNS={json.dumps(script)}", env=NO_ALLOWANCE)
    assert r.returncode == 0, r.stderr
    assert "not crawler.addresses.GuardedResolver (TWISTED_DNS_RESOLVER): wrapping it in the address guard" in r.stderr
    assert not web.requests_for("loop")
    assert set(errors(db, "loop").values()) == {"address refused: loop.test -> 127.0.0.2 (loopback, 127.0.0.0/8)"}
    assert [a["title"] for a in rows(db, "SELECT title FROM articles")] == ["Minutes of the works council"]


# -- a redirect to a refused address ----------------------------------------------------------------


@pytest.fixture(scope="module")
def redirect_web():
    web = FixtureWeb()
    web.add_site("hop", host="127.0.0.1")
    web.add_site("far", host="127.0.0.9")
    web.start()
    hop = f"http://hop.test:{web.address('hop')[1]}/"
    far = f"http://far.test:{web.address('far')[1]}/"
    news_site(web, "hop", hop, "Cranes arrive at the harbour")
    news_site(web, "far", far, "Never to be fetched")
    web.routes("hop").update({
        "/rss.xml": Response(body=(f'<?xml version="1.0"?><rss version="2.0"><channel><title>hop</title>'
                                   f"<item><title>t</title><link>{hop}news/1.html</link></item>"
                                   f"<item><title>t</title><link>{hop}go.html</link></item></channel></rss>").encode(),
                             content_type="application/rss+xml"),
        "/go.html": Response(status=302, headers={"Location": f"{far}news/1.html"}),
    })
    toml = f'[[outlet]]\nname = "hop"\nhome = "{hop}"\nfeeds = ["{hop}rss.xml"]\n'
    yield web, toml, {"hop.test": [["127.0.0.1"]], "far.test": [["127.0.0.9"]]}
    web.stop()


def test_a_redirect_to_a_refused_address_is_refused_and_its_listener_sees_nothing(tmp_path, redirect_web):
    """Only 127.0.0.1/32 allowed; hop.test -> 127.0.0.1 redirects to far.test -> 127.0.0.9."""
    web, toml, script = redirect_web
    only = ["-s", "NARRATIVES_ALLOW_ADDRESSES=127.0.0.1/32"]

    # as configured: the redirect leaves the outlet's host, and the scope check drops it first
    web.clear_log()
    db, dns_log = tmp_path / "scoped.db", tmp_path / "scoped.log"
    import_outlets(db, toml, tmp_path)
    r = run_cli("crawl", db, *FAST, *only, *scripted(script, dns_log))
    assert r.returncode == 0, r.stderr
    go = rows(db, "SELECT error FROM pages WHERE url LIKE '%/go.html'")[0]["error"]
    assert go.startswith("redirect out of scope to http://far.test:")
    assert not web.requests_for("far") and not any(line.startswith("far.test") for line in lookups(dns_log))
    assert rows(db, "SELECT title FROM articles") == [{"title": "Cranes arrive at the harbour"}]

    # with the scope check switched off, the redirect hop reaches the connection: the address guard
    # refuses it there, on its own
    web.clear_log()
    db, dns_log = tmp_path / "unscoped.db", tmp_path / "unscoped.log"
    import_outlets(db, toml, tmp_path)
    middlewares = dict(crawl_settings.DOWNLOADER_MIDDLEWARES, **{"crawler.middlewares.ScopeMiddleware": None})
    r = run_cli("crawl", db, *FAST, *only, *scripted(script, dns_log),
                "-s", f"DOWNLOADER_MIDDLEWARES={json.dumps(middlewares)}")
    assert r.returncode == 0, r.stderr
    go = rows(db, "SELECT error FROM pages WHERE url LIKE '%/go.html'")[0]["error"]
    assert go == "address refused: far.test -> 127.0.0.9 (loopback, 127.0.0.0/8)"
    assert "far.test 127.0.0.9" in lookups(dns_log)  # looked up for the connection, then refused
    assert not web.requests_for("far"), "127.0.0.9's listener must see no request"
    assert {e.path for e in web.requests_for("hop")} == {"/robots.txt", "/rss.xml", "/", "/news/1.html", "/go.html"}
    assert rows(db, "SELECT title FROM articles") == [{"title": "Cranes arrive at the harbour"}]


# -- a name whose answer changes (DNS rebinding) ------------------------------------------------------


def two_sites_on_one_port(web: FixtureWeb, first: str, second: str) -> int:
    """Sites on 127.0.0.1 and 127.0.0.9 with the same port: one URL, two possible servers."""
    for _ in range(20):
        web.add_site("first", host=first)
        web.start()
        port = web.address("first")[1]
        try:
            web.add_site("second", host=second, port=port)
            return port
        except OSError:  # taken on the second address: try another port
            web.stop()
            web._sites.clear()
    raise RuntimeError("no port free on both addresses")


def test_a_name_whose_answer_changes_is_refused_when_the_connection_is_made(tmp_path):
    """Only 127.0.0.1/32 allowed; rebind.test answers 127.0.0.1 to the first look-up, 127.0.0.9 after."""
    web = FixtureWeb()
    port = two_sites_on_one_port(web, "127.0.0.1", "127.0.0.9")
    try:
        base = f"http://rebind.test:{port}/"
        for site in ("first", "second"):
            news_site(web, site, base, f"Served by {site}", headers=CLOSE)
        db, dns_log = tmp_path / "n.db", tmp_path / "lookups.log"
        import_outlets(db, f'[[outlet]]\nname = "rebind"\nhome = "{base}"\n', tmp_path)
        r = run_cli("crawl", db, *FAST, "-s", "NARRATIVES_ALLOW_ADDRESSES=127.0.0.1/32",
                    *scripted({"rebind.test": [["127.0.0.1"], ["127.0.0.9"]]}, dns_log))
        assert r.returncode == 0, r.stderr
        # robots.txt: the first look-up, 127.0.0.1, allowed and fetched; the home page: a new
        # connection, the next look-up, 127.0.0.9: refused there, and not retried
        assert lookups(dns_log) == ["rebind.test 127.0.0.1", "rebind.test 127.0.0.9"]
        assert [e.path for e in web.requests_for("first")] == ["/robots.txt"]
        assert not web.requests_for("second"), "127.0.0.9's listener must see no request"
        assert errors(db, "rebind") == {f"{port}/": "address refused: rebind.test -> 127.0.0.9 (loopback, 127.0.0.0/8)"}
        assert rows(db, "SELECT count(*) AS n FROM articles") == [{"n": 0}]
    finally:
        web.stop()


# -- literal addresses ------------------------------------------------------------------------------------


def test_a_literal_ipv4_mapped_address_is_refused(tmp_path):
    """http://[::ffff:127.0.0.1]:PORT/ with 127.0.0.0/8 allowed (as every test web is): the allowance
    opens 127.0.0.0/8 as written, not its IPv6 forms; nothing reaches 127.0.0.1."""
    web = FixtureWeb()
    web.add_site("v4", host="127.0.0.1")
    web.start()
    try:
        port = web.address("v4")[1]
        mapped = f"http://[::ffff:127.0.0.1]:{port}/"
        news_site(web, "v4", mapped, "Never to be fetched")
        try:  # the URL does reach the listener on this machine: only the guard stands in the way
            socket.create_connection(("::ffff:127.0.0.1", port), timeout=2).close()
        except OSError:
            pass  # no IPv6 here: the refusal is still checked below
        db = tmp_path / "n.db"
        import_outlets(db, f'[[outlet]]\nname = "mapped"\nhome = "{mapped}"\nfeeds = ["{mapped}rss.xml"]\n\n'
                           '[[outlet]]\nname = "v6-loopback"\nhome = "http://[::1]:9/"\n', tmp_path)
        r = run_cli("crawl", db, *FAST, "-s", "NARRATIVES_ALLOW_ADDRESSES=127.0.0.0/8")
        assert r.returncode == 0, r.stderr
        reason = "address refused: ::ffff:127.0.0.1 (loopback, 127.0.0.0/8, IPv4-mapped 127.0.0.1)"
        assert errors(db, "mapped") == {f"{port}/": reason, f"{port}/rss.xml": reason}
        assert errors(db, "v6-loopback") == {"9/": "address refused: ::1 (loopback, ::1/128)"}
        assert not web.request_log
        per = {o["outlet"]: o["addresses_refused"] for o in rows(db, "SELECT * FROM crawl_run_outlets")}
        assert per == {"mapped": 2, "v6-loopback": 1}
    finally:
        web.stop()


# -- a bad allowance ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [["crawl"], ["run", "--no-process"], ["schedule", "--every", "1h"]])
def test_a_bad_allowance_is_a_usage_error_before_anything_starts(tmp_path, command):
    db = tmp_path / "n.db"
    import_outlets(db, '[[outlet]]\nname = "x"\nhome = "http://127.0.0.54:9/"\n', tmp_path)
    r = run_cli(command[0], db, *command[1:], env={"NARRATIVES_ALLOW_ADDRESSES": "127.0.0.0/8,10.20.0.5/16"})
    assert r.returncode == 2
    assert ("NARRATIVES_ALLOW_ADDRESSES (environment): '10.20.0.5/16' is not an IP network like 10.20.0.0/16"
            in r.stderr) and "Traceback" not in r.stderr
    r = run_cli(command[0], db, *command[1:], "-s", "NARRATIVES_ALLOW_ADDRESSES=intranet")
    assert r.returncode == 2 and "-s NARRATIVES_ALLOW_ADDRESSES: 'intranet' is not an IP network" in r.stderr
    assert rows(db, "SELECT count(*) AS n FROM crawl_runs") == [{"n": 0}]


def test_a_download_handler_out_of_the_guards_reach_is_a_usage_error(tmp_path):
    db = tmp_path / "n.db"
    import_outlets(db, '[[outlet]]\nname = "x"\nhome = "http://127.0.0.54:9/"\n', tmp_path)
    httpx = "scrapy.core.downloader.handlers._httpx.HttpxDownloadHandler"
    r = run_cli("crawl", db, "-s", f"DOWNLOAD_HANDLERS={json.dumps({'https': httpx})}")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert f"DOWNLOAD_HANDLERS['https'] is {httpx}: it resolves host names itself" in r.stderr
    assert rows(db, "SELECT count(*) AS n FROM crawl_runs") == [{"n": 0}]


def test_a_worker_with_a_bad_allowance_exits_2(tmp_path):
    r = run_cli("worker", "--redis", "redis://127.0.0.1:9/0", "--once", "--wait", "0",
                "-s", "NARRATIVES_ALLOW_ADDRESSES=10.0.0.0/33")
    assert r.returncode == 2 and "'10.0.0.0/33' is not an IP network" in r.stderr
