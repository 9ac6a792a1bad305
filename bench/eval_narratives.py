"""Narrative discovery benchmark: demo per-narrative F1 (gold events and none), SemEval BCubed with
baselines, timing on 1k/10k synthetic-from-real articles. `python -m bench.eval_narratives [--json OUT]`."""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from bench.shared_data import shared_data_dir, unpacked
from clustering.narratives import DocInfo
from clustering.passages import split_passages

REPO = Path(__file__).resolve().parent.parent


def demo_docs(with_events: bool = True, languages="model") -> tuple[list[DocInfo], dict[str, set[str]], dict]:
    """(docs, gold narrative id -> article ids, ground truth) of the demo web, text as served; the
    articles in `languages` only (default: those the configured model reads; None: all)."""
    from bench.embedding_cache import configured_languages
    from demo.model import LINK_RE, READMORE_RE, load_content

    languages = configured_languages() if languages == "model" else languages
    content = load_content()
    gt = json.loads((REPO / "demo" / "ground_truth.json").read_text("utf-8"))
    by_id = content.by_id
    docs = []
    for a in sorted(content.readable(languages), key=lambda a: (a.published, a.id)):
        paras = []
        for p in a.paragraphs:
            m = READMORE_RE.match(p)
            paras.append(f"Read more: {by_id[m.group(1)].title}" if m else LINK_RE.sub(r"\2", p))
        docs.append(DocInfo(a.id, a.title, "\n\n".join(paras), a.outlet, a.event if with_events else None,
                            a.published_at, a.language))
    kept = {d.article_id for d in docs}
    gold: dict[str, set[str]] = {n["id"]: set(n["articles"]) & kept for n in gt["narratives"]}
    return docs, gold, gt


