"""Opening the database: one place that sets the pragmas every stage relies on."""
from __future__ import annotations

import logging
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from db.migrations import migrate

logger = logging.getLogger(__name__)


def open_db(path: str | Path, *, create: bool = True, readonly: bool = False) -> sqlite_utils.Database:
    """Open (and migrate) the database at *path*.

    WAL lets Datasette and queries read while a crawl writes; busy_timeout makes a writer
    wait for a short lock instead of failing at once.
    """
    path = Path(path)
    if not create and not path.exists():
        raise FileNotFoundError(f"database not found: {path}")
    if readonly:
        import sqlite3

        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        conn.execute("PRAGMA busy_timeout = 10000")
        return sqlite_utils.Database(conn)
    db = sqlite_utils.Database(path)
    db.execute("PRAGMA busy_timeout = 30000")
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute("PRAGMA foreign_keys = ON")
    migrate(db)
    return db


@contextmanager
def write_transaction(db: sqlite_utils.Database):
    """A transaction that takes the write lock first (BEGIN IMMEDIATE), committed on success.

    For work that reads the database and then writes what it read: in a deferred transaction the
    read pins a snapshot, and if another connection (a crawl storing pages) commits before the
    first write, SQLite answers "database is locked" at once, without waiting for busy_timeout,
    because waiting cannot make the snapshot current. Taking the lock first waits instead."""
    db.conn.commit()  # BEGIN inside an open transaction is an error: end any implicit one first
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.conn.rollback()
        raise
    db.conn.commit()


class DatabaseFullError(RuntimeError):
    """A write failed because the database reached its size limit or its disk is full."""


SQLITE_FULL = 13


def is_full_error(exc: BaseException) -> bool:
    """True for SQLite's "database or disk is full" (SQLITE_FULL), from any sqlite3 module."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF == SQLITE_FULL
    return "database or disk is full" in str(exc)


def limit_size(db: sqlite_utils.Database, max_bytes: int) -> int:
    """Cap the database file at about *max_bytes* (SQLite max_page_count) for this connection;
    a write that would grow it further fails with SQLITE_FULL and is rolled back. Returns the
    page limit in force (SQLite never lowers it below the current size)."""
    page_size = db.execute("PRAGMA page_size").fetchone()[0]
    return db.execute(f"PRAGMA max_page_count = {max(1, int(max_bytes) // page_size)}").fetchone()[0]


def schema_names(path: str | Path, *, immutable: bool = False) -> set[str]:
    """Names of the tables and views in the database file, read without writing anything
    (sqlite3.Error when it is not a readable SQLite file)."""
    import sqlite3

    conn = sqlite3.connect(f"file:{path}?{'immutable=1' if immutable else 'mode=ro'}", uri=True)
    try:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
    finally:
        conn.close()
