"""The `narratives` command: a thin layer over the stage functions. The only module that knows every package."""
from __future__ import annotations

import contextlib
import csv
import json
import logging
import os
import sys
import time
from pathlib import Path

import click

from crawler.clioutput import emit, output_options
from crawler.exceptions import DistributedCrawlError, ImportFileError, NarrativesError, OutletsFileError
from db import open_db
from db.spread import EDGE_LIMIT
from db.store import UnknownOutletError

logger = logging.getLogger("crawler.cli")

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


class QuietThirdParty(logging.Filter):
    """Scrapy resets its loggers to DEBUG when a crawl starts; keep its chatter out unless -v."""

    def __init__(self, verbose: int):
        super().__init__()
        self.min_level = logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.split(".")[0] in ("crawler", "db", "clustering"):
            return True
        return record.levelno >= self.min_level


def configure_logging(verbose: int) -> None:
    level = logging.DEBUG if verbose > 1 else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
    handler.addFilter(QuietThirdParty(verbose))
    logging.basicConfig(level=logging.WARNING, handlers=[handler], force=True)
    for name in ("crawler", "db", "clustering"):
        logging.getLogger(name).setLevel(level)
    logging.captureWarnings(True)
    logging.getLogger("py.warnings").setLevel(logging.ERROR)


def fail(message: str, code: int = EXIT_FAILURE):
    click.secho(f"Error: {message}", fg="red", err=True)
    sys.exit(code)


def database(path: str, *, must_exist: bool = True):
    if must_exist and not Path(path).exists():
        fail(f"database {path} does not exist (create it with `narratives outlets import {path} OUTLETS.toml`"
             " or `narratives import`)", EXIT_USAGE)
    try:
        return open_db(path)
    except Exception as exc:  # not a database, locked, unreadable: say which file
        fail(f"cannot open database {path}: {exc}", EXIT_FAILURE)


db_argument = click.argument("db", type=click.Path(dir_okay=False))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="narrative-tracker")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug)")
@click.pass_context
def cli(ctx, verbose):
    """Track narratives across news outlets.

    \b
    Quick start:
        narratives outlets import news.db outlets.toml
        narratives crawl news.db
        narratives process news.db
        narratives list news.db
        narratives spread news.db 1
        narratives report news.db 1 --html narrative-1.html
        narratives serve news.db
    """
    configure_logging(verbose)
    ctx.obj = {"verbose": verbose}


# -- outlets ----------------------------------------------------------------------------------


@cli.group()
def outlets():
    """Manage the outlets to crawl."""


@outlets.command("import")
@db_argument
@click.argument("file", type=click.Path(dir_okay=False))
def outlets_import(db, file):
    """Add or update outlets from a TOML FILE (all or nothing).

    \b
    Example:
        narratives outlets import news.db outlets.toml

    The format is in docs/outlets-format.md. An invalid file names the outlet and field
    at fault, exits with code 2 and writes nothing.
    """
    from crawler.outlets import load_outlets_file
    from db.store import upsert_outlets

    try:
        parsed = load_outlets_file(file)
    except OutletsFileError as exc:
        fail(str(exc), EXIT_USAGE)
    added, updated = upsert_outlets(database(db, must_exist=False), [o.as_row() for o in parsed])
    click.echo(f"{len(parsed)} outlets in {file}: {added} added, {updated} updated")


@outlets.command("list")
@db_argument
@output_options
def outlets_list(db, fmt):
    """List outlets with their article counts.

    \b
    Example:
        narratives outlets list news.db --json
    """
    from db.queries import outlets_overview

    emit(outlets_overview(database(db)), fmt)


# -- crawl / extract --------------------------------------------------------------------------


def parse_settings(pairs: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="-s/--set")
        out[key.strip()] = value
    return out


model_option = click.option(
    "--model", default=None, metavar="NAME_OR_PATH",
    help="sentence-transformers model (default: $NARRATIVES_EMBED_MODEL or the packaged all-MiniLM-L6-v2)",
)


def embedder_or_exit(model):
    from clustering.embedding import load_embedder
    from clustering.errors import EmbeddingSettingError, ModelNotAvailableError

    try:
        return load_embedder(model)
    except (ModelNotAvailableError, EmbeddingSettingError) as exc:
        fail(str(exc), EXIT_USAGE)


outlet_option = click.option("--outlet", "outlet_names", multiple=True, metavar="NAME",
                             help="Crawl only this outlet (repeatable)")
set_option = click.option("-s", "--set", "settings", multiple=True, metavar="KEY=VALUE",
                          help="Override a Scrapy or NARRATIVES_ setting")


def log_level(ctx) -> str:
    return "DEBUG" if ctx.obj["verbose"] > 1 else "INFO" if ctx.obj["verbose"] else "WARNING"


def check_outlets(db, outlet_names) -> None:
    from db.store import outlet_rows

    handle = database(db)
    try:
        rows = outlet_rows(handle, outlet_names)
    except UnknownOutletError as exc:
        fail(str(exc), EXIT_USAGE)
    finally:
        handle.close()
    if not rows:
        fail(f"no outlets in {db}: add some with `narratives outlets import {db} OUTLETS.toml`", EXIT_USAGE)


def run_lock(db, command: str):
    from crawler.runlock import RunLock

    return RunLock(db, command)


def fail_if_database_full(db, outcome) -> None:
    """Exit 1 with a clear message when the crawl stopped because DB is full (disk or NARRATIVES_DB_MAX_SIZE)."""
    from crawler.exceptions import DATABASE_FULL

    if outcome.reason == DATABASE_FULL:
        fail(f"crawl stopped: database {db} is full (disk full or NARRATIVES_DB_MAX_SIZE reached); what was"
             " stored is kept, and the next crawl fetches the rest once there is room")


