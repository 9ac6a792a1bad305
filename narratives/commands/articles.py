"""`narratives import`, `export`, `extract`, `articles` and `pages`: the stored articles and pages.

Import from JSONL (crawler/ingest.py), export (db/export.py), extract again from the stored HTML
(crawler/reextract.py), and the newest articles and fetched pages (db/queries.py).
"""
from __future__ import annotations

import csv
import json
import os
import sys

import click

from crawler.exceptions import ImportFileError
from db.store import UnknownOutletError
from narratives.common import EXIT_FAILURE, EXIT_USAGE, database, db_argument, fail
from narratives.output import emit, output_options


@click.command()
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


@click.command("import")
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


@click.command()
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


@click.command()
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


@click.command()
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


COMMANDS = [import_, export, extract, articles, pages]
