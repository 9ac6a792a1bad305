"""`narratives serve DB`: browse a database in Datasette, read-only, with the project's plugin.

The plugin (datasette_plugin.py beside this module, entry point `datasette: narratives`) brings
the metadata, saved queries and narrative pages; this module only starts Datasette on one database:

    from narratives.web.server import serve
    serve("news.db", host="127.0.0.1", port=8001)      # blocks until Ctrl-C, returns 0

    python -m narratives.web.server news.db --port 8001  # the same, without the CLI

Read-only: Datasette opens every read connection with `?mode=ro` (or `?immutable=1` with
`immutable=True`, for a snapshot nothing writes to any more), and neither Datasette 0.65 nor the
plugin ever opens a write connection. A crawl or `narratives process` may write meanwhile (WAL).
The one write `serve` may do is before Datasette starts: schema migrations the database has not
had yet (every `narratives` command applies them when it opens a database), so the spread views
exist; `migrate=False` skips that.
"""
from __future__ import annotations

import asyncio
import logging
import socket
import sqlite3
import webbrowser
from pathlib import Path

from crawler.exceptions import NarrativesError
from db.connection import schema_names

logger = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8001
# Datasette settings for this project (everything else: Datasette's defaults)
SETTINGS = {
    # ad hoc SQL over a large corpus takes longer than Datasette's 1 s default
    "sql_time_limit_ms": 5000,
    "facet_time_limit_ms": 500,
}


class ServeError(NarrativesError):
    """The database cannot be served (missing, not a narrative-tracker database, unreadable)."""


def check_database(db_path: str | Path) -> Path:
    """The path, if it is a readable narrative-tracker database; else ServeError saying why."""
    path = Path(db_path)
    if not path.is_file():
        raise ServeError(f"database {path} does not exist (create it with `narratives outlets import {path} "
                         "OUTLETS.toml` or `narratives import`)")
    try:
        names = schema_names(path)
    except sqlite3.Error as exc:
        raise ServeError(f"cannot read database {path}: {exc}") from exc
    if "articles" not in names and "_migrations" not in names:
        raise ServeError(f"{path} is not a narrative-tracker database (it has no articles table)")
    return path


def apply_migrations(path: Path) -> None:
    """Apply pending schema migrations (the only write); a read-only file is served as it is."""
    from db import open_db

    try:
        open_db(path, create=False).conn.close()
    except sqlite3.OperationalError as exc:  # read-only file or directory
        logger.warning("could not bring %s up to date (%s): serving it as it is", path, exc)


def register_plugin() -> None:
    """Make sure the plugin is loaded, also when the package is not installed (e.g. run from a checkout)."""
    from datasette.plugins import pm

    import narratives.web.datasette_plugin as plugin

    if not pm.is_registered(plugin):
        pm.register(plugin, name="narratives")


def build_datasette(db_path: str | Path, *, immutable: bool = False, settings: dict | None = None):
    """A started Datasette instance serving the database read-only with the plugin (for serve() and tests)."""
    from datasette.app import Datasette

    path = check_database(db_path)
    register_plugin()
    kwargs = {"settings": dict(SETTINGS, **(settings or {}))}
    ds = Datasette(immutables=[str(path)], **kwargs) if immutable else Datasette([str(path)], **kwargs)
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(ds.invoke_startup())
    finally:
        loop.close()
    return ds


def free_port(host: str = DEFAULT_HOST) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def serve(db_path: str | Path, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, open_browser: bool = False, *,
          immutable: bool = False, migrate: bool = True) -> int:
    """Serve *db_path* in Datasette at http://HOST:PORT/ until interrupted; return the exit code (0).

    port 0 picks a free port. Raises ServeError when the database cannot be served.
    """
    import uvicorn

    path = check_database(db_path)
    if migrate and not immutable:
        apply_migrations(path)
    ds = build_datasette(path, immutable=immutable)
    if port == 0:
        port = free_port(host)
    name = next(n for n, d in ds.databases.items() if d.path and Path(d.path).resolve() == path.resolve())
    url_host = f"[{host}]" if ":" in host else host
    base = f"http://{url_host}:{port}"
    pages = f"{base}{ds.urls.database(name)}/-/narratives"
    print(f"Serving {path} read-only{' (immutable)' if immutable else ''} at {base}{ds.urls.database(name)}\n"
          f"  narrative pages: {pages}\n  press Ctrl-C to stop", flush=True)
    if open_browser:
        webbrowser.open(pages)
    try:
        uvicorn.run(ds.app(), host=host, port=port, log_level="warning", lifespan="on", workers=1)
    except KeyboardInterrupt:
        pass
    return 0


def main(argv=None) -> int:
    import argparse
    import sys

    ap = argparse.ArgumentParser(prog="python -m narratives.web.server", description=__doc__.splitlines()[0])
    ap.add_argument("db")
    ap.add_argument("--host", default=DEFAULT_HOST)
    ap.add_argument("-p", "--port", type=int, default=DEFAULT_PORT, help="0 picks a free port")
    ap.add_argument("-o", "--open", dest="open_browser", action="store_true", help="open the narrative pages")
    ap.add_argument("--immutable", action="store_true", help="the file never changes while served")
    ap.add_argument("--no-migrate", dest="migrate", action="store_false", help="never write, not even migrations")
    args = ap.parse_args(argv)
    try:
        return serve(args.db, args.host, args.port, args.open_browser, immutable=args.immutable, migrate=args.migrate)
    except ServeError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
