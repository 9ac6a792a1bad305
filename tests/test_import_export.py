import csv
import io
import json
import sqlite3

from crawler.ingest import import_jsonl
from db import open_db


def write_jsonl(path, rows):
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


GOOD = [
    {"url": "https://a.example/1", "outlet": "alpha", "title": "One", "text": "First article text.",
     "published_at": "2026-03-01T10:00:00+01:00", "language": "en", "labels": ["West", "NATO"]},
    {"url": "https://b.example/2", "outlet": "beta", "title": "Two", "text": "Second article text.",
     "html": "<html><body><article><p>Second article text.</p></article></body></html>"},
]


def test_import_stores_articles_outlets_and_optional_html(tmp_path):
    db = open_db(tmp_path / "n.db")
    result = import_jsonl(db, write_jsonl(tmp_path / "in.jsonl", GOOD))
    assert (result.imported, result.updated, result.rejected) == (2, 0, [])
    rows = {r["url"]: r for r in db["articles"].rows}
    assert rows["https://a.example/1"]["published_at"] == "2026-03-01T09:00:00Z"
    assert rows["https://a.example/1"]["date_source"] == "import"
    assert rows["https://b.example/2"]["page_id"] is not None
    assert {r["name"]: r["home"] for r in db["outlets"].rows} == {"alpha": "https://a.example/", "beta": "https://b.example/"}
    assert sorted(r["label"] for r in db["article_labels"].rows) == ["NATO", "West"]
    # re-import updates, never duplicates
    result = import_jsonl(db, write_jsonl(tmp_path / "in.jsonl", GOOD))
    assert (result.imported, result.updated) == (0, 2)
    assert db["articles"].count == 2
    # the FTS index follows
    assert [r["title"] for r in db.query("SELECT title FROM articles_fts WHERE articles_fts MATCH 'second'")] == ["Two"]


def test_bad_lines_are_rejected_with_line_numbers_and_the_rest_stored(tmp_path):
    db = open_db(tmp_path / "n.db")
    rows = [GOOD[0], "{not json", {"url": "nope", "outlet": "a", "text": "x"}, {"url": "https://a.example/3", "outlet": "alpha"},
            {"url": "https://a.example/4", "outlet": "alpha", "text": "t", "published_at": "last week"}, GOOD[1]]
    result = import_jsonl(db, write_jsonl(tmp_path / "in.jsonl", rows))
    assert result.imported == 2
    reasons = dict(result.rejected)
    assert sorted(reasons) == [2, 3, 4, 5]
    assert "not valid JSON" in reasons[2]
    assert "field 'url' must be an absolute http(s) URL" in reasons[3]
    assert "field 'text' is required" in reasons[4]
    assert "field 'published_at'" in reasons[5]
    bad = import_jsonl(db, write_jsonl(tmp_path / "bad.jsonl", [dict(GOOD[0], labels="West")]))
    assert "field 'labels' must be a list" in bad.rejected[0][1]


def test_cli_import_export_roundtrip(tmp_path, cli):
    db = tmp_path / "n.db"
    src = write_jsonl(tmp_path / "in.jsonl", GOOD)
    r = cli("import", db, src)
    assert r.returncode == 0, r.stderr
    assert "imported 2 new, 0 updated, 0 rejected lines" in r.stdout
    r = cli("export", db)
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    assert [(x["url"], x["outlet"], x["title"]) for x in lines] == [(g["url"], g["outlet"], g["title"]) for g in GOOD]
    assert lines[0]["published_at"] == "2026-03-01T09:00:00Z"
    out = tmp_path / "out.csv"
    r = cli("export", db, "--format", "csv", "-o", out, "--outlet", "beta")
    assert r.returncode == 0 and "exported 1 articles" in r.stderr
    (row,) = list(csv.DictReader(io.StringIO(out.read_text())))
    assert row["url"] == "https://b.example/2" and row["text"] == "Second article text."


def test_cli_import_with_bad_line_exits_1_and_keeps_good_rows(tmp_path, cli):
    db = tmp_path / "n.db"
    r = cli("import", db, write_jsonl(tmp_path / "in.jsonl", [GOOD[0], "[1, 2]"]))
    assert r.returncode == 1
    assert "line 2: must be a JSON object" in r.stderr
    assert sqlite3.connect(db).execute("SELECT count(*) FROM articles").fetchone()[0] == 1


def test_cli_usage_errors_exit_2(tmp_path, cli):
    r = cli("import", tmp_path / "n.db", tmp_path / "missing.jsonl")
    assert r.returncode == 2 and "file not found" in r.stderr
    r = cli("crawl", tmp_path / "missing.db")
    assert r.returncode == 2 and "does not exist" in r.stderr
    r = cli("import", tmp_path / "n.db", write_jsonl(tmp_path / "in.jsonl", [GOOD[0]]))
    r = cli("crawl", tmp_path / "n.db", "--outlet", "nosuch")
    assert r.returncode == 2 and "unknown outlet(s): nosuch" in r.stderr
    r = cli("crawl", tmp_path / "n.db", "-s", "NOEQUALS")
    assert r.returncode == 2 and "is not KEY=VALUE" in r.stderr
