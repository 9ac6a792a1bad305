"""EUvsDisinfo cases as a real corpus: import, process, and how discovered narratives match keywords.

    python -m bench.euvsdisinfo [--limit N] [--json OUT] [--db PATH]

The case list (../shared/data/euvsdisinfo-cknabs, read in place) becomes articles through
`narratives import`: each case is published by each of its outlets on the case date (one article
per case x outlet; no outlet: "unknown"), its text the case title (an English summary by
EUvsDisinfo), its keywords kept as labels, never text. `narratives process DB --min-words 3` then
runs every stage. Outlet lists are cleaned: '+'- or newline-separated, bare URLs and the scraper's
"Show more" marker dropped.

Reported: wall time of import and process (per stage), counts, how well narratives match keywords
(purity, inverse purity, coverage, against trivial baselines), and first-seen ties.
"""
from __future__ import annotations

import argparse
import collections
import csv
import gzip
import hashlib
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import unicodedata
from pathlib import Path

from bench.shared_data import REPO_ROOT, shared_data_dir

DATASET = "euvsdisinfo-cknabs"
UNKNOWN = "unknown"
NOT_OUTLETS = {"show more"}
_SLUG_BAD = re.compile(r"[^A-Za-z0-9_.-]+")

# Runs `narratives process` exactly as the CLI does, timing each stage of clustering.pipeline.
_PROFILED_PROCESS = r"""
import json, os, sys, time
import clustering.pipeline as p
timings = {}
def timed(name, fn):
    def wrapper(*a, **k):
        t0 = time.perf_counter()
        try:
            return fn(*a, **k)
        finally:
            timings[name] = timings.get(name, 0.0) + time.perf_counter() - t0
    return wrapper
for name in ("embed_articles", "assign_new_events", "update_narratives", "match_watches", "find_reuse", "update_spread"):
    setattr(p, name, timed(name, getattr(p, name)))
import clustering.embedding as e
e.load_embedder = timed("load_embedder", e.load_embedder)
calls = {"texts": 0, "encoded": 0}
if os.environ.get("BENCH_DEDUP_EMBED") == "1":
    # the proposed fix (clustering/embedding/sentence_transformers.py), applied in this process only: encode each distinct text once
    import numpy as np
    def embed(self, texts):
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        unique = list(dict.fromkeys(texts))
        vecs = self._encode(unique, self.precision == "bf16")
        calls["texts"] += len(texts); calls["encoded"] += len(unique)
        if len(unique) == len(texts):
            return vecs
        index = {t: i for i, t in enumerate(unique)}
        return vecs[[index[t] for t in texts]]
    e.SentenceTransformerEmbedder.embed = embed
else:
    _embed = e.SentenceTransformerEmbedder.embed
    def embed(self, texts):
        texts = list(texts)
        calls["texts"] += len(texts); calls["encoded"] += len(texts)
        return _embed(self, texts)
    e.SentenceTransformerEmbedder.embed = embed
out = sys.argv[1]
from narratives.cli import cli
try:
    cli.main(args=sys.argv[2:], prog_name="narratives", standalone_mode=False)
finally:
    with open(out, "w") as f:
        json.dump(dict(timings, texts_embedded=calls["texts"], texts_encoded=calls["encoded"]), f)
"""


def data_file() -> Path | None:
    data = shared_data_dir()
    path = data / DATASET / "posts.csv.gz" if data else None
    return path if path and path.is_file() else None


def split_multi(value: str | None) -> list[str]:
    return [x.strip() for x in re.split(r"[+\n]", value or "") if x.strip()]


def outlet_names(value: str | None) -> list[str]:
    """The outlets of a case, in order, without URLs, the "Show more" marker and duplicates."""
    names = [x for x in split_multi(value) if not re.match(r"https?://", x, re.I) and x.lower() not in NOT_OUTLETS]
    return list(dict.fromkeys(" ".join(n.split()) for n in names))


