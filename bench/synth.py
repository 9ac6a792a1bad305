"""Large databases from real-derived text and vectors, built with the project's store functions.

A pool of real articles (giveme5w1h, SemEval English, aeb gold bodies from ../shared/data) is
embedded once (cached). Synthetic article i takes its title and paragraphs from two pool
articles and its vectors as a normalised blend of theirs plus noise, so no embedding is needed
to build 100k or 1M rows. Timestamps spread over two years; 200 outlets.

Text reuse comes in two shapes. By default every copy of a pool text is the same text, so the
whole database is one syndication network whose density grows with its size (at 100k each text
has ~100 earlier copies, at 10k ~10). With `reuse_window=W` a pool text is rewritten into a new
*version* every W articles (staggered per text; a marker word every REWRITE_EVERY words makes
every 5-word shingle belong to one version), so a text is copied only among articles within
about W of each other, like a story's news cycle, and the reuse density stays the same however
long the history grows.
"""
from __future__ import annotations

import json
import tarfile

import numpy as np

from bench.embedding_cache import cached_embed
from bench.shared_data import shared_data_dir
from clustering.passages import embed_grouped, split_passages

OUTLETS = 200
REWRITE_EVERY = 4  # a marker after every 4 words: each 5-word shingle holds one


def _version(text: str, version: int) -> str:
    words = text.split(" ")
    return " ".join(w if (k + 1) % REWRITE_EVERY else f"{w} v{version}" for k, w in enumerate(words))


def real_pool(limit: int = 1000) -> list[tuple[str, str]]:
    """(title, text) of real articles; the first lines of each corpus only, capped at `limit`."""
    data = shared_data_dir()
    if data is None:
        raise FileNotFoundError("../shared/data not found")
    pool: list[tuple[str, str]] = []
    with tarfile.open(data / "giveme5w1h-newscluster" / "news_cluster-data.tar.gz") as tar:
        for m in sorted(tar.getmembers(), key=lambda m: m.name):
            if m.isfile() and m.name.endswith(".json") and "/data/" in m.name:
                d = json.load(tar.extractfile(m))
                if len((d.get("text") or "").split()) > 80:
                    pool.append((d.get("title") or "", d["text"]))
    aeb = json.loads((data / "scrapinghub-aeb" / "ground-truth.json").read_text())
    for pid in sorted(aeb):
        body = aeb[pid]["articleBody"]
        if len(body.split()) > 80:
            pool.append((body.split(".")[0][:120], body))
    with tarfile.open(data / "semeval2025-task10-train" / "semeval2025t10-train.tar.gz") as tar:
        for m in sorted(tar.getmembers(), key=lambda m: m.name):
            if m.isfile() and "/EN/raw-documents/" in m.name and m.name.endswith(".txt"):
                raw = tar.extractfile(m).read().decode("utf-8", "replace")
                title, _, text = raw.partition("\n")
                if len(text.split()) > 80:
                    pool.append((title.strip(), text.strip()))
    return pool[:limit]


def pool_vectors(pool):
    """Doc vectors and, per pool article, its passage vectors."""
    from clustering.embed import doc_text

    docs = cached_embed([doc_text(t, x) for t, x in pool])
    passages = [split_passages(t, x)[:8] for t, x in pool]
    return docs, list(zip(passages, embed_grouped(cached_embed, passages)))


def synthetic_rows(n: int, pool, docs, passages, *, seed: int = 0, start_ts: float = 1.7e9,
                   per_day: float | None = None, reuse_window: int | None = None):
    """Yield (article_row, doc_vector, [(passage_text, vector)]) for n synthetic articles, spread
    evenly over two years, or published at `per_day` articles a day (a crawl's steady rate: a
    bigger database is a longer history, not a denser one). `reuse_window`: see the module
    docstring (None: every copy of a pool text is identical, whenever it was published)."""
    rng = np.random.default_rng(seed)
    # the phases come from their own generator: the rest of the rows is the same with or without
    phase = np.random.default_rng(seed + 1).random(len(pool))
    span = n / per_day * 86400 if per_day else 2 * 365 * 86400
    for i in range(n):
        a, b = rng.integers(0, len(pool), size=2)
        ta, xa = pool[a]
        pa, pb = " ".join(xa.split("\n")[:3]), " ".join(pool[b][1].split("\n")[:2])
        if reuse_window:
            pa = _version(pa, int(i / reuse_window + phase[a]))
            pb = _version(pb, int(i / reuse_window + phase[b]))
        text = f"{pa} {pb} [{i}]"
        noise = rng.normal(0, 0.02, size=docs.shape[1]).astype(np.float32)
        v = docs[a] + 0.5 * docs[b] + noise
        v /= np.linalg.norm(v)
        ps, pv = passages[a]
        pvecs = pv + rng.normal(0, 0.02, size=pv.shape).astype(np.float32)
        pvecs /= np.linalg.norm(pvecs, axis=1, keepdims=True)
        ts = start_ts + span * i / max(n, 1)
        published = np.datetime_as_string(np.datetime64(int(ts), "s"), unit="s") + "Z"
        row = {"url": f"https://outlet{i % OUTLETS}.example/a/{i}", "outlet": f"outlet{i % OUTLETS}",
               "title": f"{ta} ({i})", "text": text, "language": "en", "published_at": published}
        yield row, v.astype(np.float32), list(zip(ps, pvecs.astype(np.float32)))