def local_crawl(ctx, db, outlet_names, overrides, refresh):
    """Crawl in this process and print the per-outlet table; returns the CrawlOutcome."""
    from crawler.progress import format_summary
    from crawler.runner import crawl_outlets

    click.echo(f"crawling {'all' if not outlet_names else len(outlet_names)} outlet(s) into {db} ...", err=True)
    outcome = crawl_outlets(db, list(outlet_names), overrides, log_level=log_level(ctx), refresh=refresh)
    click.echo(format_summary(outcome.table))
    return outcome


@cli.command()
@db_argument
@outlet_option
@set_option
@click.option("--refresh", is_flag=True, help="Fetch article URLs again even when already stored")
@click.option("--process", "then_process", is_flag=True,
              help="Run `narratives process` alongside the crawl (embedding overlaps crawling), and once at the end")
@click.pass_context
def crawl(ctx, db, outlet_names, settings, refresh, then_process):
    """Crawl outlets: feeds, sitemaps and section pages -> pages and articles.

    \b
    Example:
        narratives crawl news.db --outlet northern-herald -s CONCURRENT_REQUESTS_PER_DOMAIN=2

    Runs the Scrapy spider `outlets` (robots.txt obeyed, AutoThrottle on). Already stored
    articles are not fetched again unless --refresh. Failures are recorded in the pages
    table with their reason; see `narratives pages DB --errors`. The crawl is recorded in
    `crawl_runs` (see `narratives runs DB`) and holds the run lock: while another crawl or
    run writes DB, it exits with code 1. For scheduled crawls use `narratives run`.
    With --process, `narratives process DB --follow` runs alongside under the crawl's lock,
    embedding and clustering articles while later pages are fetched, and once more at the end.
    """
    from crawler.exceptions import RunLockedError

    overrides = parse_settings(settings)
    check_outlets(db, outlet_names)
    follower_rc = 0
    try:
        with run_lock(db, "crawl"):
            # the follower runs under this crawl's lock (see LOCK_HELD_ENV) and is waited for before it is released
            follower = start_follower(db, ctx.obj["verbose"]) if then_process else None
            try:
                outcome = local_crawl(ctx, db, outlet_names, overrides, refresh)
            finally:
                if follower is not None:
                    follower.stdin.close()  # the crawl is over: one last run, then it exits
                    follower_rc = follower.wait()
    except RunLockedError as exc:
        fail(str(exc), EXIT_FAILURE)
    fail_if_database_full(db, outcome)
    if follower_rc != 0:
        fail(f"process alongside the crawl failed (exit {follower_rc})")
    if not outcome.ok:
        fail(f"crawl ended early: {outcome.reason}")


def parse_revisit(value: str | None) -> dict:
    return {} if value is None else {"NARRATIVES_REVISIT_WINDOW_HOURS": value}


@cli.command("run")
@db_argument
@outlet_option
@set_option
@click.option("--revisit-hours", type=click.FloatRange(0), default=None, metavar="H",
              help="Fetch articles published in the last H hours once more to catch revisions (default: off)")
@click.option("--no-process", is_flag=True, help="Crawl only; leave `narratives process` for later")
@click.option("--redis", "redis_url", default=None, metavar="URL",
              help="Crawl with scrapy-redis workers (`narratives worker`) through this Redis instead of locally")
@click.option("--wait-workers", type=click.FloatRange(0), default=300, show_default=True, metavar="SECONDS",
              help="With --redis: fail when no worker takes a request within this time")
@model_option
@click.pass_context
def run_cmd(ctx, db, outlet_names, settings, revisit_hours, no_process, redis_url, wait_workers, model):
    """Crawl then process, once: the command to schedule (cron, systemd timer, `narratives schedule`).

    \b
    Example (crontab, every hour):
        17 * * * *  $HOME/narrative-tracker/.venv/bin/narratives run $HOME/news/news.db

    Holds the run lock of DB: when an earlier run is still going, it says so and exits 0
    without touching DB. Each crawl is recorded in `crawl_runs` with per-outlet stats
    (`narratives runs DB`); a run killed on the way is picked up by the next one (articles
    fetched but not stored are fetched again). Only new articles are fetched: feeds, sitemaps
    and sections are asked for with conditional requests. Then `process` embeds and
    clusters what is new (skipped, without loading the model, when nothing is queued and no
    --model is given). Exit code 1 when the crawl failed or was interrupted.
    """
    from crawler.exceptions import RunLockedError

    overrides = {**parse_settings(settings), **parse_revisit(revisit_hours)}
    check_outlets(db, outlet_names)
    try:
        with run_lock(db, "run"):
            if redis_url:
                outcome = distributed_crawl(ctx, db, outlet_names, overrides, redis_url, wait_workers)
            else:
                outcome = local_crawl(ctx, db, outlet_names, overrides, refresh=False)
            click.echo(outcome.summary(), err=True)
            fail_if_database_full(db, outcome)  # processing would only find it full too
            if not outcome.ok and outcome.status == "interrupted":
                fail(f"crawl run {outcome.run_id} interrupted ({outcome.reason}); the next run picks up after it")
            summary = ""
            if not no_process:
                from clustering.pipeline import process as run_process, queued_work
                from db.crawl_runs import link_process_run

                handle = database(db)
                if model is None and not queued_work(handle):  # a quiet hour: no need to load the model
                    summary = "; process: nothing new to process"
                else:
                    embedder = embedder_or_exit(model)
                    result = run_process(handle, embedder,
                                         progress=lambda r: click.echo(f"  embedded {r.embedded} articles", err=True))
                    link_process_run(handle, outcome.run_id, result.run_id)
                    summary = "; process: " + result.summary()
    except RunLockedError as exc:
        click.echo(f"skipped: {exc}")
        sys.exit(EXIT_OK)
    click.echo(outcome.summary() + summary)
    if not outcome.ok:
        fail(f"crawl ended early: {outcome.reason}")