def load_cases(path: Path, limit: int | None = None) -> list[dict]:
    """Cases in file order (newest first, as the file is)."""
    cases = []
    with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            if limit is not None and len(cases) >= limit:
                break
            cases.append({"id": row["id"].strip(), "date": row["date"].strip(), "title": " ".join(row["title"].split()),
                          "keywords": list(dict.fromkeys(split_multi(row["keywords"]))),
                          "outlets": outlet_names(row["outlets"]), "languages": split_multi(row["languages"])})
    return cases


class Slugs:
    """Outlet name -> unique slug (letters, digits, '-', '_', '.'; starts alphanumeric; <= 64 chars)."""

    def __init__(self):
        self.by_name: dict[str, str] = {}
        self.taken: set[str] = {UNKNOWN}

    def __call__(self, name: str) -> str:
        if name in self.by_name:
            return self.by_name[name]
        ascii_ = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
        base = _SLUG_BAD.sub("-", ascii_.replace("@", "at").replace("&", "and")).strip("-_.").lower()
        base = re.sub(r"-{2,}", "-", base)
        digest = hashlib.sha1(name.encode()).hexdigest()[:8]
        if not base:
            base = f"outlet-{digest}"
        slug = base[:64].rstrip("-_.")
        if slug in self.taken:
            slug = f"{base[:55].rstrip('-_.')}-{digest}"
        self.taken.add(slug)
        self.by_name[name] = slug
        return slug


def case_articles(cases: list[dict], slugs: Slugs) -> list[dict]:
    """One import line per case x outlet (case title as title and text, keywords as labels)."""
    rows = []
    for case in cases:
        for name in case["outlets"] or [None]:
            slug = slugs(name) if name else UNKNOWN
            rows.append({"url": f"{case['id']}#{slug}", "outlet": slug, "title": case["title"], "text": case["title"],
                         "published_at": case["date"], "language": "en", "labels": case["keywords"]})
    return rows


def cli_cmd(*args) -> list[str]:
    return [sys.executable, "-m", "narratives.cli", *map(str, args)]


