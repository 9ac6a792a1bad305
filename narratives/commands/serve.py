"""`narratives serve`: the database in Datasette, read-only (narratives/web/server.py starts it; the
pages are the plugin's, narratives/web/datasette_plugin.py)."""
from __future__ import annotations

import sys

import click

from narratives.common import EXIT_USAGE, db_argument, fail


@click.command("serve")
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
    from narratives.web.server import ServeError, serve

    try:
        sys.exit(serve(db, host, port, open_browser, immutable=immutable))
    except ServeError as exc:
        fail(str(exc), EXIT_USAGE)


COMMANDS = [serve_cmd]
