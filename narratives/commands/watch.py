"""`narratives watch add|list|show|threshold|remove`: narratives you already know, matched on every
article (clustering/watch_stage.py)."""
from __future__ import annotations

import click

from narratives.common import EXIT_USAGE, database, db_argument, embedder_or_exit, fail, judge_or_exit, model_option
from narratives.output import emit, output_options


@click.group()
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
    embedder = embedder_or_exit(model, handle, db, record=True)
    try:
        watch_id = save_watch(handle, embedder, name=name, description=description, keywords=keywords,
                              examples=examples, threshold=threshold)
    except WatchError as exc:
        fail(str(exc), EXIT_USAGE)
    result = match_watches(handle, embedder, judge=judge_or_exit())
    update_spread(handle, subjects=[("watch", watch_id)], recompute={("watch", watch_id)})
    info, rows = watch_matches(handle, watch_id, limit=1_000_000)
    _, others = watch_matches(handle, watch_id, limit=1_000_000, stances=("reports", "debunks"))
    click.echo(f"watched narrative {watch_id} {name!r}: {len(rows)} of {result.scored} articles match "
               f"(threshold {info['threshold']:.3f}); {len(others)} more report or debunk it")


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

    emit(list_watches(database(db)), fmt, ["id", "name", "threshold", "custom_threshold", "matches", "reports",
                                          "debunks", "first_seen_at", "last_seen_at", "keywords", "examples"])


@watch.command("show")
@db_argument
@click.argument("watch")
@click.option("--limit", type=click.IntRange(1), default=50, show_default=True)
@output_options
def watch_show(db, watch, limit, fmt):
    """Articles matching a watched narrative (by name or id), best first, with the passage that matched.

    Matches are the articles that carry its claim (or that the stance judge does not cover: "not
    judged"); the articles above the threshold that report or debunk it are listed after them.
    Scores are standardised per language; the table says which languages have their own
    standardisation and which (fewer than 20 articles) take the whole stream's.

    \b
    Example:
        narratives watch show news.db "West arms jihadists" --limit 20
    """
    from clustering.errors import UnknownNarrativeError
    from clustering.watch_stage import watch_matches

    handle = database(db)
    try:
        info, rows = watch_matches(handle, watch, limit=limit)
        _, others = watch_matches(handle, watch, limit=limit, stances=("reports", "debunks"))
    except UnknownNarrativeError as exc:
        fail(str(exc), EXIT_USAGE)
    columns = ["score", "stance", "published_at", "outlet", "language", "title", "passage"]
    if fmt != "table":
        emit(rows + others, fmt, columns, max_width=60)
        return
    click.echo(f"{info['name']} (threshold {info['threshold']:.3f}): {len(rows)} matches shown")
    calibration = language_note(handle, info["id"])
    if calibration:
        click.echo(calibration)
    emit(rows, fmt, columns, max_width=60)
    if others:
        click.echo(f"\nreported or debunked by ({len(others)} shown):")
        emit(others, fmt, columns, max_width=60)


def language_note(handle, watch_id: int) -> str:
    """How scores are standardised per language, one line; a language with too few articles says
    what stands in for its own standardisation."""
    from clustering.watch import MIN_LANGUAGE_ARTICLES

    row = handle.execute("SELECT model_id FROM watched_narratives WHERE id = ?", [watch_id]).fetchone()
    langs = list(handle.query("SELECT language, articles, status FROM watch_languages WHERE model_id = ? "
                              "AND language != '' ORDER BY articles DESC, language", [row[0]])) if row else []
    if not langs:
        return ""
    parts = [f"{r['language']} ({r['articles']} articles)" if r["status"] == "own" else
             f"{r['language']} ({r['articles']} articles: too few to stand alone, fewer than {MIN_LANGUAGE_ARTICLES}; "
             "on the whole stream's standardisation)" for r in langs]
    return "scores standardised per language: " + ", ".join(parts)


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


COMMANDS = [watch]
