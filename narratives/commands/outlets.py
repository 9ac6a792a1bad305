"""`narratives outlets import|list`: the outlets to crawl (crawler/outlets.py reads the TOML file)."""
from __future__ import annotations

import click

from crawler.exceptions import OutletsFileError
from narratives.common import EXIT_USAGE, database, db_argument, fail
from narratives.output import emit, output_options


@click.group()
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
    """List outlets with their article counts and address allowances (allow_addresses).

    \b
    Example:
        narratives outlets list news.db --json
    """
    from db.queries import outlets_overview

    emit(outlets_overview(database(db)), fmt)


COMMANDS = [outlets]
