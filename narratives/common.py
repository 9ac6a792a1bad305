"""What the command modules share: exit codes, `fail`, opening DB, the shared arguments and options.

The click group itself is in narratives/cli.py; output formats (--json/--csv/--nl) in
narratives/output.py. Imports of the stages stay inside the functions, so `narratives --help`
loads none of them.
"""
from __future__ import annotations

import sys
from pathlib import Path

import click

from db import open_db
from db.store import UnknownOutletError

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2

# Set by `crawl --process` for its follower (`process --follow`): the pid of the crawl, which holds
# the run lock of DB on the follower's behalf. The follower must not take the lock itself (the crawl
# holds it, so it would be refused); still, only the crawl and its one follower write DB while the
# lock is held (SQLite WAL + busy_timeout serialise their write transactions), and no other crawl,
# run or process can start. Honoured only by `process --follow` that descends from that pid (the
# e2e bench, bench/e2e.py, runs crawl and follower side by side as its children and sets it too).
LOCK_HELD_ENV = "NARRATIVES_RUN_LOCK_HELD_BY"

# the command line of `narratives` in a child process (the worker's crawls, `crawl --process`'s follower, `schedule`'s runs)
NARRATIVES_CMD = [sys.executable, "-m", "narratives.cli"]


def fail(message: str, code: int = EXIT_FAILURE):
    click.secho(f"Error: {message}", fg="red", err=True)
    sys.exit(code)


def database(path: str, *, must_exist: bool = True):
    if must_exist and not Path(path).exists():
        fail(f"database {path} does not exist (create it with `narratives outlets import {path} OUTLETS.toml`"
             " or `narratives import`)", EXIT_USAGE)
    try:
        return open_db(path)
    except Exception as exc:  # not a database, locked, unreadable: say which file
        fail(f"cannot open database {path}: {exc}", EXIT_FAILURE)


db_argument = click.argument("db", type=click.Path(dir_okay=False))


model_option = click.option(
    "--model", default=None, metavar="NAME_OR_PATH",
    help="embedding model (default: $NARRATIVES_EMBED_MODEL, else the database's model, else "
         "use-multilingual-v3+all-MiniLM-L6-v2: every article in USE's 16 languages, English events by "
         "MiniLM); SHARED+ENGLISH names two spaces, one name a single space: use-multilingual-v3, "
         "use-static, all-MiniLM-L6-v2 (English only) or any sentence-transformers name or path; another "
         "model than the database's: see `switch-model`",
)


def embedder_or_exit(model, handle=None, db_path: str | None = None, *, record: bool = False):
    """The embedding model (clustering.embedding.Spaces for two spaces): --model, else
    $NARRATIVES_EMBED_MODEL, else the model the database `handle` uses (recorded by `switch-model`
    or by the first `process`), else the default. A model other than the database's is a usage
    error that names `switch-model`: vectors of two models cannot be compared. `record`: a
    database that has no model recorded records this one."""
    import os

    from clustering.embedding import load_embedder
    from clustering.embedding.spaces import spaces_of
    from clustering.errors import EmbeddingSettingError, ModelNotAvailableError
    from db.settings import EMBED_MODEL, get_setting, set_setting

    setting = get_setting(handle, EMBED_MODEL) if handle is not None else None
    vectors = [] if handle is None else [r[0] for r in handle.execute("SELECT DISTINCT model_id FROM embeddings ORDER BY 1")]
    # a model id names its model too (databases embedded before models were recorded)
    name = (model or os.environ.get("NARRATIVES_EMBED_MODEL") or (setting or {}).get("name")
            or (vectors[0] if len(vectors) == 1 else None))
    try:
        embedder = load_embedder(name)
    except (ModelNotAvailableError, EmbeddingSettingError) as exc:
        fail(str(exc), EXIT_USAGE)
    if handle is None:
        return embedder
    spaces = spaces_of(embedder)
    if setting:
        current = setting.get("space_id") or setting["model_id"]
        same = current == spaces.space_id
    else:
        current = " and ".join(vectors)
        same = not vectors or (spaces.model_id in vectors and set(vectors) <= set(spaces.model_ids))
    if not same:
        fail(f"{db_path} is embedded with {current}, not {spaces.space_id}: vectors of two models "
             f"cannot be compared. Leave out --model (and NARRATIVES_EMBED_MODEL) to use the database's model, "
             f"or change it with `narratives switch-model {db_path} {name or embedder.model_id}` "
             "(re-embeds every article and rebuilds events, narratives and watched narratives)", EXIT_USAGE)
    if record and not setting and len(vectors) <= 1:
        from clustering.embedding import default_model

        set_setting(handle, EMBED_MODEL, {"name": name or default_model(), "model_id": spaces.model_id,
                                          "space_id": spaces.space_id})
    return embedder


def judge_or_exit():
    """The configured stance judge (NARRATIVES_STANCE_MODEL), None when set to `none`."""
    from clustering.errors import ModelNotAvailableError
    from clustering.stance import load_judge

    try:
        return load_judge()
    except ModelNotAvailableError as exc:
        fail(str(exc), EXIT_USAGE)


outlet_option = click.option("--outlet", "outlet_names", multiple=True, metavar="NAME",
                             help="Crawl only this outlet (repeatable)")


set_option = click.option("-s", "--set", "settings", multiple=True, metavar="KEY=VALUE",
                          help="Override a Scrapy or NARRATIVES_ setting")


def check_outlets(db, outlet_names) -> None:
    from db.store import outlet_rows

    handle = database(db)
    try:
        rows = outlet_rows(handle, outlet_names)
    except UnknownOutletError as exc:
        fail(str(exc), EXIT_USAGE)
    finally:
        handle.close()
    if not rows:
        fail(f"no outlets in {db}: add some with `narratives outlets import {db} OUTLETS.toml`", EXIT_USAGE)


def run_lock(db, command: str):
    from crawler.runlock import RunLock

    return RunLock(db, command)
