"""Watches across languages: zero-shot watches from SemEval's English label names, scored on the
documents of every SemEval language.

    NARRATIVES_EMBED_MODEL=use-multilingual-v3 python -m bench.eval_crosslingual [--json OUT] [--no-timing]

SemEval-2025 Task 10 training split, each language folder (EN, BG, HI, PT, RU). One watch per
English label, from its name (as bench/eval_watch.py's zero-shot), micro-F1 per language:
- shipped: the real code path and defaults (no carrier gate: it is trained on English);
- cv: 5-fold CV choosing top-k and threshold on that language's training folds.
Each calibrated two ways: on the stream of every covered language together (a database holding
these outlets) and on that language's docs alone (no background where every document carries a
narrative, as SemEval's Russian ones do). A language the model does not cover is reported as
skipped. Also CPU-ms per passage and per article of the model.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from bench.embedding_cache import cached_embed
from bench.eval_watch import evaluate_setting, label_to_name
from bench.semeval import LANGUAGES, MAX_PASSAGES, embed_passages, load_semeval, semeval_dir
from clustering import watch as W


def evaluate(langs=LANGUAGES, max_passages: int = MAX_PASSAGES) -> dict:
    from clustering.embedding import load_embedder

    emb = load_embedder()
    covered = getattr(emb, "languages", None) or {"en"}
    en = semeval_dir("EN")
    if en is None:
        return {}
    labels = sorted({l for d in load_semeval(en) for l in d.labels})
    out = {"model_id": emb.model_id, "labels": len(labels)}

    def zero_shot(_m):
        return [W.build_profile(W.WatchedNarrative(l, label_to_name(l)), cached_embed) for l in labels]

    scored = {}
    for lang in langs:
        if lang.lower() not in covered:
            out[lang] = {"skipped": f"language '{lang.lower()}' not covered by {emb.model_id}"}
            continue
        docs = load_semeval(semeval_dir(lang))
        scored[lang] = (docs, np.array([[l in d.labels for l in labels] for d in docs]),
                        embed_passages(docs, max_passages))
    # the stream a multilingual database calibrates its watches on: every covered language's docs
    stream = [v for _, _, pvs in scored.values() for v in pvs]
    for lang, (docs, y, pvs) in scored.items():
        out[lang] = {"docs": len(docs), "docs_with_label": int(y.any(1).sum()),
                     "labels_unseen_in_en": sorted({l for d in docs for l in d.labels} - set(labels))}
        for prefix, background in (("", None), ("stream_", stream)):
            r = evaluate_setting(zero_shot, pvs, y, few_shot=False, carrier=np.zeros(len(docs)), gate=None,
                                 background=background)
            out[lang].update({f"{prefix}shipped_micro_f1": r["default_micro_f1"],
                              f"{prefix}shipped_precision": r["default_precision"],
                              f"{prefix}shipped_recall": r["default_recall"], f"{prefix}cv_micro_f1": r["cv_micro_f1"],
                              f"{prefix}cv_precision": r["cv_precision"], f"{prefix}cv_recall": r["cv_recall"]})
    if "shipped_micro_f1" in out.get("EN", {}):
        for lang in scored:
            for prefix in ("", "stream_"):
                en, mine = out["EN"], out[lang]
                mine[f"{prefix}shipped_ratio_to_en"] = round(mine[f"{prefix}shipped_micro_f1"]
                                                             / max(en[f"{prefix}shipped_micro_f1"], 1e-9), 3)
                mine[f"{prefix}cv_ratio_to_en"] = round(mine[f"{prefix}cv_micro_f1"]
                                                        / max(en[f"{prefix}cv_micro_f1"], 1e-9), 3)
    return out


def timing(n_docs: int = 40, max_passages: int = MAX_PASSAGES) -> dict:
    """CPU-ms per passage and per article (passages as the pipeline cuts them), EN and RU, uncached."""
    import time

    from clustering.embedding import load_embedder
    from clustering.passages import split_passages

    emb = load_embedder()
    emb.embed(["warm up"])
    out = {"model_id": emb.model_id, "precision": emb.precision}
    for lang in ("EN", "RU"):
        if lang.lower() not in (getattr(emb, "languages", None) or {"en"}):
            continue
        docs = load_semeval(semeval_dir(lang))[:n_docs]
        ps = [split_passages(d.title, d.text, max_passages=max_passages) for d in docs]
        t = time.process_time()
        for p in ps:
            emb.embed(p)
        cpu = time.process_time() - t
        n = sum(map(len, ps))
        out[lang] = {"docs": len(docs), "passages": n, "mean_words": round(float(np.mean([len(x.split()) for p in ps for x in p])), 1),
                     "cpu_ms_per_passage": round(1000 * cpu / n, 2), "cpu_ms_per_article": round(1000 * cpu / len(docs), 1)}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", help="write the results as JSON here")
    ap.add_argument("--languages", default=",".join(LANGUAGES))
    ap.add_argument("--no-timing", action="store_true")
    args = ap.parse_args(argv)
    out = evaluate(tuple(x.strip().upper() for x in args.languages.split(",") if x.strip()))
    if not out:
        print("SemEval data absent: ../shared/data/semeval2025-task10-train (set NARRATIVES_SHARED_DATA)")
        return 0
    print(f"model {out['model_id']}, {out['labels']} English label names as zero-shot watches")
    for lang, r in out.items():
        if not isinstance(r, dict) or "docs" not in r and "skipped" not in r:
            continue
        if "skipped" in r:
            print(f"{lang}: skipped ({r['skipped']})")
            continue
        for prefix, how in (("stream_", "calibrated on the stream of every language"),
                            ("", "calibrated on its own language's docs")):
            print(f"{lang}: {r['docs']} docs, {how}: shipped defaults micro-F1 {r[prefix + 'shipped_micro_f1']:.4f} "
                  f"(P {r[prefix + 'shipped_precision']:.3f} R {r[prefix + 'shipped_recall']:.3f}) ratio to EN "
                  f"{r.get(prefix + 'shipped_ratio_to_en', '-')}; 5-fold CV {r[prefix + 'cv_micro_f1']:.4f} "
                  f"(P {r[prefix + 'cv_precision']:.3f} R {r[prefix + 'cv_recall']:.3f}) ratio "
                  f"{r.get(prefix + 'cv_ratio_to_en', '-')}")
    if not args.no_timing:
        out["timing"] = timing()
        print("timing (process CPU, uncached):", json.dumps(out["timing"]))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