@cli.command("health")
@db_argument
@click.option("--outlet", "outlet_names", multiple=True, metavar="NAME", help="Only this outlet (repeatable)")
@click.option("--window", type=click.IntRange(1), default=6, show_default=True,
              help="Recent runs compared with the outlet's history")
@click.option("--min-expected", type=click.FloatRange(1), default=5.0, show_default=True,
              help="Flag a silence or drop once history predicted at least this many articles")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing unless something needs attention (for cron mail)")
@output_options
def health_cmd(db, outlet_names, window, min_expected, quiet, fmt):
    """Coverage health: outlets and feeds that stopped delivering; exit 1 when something needs attention.

    \b
    Example (in a crontab: cron mails what it prints, i.e. only problems):
        narratives health news.db --quiet

    Flags outlets whose new articles fell well below their own history, feeds and sitemaps
    silent for longer than their usual rate explains or failing run after run, error-rate
    spikes, robots.txt changes that forbid more, and crawl runs that keep failing. Measured
    in crawl runs (`narratives runs DB`); an outlet's first run is left out of its history.
    """
    from db.health import HealthSettings, check_health, needs_attention

    handle = database(db)
    if outlet_names:
        check_outlets(db, outlet_names)
    findings, checked = check_health(handle, HealthSettings(window=window, min_expected=min_expected),
                                     list(outlet_names) or None)
    rows = [f.as_row() for f in findings]
    if quiet and not needs_attention(findings):
        sys.exit(EXIT_OK)
    if fmt == "table":
        if rows:
            emit(rows, "table", ["severity", "outlet", "check", "message", "source"], max_width=110)
        flagged = {f.outlet for f in findings if f.severity == "attention" and f.outlet}
        if not checked:
            click.echo("no crawl runs yet: nothing to check")
        elif needs_attention(findings):
            click.echo(f"needs attention: {len(flagged)} of {len(checked)} outlets"
                       + ("; crawl runs keep failing" if any(f.outlet is None for f in findings) else ""))
        else:
            click.echo(f"all {len(checked)} outlets healthy" + (f" ({len(findings)} notices)" if findings else ""))
    else:
        emit(rows, fmt, ["severity", "outlet", "check", "message", "source", "details"])
    sys.exit(EXIT_FAILURE if needs_attention(findings) else EXIT_OK)


def distributed_crawl(ctx, db, outlet_names, overrides, redis_url, wait_workers):
    """Publish the crawl in Redis for `narratives worker`s and ingest what they send; returns the CrawlOutcome."""
    from crawler.distributed import coordinate_crawl
    from crawler.progress import format_summary

    def progress(stored, queued, busy):
        click.echo(f"  {stored} items stored, {queued} requests queued, {busy} workers busy", err=True)

    click.echo(f"publishing the crawl in {redis_url} for the workers; ingesting into {db} ...", err=True)
    try:
        outcome = coordinate_crawl(db, redis_url, list(outlet_names), overrides,
                                   prefix=os.environ.get("NARRATIVES_REDIS_PREFIX", "narratives"),
                                   wait_workers=wait_workers, progress=progress)
    except DistributedCrawlError as exc:
        fail(str(exc), EXIT_USAGE)
    click.echo(format_summary(outcome.table))
    return outcome


@cli.command("worker")
@click.option("--redis", "redis_url", required=True, metavar="URL", help="The Redis the coordinator publishes in")
@set_option
@click.option("--once", is_flag=True, help="Crawl one published crawl, then exit (default: serve crawl after crawl)")
@click.option("--wait", type=click.FloatRange(0), default=None, metavar="SECONDS",
              help="With --once: give up when no crawl is published within this time (default: wait forever)")
@click.option("--max-idle", type=click.FloatRange(0), default=600, show_default=True, metavar="SECONDS",
              help="Leave a crawl that gave this worker nothing to do for this long (0: stay until it closes)")
