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
@click.option("--stack", type=click.Choice(["outlet", "stance"]), default="outlet", show_default=True,
              help="Split each bucket by outlet, or by stance (carriers beside the articles that report or debunk)")
@output_options
def timeline(db, subject_id, kind, by, stack, fmt):
    """Articles per day (or week) and outlet (or stance) for one narrative.

    \b
    Example:
        narratives timeline news.db 3 --by week --csv
        narratives timeline news.db 3 --stack stance
    """
    from db.spread import UnknownSubject, stance_timeline, timeline as run_timeline

    try:
        if stack == "stance":
            rows = stance_timeline(database(db), kind, subject_id, by=by)
        else:
            rows = run_timeline(database(db), kind, subject_id, by=by)
    except UnknownSubject as exc:
        fail(str(exc), EXIT_USAGE)
    if fmt == "table":
        key = "stance" if stack == "stance" else "outlet"
        totals: dict[str, int] = {}
        for r in rows:
            totals[r["bucket"]] = totals.get(r["bucket"], 0) + r["articles"]
        peak = max(totals.values(), default=1)
        for bucket, n in totals.items():
            parts = ", ".join(f"{r[key]} {r['articles']}" for r in rows if r["bucket"] == bucket)
            click.echo(f"{bucket}  {'#' * max(1, round(30 * n / peak)):<30} {n:>4}  {parts}")
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
    """How one narrative spread: origin, adopters in order with lags, edges with evidence, bursts,
    and who reported or debunked it, when (the first debunk and its lag after the origin).

    Origin, adopters, edges and bursts come from the narrative's carriers only.

    Edges: at most --edges of each kind (copy, translation, citation, follow), the strongest first;
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
    unjudged = sorted({r["first_language"] or "unknown language" for r in data["adopters"]
                       if r["is_origin"] and r.get("first_stance") == "not judged"})
    via = sorted({r["first_stance_via"] for r in data["adopters"] if r["is_origin"] and r.get("first_stance_via")})
    click.echo(f"origin: {', '.join(data['origin']) or '(no articles)'}"
               + ("  (tie)" if len(data["origin"]) > 1 else "")
               + (f"  (stance not judged: no stance judge reads {', '.join(unjudged)})" if unjudged else "")
               + (f"  (stance read through its full translation: article {', '.join(map(str, via))})" if via else ""))
    click.echo("\nadopters (time = publication time when known, else first fetch):")
    emit(data["adopters"], "table", ["adoption_rank", "outlet", "first_seen_at", "time_source", "lag_hours", "articles",
                                     "first_title"])
    click.echo("\nedges (copy = shared text, translation = translated passages, citation = link or 'Source:' mention, "
               "follow = adoption after the origin):")
    rows = [dict(e, evidence=evidence_summary(e)) for e in data["edges"]]
    emit(rows, "table", ["edge_kind", "from_outlet", "to_outlet", "weight", "lag_hours", "evidence"])
    total = sum(data["edge_counts"].values())
    if total > len(rows):
        click.echo(f"{len(rows)} of {total} edges shown ("
                   + ", ".join(f"{n} {k}" for k, n in data["edge_counts"].items())
                   + "): the strongest of each kind; --edges 0 shows all")
    click.echo("\nbursts (active periods):")
    emit(data["bursts"], "table")
    counts = data["stance_counts"]
    if counts:
        click.echo("\nstance toward the claim (members are its carriers): "
                   + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
    for key, label in (("reported_by", "reported by (attributed, with distance)"), ("debunked_by", "debunked by")):
        if data[key]:
            click.echo(f"\n{label}:")
            emit(data[key], "table", ["outlet", "first_seen_at", "time_source", "lag_after_origin_hours", "articles",
                                      "first_title"])
    if data["first_debunk"]:
        d = data["first_debunk"]
        click.echo(f"\nfirst debunk: {d['outlet']} at {d['first_seen_at']}, "
                   f"{d['lag_after_origin_hours']} h after the origin")


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
