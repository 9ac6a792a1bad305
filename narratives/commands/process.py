"""`narratives process`, `embed` and `events`: embedding and clustering (clustering/pipeline.py), and
the events it found (db/narrative_queries.py)."""
from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from pathlib import Path

import click

from narratives.common import (EXIT_FAILURE, LOCK_HELD_ENV, database, db_argument, embedder_or_exit, fail,
                               judge_or_exit, model_option, run_lock)
from narratives.output import emit, output_options


min_words_option = click.option(
    "--min-words", type=click.IntRange(1), default=20, show_default=True,
    help="Articles with fewer words are skipped (lower it for corpora of short claims or headlines)",
)


@click.command()
@db_argument
@model_option
@min_words_option
@click.option("--retry-skipped", is_flag=True, help="Reconsider articles skipped before (e.g. after lowering --min-words)")
def embed(db, model, min_words, retry_skipped):
    """Embed articles not yet embedded with the model (skips unchanged ones).

    \b
    Example:
        narratives embed news.db

    NARRATIVES_EMBED_PRECISION=auto|fp32|bf16 chooses the vectors' number format (auto: bf16
    where the CPU has native bf16 and it agrees with fp32, else fp32).
    """
    from clustering.embed import embed_articles

    handle = database(db)
    embedder = embedder_or_exit(model, handle, db, record=True)
    if retry_skipped:
        with handle.conn:
            handle.execute("DELETE FROM embed_skips WHERE model_id = ?", [embedder.model_id])

    def progress(r):
        click.echo(f"  {r.embedded} embedded, {sum(r.skipped.values())} skipped", err=True)

    result = embed_articles(handle, embedder, progress=progress, min_words=min_words)
    if result.mixing_note():
        click.echo(result.mixing_note(), err=True)
    click.echo(f"{result.summary()} [{embedder.model_id}]")


@click.command()
@db_argument
@model_option
@min_words_option
@click.option("--rediscover", is_flag=True, help="Run narrative discovery even when no article is new")
@click.option("--follow", is_flag=True, help="Keep processing new articles while stdin is open (used by `crawl --process`)")
@click.option("--timings", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write per-stage wall/CPU seconds and counts as JSON to this file")
def process(db, model, min_words, rediscover, follow, timings):
    """Embed, cluster events and narratives, match watched narratives (incremental).

    \b
    Example (cron-friendly, safe to re-run):
        narratives process news.db

    Only new articles are embedded and assigned to events and to the existing narratives;
    narratives are re-discovered when the corpus grew by half (or with --rediscover) and keep
    their ids; every article is scored against every watched narrative once. A run with
    nothing new changes nothing. While a crawl or run holds the run lock of DB it exits with
    code 1 (except the --follow process `crawl --process` starts, which runs under the
    crawl's lock); `narratives run` crawls and processes in one go.

    Long runs embed on every core: NARRATIVES_EMBED_WORKERS worker processes (default: the CPU
    count, at most 4; 1 = in this process).
    NARRATIVES_EMBED_PRECISION=auto|fp32|bf16 chooses the vectors' number format (auto: bf16
    where the CPU has native bf16 and it agrees with fp32, else fp32); the summary names it.
    A stance judge (NARRATIVES_STANCE_MODEL, default use-stance; `none`: off) reads each
    candidate of a narrative or watch: members are its carriers.
    """
    from clustering.pipeline import process as run_process
    from crawler.exceptions import RunLockedError

    handle = database(db)
    embedder = embedder_or_exit(model, handle, db, record=True)
    judge = judge_or_exit()

    def progress(r):
        click.echo(f"  embedded {r.embedded} articles", err=True)

    def judge_progress(s):
        click.echo(f"  stance: {s.judged} candidates judged, {s.reused} unchanged", err=True)

    try:
        with process_lock(db, follow):
            if follow:
                from clustering.follow import process_while

                # NARRATIVES_EMBED_FINAL_THREADS: torch threads once the crawl is over. Not raised by
                # default: on the shared 2-core box a second thread cost ~4x the CPU per text (BENCHMARKS.md)
                final = int(os.environ.get("NARRATIVES_EMBED_FINAL_THREADS") or 0) or None
                results = process_while(handle, embedder, stdin_open, final_threads=final,
                                        rediscover=rediscover, min_words=min_words, judge=judge)
            else:
                results = [run_process(handle, embedder, progress=progress, rediscover=rediscover,
                                       min_words=min_words, judge=judge, judge_progress=judge_progress)]
    except RunLockedError as exc:
        fail(str(exc), EXIT_FAILURE)
    for result in results:
        if result.embed.mixing_note():
            click.echo(result.embed.mixing_note(), err=True)
        if result.run_id is not None or len(results) == 1:
            click.echo(result.summary())
    if timings:
        write_timings(timings, results, embedder)


def stdin_open(timeout: float) -> bool:
    """Wait up to `timeout` s; False once stdin is closed (EOF)."""
    import select

    ready, _, _ = select.select([sys.stdin], [], [], timeout)
    return not ready or bool(os.read(sys.stdin.fileno(), 4096))


def ancestor_pids():
    pid = os.getppid()
    yield pid
    while pid > 1:
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):  # no /proc: the parent only
            return
        yield pid


def process_lock(db, follow: bool):
    held_by = os.environ.get(LOCK_HELD_ENV)
    if follow and held_by and held_by.isdigit() and int(held_by) in ancestor_pids():
        return contextlib.nullcontext()
    return run_lock(db, "process")


def write_timings(path: str, results: list, embedder) -> None:
    import resource

    from clustering.follow import total_timings

    skipped: dict[str, int] = {}
    for r in results:
        for reason, n in r.embed.skipped.items():
            skipped[reason] = skipped.get(reason, 0) + n
    Path(path).write_text(json.dumps({
        "runs": sum(r.run_id is not None for r in results), "timings": total_timings(results),
        "embedded": sum(r.embed.embedded for r in results), "passages": sum(r.embed.passages for r in results),
        "skipped": skipped, "precision": embedder.precision,
        "english_precision": getattr(getattr(embedder, "english", None), "precision", None),
        "stance": {"judged": sum(r.stance.judged for r in results), "calls": sum(r.stance.calls for r in results),
                   "reused": sum(r.stance.reused for r in results),
                   "cpu_s": round(sum(r.stance.cpu_s for r in results), 3)}, "cpu_s": time.process_time() + getattr(embedder, "worker_cpu_s", 0.0),
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


@click.command()
@db_argument
@click.option("--limit", type=click.IntRange(1), default=50, show_default=True)
@click.option("--min-articles", type=click.IntRange(1), default=2, show_default=True)
@output_options
def events(db, limit, min_articles, fmt):
    """List events (same story, days): the largest first.

    \b
    Example:
        narratives events news.db --min-articles 3
    """
    from db.narrative_queries import list_events

    emit(list_events(database(db), limit=limit, min_articles=min_articles), fmt, max_width=70)


COMMANDS = [embed, process, events]