def semeval_docs(lang: str = "EN") -> tuple[list[DocInfo], list[str]] | None:
    """(docs, first gold narrative per doc) of SemEval-2025 Task 10 training data, or None if absent."""
    base = shared_data_dir()
    if base is None:
        return None
    archive = base / "semeval2025-task10-train" / "semeval2025t10-train.tar.gz"
    if not archive.exists():
        return None
    root = unpacked(archive) / "semeval2025t10" / "training_data" / lang
    docs, labels = [], []
    for line in (root / "subtask-2-annotations.txt").read_text("utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) < 2:
            continue
        fname, narr = parts[0], parts[1].split(";")[0].strip()
        raw = (root / "raw-documents" / fname).read_text("utf-8")
        title, _, body = raw.partition("\n")
        docs.append(DocInfo(fname, title.strip(), body.strip(), None, None, None))
        labels.append(narr)
    order = sorted(range(len(docs)), key=lambda i: docs[i].article_id)
    return [docs[i] for i in order], [labels[i] for i in order]


def passages_of(docs: list[DocInfo]) -> tuple[list[str], np.ndarray]:
    texts, index = [], []
    for i, d in enumerate(docs):
        for p in split_passages(d.title, d.text):
            texts.append(p)
            index.append(i)
    return texts, np.asarray(index, dtype=np.int64)


def embed_passages(docs: list[DocInfo]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    from bench.embedding_cache import cached_embed

    texts, index = passages_of(docs)
    return cached_embed(texts), index, texts


# ---------------------------------------------------------------------------------------------
def bcubed(pred: list, gold: list) -> tuple[float, float, float]:
    """BCubed precision, recall, F1 of a flat clustering `pred` against labels `gold`."""
    from collections import Counter

    pc, gc = Counter(pred), Counter(gold)
    both = Counter(zip(pred, gold))
    n = len(pred)
    p = sum(both[(a, b)] / pc[a] for a, b in zip(pred, gold)) / n
    r = sum(both[(a, b)] / gc[b] for a, b in zip(pred, gold)) / n
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def flat_labels(docs: list[DocInfo], clusters) -> list[str]:
    """Each doc's best-scoring narrative; docs in none are singletons."""
    best: dict[str, tuple[float, int]] = {}
    for k, c in enumerate(clusters):
        for a, s in c.members.items():
            if a not in best or s > best[a][0]:
                best[a] = (s, k)
    return [f"n{best[d.article_id][1]}" if d.article_id in best else f"s:{d.article_id}" for d in docs]


def shipped_carrier(vecs: np.ndarray, index: np.ndarray, n_docs: int, languages=None):
    """Narrative-carrier logits from the shipped model (None without one), with each doc's
    language offset as the narrative stage adds it (`languages`: one per doc)."""
    from clustering.carrier import load_carrier
    from clustering.embedding import load_embedder

    model = load_carrier(load_embedder().model_id)
    return model.doc_scores(vecs, index, n_docs, languages) if model else None


def judge_keep(judge, docs: list[DocInfo], texts: list[str]):
    """discover_narratives' `keep` with a stance judge, as the narrative stage runs it (clustering/
    narrative_stage.py): each cluster's members judged against its claim passages (distinct texts,
    the first 3), only carriers kept. Verdicts come from the benchmark cache."""
    from bench.stance_cache import cached_judge
    from clustering.narrative_stage import CLAIMS, distinct
    from clustering.stance_stage import MAX_CLAIMS, pick

    by_id = {d.article_id: d for d in docs}

    def keep(clusters):
        out = []
        for c in clusters:
            c.claims = distinct([texts[i] for i in c.claim_passages])[:CLAIMS]
            claims = c.claims[:MAX_CLAIMS]
            members = sorted(c.members)
            verdicts = cached_judge(judge, [(cl, by_id[a].text, by_id[a].title) for a in members for cl in claims])
            out.append({a for k, a in enumerate(members)
                        if pick(verdicts[k * len(claims):(k + 1) * len(claims)]).stance == "carries"})
        return out
    return keep


def demo_scores(params=None, with_events: bool = True, with_carrier: bool = True, judge=None) -> dict:
    from clustering.narratives import discover_narratives

    docs, gold, _ = demo_docs(with_events)
    vecs, index, texts = embed_passages(docs)
    carrier = shipped_carrier(vecs, index, len(docs), [d.language for d in docs]) if with_carrier else None
    t0 = time.perf_counter()
    keep = judge_keep(judge, docs, texts) if judge is not None else None
    clusters = discover_narratives(docs, vecs, index, params, carrier=carrier, keep=keep)
    elapsed = time.perf_counter() - t0
    rows = {}
    for nid, members in sorted(gold.items()):
        best = (0.0, 0.0, 0.0, None)
        for k, c in enumerate(clusters):
            found = set(c.members)
            tp = len(found & members)
            if tp:
                p, r = tp / len(found), tp / len(members)
                f = 2 * p * r / (p + r)
                if f > best[2]:
                    best = (p, r, f, k)
        rows[nid] = {"precision": round(best[0], 4), "recall": round(best[1], 4), "f1": round(best[2], 4),
                     "cluster": best[3], "headline": clusters[best[3]].headline if best[3] is not None else None,
                     "keywords": clusters[best[3]].keywords if best[3] is not None else None}
    return {"narratives": rows, "min_f1": min(r["f1"] for r in rows.values()), "clusters": len(clusters),
            "seconds": round(elapsed, 3)}


def oof_carrier(vecs: np.ndarray, index: np.ndarray, labels: list[str]) -> np.ndarray:
    """Out-of-fold narrative-carrier logits: the shipped model was trained on these documents."""
    from bench.train_carrier import cv_scores
    from clustering.carrier import features

    x = np.array([features(vecs[index == i]) for i in range(len(labels))])
    return cv_scores(x, np.array([l != "Other" for l in labels]), 1.0)


def semeval_scores(params=None, subset: list[int] | None = None, gates=("default",)) -> dict | None:
    """BCubed on SemEval with the narrative-carrier gate ("default": the shipped one, None: off,
    or a logit), scored with out-of-fold carrier scores; several `gates` -> {str(gate): result}."""
    from dataclasses import replace

    from clustering.narratives import DEFAULT_PARAMS, discover_narratives

    loaded = semeval_docs()
    if loaded is None:
        return None
    docs, labels = loaded
    if subset is not None:
        docs, labels = [docs[i] for i in subset], [labels[i] for i in subset]
    vecs, index, _ = embed_passages(docs)
    carrier = oof_carrier(vecs, index, labels) if any(g is not None for g in gates) else None
    out = {}
    for gate in gates:
        p = params or DEFAULT_PARAMS
        if gate not in (None, "default"):
            p = replace(p, carrier_gate=gate)
        t0 = time.perf_counter()
        clusters = discover_narratives(docs, vecs, index, p, carrier=None if gate is None else carrier)
        elapsed = time.perf_counter() - t0
        pr, r, f = bcubed(flat_labels(docs, clusters), labels)
        out[str(gate)] = {"docs": len(docs), "clusters": len(clusters), "bcubed_p": round(pr, 4),
                          "bcubed_r": round(r, 4), "bcubed_f1": round(f, 4), "seconds": round(elapsed, 3)}
    return out if len(gates) > 1 else out[str(gates[0])]


def semeval_baselines() -> dict | None:
    from sklearn.cluster import AgglomerativeClustering, KMeans

    loaded = semeval_docs()
    if loaded is None:
        return None
    docs, labels = loaded
    vecs, index, _ = embed_passages(docs)
    dv = np.zeros((len(docs), vecs.shape[1]))
    np.add.at(dv, index, vecs)
    dv /= np.linalg.norm(dv, axis=1, keepdims=True)
    k = len(set(labels))
    out = {}
    for name, pred in [("all_in_one", [0] * len(docs)), ("singletons", list(range(len(docs)))),
                       (f"kmeans_k{k}", KMeans(k, n_init=10, random_state=0).fit_predict(dv).tolist()),
                       (f"agglomerative_k{k}", AgglomerativeClustering(k, metric="cosine", linkage="average")
                        .fit_predict(dv).tolist())]:
        p, r, f = bcubed(pred, labels)
        out[name] = {"bcubed_p": round(p, 4), "bcubed_r": round(r, 4), "bcubed_f1": round(f, 4)}
    return out


def synthetic_timing(n_articles: int) -> dict | None:
    """Cost of discover_narratives on n_articles made from real SemEval passages: the 399 EN
    documents repeated with new ids (each copy's vectors nudged deterministically so copies are
    not exact duplicates)."""
    from clustering.narratives import discover_narratives

    loaded = semeval_docs()
    if loaded is None:
        return None
    base, _ = loaded
    vecs, index, _ = embed_passages(base)
    reps = -(-n_articles // len(base))
    docs, pv, pdi = [], [], []
    dim = vecs.shape[1]
    for r in range(reps):
        nudge = np.cos(np.arange(dim, dtype=np.float32) * (r + 1)) * 0.05 * (r > 0)
        for j, d in enumerate(base):
            if len(docs) >= n_articles:
                break
            docs.append(DocInfo(f"{d.article_id}#{r}", d.title, d.text, None, None, None))
        take = index < (len(docs) - r * len(base))
        pv.append(vecs[take] + nudge)
        pdi.append(index[take] + r * len(base))
    pv = np.concatenate(pv).astype(np.float32)
    pdi = np.concatenate(pdi)
    t0 = time.perf_counter()
    clusters = discover_narratives(docs, pv, pdi)
    return {"articles": len(docs), "passages": int(len(pv)), "clusters": len(clusters),
            "seconds": round(time.perf_counter() - t0, 2)}


def paired_bootstrap(resamples: int = 1000, seed: int = 0) -> dict | None:
    """SemEval: is one discovery setting better than another beyond noise? BCubed F1 differences
    over documents resampled with replacement (paired: both labelings scored on each resample),
    for completing memberships (on/off) and the carrier gate (-0.5 vs 0, with and without)."""
    from dataclasses import replace

    from clustering.narratives import DEFAULT_PARAMS, discover_narratives

    loaded = semeval_docs()
    if loaded is None:
        return None
    docs, labels = loaded
    vecs, index, _ = embed_passages(docs)
    carrier = oof_carrier(vecs, index, labels)
    settings = {"completed, gate -0.5": DEFAULT_PARAMS,
                "not completed, gate -0.5": replace(DEFAULT_PARAMS, complete_membership=False),
                "completed, gate 0": replace(DEFAULT_PARAMS, carrier_gate=0.0),
                "not completed, gate 0": replace(DEFAULT_PARAMS, carrier_gate=0.0, complete_membership=False)}
    preds = {k: flat_labels(docs, discover_narratives(docs, vecs, index, p, carrier=carrier))
             for k, p in settings.items()}
    pairs = [("completed, gate -0.5", "not completed, gate -0.5"), ("completed, gate 0", "completed, gate -0.5"),
             ("not completed, gate -0.5", "not completed, gate 0")]
    rng = np.random.default_rng(seed)
    diffs: dict = {pair: [] for pair in pairs}
    for _ in range(resamples):
        idx = rng.integers(0, len(docs), len(docs))
        gold = [labels[i] for i in idx]
        f1 = {k: bcubed([pr[i] for i in idx], gold)[2] for k, pr in preds.items()}
        for a, b in pairs:
            diffs[(a, b)].append(f1[a] - f1[b])
    return {"bcubed_f1": {k: round(bcubed(pr, labels)[2], 4) for k, pr in preds.items()},
            "differences": {f"{a} minus {b}": {"mean": round(float(np.mean(d)), 4),
                                               "ci95": [round(float(np.percentile(d, 2.5)), 4),
                                                        round(float(np.percentile(d, 97.5)), 4)]}
                            for (a, b), d in diffs.items()}}


def main(argv=None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--json", help="write all numbers to this file")
    ap.add_argument("--no-timing", action="store_true")
    ap.add_argument("--bootstrap", action="store_true",
                    help="only the SemEval paired bootstrap of discovery settings (completion, carrier gate)")
    ap.add_argument("--stance-model", default="none", metavar="NAME|DIR",
                    help="judge the demo clusters' members as `process` does (default: none, the discovery alone; "
                         "the default judge, use-stance, was trained on SemEval's documents)")
    args = ap.parse_args(argv)
    from clustering.stance import load_judge

    judge = load_judge(args.stance_model)
    report: dict = {"stance_model": judge.model_id if judge is not None else None}
    if args.bootstrap:
        report = paired_bootstrap() or {}
        print(json.dumps(report, indent=2) if report else "SemEval absent, skipped")
        if args.json:
            Path(args.json).write_text(json.dumps(report, indent=2), "utf-8")
        return 0
    for key, with_events in (("demo_gold_events", True), ("demo_no_events", False)):
        res = demo_scores(None, with_events, judge=judge)
        report[key] = res
        print(f"\nDemo narratives ({'gold event ids' if with_events else 'event ids = None'}): "
              f"{res['clusters']} clusters, {res['seconds']} s")
        print(f"{'gold':5s} {'P':>6s} {'R':>6s} {'F1':>6s}  headline / keywords")
        for nid, r in res["narratives"].items():
            print(f"{nid:5s} {r['precision']:6.3f} {r['recall']:6.3f} {r['f1']:6.3f}  {r['headline']}")
            print(f"{'':27s} {', '.join(r['keywords'] or [])}")
        print(f"min F1 {res['min_f1']:.4f}")
    swept = semeval_scores(gates=("default", None, -0.5, 0.0, 0.5))
    se = swept.pop("default") if swept else None
    gates = swept
    if se is None:
        print("\nSemEval: ../shared/data/semeval2025-task10-train absent, skipped")
    else:
        report["semeval"] = se
        report["semeval_baselines"] = semeval_baselines()
        print(f"\nSemEval-2025 T10 EN ({se['docs']} docs, first gold narrative, 'Other' a class): BCubed")
        print(f"{'method':24s} {'P':>6s} {'R':>6s} {'F1':>6s}")
        print(f"{'discover_narratives':24s} {se['bcubed_p']:6.3f} {se['bcubed_r']:6.3f} {se['bcubed_f1']:6.3f}"
              f"  ({se['clusters']} clusters, {se['seconds']} s)")
        for name, b in report["semeval_baselines"].items():
            print(f"{name:24s} {b['bcubed_p']:6.3f} {b['bcubed_r']:6.3f} {b['bcubed_f1']:6.3f}")
        report["semeval_carrier_gates"] = gates
        for g, b in gates.items():
            print(f"{'carrier gate ' + g:24s} {b['bcubed_p']:6.3f} {b['bcubed_r']:6.3f} {b['bcubed_f1']:6.3f}"
                  f"  ({b['clusters']} clusters; out-of-fold carrier scores)")
        if not args.no_timing:
            report["timing"] = [synthetic_timing(n) for n in (1000, 10000)]
            for t in report["timing"]:
                print(f"timing: {t['articles']} articles, {t['passages']} passages -> {t['clusters']} clusters "
                      f"in {t['seconds']} s")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2), "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
