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
