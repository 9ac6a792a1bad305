"""`narratives crawl`, `run`, `worker` and `schedule`: crawling, once, scheduled, or on many machines.

The crawl itself is in crawler/ (runner.py: a local Scrapy crawl; distributed.py: scrapy-redis
coordinator and workers; schedule.py: the loop of `schedule`); `run` then hands new articles to
clustering/pipeline.py, as `narratives process` does.
"""
from __future__ import annotations

import os
import sys
import time

import click

from crawler.exceptions import DistributedCrawlError
from narratives.common import (EXIT_FAILURE, EXIT_OK, EXIT_USAGE, LOCK_HELD_ENV, NARRATIVES_CMD, check_outlets,
                               database, db_argument, embedder_or_exit, fail, model_option, outlet_option, run_lock,
                               set_option)


def parse_settings(pairs: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="-s/--set")
        out[key.strip()] = value
    return out


def allowance_or_exit(overrides: dict) -> tuple:
    """The address guard's global allowance (-s NARRATIVES_ALLOW_ADDRESSES, else the environment
    variable), validated, and the download handlers checked (crawler/addresses.py): a bad network,
    or a handler the guard cannot see into, exits 2 before anything starts."""
    from scrapy.settings import Settings

    from crawler.address_rules import ALLOW_SETTING, parse_networks
    from crawler.addresses import check_download_handlers
    from crawler.exceptions import AddressAllowanceError, AddressGuardError

    if ALLOW_SETTING in overrides:
        value, source = overrides[ALLOW_SETTING], f"-s {ALLOW_SETTING}"
    else:
        value, source = os.environ.get(ALLOW_SETTING, ""), f"{ALLOW_SETTING} (environment)"
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.setdict(overrides, priority="cmdline")
    try:
        check_download_handlers(settings)
        return parse_networks(value, source)
    except (AddressAllowanceError, AddressGuardError) as exc:
        fail(str(exc), EXIT_USAGE)


def say_allowance(networks: tuple) -> None:
    if networks:
        click.echo("address guard: also connecting to " + ", ".join(map(str, networks))
                   + " (NARRATIVES_ALLOW_ADDRESSES)", err=True)


def log_level(ctx) -> str:
    return "DEBUG" if ctx.obj["verbose"] > 1 else "INFO" if ctx.obj["verbose"] else "WARNING"


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
    say_allowance(allowance_or_exit(overrides))
    outcome = crawl_outlets(db, list(outlet_names), overrides, log_level=log_level(ctx), refresh=refresh)
    click.echo(format_summary(outcome.table))
    return outcome


@click.command()
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
    articles are not fetched again unless --refresh. Loopback, private, link-local and
    other non-public addresses are refused, whatever name leads there, unless allowed
    (NARRATIVES_ALLOW_ADDRESSES, or allow_addresses in the outlets file). Failures are
    recorded in the pages table with their reason; see `narratives pages DB --errors`.
    The crawl is recorded in `crawl_runs` (see `narratives runs DB`) and holds the run
    lock: while another crawl or run writes DB, it exits with code 1. For scheduled
    crawls use `narratives run`.
    With --process, `narratives process DB --follow` runs alongside under the crawl's lock,
    embedding and clustering articles while later pages are fetched, and once more at the end.
    """
    from crawler.exceptions import RunLockedError

    overrides = parse_settings(settings)
    allowance_or_exit(overrides)
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


@click.command("run")
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
    allowance_or_exit(overrides)
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
                    embedder = embedder_or_exit(model, handle, db, record=True)
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


@click.command("worker")
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
    robots.txt, AutoThrottle, each outlet's scope and the address guard (this machine's
    NARRATIVES_ALLOW_ADDRESSES, each outlet's allow_addresses) like a local crawl,
    extract articles locally and push them to Redis; the coordinator alone writes SQLite.
    Without --once the worker runs each published crawl in a child process, for ever (a
    systemd service).
    """
    from crawler.distributed import run_worker_crawl, wait_for_crawl

    overrides = parse_settings(settings)
    allowance = allowance_or_exit(overrides)
    prefix = os.environ.get("NARRATIVES_REDIS_PREFIX", "narratives")
    try:
        if once:
            crawl = wait_for_crawl(redis_url, prefix, wait)
            if crawl is None:
                fail(f"no crawl published in {redis_url} within {wait:.0f}s (start `narratives run DB --redis URL`)")
            click.echo(f"worker {os.getpid()}: joining crawl run {crawl['run_id']} ...", err=True)
            say_allowance(allowance)
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
            args = NARRATIVES_CMD + ["-v"] * ctx.obj["verbose"] + [
                "worker", "--redis", redis_url, "--once", "--wait", "0", "--max-idle", str(max_idle)]
            for pair in settings:
                args += ["-s", pair]
            subprocess.run(args, check=False)
    except DistributedCrawlError as exc:
        fail(str(exc), EXIT_USAGE)


@click.command("schedule")
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
    allowance_or_exit(parse_settings(settings))  # bad -s values are a usage error now, not in every run
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
    result = run_every(seconds, [*NARRATIVES_CMD, "run", *args], max_runs=max_runs, immediately=not wait_first,
                       on_event=lambda msg: click.echo(msg, err=True))
    click.echo(f"{result.runs} runs, {result.failed} failed")
    sys.exit(EXIT_FAILURE if result.codes and result.codes[-1] != 0 else EXIT_OK)


def start_follower(db, verbose: int):
    """`narratives process DB --follow` as a child process (its own interpreter: torch and the
    Twisted reactor stay apart); it runs while its stdin is open. One torch thread: the crawl's
    extraction workers use the other cores (clustering/embedding/sentence_transformers.py)."""
    import subprocess

    env = dict(os.environ)
    env.setdefault("NARRATIVES_EMBED_THREADS", "1")
    env[LOCK_HELD_ENV] = str(os.getpid())  # this crawl holds the run lock on the follower's behalf
    cmd = [*NARRATIVES_CMD, *(["-v"] * verbose), "process", str(db), "--follow"]
    return subprocess.Popen(cmd, stdin=subprocess.PIPE, env=env)


COMMANDS = [crawl, run_cmd, worker_cmd, schedule_cmd]
