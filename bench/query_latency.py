"""Latency of the spread and narrative read queries on a large database (default 1,000,000 articles).

    python -m bench.query_latency [--articles 1000000] [--json OUT] [--db PATH] [--variants]

Without `--db` the database is built with bulk SQL inserts of synthetic rows into the project's
schema: articles over two years and 200 outlets, events, 200 narratives of varied sizes, spread
edges and bursts (no vectors, FTS left empty: no query here uses them). `--db PATH` reuses a
database that exists, e.g. one `bench.incremental --keep DIR` built with the store functions and
processed by `process`.

Measured through the functions the CLI calls (`db.spread.timeline` by day and week,
`db.spread.spread`, `db.narrative_queries.list_narratives`): after one untimed pass, the median
of 20 warm calls over 20 narratives, the largest narrative's time, the slowest call, and each
query's EXPLAIN QUERY PLAN. `--variants` also times the member scans the queries used before
they read the spread stage's counts, and checks the answers are the same.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from db import open_db
from db.narrative_queries import list_narratives
import db.spread as spread_mod
from db.spread import bursts, edges, member_sql

TARGET_MS = 100.0
NARRATIVES = 200
OUTLETS = 200
SPAN_DAYS = 730
CALLS = 20
START = np.datetime64("2023-01-01T00:00:00", "s")

# -- other ways to answer, measured with --variants (before/after in the same run) ---------------

VARIANTS = {
    # the queries as they were before they read the spread stage's counts: every member's article row
    "member_scan": {"apply": None, "undo": None, "patch": {"counted": lambda *a: False}},
}


def answers(db, ids: list[int]) -> list:
    """What the CLI's queries return for each measured narrative (to compare variants with)."""
    return [(spread_mod.adopters(db, "narrative", nid), spread_mod.timeline(db, "narrative", nid, by="day"),
             spread_mod.timeline(db, "narrative", nid, by="week")) for nid in dict.fromkeys(ids)]


def narrative_sizes(n_articles: int) -> list[int]:
    scale = n_articles / 1_000_000
    sizes = [int(50_000 * (i + 1) ** -0.75) for i in range(NARRATIVES)]
    sizes[:3] = [50_000] * 3
    return [max(5, int(s * scale)) for s in sizes]


def _iso(seconds: np.ndarray) -> list[str]:
    return [s + "Z" for s in np.datetime_as_string(START + seconds.astype("timedelta64[s]"), unit="s")]


