"""The run lock: at most one crawl/run writes a database at a time.

An advisory `flock` on ``DB.lock`` beside the database. The kernel releases it when the holder
exits, however it exits (SIGKILL and power loss included), so a crashed run never leaves a stale
lock behind; the file only carries who holds it, for the message a second run prints.
"""
from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
from pathlib import Path

from crawler.exceptions import RunLockedError
from db.migrations import utcnow

logger = logging.getLogger(__name__)


def lock_path(db_path: str | os.PathLike) -> Path:
    p = Path(db_path)
    return p.with_name(p.name + ".lock")


class RunLock:
    """``with RunLock(db, "run"):`` ... raises RunLockedError when another process holds it."""

    def __init__(self, db_path: str | os.PathLike, command: str):
        self.path = lock_path(db_path)
        self.command = command
        self.fd: int | None = None

    def holder(self) -> dict:
        try:
            return json.loads(self.path.read_text() or "{}")
        except (OSError, ValueError):
            return {}

    def acquire(self) -> "RunLock":
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            h = self.holder()
            who = (f"`narratives {h.get('command', '?')}` (pid {h.get('pid', '?')} on {h.get('host', '?')},"
                   f" since {h.get('since', '?')})") if h else "another process"
            raise RunLockedError(f"another run holds the lock {self.path}: {who}") from None
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"command": self.command, "pid": os.getpid(), "host": socket.gethostname(),
                                 "since": utcnow()}).encode())
        os.fsync(fd)
        self.fd = fd
        logger.debug("run lock %s taken", self.path)
        return self

    def release(self) -> None:
        if self.fd is None:
            return
        try:
            os.ftruncate(self.fd, 0)
        finally:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
