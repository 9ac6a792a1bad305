"""`narratives report DB ID --html FILE` (narratives/web/report.py): one self-contained page per narrative.

Runs on the demo pipeline database with hostile text planted in it; the browser test opens the
file from disk in headless Chromium (the Debian package `chromium`; skipped where it is absent).
"""
from __future__ import annotations

import json
import re
import shutil
import sqlite3

import pytest
from lxml import html as lxml_html

from db import open_db
from db.spread import adopters, timeline
from tests.conftest import REPO, run_cli
from narratives.web.report import render_report, report_data
from tests.test_datasette import (CHROMIUM_FLAGS, STANCE_COUNTS, chromium, chromium_binary, count_class,  # noqa: F401
                                  shown_counts, small_db, sql_stance_counts, stance_db)

# closes the JSON <script> block if inlined raw, then opens a script of its own and breaks attributes
HOSTILE_TITLE = """</script><script>document.title='pwned'</script><img src=x onerror="alert(1)"> "q" & 'a' <!--"""
HOSTILE_LABEL = "<b>label</b></title><script>alert(2)</script>"


@pytest.fixture(scope="module")
def report_db(tmp_path_factory, demo_processed):
    """The demo database; its largest narrative's first article gets a hostile title, and one article a javascript: URL."""
    db = tmp_path_factory.mktemp("report") / "demo.db"
    shutil.copy(demo_processed[0], db)
    conn = sqlite3.connect(db)
    narrative_id = conn.execute("SELECT id FROM narratives WHERE status = 'active' "
                                "ORDER BY article_count DESC, id LIMIT 1").fetchone()[0]
    first = adopters(open_db(db), "narrative", narrative_id)[0]["first_article_id"]
    conn.execute("UPDATE articles SET title = ? WHERE id = ?", [HOSTILE_TITLE, first])
    conn.execute("""UPDATE articles SET url = 'javascript:alert(3)' WHERE id = (
                      SELECT max(article_id) FROM narrative_memberships WHERE narrative_id = ?)""", [narrative_id])
    conn.execute("UPDATE narratives SET label = ? WHERE id = ?", [HOSTILE_LABEL, narrative_id])
    conn.commit()
    conn.close()
    return db, narrative_id


def expected_counts(db, kind: str, subject_id: int, bucket: str) -> tuple[int, int]:
    """(time buckets with articles, outlets), from db/spread.py."""
    handle = open_db(db)
    return (len({r["bucket"] for r in timeline(handle, kind, subject_id, by=bucket)}),
            len(adopters(handle, kind, subject_id)))


def chart_json(text: str) -> dict:
    m = re.search(r'<script type="application/json" id="nt-data">(.*?)</script>', text, re.S)
    assert m, "the report carries no chart data"
    return json.loads(m.group(1))


def test_report_is_self_contained_and_escapes_database_text(report_db, tmp_path):
    db, narrative_id = report_db
    out = tmp_path / "report.html"
    r = run_cli("report", db, narrative_id, "--html", out)
    assert r.returncode == 0, r.stderr
    assert f"wrote {out}" in r.stdout
    text = out.read_text(encoding="utf-8")
    tree = lxml_html.fromstring(text)
    # nothing loaded from elsewhere: no src or stylesheet link at all, the script and styles inline
    assert not tree.xpath("//script[@src] | //link | //img | //iframe | //object | //embed")
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", text.replace('<a href="http', "<a-ok")), \
        "an external asset"
    assert "@import" not in text and not re.search(r"url\(\s*['\"]?(https?:)?//", text)
    assert "default-src 'none'" in tree.xpath("//meta[@http-equiv='Content-Security-Policy']/@content")[0]
    # hostile text is escaped: exactly the two scripts of the template, the text shown as text
    script = (REPO / "narratives" / "web" / "static" / "narratives.js").read_text(encoding="utf-8")
    assert len(tree.xpath("//script")) == 2 and text.count("<script") == 2 + script.count("<script")
    assert HOSTILE_TITLE not in text and "onerror=\"alert(1)\">" not in text
    assert HOSTILE_TITLE in [a.text_content() for a in tree.xpath("//table[@id='articles']//td/a")]
    assert tree.xpath("//h1")[0].text_content() == HOSTILE_LABEL
    assert tree.xpath("//title")[0].text_content().endswith(HOSTILE_LABEL)
    assert not tree.xpath("//a[starts-with(@href, 'javascript:')]")
    data = chart_json(text)  # the JSON block still parses and carries the text intact
    assert data["title"] == HOSTILE_LABEL and data["nodes"][0]["first_title"] == HOSTILE_TITLE
    # content: origin, adopters with lags and time source, bursts, one row per article
    buckets, outlets = expected_counts(db, "narrative", narrative_id, data["bucket"])
    assert len(data["buckets"]) == buckets and len(data["nodes"]) == outlets
    assert "Origin:" in tree.xpath("//p[@id='origin']")[0].text_content()
    assert len(tree.xpath("//table[@id='adopters']/tbody/tr")) == outlets
    assert "origin" in tree.xpath("//table[@id='adopters']/tbody/tr[1]/td[5]")[0].text_content()
    conn = sqlite3.connect(db)
    members = conn.execute("SELECT count(*) FROM narrative_memberships WHERE narrative_id = ?",
                           [narrative_id]).fetchone()[0]
    conn.close()
    assert len(tree.xpath("//table[@id='articles']/tbody/tr")) == members


