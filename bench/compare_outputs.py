"""Do two databases hold the same processing results? (a change meant to be faster, not different)

    python -m bench.compare_outputs OLD.db NEW.db

Compares, row for row, what the processing stages wrote: text reuse pairs, reuse buckets, shingles,
events and their memberships, narratives (counts included) and their memberships, and the spread
stage's edges, bursts and state. `run_id` columns are compared separately: an edge that a run left
unchanged may keep the run that wrote it. Exit status 1 when anything differs.
"""
from __future__ import annotations

import sqlite3
import sys

# table -> columns compared (all rows)
TABLES = {
    "text_reuse": "article_id, source_article_id, containment, jaccard, kind",
    "reuse_buckets": "band, key, article_id",
    "article_shingles": "article_id, shingles",
    "events": "id, model_id, title, first_at, last_at, article_count, outlet_count, centroid, state",
    "event_memberships": "article_id, event_id, score, method, model_id",
    "narratives": "id, label, status, article_count, outlet_count, event_count, first_seen_at, last_seen_at, "
                  "centroid, residual_centroid",
    "narrative_memberships": "narrative_id, article_id, score, method, model_id",
    "spread_edges": "kind, subject_id, from_outlet, to_outlet, edge_kind, lag_hours, weight, evidence",
    "narrative_bursts": "kind, subject_id, burst, start_day, end_day, articles",
    "spread_members": "kind, subject_id, article_id",
    "subject_outlets": "kind, subject_id, outlet, first_seen_at, first_article_id, articles",
    "subject_days": "kind, subject_id, day, outlet, articles",
    "pending": "stage, article_id",
}
RUN_IDS = {"spread_edges": "kind, subject_id, edge_kind, from_outlet, to_outlet, run_id",
           "narrative_bursts": "kind, subject_id, burst, run_id"}


def compare(old: str, new: str) -> list[str]:
    conn = sqlite3.connect(f"file:{new}?mode=ro", uri=True)
    conn.execute("ATTACH ? AS old", [f"file:{old}?mode=ro"])
    out = []
    for table, cols in TABLES.items():
        n_old = conn.execute(f"SELECT count(*) FROM old.{table}").fetchone()[0]
        n_new = conn.execute(f"SELECT count(*) FROM main.{table}").fetchone()[0]
        only_old = conn.execute(f"SELECT count(*) FROM (SELECT {cols} FROM old.{table} EXCEPT "
                                f"SELECT {cols} FROM main.{table})").fetchone()[0]
        only_new = conn.execute(f"SELECT count(*) FROM (SELECT {cols} FROM main.{table} EXCEPT "
                                f"SELECT {cols} FROM old.{table})").fetchone()[0]
        same = n_old == n_new and not only_old and not only_new
        line = f"{table}: {n_old} / {n_new} rows, {only_old} only in old, {only_new} only in new"
        if table in RUN_IDS:
            diff_run = conn.execute(f"SELECT count(*) FROM (SELECT {RUN_IDS[table]} FROM main.{table} EXCEPT "
                                    f"SELECT {RUN_IDS[table]} FROM old.{table})").fetchone()[0]
            line += f" (run_id differs on {diff_run})"
        out.append(("same  " if same else "DIFF  ") + line)
    return out


def main(argv=None) -> int:
    old, new = (argv or sys.argv[1:])[:2]
    lines = compare(old, new)
    print("\n".join(lines))
    return 0 if all(x.startswith("same") for x in lines) else 1


if __name__ == "__main__":
    sys.exit(main())
