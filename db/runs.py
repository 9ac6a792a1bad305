"""Stage runs: each stage records a run, so every membership row can say which run made it."""
from __future__ import annotations

import json

import sqlite_utils

from db.migrations import utcnow


def start_run(db: sqlite_utils.Database, stage: str, params: dict | None = None) -> int:
    with db.conn:
        return db["runs"].insert({"stage": stage, "started_at": utcnow(), "params": json.dumps(params or {})}).last_pk


def finish_run(db: sqlite_utils.Database, run_id: int, stats: dict | None = None) -> None:
    with db.conn:
        db["runs"].update(run_id, {"finished_at": utcnow(), "stats": json.dumps(stats or {})})


def close_interrupted(db: sqlite_utils.Database, stage: str, before_id: int) -> list[int]:
    """Runs of `stage` older than `before_id` that never finished (their process was killed):
    marked finished with stats {"interrupted": true}; returns their ids."""
    ids = [r[0] for r in db.execute("SELECT id FROM runs WHERE stage = ? AND finished_at IS NULL AND id < ?",
                                    [stage, before_id])]
    with db.conn:
        for run_id in ids:
            db["runs"].update(run_id, {"finished_at": utcnow(), "stats": json.dumps({"interrupted": True})})
    return ids