@click.pass_context
def worker_cmd(ctx, redis_url, settings, once, wait, max_idle):
    """Scale-out worker: crawl what `narratives run DB --redis URL` publishes, through scrapy-redis.

    \b
    Example (on each crawling machine; the database stays on the coordinator's):
        narratives worker --redis redis://db-host:6379/0 -s CONCURRENT_REQUESTS=64

    Workers share one request queue and duplicate filter in Redis (scrapy-redis), obey
    robots.txt, AutoThrottle and each outlet's scope like a local crawl, extract articles
    locally and push them to Redis; the coordinator alone writes SQLite. Without --once the
    worker runs each published crawl in a child process, for ever (a systemd service).
    """
    from crawler.distributed import run_worker_crawl, wait_for_crawl

    overrides = parse_settings(settings)
    prefix = os.environ.get("NARRATIVES_REDIS_PREFIX", "narratives")
    try:
        if once:
            crawl = wait_for_crawl(redis_url, prefix, wait)
            if crawl is None:
                fail(f"no crawl published in {redis_url} within {wait:.0f}s (start `narratives run DB --redis URL`)")
            click.echo(f"worker {os.getpid()}: joining crawl run {crawl['run_id']} ...", err=True)
            stats = run_worker_crawl(redis_url, prefix, overrides, log_level=log_level(ctx), max_idle=max_idle)
            requests = sum(v for k, v in stats.items() if k.startswith("narratives/") and k.endswith("/requests"))
            click.echo(f"worker {os.getpid()}: crawl run {crawl['run_id']} done: {requests} requests, "
                       f"{stats.get('item_scraped_count', 0)} items sent ({stats.get('finish_reason', 'not started')})")
            return
        import subprocess

        last = None
        while True:
            crawl = wait_for_crawl(redis_url, prefix, None)
            if crawl["run_id"] == last:  # this worker left that crawl (idle): wait for the next one
                time.sleep(5)
                continue
            last = crawl["run_id"]
            args = [sys.executable, "-m", "crawler.cli"] + ["-v"] * ctx.obj["verbose"] + [
                "worker", "--redis", redis_url, "--once", "--wait", "0", "--max-idle", str(max_idle)]
            for pair in settings:
                args += ["-s", pair]
            subprocess.run(args, check=False)
    except DistributedCrawlError as exc:
        fail(str(exc), EXIT_USAGE)


@cli.command("schedule")
@db_argument
@click.option("--every", "every", required=True, metavar="INTERVAL", help="How often: 30m, 1h, 6h, 1d (units s, m, h, d)")
@click.option("--max-runs", type=click.IntRange(1), default=None, metavar="N", help="Stop after N runs (default: never)")
@click.option("--wait-first", is_flag=True, help="Wait for the first slot instead of running at once")
@outlet_option
@set_option
@click.option("--revisit-hours", type=click.FloatRange(0), default=None, metavar="H",
              help="Passed to each run (see `narratives run --help`)")
@click.option("--no-process", is_flag=True, help="Passed to each run: crawl only")
@click.option("--redis", "redis_url", default=None, metavar="URL", help="Passed to each run: crawl with workers")
@model_option
def schedule_cmd(db, every, max_runs, wait_first, outlet_names, settings, revisit_hours, no_process, redis_url, model):
    """Run `narratives run DB` every INTERVAL, in the foreground (for machines without cron or systemd).

    \b
    Example:
        nohup narratives schedule news.db --every 30m >> schedule.log 2>&1 &

    Runs start at multiples of the interval (every 30m: :00 and :30 UTC); a run that takes
    longer skips the slots it covered. Each run is a child process holding the run lock, so
    it never overlaps a run started by cron or by hand. SIGTERM or Ctrl-C stops the loop and
    lets a running crawl end gracefully (the next run picks up after it).
    """
    from crawler.exceptions import ScheduleError
    from crawler.schedule import parse_interval, run_every

    try:
        seconds = parse_interval(every)
    except ScheduleError as exc:
        fail(str(exc), EXIT_USAGE)
    parse_settings(settings)  # bad -s values are a usage error now, not in every run
    check_outlets(db, outlet_names)
    args = [str(db)]
    for name in outlet_names:
        args += ["--outlet", name]
    for pair in settings:
        args += ["-s", pair]
    if revisit_hours is not None:
        args += ["--revisit-hours", str(revisit_hours)]
    if no_process:
        args.append("--no-process")
    if redis_url:
        args += ["--redis", redis_url]
    if model:
        args += ["--model", model]
    click.echo(f"running `narratives run {' '.join(args)}` every {every}"
               + (f", {max_runs} times" if max_runs else "") + " (Ctrl-C stops)", err=True)
    result = run_every(seconds, args, max_runs=max_runs, immediately=not wait_first,
                       on_event=lambda msg: click.echo(msg, err=True))
    click.echo(f"{result.runs} runs, {result.failed} failed")
    sys.exit(EXIT_FAILURE if result.codes and result.codes[-1] != 0 else EXIT_OK)


@cli.command("runs")
@db_argument
@click.option("--outlet", default=None, metavar="NAME", help="Per-outlet rows of this outlet")
@click.option("--limit", type=click.IntRange(1), default=20, show_default=True)
@output_options
def runs_cmd(db, outlet, limit, fmt):
    """List crawl runs, newest first: status, requests, new and updated articles, errors.

    \b
    Example:
        narratives runs news.db --outlet northern-herald --limit 48 --csv
    """
    from db.crawl_runs import list_crawl_runs

    emit(list_crawl_runs(database(db), limit=limit, outlet=outlet), fmt)


def start_follower(db, verbose: int):
    """`narratives process DB --follow` as a child process (its own interpreter: torch and the
    Twisted reactor stay apart); it runs while its stdin is open. One torch thread: the crawl's
    extraction workers use the other cores (clustering/embedding/sentence_transformers.py)."""
    import subprocess

    env = dict(os.environ)
    env.setdefault("NARRATIVES_EMBED_THREADS", "1")
    env[LOCK_HELD_ENV] = str(os.getpid())  # this crawl holds the run lock on the follower's behalf
    cmd = [sys.executable, "-m", "crawler.cli", *(["-v"] * verbose), "process", str(db), "--follow"]
    return subprocess.Popen(cmd, stdin=subprocess.PIPE, env=env)


def stdin_open(timeout: float) -> bool:
    """Wait up to `timeout` s; False once stdin is closed (EOF)."""
    import select

    ready, _, _ = select.select([sys.stdin], [], [], timeout)
    return not ready or bool(os.read(sys.stdin.fileno(), 4096))


