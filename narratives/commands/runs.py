"""`narratives runs` and `health`: what the crawl runs recorded (db/crawl_runs.py) and the coverage
health judged from them (crawler/health.py)."""
from __future__ import annotations

import sys

import click

from narratives.common import EXIT_FAILURE, EXIT_OK, check_outlets, database, db_argument
from narratives.output import emit, output_options


@click.command("health")
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
    spikes, robots.txt changes that forbid more, fetches the address guard refused in the
    latest run, and crawl runs that keep failing. Measured in crawl runs (`narratives runs
    DB`); an outlet's first run is left out of its history. A notice names each outlet's
    articles in a language no embedding model of the database reads (stored, never processed).
    """
    from crawler.health import HealthSettings, check_health, needs_attention

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


@click.command("runs")
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


COMMANDS = [runs_cmd, health_cmd]
