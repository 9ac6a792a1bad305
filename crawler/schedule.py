"""`narratives schedule`: run `narratives run` every N minutes, for users without cron or systemd.

Each run is a child process (Scrapy's reactor cannot restart, and memory goes back after each
run); runs start at multiples of the interval (every 30m: at :00 and :30 UTC), a run that
overruns skips the slots it covered, and the run lock keeps it from overlapping a run started
by anything else.
"""
from __future__ import annotations

import logging
import re
import signal
import subprocess
import time
from dataclasses import dataclass, field

from crawler.exceptions import ScheduleError

logger = logging.getLogger(__name__)

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
INTERVAL_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")


def parse_interval(text: str) -> float:
    """'30m' -> 1800.0; units s, m, h, d."""
    m = INTERVAL_RE.match(text or "")
    if not m:
        raise ScheduleError(f"interval {text!r} is not a number with a unit s, m, h or d (e.g. 30m, 1h)")
    seconds = float(m.group(1)) * UNITS[m.group(2)]
    if seconds < 1:
        raise ScheduleError(f"interval {text!r} is shorter than one second")
    return seconds


def next_slot(now: float, every: float) -> float:
    """The next multiple of *every* seconds (since the epoch) after *now*."""
    return (int(now // every) + 1) * every


@dataclass
class ScheduleResult:
    runs: int = 0
    failed: int = 0
    codes: list = field(default_factory=list)


def run_every(every: float, command: list[str], *, max_runs: int | None = None, immediately: bool = True,
              on_event=None) -> ScheduleResult:
    """Start *command* (`narratives schedule` gives the command line of `narratives run DB ...`) now
    (when *immediately*) and at every slot; stop on SIGTERM/SIGINT (the running child gets SIGTERM
    and ends gracefully) or after *max_runs*."""
    result = ScheduleResult()
    stop = {"flag": False}
    child: dict = {"proc": None}

    def on_signal(signum, frame):
        stop["flag"] = True
        if child["proc"] is not None and child["proc"].poll() is None:
            child["proc"].send_signal(signal.SIGTERM)

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    emit = on_event or (lambda msg: logger.info("%s", msg))
    try:
        due = time.time() if immediately else next_slot(time.time(), every)
        while not stop["flag"]:
            emit(f"next run at {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(due))} UTC")
            while not stop["flag"] and time.time() < due:
                time.sleep(min(0.2, max(0.0, due - time.time())))
            if stop["flag"]:
                break
            child["proc"] = subprocess.Popen(command)
            code = child["proc"].wait()
            child["proc"] = None
            result.runs += 1
            result.codes.append(code)
            if code != 0:
                result.failed += 1
            emit(f"run {result.runs} ended with exit code {code}")
            if max_runs is not None and result.runs >= max_runs:
                break
            due = next_slot(time.time(), every)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    return result
