"""Compute the event-space centre of the configured embedding model (clustering.events).

    NARRATIVES_EMBED_MODEL=use-multilingual-v3 python -m bench.event_center

The centre is the mean title vector and the mean lead vector (clustering.events.article_texts) of
a reference news corpus that no events figure is scored on: FNC-1's training data
(../shared/data/fnc1-stance-train; English news of 2016-2017): every distinct headline for the
title channel, and for the lead channel each body with its first related headline (its first
headline where it has none), as an article. Written to clustering/event_centers/<model id>.json;
`EventParams.center` names it. Only the mean is kept (two vectors), never a text.

    python -m bench.event_center --lexical

writes the IDF table of the lexical event channel instead (clustering/lexical.py; any model):
the document frequency of each lower-cased word in FNC-1's article bodies, as crc32 -> IDF, to
clustering/event_centers/fnc1-lexical-idf.npz (`EventParams.lexical` names it). Numbers only.
"""
from __future__ import annotations

import argparse
import json
import sys
from datetime import date

import numpy as np

from bench import fnc1
from bench.embedding_cache import cached_embed
from clustering.embedding import load_embedder
from clustering.events import CENTERS_DIR, article_texts
from clustering.lexical import document_words, idf_from_counts, save_table

LEXICAL_TABLE = "fnc1-lexical-idf"


def write_lexical_table() -> int:
    folder = fnc1.fnc1_dir()
    if folder is None:
        print("fnc1-stance-train absent under ../shared/data", file=sys.stderr)
        return 2
    bodies, _ = fnc1.load(folder)
    df: dict[str, int] = {}
    for body in bodies.values():
        for w in document_words(body):
            df[w] = df.get(w, 0) + 1
    table, unseen = idf_from_counts(df, len(bodies))
    out = save_table(LEXICAL_TABLE, table, unseen)
    print(f"{out}: {len(table)} words of {len(bodies)} FNC-1 bodies (crc32 -> IDF); unseen word IDF {unseen:.3f}")
    return 0


def reference_articles() -> tuple[list[str], list[str]] | None:
    """(distinct headlines, leads of one article per body) from FNC-1, in a fixed order."""
    folder = fnc1.fnc1_dir()
    if folder is None:
        return None
    bodies, pairs = fnc1.load(folder)
    first: dict[int, tuple[str, str]] = {}
    for headline, body, stance in pairs:
        if body not in first or (first[body][1] == "unrelated" and stance != "unrelated"):
            first[body] = (headline, stance)
    leads = [article_texts(first[b][0], bodies[b])[1] for b in sorted(first)]
    return sorted({h for h, _, _ in pairs}), leads


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lexical", action="store_true", help="write the lexical channel's IDF table instead")
    if ap.parse_args(argv).lexical:
        return write_lexical_table()
    ref = reference_articles()
    if ref is None:
        print("fnc1-stance-train absent under ../shared/data", file=sys.stderr)
        return 2
    titles, leads = ref
    embedder = load_embedder()
    center = [cached_embed(titles).mean(axis=0), cached_embed(leads).mean(axis=0)]
    out = CENTERS_DIR / f"{embedder.model_id}.json"
    out.write_text(json.dumps({
        "model_id": embedder.model_id, "made": date.today().isoformat(),
        "source": "FNC-1 training data (fnc1-stance-train): distinct headlines / one article per body",
        "n": [len(titles), len(leads)], "channels": ["title", "lead"],
        "vectors": [[round(float(x), 7) for x in v] for v in center]}, indent=1) + "\n")
    print(f"{out}: {len(titles)} headlines, {len(leads)} articles; norms "
          f"{np.linalg.norm(center[0]):.3f} / {np.linalg.norm(center[1]):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
