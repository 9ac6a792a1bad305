"""Real data: EUvsDisinfo cases imported through the CLI as case x outlet articles, then processed.

Needs ../shared/data/euvsdisinfo-cknabs (skips with the reason when absent). To stay quick, it
takes the first 300 cases that name at most two outlets, plus the first two cases without an
outlet (they go under the outlet "unknown"); the full run is `python -m bench.euvsdisinfo`.
"""
import json
import sqlite3

import pytest

from bench.euvsdisinfo import UNKNOWN, Slugs, case_articles, data_file, load_cases

CASES = 300

pytestmark = pytest.mark.skipif(data_file() is None,
                                reason="../shared/data/euvsdisinfo-cknabs/posts.csv.gz not found "
                                       "(set NARRATIVES_SHARED_DATA to the shared data folder)")


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    from tests.conftest import run_cli

    all_cases = load_cases(data_file())
    cases = [c for c in all_cases if 1 <= len(c["outlets"]) <= 2][:CASES]
    cases += [c for c in all_cases if not c["outlets"]][:2]
    rows = case_articles(cases, Slugs())
    tmp = tmp_path_factory.mktemp("euvsdisinfo")
    jsonl, db = tmp / "cases.jsonl", tmp / "euv.db"
    jsonl.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    imp = run_cli("import", db, jsonl)
    assert imp.returncode == 0, imp.stderr
    proc = run_cli("process", db, "--min-words", "3", timeout=300)
    assert proc.returncode == 0, proc.stderr
    return {"cases": cases, "rows": rows, "db": db, "import": imp, "process": proc}


def _conn(db):
    return sqlite3.connect(f"file:{db}?mode=ro", uri=True)


def test_one_article_per_case_and_outlet_with_unknown_outlet(imported):
    cases, db = imported["cases"], imported["db"]
    expected = sum(max(1, len(c["outlets"])) for c in cases)
    assert f"imported {expected} new, 0 updated, 0 rejected lines" in imported["import"].stdout
    conn = _conn(db)
    urls = [r[0] for r in conn.execute("SELECT url FROM articles")]
    assert len(urls) == len(set(urls)) == expected
    per_case = {}
    for url, outlet in conn.execute("SELECT url, outlet FROM articles"):
        case, _, slug = url.partition("#")
        assert slug == outlet
        per_case.setdefault(case, set()).add(outlet)
    for c in cases:
        assert len(per_case[c["id"]]) == max(1, len(c["outlets"]))
    no_outlet = {c["id"] for c in cases if not c["outlets"]}
    assert no_outlet and all(per_case[cid] == {UNKNOWN} for cid in no_outlet)
    assert conn.execute("SELECT count(*) FROM outlets WHERE name = ?", [UNKNOWN]).fetchone()[0] == 1


def test_keywords_are_labels_never_text(imported):
    cases, db = imported["cases"], imported["db"]
    conn = _conn(db)
    by_case = {c["id"]: c for c in cases}
    labels = {}
    for url, label in conn.execute("SELECT a.url, l.label FROM article_labels l JOIN articles a ON a.id = l.article_id"):
        labels.setdefault(url, set()).add(label)
    for url, title, text, lang in conn.execute("SELECT url, title, text, language FROM articles"):
        case = by_case[url.split("#")[0]]
        # the text is the case title and nothing else: no keyword was appended to it
        assert text == case["title"] and title == case["title"] and lang == "en"
        assert labels.get(url, set()) == set(case["keywords"])
    assert sum(len(v) for v in labels.values()) > 0


def test_process_and_spread_origin(imported):
    from db import open_db
    from db.spread import spread

    out = imported["process"].stdout
    assert "run 1:" in out and "skipped: none" in out, out
    db = open_db(imported["db"])
    ids = [r[0] for r in db.execute("SELECT id FROM narratives WHERE status = 'active' ORDER BY article_count DESC")]
    assert ids, f"no narrative discovered: {out}"
    for nid in ids:
        s = spread(db, "narrative", nid)
        assert s["origin"], s
        firsts = [a for a in s["adopters"] if a["is_origin"]]
        assert sorted(s["origin"]) == sorted(a["outlet"] for a in firsts)
        assert len({a["first_seen_at"] for a in firsts}) == 1  # ties share the same first-seen time