def test_report_kinds_buckets_and_errors(report_db, tmp_path):
    db, narrative_id = report_db
    out = tmp_path / "weekly.html"
    out.write_text("old")
    r = run_cli("report", db, narrative_id, "--by", "week", "--html", out)
    assert r.returncode == 0, r.stderr
    data = chart_json(out.read_text(encoding="utf-8"))
    assert data["bucket"] == "week" and len(data["buckets"]) == expected_counts(db, "narrative", narrative_id, "week")[0]
    conn = sqlite3.connect(db)
    event_id = conn.execute("SELECT id FROM events ORDER BY outlet_count DESC, id LIMIT 1").fetchone()[0]
    conn.close()
    r = run_cli("report", db, event_id, "--kind", "event", "--html", tmp_path / "event.html")
    assert r.returncode == 0, r.stderr
    assert chart_json((tmp_path / "event.html").read_text(encoding="utf-8"))["kind"] == "event"
    # unknown id: a usage error like `narratives spread`, nothing written
    r = run_cli("report", db, 999999, "--html", tmp_path / "missing.html")
    assert r.returncode == 2 and "no narrative with id 999999" in r.stderr
    assert not (tmp_path / "missing.html").exists()
    # unwritable target: failure, no temporary file left behind
    r = run_cli("report", db, narrative_id, "--html", tmp_path / "no-such-dir" / "r.html")
    assert r.returncode == 1 and "cannot write" in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["event.html", "weekly.html"]
    r = run_cli("report", "--help")
    assert r.returncode == 0 and "Example:" in r.stdout and "--html" in r.stdout


def test_report_shows_ties_as_ties_and_renders_an_empty_subject(small_db, tmp_path):  # noqa: F811
    db = tmp_path / "small.db"
    shutil.copy(small_db, db)
    conn = sqlite3.connect(db)
    conn.execute("UPDATE articles SET published_at = '2026-01-05T08:00:00Z' WHERE id = 2")  # same time as article 1
    conn.execute("INSERT INTO watched_narratives (id, name, description, threshold, model_id, effective_threshold) "
                 "VALUES (2, 'nothing yet', 'no article matches', 0.99, 'm', 0.99)")
    conn.commit()
    conn.close()
    handle = open_db(db)
    data = report_data(handle, "narrative", 1)
    assert [o["outlet"] for o in data["origin"]] == ["alpha-news", "beta-times"]
    origin = lxml_html.fromstring(render_report(data)).xpath("//p[@id='origin']")[0].text_content()
    assert "a tie between 2 outlets" in origin and "alpha-news" in origin and "beta-times" in origin
    empty = report_data(handle, "watch", 2)
    assert empty["article_total"] == 0 and not empty["chart"]["buckets"]
    assert "No articles yet." in render_report(empty)


@pytest.mark.slow
def test_report_opened_from_disk_in_headless_chromium(chromium_binary, report_db, tmp_path):  # noqa: F811
    db, narrative_id = report_db
    out = tmp_path / f"narrative-{narrative_id}.html"
    r = run_cli("report", db, narrative_id, "--html", out)
    assert r.returncode == 0, r.stderr
    url = out.as_uri()
    r = chromium(chromium_binary, tmp_path / "profile", "--window-size=1280,1000", "--dump-dom", url)
    assert r.returncode == 0, r.stderr[-2000:]
    tree = lxml_html.fromstring(r.stdout)
    # the inlined script ran (the page's Content-Security-Policy admits it by hash) and nothing else did
    assert tree.xpath("//body/@data-charts") == ["ready"], "the chart script did not run"
    assert len(tree.xpath("//script")) == 2 and not tree.xpath("//title[text()='pwned']")
    svg = tree.xpath("//*[local-name()='svg'][contains(@class, 'timeline')]")[0]
    buckets, outlets = expected_counts(db, "narrative", narrative_id, svg.get("data-bucket"))
    assert buckets > 1 and outlets > 1
    assert count_class(tree, "g", "mark") == buckets
    nodes = tree.xpath("//*[local-name()='g'][contains(concat(' ', @class, ' '), ' node ')]/@data-outlet")
    assert len(nodes) == outlets and len(set(nodes)) == outlets
    edges = tree.xpath("//*[local-name()='path'][contains(concat(' ', @class, ' '), ' edge ')]/@data-kind")
    assert set(edges) <= {"copy", "translation", "citation", "follow"}
    shot = tmp_path / f"report-{narrative_id}.png"
    r = chromium(chromium_binary, tmp_path / "profile", "--window-size=1280,2400", f"--screenshot={shot}", url)
    assert r.returncode == 0 and shot.stat().st_size > 10_000, r.stderr[-2000:]
    print(f"\nscreenshot of {url}: {shot}")


