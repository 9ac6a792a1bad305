"""`narratives switch-model`: re-embed a database with another model and rebuild what rests on the
vectors (clustering/switch_model.py)."""
from __future__ import annotations

import click

from narratives.common import EXIT_FAILURE, EXIT_USAGE, database, db_argument, fail, judge_or_exit, run_lock


@click.command("switch-model")
@db_argument
@click.argument("model", metavar="MODEL")
def switch_model(db, model):
    """Make MODEL the database's embedding model: re-embed every article with it, then rebuild
    events and narratives and re-calibrate watched narratives.

    \b
    Example (a database made with the English-only default of before):
        narratives switch-model news.db use-multilingual-v3+all-MiniLM-L6-v2

    MODEL: use-multilingual-v3+all-MiniLM-L6-v2 (the default: every article in USE's 16
    languages, English events read by all-MiniLM-L6-v2), SHARED+ENGLISH for another pair, or one
    model: use-multilingual-v3, use-static, all-MiniLM-L6-v2 (English only) or a
    sentence-transformers name or path. Narratives continue through lineage: an old narrative
    whose articles mostly land in one new narrative keeps its id, the others are recorded as
    merged or retired. A watched narrative's custom threshold is on the old model's scale, so it
    is cleared and the new model's calibrated threshold applies (set it again with `narratives
    watch threshold`). Events use the new model's event parameters. The old model's vectors are
    deleted at the end (an English space that was the old model keeps its titles and leads).
    Later commands use MODEL without being told. Interrupted, it is finished by running it again.
    """
    from clustering.embedding import load_embedder
    from clustering.errors import EmbeddingSettingError, ModelNotAvailableError
    from clustering.switch_model import switch_model as run_switch
    from crawler.exceptions import RunLockedError

    handle = database(db)
    try:
        embedder = load_embedder(model)
    except (ModelNotAvailableError, EmbeddingSettingError) as exc:
        fail(str(exc), EXIT_USAGE)
    judge = judge_or_exit()
    total = handle.execute("SELECT count(*) FROM articles").fetchone()[0]
    try:
        with run_lock(db, "switch-model"), click.progressbar(length=total, label=f"embedding with {embedder.model_id}",
                                                             file=click.get_text_stream("stderr")) as bar:
            done = [0]

            def progress(r):
                n = r.embedded + sum(r.skipped.values())
                bar.update(n - done[0])
                done[0] = n

            def judge_progress(s):
                click.echo(f"\n  stance: {s.judged} candidates judged", err=True)

            result = run_switch(handle, embedder, model, progress=progress, judge=judge, judge_progress=judge_progress)
    except RunLockedError as exc:
        fail(str(exc), EXIT_FAILURE)
    for w in result.watches:
        if w["cleared_threshold"] is not None:
            click.echo(f"watched narrative {w['name']!r}: custom threshold {w['cleared_threshold']} cleared "
                       "(old model's scale); the new model's calibrated threshold applies", err=True)
    click.echo(result.summary())


COMMANDS = [switch_model]
