"""Processing while a crawl stores articles: `narratives crawl --process` (issue #6).

The crawl's extraction workers and this process share the machine's cores: articles are
embedded and clustered while later pages are still being fetched, instead of after the whole
crawl. `process` runs whenever enough new articles are queued, and once more at the end; each
run takes everything queued by then, so the batches grow when embedding falls behind.
"""
from __future__ import annotations

import logging
from collections.abc import Callable

import sqlite_utils

from clustering.pipeline import ProcessResult, process

logger = logging.getLogger(__name__)

MIN_BATCH = 128  # queued articles that start a run while the crawl goes on (small runs cost overhead)


def queued(db: sqlite_utils.Database) -> int:
    return db.execute("SELECT count(*) FROM pending WHERE stage = 'embed'").fetchone()[0]


def process_while(db: sqlite_utils.Database, embedder, crawling: Callable[[float], bool], *,
                  min_batch: int = MIN_BATCH, poll: float = 1.0, final_threads: int | None = None,
                  **kwargs) -> list[ProcessResult]:
    """Run `process` while `crawling(poll)` (which waits up to `poll` seconds) says the crawl
    goes on and `min_batch` articles are queued; then once more. Once the crawl is over, the
    embedder gets `final_threads` torch threads (the crawl's cores are free), checked after
    every embedding batch too: a run started during the crawl takes all that is queued by its
    end. Returns every run's result."""
    over = False

    def crawl_over(wait: float) -> bool:
        nonlocal over
        if not over and not crawling(wait):
            over = True
            if final_threads:
                embedder.set_threads(final_threads)
        return over

    results = []
    while not crawl_over(poll):
        if queued(db) >= min_batch:
            results.append(process(db, embedder, progress=lambda _r: crawl_over(0), **kwargs))
            logger.info("%s", results[-1].summary())
    results.append(process(db, embedder, **kwargs))
    return results


def total_timings(results: list[ProcessResult]) -> dict[str, dict[str, float]]:
    """Per stage, wall and CPU seconds summed over the runs."""
    out: dict[str, dict[str, float]] = {}
    for r in results:
        for stage, t in r.timings.items():
            acc = out.setdefault(stage, {"wall_s": 0.0, "cpu_s": 0.0})
            acc["wall_s"] += t["wall_s"]
            acc["cpu_s"] += t["cpu_s"]
    return out
