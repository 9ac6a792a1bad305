"""Incremental `process` cost: 1,000 new articles into databases of 10k, 100k or more articles.

    python -m bench.incremental [--sizes 10000 100000] [--per-day 500] [--reuse-window 5000]
                                [--with-embedding] [--keep DIR] [--after DIR] [--json OUT]

Each database is built from real-derived text and vectors (bench.synth) with the project's store
functions and processed once; then 1,000 newer articles with their vectors are added and
`process` is timed (embedding excluded). `--with-embedding`: 1,000 more are added without
vectors and timed again, embedded by the real model, the worker pool started inside the timed
run as a separate `process` would. Peak RSS is recorded after each phase.

`--reuse-window W`: a text is copied only among articles within about W of each other (a news
cycle), so text reuse is as dense at 100k as at 10k; without it the database is one syndication
network, denser the bigger it is. `--keep DIR` keeps and reuses each processed database; `--after
DIR` keeps them as the timed run left them, for `python -m bench.compare_outputs OLD NEW`.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path

from bench.synth import pool_vectors, real_pool, synthetic_rows
from clustering.embedding import load_embedder
from clustering.pipeline import process
from clustering.vectors import to_blob
from crawler.extraction import content_hash
from db import open_db
from db.migrations import utcnow
from db.store import ensure_outlet, insert_articles

NEW = 1000


def add_articles(db, rows, model_id: str, dim: int, *, vectors: bool = True) -> None:
    """Store synthetic rows with the project's store functions; with vectors=False only the
    articles go in, so the next `process` embeds them."""
    now = utcnow()
    batch = []
    for row, vec, passages in rows:
        batch.append((row, vec, passages))
        if len(batch) == 2000:
            _flush(db, batch, model_id, dim, now, vectors)
            batch = []
    if batch:
        _flush(db, batch, model_id, dim, now, vectors)


def _flush(db, batch, model_id, dim, now, vectors=True):
    with db.conn:
        for row, _, _ in batch:
            ensure_outlet(db, row["outlet"], row["url"].split("/a/")[0] + "/")
        ids = insert_articles(db, [dict(row, content_hash=content_hash(row["text"]), fetched_at=now,
                                        canonical_url=row["url"], date_source="import", extractor="synthetic")
                                   for row, _, _ in batch])
        if not vectors:
            return
        db["embeddings"].insert_all(
            ({"article_id": aid, "model_id": model_id, "content_hash": content_hash(row["text"]), "dim": dim,
              "vector": to_blob(vec), "created_at": now} for aid, (row, vec, _) in zip(ids, batch)), batch_size=1000)
        db["passages"].insert_all(
            ({"article_id": aid, "model_id": model_id, "idx": i, "text": text, "vector": to_blob(v)}
             for aid, (_, _, ps) in zip(ids, batch) for i, (text, v) in enumerate(ps)), batch_size=2000)


def peak_rss_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def measure(size: int, workdir: Path, pool, docs, passages, keep: Path | None = None,
            per_day: float | None = None, after: Path | None = None, with_embedding: bool = False,
            reuse_window: int | None = None) -> dict:
    """Build and process a database of `size` articles (or reuse the one kept in `keep` by an
    earlier run of the same code), add NEW articles and time `process` on them."""
    embedder = load_embedder()
    path = workdir / f"inc-{size}.db"
    tag = f"{size}{f'-{per_day:g}perday' if per_day else ''}{f'-window{reuse_window}' if reuse_window else ''}"
    base = keep / f"inc-{tag}-processed.db" if keep else None
    # a generator, not a list: at 1M articles every row with its passage vectors is ~25 GB
    rows = synthetic_rows(size + NEW * (2 if with_embedding else 1), pool, docs, passages, per_day=per_day,
                          reuse_window=reuse_window)
    build = first = None
    rss = {"model_loaded": peak_rss_mib()}
    if base and base.exists():
        shutil.copy(base, path)
        os.sync()  # a 24 GB copy's writeback would otherwise slow the timed run's commits
        db = open_db(path)
        for _ in islice(rows, size):  # the stored ones; the next NEW rows are the same as then
            pass
    else:
        for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            stale.unlink(missing_ok=True)  # a size measured twice in one run is built afresh
        db = open_db(path)
        t0 = time.perf_counter()
        add_articles(db, islice(rows, size), embedder.model_id, docs.shape[1])
        build = round(time.perf_counter() - t0, 1)
        rss["built"] = peak_rss_mib()
        _log(f"{size}: built in {build} s")
        t0 = time.perf_counter()
        process(db, embedder)
        first = round(time.perf_counter() - t0, 1)
        rss["first_process"] = peak_rss_mib()
        _log(f"{size}: first process {first} s")
        if base:
            db.conn.close()
            shutil.copy(path, base)
            db = open_db(path)
    add_articles(db, islice(rows, NEW), embedder.model_id, docs.shape[1])
    t0 = time.perf_counter()
    result = process(db, embedder)
    inc = time.perf_counter() - t0
    assert result.embed.embedded == 0
    rss["process_1000_new"] = peak_rss_mib()
    _log(f"{size}: 1,000 new (vectors stored) {inc:.2f} s")
    embedded = None
    if with_embedding:
        add_articles(db, rows, embedder.model_id, docs.shape[1], vectors=False)
        if hasattr(embedder, "restart"):  # worker processes start within the timed run, as in a cron run
            embedder.restart()
        t0 = time.perf_counter()
        res2 = process(db, embedder)
        secs = time.perf_counter() - t0
        assert res2.embed.embedded + sum(res2.embed.skipped.values()) == NEW, res2.summary()
        rss["process_1000_new_embedded"] = peak_rss_mib()
        embedded = {"stored_before": size + NEW, "process_s": round(secs, 2), "stage_seconds": res2.timings,
                    "summary": res2.summary()}
        _log(f"{size}: 1,000 new, embedding included, {secs:.2f} s")
    if after:
        db.conn.close()
        after.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, after / f"inc-{tag}-after.db")
    return {"size": size, "reuse_window": reuse_window, "build_s": build, "first_process_s": first,
            "process_1000_new_s": round(inc, 2), "stage_seconds": result.timings, "summary": result.summary(), "with_embedding": embedded,
            "peak_rss_mib": rss}


def _log(msg: str) -> None:
    print(time.strftime("%H:%M:%S"), msg, file=sys.stderr, flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--json", type=Path)
    ap.add_argument("--per-day", type=float, default=None,
                    help="articles published per day (default: every size spread over the same two years)")
    ap.add_argument("--keep", type=Path, help="keep the processed databases here and reuse them next time "
                                              "(only valid while the processing code is unchanged)")
    ap.add_argument("--after", type=Path, help="keep the databases as the timed process left them here")
    ap.add_argument("--reuse-window", type=int, default=None,
                    help="copy a text only among articles within about this many of each other (default: "
                         "every copy identical, one syndication network)")
    ap.add_argument("--with-embedding", action="store_true",
                    help="then time 1,000 more new articles stored without vectors (embedding included)")
    args = ap.parse_args(argv)
    pool = real_pool()
    docs, passages = pool_vectors(pool)
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            r = measure(size, Path(tmp), pool, docs, passages, args.keep, args.per_day, args.after,
                        args.with_embedding, args.reuse_window)
            print(json.dumps(r), flush=True)
            out.append(r)
    if len(out) >= 2:
        print(f"ratio {out[-1]['size']}/{out[0]['size']}: {out[-1]['process_1000_new_s'] / out[0]['process_1000_new_s']:.2f}")
        if args.with_embedding:
            a, b = out[0]["with_embedding"]["process_s"], out[-1]["with_embedding"]["process_s"]
            print(f"ratio with embedding {out[-1]['size']}/{out[0]['size']}: {b / a:.2f}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