@cli.command()
@db_argument
@click.option("--outlet", "outlet_names", multiple=True, metavar="NAME", help="Only this outlet (repeatable)")
@click.option("--workers", type=click.IntRange(1, 64), default=None, help="Worker processes (default: CPU cores)")
def extract(db, outlet_names, workers):
    """Extract articles again from stored HTML (offline; e.g. after an extractor upgrade).

    \b
    Example:
        narratives extract news.db --outlet northern-herald
    """
    from crawler.reextract import extract_pages

    handle = database(db)

    def progress(r):
        click.echo(f"  {r.pages} pages, {r.articles} articles, {r.failed} without an article", err=True)

    try:
        result = extract_pages(handle, list(outlet_names) or None, workers=workers or os.cpu_count() or 1,
                               progress=progress)
    except UnknownOutletError as exc:
        fail(str(exc), EXIT_USAGE)
    click.echo(f"extracted {result.articles} articles from {result.pages} stored pages"
               f" ({result.failed} without an article)")


# -- import / export --------------------------------------------------------------------------


@cli.command("import")
@db_argument
@click.argument("file", type=click.Path(dir_okay=False))
def import_(db, file):
    """Import articles from a JSONL FILE (one JSON object per line).

    \b
    Example:
        narratives import news.db corpus.jsonl

    Fields: url, outlet, text (required); title, published_at, language, author, html;
    labels (a list of strings kept as metadata in `article_labels`, never as text).
    Invalid lines are reported with their line number and skipped; the others are stored
    (exit code 1 when any line was rejected).
    """
    from crawler.ingest import import_jsonl

    handle = database(db, must_exist=False)

    def progress(r):
        click.echo(f"  {r.imported + r.updated} articles stored", err=True)

    try:
        result = import_jsonl(handle, file, progress=progress)
    except ImportFileError as exc:
        fail(str(exc), EXIT_USAGE)
    for lineno, reason in result.rejected[:50]:
        click.secho(f"rejected {reason}", fg="yellow", err=True)
    if len(result.rejected) > 50:
        click.secho(f"... and {len(result.rejected) - 50} more rejected lines", fg="yellow", err=True)
    click.echo(f"imported {result.imported} new, {result.updated} updated, {len(result.rejected)} rejected lines")
    if result.rejected:
        sys.exit(EXIT_FAILURE)


@cli.command()
@db_argument
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True)
@click.option("--outlet", "outlet_names", multiple=True, metavar="NAME", help="Only this outlet (repeatable)")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="Write to this file (default stdout)")
def export(db, fmt, outlet_names, output):
    """Export every stored article with its outlet, dates and text.

    \b
    Example:
        narratives export news.db --format csv -o articles.csv
    """
    from db.export import export_columns, iter_export_rows

    handle = database(db)
    out = open(output, "w", encoding="utf-8", newline="") if output else sys.stdout
    count = 0
    try:
        if fmt == "csv":
            writer = csv.DictWriter(out, fieldnames=export_columns(handle), lineterminator="\n")
            writer.writeheader()
        for row in iter_export_rows(handle, list(outlet_names) or None):
            if fmt == "csv":
                writer.writerow(row)
            else:
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    finally:
        if output:
            out.close()
    click.echo(f"exported {count} articles", err=True)


# -- read commands ----------------------------------------------------------------------------


@cli.command()
@db_argument
@click.option("--outlet", default=None, metavar="NAME", help="Only this outlet")
@click.option("--limit", type=click.IntRange(1), default=20, show_default=True)
@output_options
def articles(db, outlet, limit, fmt):
    """List the newest stored articles.

    \b
    Example:
        narratives articles news.db --outlet northern-herald --limit 5 --csv
    """
    from db.queries import recent_articles

    emit(recent_articles(database(db), outlet, limit), fmt)


@cli.command()
@db_argument
@click.option("--errors", is_flag=True, help="Only failed fetches, with their reason")
@click.option("--outlet", default=None, metavar="NAME", help="Only this outlet")
@click.option("--limit", type=click.IntRange(1), default=100, show_default=True)
@output_options
def pages(db, errors, outlet, limit, fmt):
    """List fetched pages; --errors shows failures with their reason.

    \b
    Example:
        narratives pages news.db --errors --json
    """
    from db.queries import failed_pages, recent_pages

    handle = database(db)
    rows = failed_pages(handle, outlet, limit) if errors else recent_pages(handle, outlet, limit)
    emit(rows, fmt)


# -- narratives --------------------------------------------------------------------------------


min_words_option = click.option(
    "--min-words", type=click.IntRange(1), default=20, show_default=True,
    help="Articles with fewer words are skipped (lower it for corpora of short claims or headlines)",
)


@cli.command()
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
    embedder = embedder_or_exit(model)
    if retry_skipped:
        with handle.conn:
            handle.execute("DELETE FROM embed_skips WHERE model_id = ?", [embedder.model_id])

    def progress(r):
        click.echo(f"  {r.embedded} embedded, {sum(r.skipped.values())} skipped", err=True)

    result = embed_articles(handle, embedder, progress=progress, min_words=min_words)
    if result.mixing_note():
        click.echo(result.mixing_note(), err=True)
    click.echo(f"{result.summary()} [{embedder.model_id}]")


