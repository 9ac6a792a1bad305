"""Database-wide settings (the `settings` table): JSON values by key."""
from __future__ import annotations

import json

import sqlite_utils

from db.migrations import utcnow

EMBED_MODEL = "embed_model"  # {"name": as given to load_embedder, "model_id": ...}
# the English space's model whose vectors every article embedded before it came has been given
# (clustering/embed.py embed_english: the one scan a database moved to two spaces needs)
ENGLISH_SPACE = "english_space"


def get_setting(db: sqlite_utils.Database, key: str):
    row = db.execute("SELECT value FROM settings WHERE key = ?", [key]).fetchone()
    return json.loads(row[0]) if row else None


def set_setting(db: sqlite_utils.Database, key: str, value) -> None:
    with db.conn:
        db.execute("INSERT OR REPLACE INTO settings (key, value, updated_at) VALUES (?, ?, ?)",
                   [key, json.dumps(value, ensure_ascii=False), utcnow()])
