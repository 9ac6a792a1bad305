"""`narratives list`, `show` and `search`: the narratives found (db/narrative_queries.py) and semantic
search over them and the articles (clustering/search.py)."""
from __future__ import annotations

import json

import click

from narratives.common import EXIT_USAGE, database, db_argument, embedder_or_exit, fail, model_option
from narratives.output import emit, output_options


@click.command("list")
@db_argument
@click.option("--all", "include_inactive", is_flag=True, help="Include merged and retired narratives")
@output_options
def list_(db, include_inactive, fmt):
    """List narratives: id, label, headline, keywords, articles, outlets, first/last seen.

    \b
    Example:
        narratives list news.db --json
    """
    from db.narrative_queries import list_narratives

    rows = list_narratives(database(db), include_inactive=include_inactive)
    emit(rows, fmt, ["id", "label", "headline", "keywords", "articles", "outlets", "events", "first_seen_at",
                     "last_seen_at"] + (["status"] if include_inactive else []), max_width=50)


@click.command()
@db_argument
@click.argument("narrative_id", type=int)
@click.option("--limit", type=click.IntRange(1), default=20, show_default=True, help="Top articles to show")
@click.option("--json", "as_json", is_flag=True, help="Output JSON")
def show(db, narrative_id, limit, as_json):
    """Show one narrative: top articles with their stance, the articles that report or debunk it,
    outlets, events, lineage.

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
    if n.get("claims"):
        click.echo("  claim (as the stance judge reads it): " + " | ".join(n["claims"]))
    click.echo("top articles (members: the articles that carry its claim):")
    emit(data["articles"], "table", ["score", "stance", "time", "outlet", "language", "event", "title"])
    if data["coverage"]:
        click.echo("\nreported or debunked by (not members):")
        emit(data["coverage"], "table", ["stance", "time", "outlet", "language", "title"])
    click.echo("\noutlets:")
    emit(data["outlets"], "table")
    click.echo("\nevents:")
    emit(data["events"], "table")
    if data["lineage"]:
        click.echo("\nlineage:")
        emit(data["lineage"], "table")


@click.command()
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
    result = run_search(handle, embedder_or_exit(model, handle, db), query, limit=limit)
    if as_json:
        click.echo(json.dumps(result, indent=2, ensure_ascii=False))
        return
    click.echo("narratives:")
    emit(result["narratives"], "table", ["score", "id", "label", "articles"])
    click.echo("\narticles:")
    emit(result["articles"], "table", ["score", "published_at", "outlet", "title"])


COMMANDS = [list_, show, search]