@cli.command()
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
    count, at most 4; 1 = embed in this process), started once a run reaches 2,000 texts.
    NARRATIVES_EMBED_PRECISION=auto|fp32|bf16 chooses the vectors' number format (auto: bf16
    where the CPU has native bf16 and it agrees with fp32, else fp32); the summary names it.
    """
    from clustering.pipeline import process as run_process
    from crawler.exceptions import RunLockedError

    handle = database(db)
    embedder = embedder_or_exit(model)

    def progress(r):
        click.echo(f"  embedded {r.embedded} articles", err=True)

    try:
        with process_lock(db, follow):
            if follow:
                from clustering.follow import process_while

                # NARRATIVES_EMBED_FINAL_THREADS: torch threads once the crawl is over. Not raised by
                # default: on the shared 2-core box a second thread cost ~4x the CPU per text (BENCHMARKS.md)
                final = int(os.environ.get("NARRATIVES_EMBED_FINAL_THREADS") or 0) or None
                results = process_while(handle, embedder, stdin_open, final_threads=final,
                                        rediscover=rediscover, min_words=min_words)
            else:
                results = [run_process(handle, embedder, progress=progress, rediscover=rediscover,
                                       min_words=min_words)]
    except RunLockedError as exc:
        fail(str(exc), EXIT_FAILURE)
    for result in results:
        if result.embed.mixing_note():
            click.echo(result.embed.mixing_note(), err=True)
        if result.run_id is not None or len(results) == 1:
            click.echo(result.summary())
    if timings:
        write_timings(timings, results, embedder)


# Set by `crawl --process` for its follower (`process --follow`): the pid of the crawl, which holds
# the run lock of DB on the follower's behalf. The follower must not take the lock itself (the crawl
# holds it, so it would be refused); still, only the crawl and its one follower write DB while the
# lock is held (SQLite WAL + busy_timeout serialise their write transactions), and no other crawl,
# run or process can start. Honoured only by `process --follow` that descends from that pid (the
# e2e bench, bench/e2e.py, runs crawl and follower side by side as its children and sets it too).
LOCK_HELD_ENV = "NARRATIVES_RUN_LOCK_HELD_BY"


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
        "skipped": skipped, "precision": embedder.precision, "cpu_s": time.process_time() + getattr(embedder, "worker_cpu_s", 0.0),
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


@cli.group()
def watch():
    """Watch narratives you already know: matched on every new article."""


@watch.command("add")
@db_argument
@click.argument("name")
@click.option("--description", default="", help="One or two sentences stating the claim")
@click.option("--example", "examples", multiple=True, metavar="URL", help="URL of a stored article carrying it (repeatable)")
@click.option("--keyword", "keywords", multiple=True, metavar="K", help="A word or phrase that signals it (repeatable)")
@click.option("--threshold", type=float, default=None, help="Match threshold (default: the model's calibrated default)")
@model_option
def watch_add(db, name, description, examples, keywords, threshold, model):
    """Add (or redefine) a watched narrative and score every stored article against it.

    \b
    Example:
        narratives watch add news.db "West arms jihadists" \\
          --description "The US and NATO train and arm jihadist militants to attack Russia" \\
          --example https://outlet.example/2026/03/svr-claims --keyword Al-Tanf
    """
    from clustering.spread_stage import update_spread
    from clustering.watch_stage import WatchError, match_watches, save_watch, watch_matches

    handle = database(db)
    embedder = embedder_or_exit(model)
    try:
        watch_id = save_watch(handle, embedder, name=name, description=description, keywords=keywords,
                              examples=examples, threshold=threshold)
    except WatchError as exc:
        fail(str(exc), EXIT_USAGE)
    result = match_watches(handle, embedder)
    update_spread(handle, subjects=[("watch", watch_id)], recompute={("watch", watch_id)})
    info, rows = watch_matches(handle, watch_id, limit=1_000_000)
    click.echo(f"watched narrative {watch_id} {name!r}: {len(rows)} of {result.scored} articles match "
               f"(threshold {info['threshold']:.3f})")


@watch.command("list")
@db_argument
@output_options
def watch_list(db, fmt):
    """List watched narratives with their thresholds and match counts.

    \b
    Example:
        narratives watch list news.db --json
    """
    from clustering.watch_stage import list_watches

    emit(list_watches(database(db)), fmt, ["id", "name", "threshold", "custom_threshold", "matches", "first_seen_at",
                                          "last_seen_at", "keywords", "examples"])


@watch.command("show")
@db_argument
@click.argument("watch")
@click.option("--limit", type=click.IntRange(1), default=50, show_default=True)
@output_options
def watch_show(db, watch, limit, fmt):
    """Articles matching a watched narrative (by name or id), best first, with the passage that matched.

    \b
    Example:
        narratives watch show news.db "West arms jihadists" --limit 20
    """
    from clustering.errors import UnknownNarrativeError
    from clustering.watch_stage import watch_matches

    try:
        info, rows = watch_matches(database(db), watch, limit=limit)
    except UnknownNarrativeError as exc:
        fail(str(exc), EXIT_USAGE)
    if fmt == "table":
        click.echo(f"{info['name']} (threshold {info['threshold']:.3f}): {len(rows)} shown")
    emit(rows, fmt, ["score", "published_at", "outlet", "title", "passage"], max_width=60)


@watch.command("threshold")
@db_argument
@click.argument("watch")
@click.argument("value", required=False, type=float)
@click.option("--default", "use_default", is_flag=True, help="Go back to the default threshold")
def watch_threshold(db, watch, value, use_default):
    """Change a watched narrative's match threshold (no re-scoring needed).

    \b
    Example:
        narratives watch threshold news.db "West arms jihadists" 1.5
    """
    from clustering.errors import UnknownNarrativeError
    from clustering.spread_stage import update_spread
    from clustering.watch_stage import effective_threshold, set_threshold, watch_matches

    if (value is None) == (not use_default):
        fail("give a threshold VALUE or --default", EXIT_USAGE)
    handle = database(db)
    try:
        row = set_threshold(handle, watch, None if use_default else value)
    except UnknownNarrativeError as exc:
        fail(str(exc), EXIT_USAGE)
    # its members changed: some may have left
    update_spread(handle, subjects=[("watch", row["id"])], recompute={("watch", row["id"])})
    _, rows = watch_matches(handle, row["id"], limit=1_000_000)
    click.echo(f"{row['name']}: threshold {effective_threshold(row):.3f}, {len(rows)} matching articles")


@watch.command("remove")
@db_argument
@click.argument("watch")
def watch_remove(db, watch):
    """Stop watching a narrative (its scores are deleted).

    \b
    Example:
        narratives watch remove news.db "West arms jihadists"
    """
    from clustering.errors import UnknownNarrativeError
    from clustering.watch_stage import remove_watch

    try:
        remove_watch(database(db), watch)
    except UnknownNarrativeError as exc:
        fail(str(exc), EXIT_USAGE)
    click.echo(f"removed {watch}")


@cli.command("serve")
@db_argument
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on")
@click.option("-p", "--port", type=int, default=8001, show_default=True, help="0 picks a free port")
@click.option("-o", "--open", "open_browser", is_flag=True, help="Open the narrative pages in a browser")
@click.option("--immutable", is_flag=True, help="The file never changes while served (faster)")
def serve_cmd(db, host, port, open_browser, immutable):
    """Browse the database in Datasette (read-only), with narrative pages and charts.

    \b
    Example:
        narratives serve news.db            # then open http://127.0.0.1:8001/news/-/narratives

    Pages: /DB/-/narratives (index), /DB/-/narrative/ID, /DB/-/event/ID, /DB/-/watch/ID with a
    timeline chart, a spread graph and the articles; saved queries: narrative timeline, spread
    path, outlet leaderboard, article search, recurring narratives. `datasette DB` loads the
    same plugin.
    """
    from crawler.serve import ServeError, serve

    try:
        sys.exit(serve(db, host, port, open_browser, immutable=immutable))
    except ServeError as exc:
        fail(str(exc), EXIT_USAGE)


kind_option = click.option(
    "--kind", type=click.Choice(["narrative", "event", "watch"]), default="narrative", show_default=True,
    help="What ID names: a narrative, an event or a watched narrative",
)


@cli.command()
@db_argument
@click.argument("subject_id", metavar="ID", type=int)
@kind_option
@click.option("--by", type=click.Choice(["day", "week"]), default="day", show_default=True)
@output_options
def timeline(db, subject_id, kind, by, fmt):
    """Articles per day (or week) and outlet for one narrative.

    \b
    Example:
        narratives timeline news.db 3 --by week --csv
    """
    from db.spread import UnknownSubject, timeline as run_timeline

    try:
        rows = run_timeline(database(db), kind, subject_id, by=by)
    except UnknownSubject as exc:
        fail(str(exc), EXIT_USAGE)
    if fmt == "table":
        totals: dict[str, int] = {}
        for r in rows:
            totals[r["bucket"]] = totals.get(r["bucket"], 0) + r["articles"]
        peak = max(totals.values(), default=1)
        for bucket, n in totals.items():
            outlets = ", ".join(f"{r['outlet']} {r['articles']}" for r in rows if r["bucket"] == bucket)
            click.echo(f"{bucket}  {'#' * max(1, round(30 * n / peak)):<30} {n:>4}  {outlets}")
        click.echo(f"{sum(totals.values())} articles in {len(totals)} {by}s")
        return
    emit(rows, fmt)


@cli.command("spread")
@db_argument
@click.argument("subject_id", metavar="ID", type=int)
@kind_option
@click.option("--edges", "edge_limit", type=click.IntRange(min=0), default=EDGE_LIMIT, show_default=True,
              help="Edges of each kind to show, the strongest (most article pairs) first; 0 = all")
@click.option("--json", "as_json", is_flag=True, help="Output JSON")
def spread_cmd(db, subject_id, kind, edge_limit, as_json):
    """How one narrative spread: origin, adopters in order with lags, edges with evidence, bursts.

    Edges: at most --edges of each kind (copy, citation, follow), the strongest first;
    the totals are printed (and under "edge_counts" in --json).

    \b
    Example:
        narratives spread news.db 3
        narratives spread news.db 12 --kind event --json
        narratives spread news.db 3 --edges 0 --json > all-edges.json
    """
    from db.spread import UnknownSubject, evidence_summary, spread as run_spread

    try:
        data = run_spread(database(db), kind, subject_id, edges_per_kind=edge_limit or None)
    except UnknownSubject as exc:
        fail(str(exc), EXIT_USAGE)
    if as_json:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    subject = data["subject"]
    click.echo(f"{kind} {subject['id']}: {subject['name']}")
    click.echo(f"origin: {', '.join(data['origin']) or '(no articles)'}"
               + ("  (tie)" if len(data["origin"]) > 1 else ""))
    click.echo("\nadopters (time = publication time when known, else first fetch):")
    emit(data["adopters"], "table", ["adoption_rank", "outlet", "first_seen_at", "time_source", "lag_hours", "articles",
                                     "first_title"])
    click.echo("\nedges (copy = shared text, citation = link or 'Source:' mention, follow = adoption after the origin):")
    rows = [dict(e, evidence=evidence_summary(e)) for e in data["edges"]]
    emit(rows, "table", ["edge_kind", "from_outlet", "to_outlet", "weight", "lag_hours", "evidence"])
    total = sum(data["edge_counts"].values())
    if total > len(rows):
        click.echo(f"{len(rows)} of {total} edges shown ("
                   + ", ".join(f"{n} {k}" for k, n in data["edge_counts"].items())
                   + "): the strongest of each kind; --edges 0 shows all")
    click.echo("\nbursts (active periods):")
    emit(data["bursts"], "table")


@cli.command()
@db_argument
@click.argument("subject_id", metavar="ID", type=int)
@kind_option
@click.option("--html", "html_file", required=True, type=click.Path(dir_okay=False, writable=True),
              help="Write the report to this HTML file (replaced if it exists)")
@click.option("--by", type=click.Choice(["day", "week"]), default=None,
              help="Timeline buckets  [default: week when the articles span over 180 days, else day]")
def report(db, subject_id, kind, html_file, by):
    """One narrative on one self-contained HTML page to share.

    Title, keywords, headline, origin (ties shown as ties), adopters with lags, the timeline chart
    and spread graph of `narratives serve`, edges with evidence, bursts and the article list.
    Everything is inlined: the file opens from disk, offline, and loads nothing from the network.

    \b
    Example:
        narratives report news.db 3 --html narrative-3.html
        narratives report news.db 12 --kind event --by week --html event-12.html
    """
    from db.report import ReportError, write_report
    from db.spread import UnknownSubject

    try:
        data = write_report(database(db), kind, subject_id, html_file, by=by, database_name=Path(db).name)
    except UnknownSubject as exc:
        fail(str(exc), EXIT_USAGE)
    except ReportError as exc:
        fail(str(exc), EXIT_FAILURE)
    buckets = len(data["chart"]["buckets"])
    click.echo(f"wrote {html_file}: {kind} {subject_id}, {data['article_total']} articles, "
               f"{len(data['adopters'])} outlets, {buckets} {data['bucket']}{'' if buckets == 1 else 's'}")


@cli.command()
@db_argument
@output_options
def influence(db, fmt):
    """Which outlets originate narratives, which amplify, who is copied and cited.

    Origins and adoptions are those `narratives process` last counted for each active narrative.

    \b
    Example:
        narratives influence news.db --csv
    """
    from db.spread import influence as run_influence

    emit(run_influence(database(db)), fmt)


@cli.command("list")
@db_argument
@click.option("--all", "include_inactive", is_flag=True, help="Include merged and retired narratives")
@output_options
def list_(db, include_inactive, fmt):
    """List narratives: id, label, keywords, articles, outlets, first/last seen.

    \b
    Example:
        narratives list news.db --json
    """
    from db.narrative_queries import list_narratives

    rows = list_narratives(database(db), include_inactive=include_inactive)
    emit(rows, fmt, ["id", "label", "keywords", "articles", "outlets", "events", "first_seen_at", "last_seen_at"]
         + (["status"] if include_inactive else []), max_width=50)


@cli.command()
@db_argument
@click.argument("narrative_id", type=int)
@click.option("--limit", type=click.IntRange(1), default=20, show_default=True, help="Top articles to show")
@click.option("--json", "as_json", is_flag=True, help="Output JSON")
def show(db, narrative_id, limit, as_json):
    """Show one narrative: top articles, outlets, events, lineage.

    \b
    Example:
        narratives show news.db 3 --limit 10
    """
    from db.narrative_queries import UnknownNarrative, show_narrative

    try:
        data = show_narrative(database(db), narrative_id, limit=limit)
    except UnknownNarrative as exc:
        fail(str(exc), EXIT_USAGE)
    if as_json:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))
        return
    n = data["narrative"]
    click.echo(f"narrative {n['id']}: {n['label']}  [{n['status']}]")
    click.echo(f"  keywords: {', '.join(n['keywords'])}")
    click.echo(f"  headline: {n['headline']}")
    click.echo(f"  {n['article_count']} articles, {n['outlet_count']} outlets, {n['event_count']} events, "
               f"{n['first_seen_at']} .. {n['last_seen_at']}\n")
    click.echo("top articles:")
    emit(data["articles"], "table", ["score", "time", "outlet", "event", "title"])
    click.echo("\noutlets:")
    emit(data["outlets"], "table")
    click.echo("\nevents:")
    emit(data["events"], "table")
    if data["lineage"]:
        click.echo("\nlineage:")
        emit(data["lineage"], "table")


@cli.command()
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


@cli.command()
@db_argument
@click.argument("query")
@click.option("--limit", type=click.IntRange(1), default=10, show_default=True)
@model_option
@click.option("--json", "as_json", is_flag=True, help="Output JSON")
def search(db, query, limit, model, as_json):
    """Semantic search over articles and narratives.

    \b
    Example:
        narratives search news.db "the West trains militants to attack Russia"
    """
    from clustering.search import search as run_search

    handle = database(db)
    result = run_search(handle, embedder_or_exit(model), query, limit=limit)
    if as_json:
        click.echo(json.dumps(result, indent=2, ensure_ascii=False))
        return
    click.echo("narratives:")
    emit(result["narratives"], "table", ["score", "id", "label", "articles"])
    click.echo("\narticles:")
    emit(result["articles"], "table", ["score", "published_at", "outlet", "title"])


def main():
    try:
        cli(standalone_mode=True)
    except NarrativesError as exc:  # a stage raised a named error the command did not expect
        fail(str(exc))


if __name__ == "__main__":
    main()
