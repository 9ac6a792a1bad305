"""`narratives spread`, `timeline`, `influence` and `report`: how a narrative spread (db/spread.py), and
the same on one HTML page to share (narratives/web/report.py)."""
from __future__ import annotations

import json
from pathlib import Path

import click

from db.spread import EDGE_LIMIT
from narratives.common import EXIT_FAILURE, EXIT_USAGE, database, db_argument, fail
from narratives.output import emit, output_options


kind_option = click.option(
    "--kind", type=click.Choice(["narrative", "event", "watch"]), default="narrative", show_default=True,
    help="What ID names: a narrative, an event or a watched narrative",
)


@click.command()
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


@click.command("spread")
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


@click.command()
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
    from narratives.web.report import ReportError, write_report
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


@click.command()
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


COMMANDS = [spread_cmd, timeline, influence, report]