# -- stance (issue 16): the hand-made verdicts of tests/test_datasette.py's stance_db -----------

@pytest.fixture
def stance_report(stance_db, tmp_path):  # noqa: F811
    db = tmp_path / "stance.db"
    shutil.copy(stance_db, db)
    out = tmp_path / "narrative-1.html"
    r = run_cli("report", db, 1, "--html", out)
    assert r.returncode == 0, r.stderr
    return db, out


def test_report_shows_each_articles_stance(stance_report):
    db, out = stance_report
    text = out.read_text(encoding="utf-8")
    tree = lxml_html.fromstring(text)
    conn = sqlite3.connect(db)
    counts = sql_stance_counts(conn, "narrative", 1)
    conn.close()
    assert counts == STANCE_COUNTS
    # counts per stance; one mark per article (members and the coverage that reports or debunks it)
    assert shown_counts(tree) == counts
    rows = tree.xpath("//table[@id='articles']/tbody/tr")
    assert len(rows) == sum(counts.values())
    for tr in rows:
        marks = tr.xpath(".//span[contains(concat(' ', @class, ' '), ' nt-stance ')]")
        assert len(marks) == 1 and marks[0].text_content() == tr.get("data-stance")
    stats = " ".join(tree.xpath("//p[@class='nt-stats']")[0].text_content().split())
    assert stats.startswith("6 members · 3 outlets") and stats.endswith("· 1 report · 3 debunks"), stats
    # first debunk with its lag after the origin, reported by / debunked by per outlet
    first = " ".join(tree.xpath("//p[@id='first-debunk']")[0].text_content().split())
    assert first.startswith("First debunk: beta-times, 2026-01-06 08:00 UTC") and "24 h after the origin" in first
    assert tree.xpath("//table[@id='debunked-by']/tbody/tr/td[1]/text()") == ["beta-times", "delta-daily"]
    assert tree.xpath("//table[@id='reported-by']/tbody/tr/td[1]/text()") == ["delta-daily"]
    assert [" ".join(t.split()) for t in tree.xpath("//table[@id='debunked-by']/tbody/tr/td[4]/text()")] == \
        ["+24 h", "+3 days"]
    # the filter has no Apply button (no server behind a file), the chart data carries the stances
    assert not tree.xpath("//form[@class='nt-stance-filter']//button")
    data = chart_json(text)
    assert data["stack"] == "outlet" and sum(b["articles"] for b in data["stance_buckets"]) == sum(counts.values())
    # the stance data in report_data, as `narratives spread --json` has it
    handle = open_db(db)
    rd = report_data(handle, "narrative", 1)
    assert rd["first_debunk"]["outlet"] == "beta-times" and rd["first_debunk"]["lag_after_origin_hours"] == 24
    assert {r["stance"]: r["n"] for r in rd["stance_counts"]} == counts
    assert [r["outlet"] for r in rd["debunked_by"]] == ["beta-times", "delta-daily"]
    # events have no stance; a watched narrative has
    assert not report_data(handle, "event", 1)["has_stance"]
    watch = report_data(handle, "watch", 1)
    assert {r["stance"]: r["n"] for r in watch["stance_counts"] if r["n"]} == {"carries": 1, "not judged": 3, "debunks": 1}
    event = lxml_html.fromstring(render_report(report_data(handle, "event", 1)))
    assert not event.xpath("//span[contains(@class, 'nt-stance')] | //form | //p[@id='first-debunk']")


def test_report_stance_filter_in_headless_chromium(chromium_binary, stance_report, tmp_path):  # noqa: F811
    """Opened from disk: the counts and marks as SQL has them; unticking a stance hides its rows in place."""
    from tests.cdp import Browser

    db, out = stance_report
    visible = "Array.from(document.querySelectorAll('tr[data-stance]')).filter(t => !t.hidden).map(t => t.dataset.stance)"
    with Browser(chromium_binary, tmp_path / "profile", CHROMIUM_FLAGS) as b:
        b.open(out.as_uri())
        assert len(b.evaluate(visible)) == sum(STANCE_COUNTS.values())
        assert b.evaluate("document.querySelectorAll('#articles tbody tr .nt-stance').length") == \
            sum(STANCE_COUNTS.values())
        b.evaluate("document.querySelector('input[name=stance][value=carries]').click()")
        assert sorted(b.evaluate(visible)) == ["debunks"] * 3 + ["not judged"] * 2 + ["reports"]
        assert b.evaluate("location.href") == out.as_uri()  # nothing submitted
        b.evaluate("document.querySelector('input[name=stack][value=stance]').click()")
        assert b.evaluate("document.querySelector('svg.timeline').dataset.stack") == "stance"
        assert not b.evaluate("document.title === 'pwned'")