def build(path: Path, n: int, *, seed: int = 0, text_words: int = 30) -> dict:
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    db = open_db(path)
    conn = db.conn
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -500000")
    saved = [r for r in conn.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE tbl_name IN ('articles', 'event_memberships', "
        "'narrative_memberships') AND sql IS NOT NULL AND type IN ('index', 'trigger')")]
    with conn:
        for kind, name, _ in saved:
            conn.execute(f"DROP {kind.upper()} {name}")
        now = "2025-01-01T00:00:00Z"
        conn.execute("INSERT INTO runs (id, stage, started_at, finished_at, params, stats) VALUES (1, 'bench', ?, ?, '{}', '{}')",
                     [now, now])
        conn.executemany("INSERT INTO outlets (name, home, language, created_at, updated_at) VALUES (?, ?, 'en', ?, ?)",
                         [(f"outlet{i:03d}", f"https://outlet{i:03d}.example/", now, now) for i in range(OUTLETS)])
        # articles in time order (id order = time order), outlets with skewed sizes
        weights = 1.0 / np.arange(1, OUTLETS + 1) ** 0.8
        outlet_of = rng.choice(OUTLETS, size=n, p=weights / weights.sum())
        secs = np.sort(rng.integers(0, SPAN_DAYS * 86400, size=n))
        published = _iso(secs)
        fetched = _iso(secs + rng.integers(600, 3 * 86400, size=n))
        no_date = rng.random(n) < 0.05
        vocab = [f"w{i}" for i in range(5000)]
        words = rng.integers(0, len(vocab), size=(min(n, 50_000), text_words))
        texts = [" ".join(vocab[j] for j in row) for row in words]

        def article_rows():
            for i in range(n):
                o = f"outlet{outlet_of[i]:03d}"
                pub = None if no_date[i] else published[i]
                yield (i + 1, f"https://{o}.example/a/{i + 1}", f"https://{o}.example/a/{i + 1}", o,
                       f"Synthetic headline {i + 1} {texts[i % len(texts)][:40]}", texts[i % len(texts)] + f" [{i}]",
                       "en", pub, pub[:10] if pub else None, "import" if pub else None, fetched[i], f"h{i + 1}",
                       text_words, "synthetic")
        conn.executemany(
            """INSERT INTO articles (id, url, canonical_url, outlet, title, text, language, published_at, published_date,
                                     date_source, fetched_at, content_hash, word_count, extractor)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""", article_rows())
        # events: runs of ~10 consecutive articles
        n_events = (n + 9) // 10
        conn.executemany(
            """INSERT INTO events (id, model_id, title, first_at, last_at, article_count, outlet_count, created_run, updated_run)
               VALUES (?, 'synthetic', ?, ?, ?, ?, ?, 1, 1)""",
            ((e + 1, f"Event {e + 1}", published[e * 10], published[min(n, e * 10 + 10) - 1],
              min(n, e * 10 + 10) - e * 10, 5) for e in range(n_events)))
        conn.executemany("INSERT INTO event_memberships (article_id, event_id, run_id, score, method, model_id) "
                         "VALUES (?, ?, 1, 0.8, 'synthetic', 'synthetic')", ((i + 1, i // 10 + 1) for i in range(n)))
        # narratives: half spread over the whole period, half within a window of articles
        sizes = narrative_sizes(n)
        members_total = 0
        for k, size in enumerate(sizes):
            nid = k + 1
            if k % 2 == 0 or size * 4 >= n:
                members = rng.choice(n, size=size, replace=False) + 1
            else:
                start = int(rng.integers(0, n - size * 4))
                members = rng.choice(size * 4, size=size, replace=False) + start + 1
            members.sort()
            members_total += size
            outs = sorted(int(o) for o in np.unique(outlet_of[members - 1]))
            first = published[members[0] - 1]
            conn.execute(
                """INSERT INTO narratives (id, label, keywords, headline, status, article_count, outlet_count, event_count,
                                           first_seen_at, last_seen_at, model_id, created_run, updated_run)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'synthetic', 1, 1)""",
                [nid, f"keyword{nid} / topic{nid}", json.dumps([f"keyword{nid}", f"topic{nid}", "claim"]),
                 f"Headline of narrative {nid}", "active" if k < NARRATIVES - 10 else "retired", size, len(outs),
                 size // 8, first, published[members[-1] - 1]])
            conn.executemany("INSERT INTO narrative_memberships (narrative_id, article_id, run_id, score, method, model_id) "
                             "VALUES (?, ?, 1, 0.7, 'synthetic', 'synthetic')", ((nid, int(a)) for a in members))
            origin = f"outlet{outs[0]:03d}"
            conn.executemany(
                """INSERT INTO spread_edges (kind, subject_id, from_outlet, to_outlet, edge_kind, lag_hours, weight,
                                             evidence, run_id) VALUES ('narrative', ?, ?, ?, ?, ?, ?, ?, 1)""",
                ((nid, origin, f"outlet{o:03d}", kind, float(o), 1 + o % 7,
                  json.dumps([{"source_article": int(members[0]), "copy_article": int(members[-1]), "reuse": "partial",
                               "containment": 0.6}])) for o in outs[1:] for kind in ("follow", "copy")))
            conn.executemany("INSERT INTO narrative_bursts (kind, subject_id, burst, start_day, end_day, articles, run_id) "
                             "VALUES ('narrative', ?, ?, ?, ?, ?, 1)",
                             ((nid, b, first[:10], first[:10], size // 5) for b in range(1, 6)))
        for kind, name, sql in saved:
            if kind == "index":
                conn.execute(sql)
        for kind, name, sql in saved:
            if kind == "trigger":
                conn.execute(sql)
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("ANALYZE")
    db.close() if hasattr(db, "close") else conn.close()
    return {"articles": n, "narrative_memberships": members_total, "events": n_events,
            "build_s": round(time.perf_counter() - t0, 1), "db_mb": round(path.stat().st_size / 2**20)}


def pick_narratives(db) -> list[int]:
    """20 different active narratives: the 5 largest and 15 spread over the rest by size. A
    database with fewer (one the pipeline processed: `--db`) has each of them called in turn,
    largest first, until 20 calls are made."""
    ids = [r[0] for r in db.execute("SELECT id FROM narratives WHERE status = 'active' ORDER BY article_count DESC, id")]
    if len(ids) < CALLS:
        return (ids * CALLS)[:CALLS]
    rest = ids[5:]
    step = max(1, len(rest) // (CALLS - 5))
    return (ids[:5] + rest[::step])[:CALLS]


QUERIES = {
    "timeline_day": lambda db, nid: spread_mod.timeline(db, "narrative", nid, by="day"),
    "timeline_week": lambda db, nid: spread_mod.timeline(db, "narrative", nid, by="week"),
    "spread": lambda db, nid: spread_mod.spread(db, "narrative", nid),
    "list_narratives": lambda db, nid: list_narratives(db),
}


def measure(db, ids: list[int]) -> dict:
    out = {}
    for name, fn in QUERIES.items():
        cold = time.perf_counter()
        fn(db, ids[0])
        cold = (time.perf_counter() - cold) * 1000
        for nid in ids:  # untimed pass: the measured calls are warm
            fn(db, nid)
        times, rows = [], []
        for nid in ids:
            t0 = time.perf_counter()
            r = fn(db, nid)
            times.append((time.perf_counter() - t0) * 1000)
            rows.append(len(r["adopters"]) if isinstance(r, dict) else len(r))
        out[name] = {"median_ms": round(statistics.median(times), 1), "max_ms": round(max(times), 1),
                     "largest_ms": round(times[0], 1), "first_call_ms": round(cold, 1),
                     "rows_largest": rows[0], "meets_target": statistics.median(times) < TARGET_MS}
    return out


def query_plans(db, nid: int) -> dict:
    """EXPLAIN QUERY PLAN of the SQL behind each function (the same statements, reconstructed): the
    member scans, and the reads of the spread stage's counts that replace them once the subject is
    counted (`db.spread.counted`)."""
    plans = {}
    members = member_sql("narrative")
    sqls = {
        "timeline_day": f"""SELECT substr(coalesce(a.published_at, a.fetched_at), 1, 10) AS bucket, a.outlet, count(*)
                            FROM articles a WHERE a.id IN ({members}) GROUP BY bucket, a.outlet ORDER BY bucket, a.outlet""",
        "adopters": f"""WITH m AS (SELECT a.id, a.outlet, coalesce(a.published_at, a.fetched_at) AS time,
                           row_number() OVER (PARTITION BY a.outlet ORDER BY coalesce(a.published_at, a.fetched_at), a.id) AS nth
                           FROM articles a WHERE a.id IN ({members})) SELECT * FROM m WHERE nth = 1""",
        **({"timeline_day (from the spread counts)": "SELECT day, outlet, articles FROM subject_days WHERE kind = 'narrative' "
                                                      "AND subject_id = ? ORDER BY day, outlet",
            "adopters (from the spread counts)": "SELECT * FROM subject_outlets WHERE kind = 'narrative' AND subject_id = ?"}
           if spread_mod.counted(db, "narrative", nid) else {}),
        "edges": "SELECT * FROM spread_edges WHERE kind = 'narrative' AND subject_id = ? ORDER BY edge_kind, from_outlet, to_outlet",
        "list_narratives": "SELECT id FROM narratives WHERE status = 'active' AND ? IS NOT NULL ORDER BY article_count DESC, id",
    }
    for name, sql in sqls.items():
        plans[name] = [r[3] for r in db.execute(f"EXPLAIN QUERY PLAN {sql}", [nid])]
    return plans


def breakdown(db, nid: int) -> dict:
    """Where the time of the largest narrative goes: member lookup, the row fetch, the Python rows."""
    out = {}
    for name, fn in {"member_ids_only": lambda: db.execute(f"SELECT count(*) FROM ({member_sql('narrative')})", [nid]).fetchone(),
                     "articles_rows_sql_only": lambda: db.execute(
                         f"SELECT count(*), max(coalesce(a.published_at, a.fetched_at)), max(a.outlet) FROM articles a "
                         f"WHERE a.id IN ({member_sql('narrative')})", [nid]).fetchone(),
                     "adopters": lambda: spread_mod.adopters(db, "narrative", nid),
                     "edges": lambda: edges(db, "narrative", nid),
                     "bursts": lambda: bursts(db, "narrative", nid)}.items():
        fn()
        t0 = time.perf_counter()
        for _ in range(3):
            fn()
        out[name] = round((time.perf_counter() - t0) / 3 * 1000, 1)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--articles", type=int, default=1_000_000)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--db", type=Path, help="build here (or reuse it when it exists); default a temporary folder")
    ap.add_argument("--variants", action="store_true", help="also measure the member scans (before/after)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "latency.db"
        if path.exists():
            built = {"reused": str(path)}
        else:
            built = build(path, args.articles)
        print(json.dumps(built), flush=True)
        db = open_db(path)
        ids = pick_narratives(db)
        sizes = dict(db.execute(f"SELECT id, article_count FROM narratives WHERE id IN ({','.join('?' * len(set(ids)))})",
                                sorted(set(ids))))
        result = {"build": built, "narratives_measured": [[i, sizes[i]] for i in ids], "target_ms": TARGET_MS,
                  "plans": query_plans(db, ids[0]), "largest_breakdown_ms": breakdown(db, ids[0]),
                  "latency": measure(db, ids)}
        print(json.dumps({k: result[k] for k in ("latency", "largest_breakdown_ms", "plans")}, indent=2), flush=True)
        if args.variants:
            result["variants"] = {}
            originals = {"adopters": spread_mod.adopters, "timeline": spread_mod.timeline,
                         "counted": spread_mod.counted}
            baseline = answers(db, ids)
            for name, v in VARIANTS.items():
                apply_s = v["apply"](db) if v["apply"] else None
                db.execute("ANALYZE")
                for fn_name, fn in v["patch"].items():
                    setattr(spread_mod, fn_name, fn)
                try:
                    out = {"apply_s": round(apply_s, 2) if isinstance(apply_s, float) else None,
                           "same_results": answers(db, ids) == baseline,
                           "plans": query_plans(db, ids[0]), "largest_breakdown_ms": breakdown(db, ids[0]),
                           "latency": measure(db, ids)}
                finally:
                    for fn_name, fn in originals.items():
                        setattr(spread_mod, fn_name, fn)
                    if v["undo"]:
                        v["undo"](db)
                result["variants"][name] = out
                print(json.dumps({name: {k: out[k] for k in ("apply_s", "same_results", "latency")}}, indent=2), flush=True)
        if args.json:
            args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