def run_timed(cmd: list[str], env: dict | None = None) -> tuple[float, str]:
    t0 = time.perf_counter()
    proc = subprocess.run([str(c) for c in cmd], cwd=REPO_ROOT, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return wall, proc.stdout.strip()


# -- keyword agreement --------------------------------------------------------------------------

def purity_scores(clusters: dict[int, list[int]], labels: dict[int, set[str]], universe: list[int]) -> dict:
    """Purity of clusters against multi-label classes (an article carries each of its labels).

    purity: per cluster, the share of members carrying its most common label; mean weighted by size.
    inverse_purity: per label, the largest share of its articles (in `universe`) inside one cluster;
    mean weighted by label size. coverage: share of `universe` in at least one cluster.
    """
    size = sum(len(m) for m in clusters.values())
    hit = 0
    for members in clusters.values():
        c = collections.Counter(lab for a in members for lab in labels.get(a, ()))
        hit += c.most_common(1)[0][1] if c else 0
    classes: dict[str, set[int]] = collections.defaultdict(set)
    for a in universe:
        for lab in labels.get(a, ()):
            classes[lab].add(a)
    cluster_sets = [set(m) for m in clusters.values()]
    by_article = collections.defaultdict(list)
    for i, m in enumerate(cluster_sets):
        for a in m:
            by_article[a].append(i)
    inv_num = inv_den = 0
    for members in classes.values():
        c = collections.Counter(i for a in members for i in by_article.get(a, ()))
        inv_num += c.most_common(1)[0][1] if c else 0
        inv_den += len(members)
    clustered = {a for m in cluster_sets for a in m}
    return {"clusters": len(clusters), "members": size,
            "purity": round(hit / size, 4) if size else None,
            "inverse_purity": round(inv_num / inv_den, 4) if inv_den else None,
            "coverage": round(len(clustered & set(universe)) / len(universe), 4) if universe else None}


def random_baseline(clusters: dict[int, list[int]], labels, universe, *, seeds: int = 5) -> dict:
    """Same cluster sizes, members drawn at random from the clustered articles (mean of a few seeds)."""
    pool = [a for m in clusters.values() for a in m]
    runs = []
    for seed in range(seeds):
        rng = random.Random(seed)
        shuffled = pool[:]
        rng.shuffle(shuffled)
        out, k = {}, 0
        for cid, m in clusters.items():
            out[cid] = shuffled[k:k + len(m)]
            k += len(m)
        runs.append(purity_scores(out, labels, universe))
    return {key: round(sum(r[key] for r in runs) / len(runs), 4) for key in ("purity", "inverse_purity")}


def keyword_agreement(db, case_of: dict[int, str]) -> dict:
    labels: dict[int, set[str]] = collections.defaultdict(set)
    for aid, label in db.execute("SELECT article_id, label FROM article_labels"):
        labels[aid].add(label)
    embedded = [r[0] for r in db.execute("SELECT DISTINCT article_id FROM embeddings ORDER BY article_id")]
    clusters: dict[int, list[int]] = collections.defaultdict(list)
    for nid, aid in db.execute("""SELECT m.narrative_id, m.article_id FROM narrative_memberships m
                                  JOIN narratives n ON n.id = m.narrative_id WHERE n.status = 'active'
                                  ORDER BY m.narrative_id, m.article_id"""):
        clusters[nid].append(aid)
    out = {"articles": purity_scores(clusters, labels, embedded)}
    if clusters:
        out["articles"]["random_same_sizes"] = random_baseline(clusters, labels, embedded)
    one = purity_scores({0: embedded}, labels, embedded) if embedded else {}
    out["articles"]["one_cluster"] = {k: one.get(k) for k in ("purity", "inverse_purity")}
    # the same counted once per case (a case published by 10 outlets weighs like one case)
    case_labels = {case_of[a]: labels.get(a, set()) for a in embedded}
    case_clusters = {nid: sorted({case_of[a] for a in m}) for nid, m in clusters.items()}
    case_universe = sorted(case_labels)
    out["cases"] = purity_scores(case_clusters, case_labels, case_universe)
    if case_clusters:
        out["cases"]["random_same_sizes"] = random_baseline(case_clusters, case_labels, case_universe)
    one = purity_scores({0: case_universe}, case_labels, case_universe) if case_universe else {}
    out["cases"]["one_cluster"] = {k: one.get(k) for k in ("purity", "inverse_purity")}
    sizes = sorted((len(m) for m in clusters.values()), reverse=True)
    out["narrative_sizes"] = {"largest": sizes[:5], "median": sizes[len(sizes) // 2] if sizes else None}
    out["top_label_examples"] = []
    for nid, members in sorted(clusters.items(), key=lambda kv: -len(kv[1]))[:8]:
        c = collections.Counter(lab for a in members for lab in labels.get(a, ()))
        label, n = c.most_common(1)[0] if c else (None, 0)
        name = db.execute("SELECT label FROM narratives WHERE id = ?", [nid]).fetchone()[0]
        out["top_label_examples"].append({"narrative": nid, "label": name, "articles": len(members),
                                          "top_keyword": label, "share": round(n / len(members), 3)})
    return out


# -- ties for first-seen --------------------------------------------------------------------------

def origin_ties(db, case_of: dict[int, str]) -> dict:
    from db.spread import spread

    ids = [r[0] for r in db.execute("SELECT id FROM narratives WHERE status = 'active' ORDER BY id")]
    tied, same_case, consistent, examples = 0, 0, True, []
    t0 = time.perf_counter()
    for nid in ids:
        s = spread(db, "narrative", nid)
        origin = s["origin"]
        firsts = [a for a in s["adopters"] if a["is_origin"]]
        if len({a["first_seen_at"] for a in firsts}) > 1 or sorted(origin) != sorted(a["outlet"] for a in firsts):
            consistent = False
        if len(origin) > 1:
            tied += 1
            cases = {case_of.get(a["first_article_id"]) for a in firsts}
            if len(cases) == 1:
                same_case += 1
            if len(examples) < 3:
                examples.append({"narrative": nid, "origin": origin, "first_seen_at": firsts[0]["first_seen_at"]})
    return {"narratives": len(ids), "with_several_origins": tied, "origins_from_one_case": same_case,
            "origin_times_equal": consistent, "spread_seconds_all": round(time.perf_counter() - t0, 2),
            "examples": examples}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, help="first N cases of the file (newest first); default all 10,892")
    ap.add_argument("--json", type=Path, help="write the results here")
    ap.add_argument("--db", type=Path, help="keep the database here (must not exist); default a temporary folder")
    ap.add_argument("--min-words", type=int, default=3)
    ap.add_argument("--dedup-embed", action="store_true",
                    help="apply the proposed embedder fix (encode each distinct text once) inside the process run only")
    args = ap.parse_args(argv)
    path = data_file()
    if path is None:
        print(f"skipped: ../shared/data/{DATASET}/posts.csv.gz not found (set NARRATIVES_SHARED_DATA)")
        return 0
    cases = load_cases(path, args.limit)
    slugs = Slugs()
    rows = case_articles(cases, slugs)
    with tempfile.TemporaryDirectory() as tmp:
        db_path = args.db or Path(tmp) / "euvsdisinfo.db"
        if db_path.exists():
            ap.error(f"{db_path} exists")
        jsonl = Path(tmp) / "cases.jsonl"
        with jsonl.open("w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        import_s, import_out = run_timed(cli_cmd("import", db_path, jsonl))
        print(f"import: {import_s:.1f}s  {import_out}", flush=True)
        stage_file = Path(tmp) / "stages.json"
        env = dict(os.environ, BENCH_DEDUP_EMBED="1" if args.dedup_embed else "0")
        process_s, process_out = run_timed([sys.executable, "-c", _PROFILED_PROCESS, stage_file,
                                            "process", db_path, "--min-words", str(args.min_words)], env=env)
        stages = {k: round(v, 2) for k, v in json.loads(stage_file.read_text()).items()}
        print(f"process: {process_s:.1f}s  {process_out}\n  stages: {stages}", flush=True)

        from db import open_db

        db = open_db(db_path)
        case_of = {aid: url.split("#")[0] for aid, url in db.execute("SELECT id, url FROM articles")}
        counts = {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                  for t in ("articles", "outlets", "events", "article_labels", "embeddings", "embed_skips", "text_reuse")}
        counts["cases"] = len(cases)
        counts["narratives_active"] = db.execute("SELECT count(*) FROM narratives WHERE status = 'active'").fetchone()[0]
        counts["articles_in_narratives"] = db.execute(
            "SELECT count(DISTINCT article_id) FROM narrative_memberships m JOIN narratives n ON n.id = m.narrative_id "
            "WHERE n.status = 'active'").fetchone()[0]
        counts["unknown_outlet_articles"] = db.execute("SELECT count(*) FROM articles WHERE outlet = ?",
                                                       [UNKNOWN]).fetchone()[0]
        counts["events_multi_article"] = db.execute("SELECT count(*) FROM events WHERE article_count > 1").fetchone()[0]
        agreement = keyword_agreement(db, case_of)
        ties = origin_ties(db, case_of)
        result = {"cases": len(cases), "cpu_cores": os.cpu_count(), "dedup_embed_patch": args.dedup_embed, "import_s": round(import_s, 1),
                  "process_s": round(process_s, 1), "process_stages_s": stages, "process_summary": process_out,
                  "counts": counts, "keyword_agreement": agreement, "origin_ties": ties,
                  "outlet_slugs": len(slugs.by_name)}
        if args.json:
            result["outlet_mapping"] = slugs.by_name
        print(json.dumps({k: v for k, v in result.items() if k != "outlet_mapping"}, indent=2, ensure_ascii=False))
        if args.json:
            args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
