"""Watched-narrative matching quality (clustering/watch.py).

    python -m bench.eval_watch [--json OUT] [--no-timing] [--max-passages N]

SemEval-2025 Task 10 training split, English (21 narrative labels; "Other" = no narrative, so
any label predicted for it is a false positive). Micro-F1 over the labels:
- zero_shot: one watch per label from its name only ("URW: X" -> "Russia-Ukraine war: X");
- few_shot: name + 3 example articles per label (EXAMPLE_SEED), the examples not scored;
- zero_shot_on_few_shot_docs: zero-shot on the same docs, the fair comparison for few_shot.
Held out: 5-fold CV (FOLD_SEED), profiles calibrated on the scored docs unlabelled, top-k,
prototype passages and weight and threshold chosen on the training folds. "Shipped defaults":
the module defaults (in-sample: they were chosen by this CV). The demo web (never tuned on): each
narrative watched from its label + description, without and with 2 planted examples;
precision / recall.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

from bench.embedding_cache import cached_embed
from bench.semeval import MAX_PASSAGES, Doc, article_vectors, english_model_name, load_semeval, semeval_en_dir, two_spaces
from clustering import carrier as C
from clustering import watch as W
from clustering.passages import split_passages

FOLDS = 5
FOLD_SEED = 0
EXAMPLE_SEED = 13
TOPK_GRID = (1, 3, 5)
PROTOTYPE_PASSAGES_GRID = (3, 6)
WEIGHT_GRID = (0.5, 1.0, 2.0)
# with two spaces: the weights of the shared lead and the English lead parts (clustering.watch
# LEAD_WEIGHT, EN_LEAD_WEIGHT), chosen by the folds with the rest
LEAD_GRID = (0.0, 0.25, 0.5, 1.0)
EN_LEAD_GRID = (0.0, 0.5, 1.0)
# narrative-carrier gates the sweep reports (None: no gate); the CV uses the shipped one, chosen
# on narrative discovery (see clustering/carrier.py)
GATE_SWEEP = (None, -0.5, 0.0, 0.5)
DOMAINS = {"URW": "Russia-Ukraine war", "CC": "Climate change"}


def profile_options() -> dict:
    """build_profile's options for the configured model: with two spaces, the lead parts and the
    English space's embedder (cached), as the watch stage builds profiles."""
    if two_spaces() is None:
        return {}
    english = english_model_name()
    return {"leads": True, "en_embed": lambda texts: cached_embed(list(texts), model=english), "en_model_id": english}


def label_to_name(label: str) -> str:
    dom, _, rest = label.partition(": ")
    return f"{DOMAINS.get(dom, dom)}: {rest}" if rest else label


def micro_f1(y: np.ndarray, yh: np.ndarray) -> tuple[float, float, float]:
    tp, fp, fn = int((y & yh).sum()), int((~y & yh).sum()), int((y & ~yh).sum())
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return (2 * tp / (2 * tp + fp + fn) if tp else 0.0), p, r


def _parts(profiles, pvs, top_k) -> np.ndarray:
    """(docs, profiles, parts) raw part scores (text, prototype, lead, English lead)."""
    for p in profiles:
        p.top_k = top_k
    return np.array([W.part_scores(profiles, v)[0] for v in pvs])


def _zb(x: np.ndarray, bg: np.ndarray) -> np.ndarray:
    """x standardised by the background's per-column mean and deviation (NaN rows left out)."""
    with np.errstate(invalid="ignore"):
        return (x - np.nanmean(bg, 0)) / np.maximum(np.nanstd(bg, 0), 1e-6)


def _calibrated(parts: np.ndarray, weight, background: np.ndarray | None = None) -> np.ndarray:
    """What W.calibrate + W.score_article compute (before the language's standardisation), for any
    part weights: `weight` is the prototype weight, or (prototype, lead, English lead) weights;
    calibrated on `background` parts (unlabelled; None: the scored docs themselves, transductive).
    A doc without the English lead part is standardised on the sum without it, as W._combine does."""
    bg = parts if background is None else background
    w = (weight, 0.0, 0.0) if np.isscalar(weight) else tuple(weight)
    z, zb = _zb(parts[..., 0], bg[..., 0]), _zb(bg[..., 0], bg[..., 0])
    if not np.isnan(parts[..., 1]).any():
        z = z + w[0] * _zb(parts[..., 1], bg[..., 1])
        zb = zb + w[0] * _zb(bg[..., 1], bg[..., 1])
    if w[1]:
        z = z + np.nan_to_num(w[1] * _zb(parts[..., 2], bg[..., 2]))
        zb = zb + np.nan_to_num(w[1] * _zb(bg[..., 2], bg[..., 2]))
    if not w[2] or np.isnan(bg[..., 3]).all():
        return _zb(z, zb)
    en, enb = w[2] * _zb(parts[..., 3], bg[..., 3]), w[2] * _zb(bg[..., 3], bg[..., 3])
    full = np.where(np.isnan(enb), np.nan, zb + enb)
    return np.where(np.isnan(en), _zb(z, zb), _zb(z + np.nan_to_num(en), full))


def _language_standardised(z: np.ndarray) -> np.ndarray:
    """One language's scores standardised over all its (doc, watch) pairs (W.language_calibration)."""
    return (z - z.mean()) / max(z.std(), 1e-6)


JUDGE_FLOOR = 0.5  # with a stance judge: the candidates judged (z >= this) and the lowest threshold tried


def _best_threshold(z: np.ndarray, y: np.ndarray, may_match: np.ndarray | None = None) -> tuple[float, float]:
    cands = np.round(np.arange(0.0 if may_match is None else JUDGE_FLOOR, 4.0, 0.05), 2)
    mask = True if may_match is None else may_match
    f = [micro_f1(y, (z >= t) & mask)[0] for t in cands]
    i = int(np.argmax(f))
    return float(cands[i]), f[i]


def stance_mask(judge, docs: list[Doc], labels: list[str], z: np.ndarray, claims_of) -> np.ndarray | None:
    """(docs, labels): may the doc match the label, as the pipeline decides (a carrier, or not
    judged); the judge reads the pairs scoring z >= JUDGE_FLOOR. `claims_of(label) -> [claims]`."""
    if judge is None:
        return None
    from bench.stance_cache import cached_judge
    from clustering.stance_stage import pick

    pairs = [(i, j) for i in range(len(docs)) for j in range(len(labels)) if z[i, j] >= JUDGE_FLOOR]
    items, owners = [], []
    for i, j in pairs:
        for c in claims_of(labels[j]):
            items.append((c, docs[i].text, docs[i].title))
            owners.append((i, j))
    verdicts = cached_judge(judge, items)
    by_pair: dict[tuple, list] = {}
    for o, v in zip(owners, verdicts):
        by_pair.setdefault(o, []).append(v)
    mask = np.ones(z.shape, dtype=bool)
    for (i, j), vs in by_pair.items():
        mask[i, j] = pick(vs).stance == "carries"
    return mask


def _penalty(carrier: np.ndarray, gate) -> np.ndarray:
    """(docs, 1) what the watch score loses below the carrier gate, as `clustering.carrier.penalty`."""
    return np.array([[C.penalty(c, gate) if gate is not None else 0.0] for c in carrier])


def evaluate_setting(make_profiles, pvs, y, *, few_shot: bool, carrier: np.ndarray,
                     gate: float | None = C.CARRIER_GATE, stance=None, background=None) -> dict:
    """Held-out 5-fold CV micro-F1: top-k, prototype passages and weight, and the threshold are
    chosen on the training folds only; also the micro-F1 of the shipped defaults (in-sample).
    `carrier`: each doc's out-of-fold narrative-carrier logit; `gate`: the carrier gate (None: off).
    `stance(z) -> mask`: with a stance judge, only the pairs it says carry the label may match.
    `background`: the passage vectors the watches are calibrated on, as a database calibrates on
    its stream (None: the scored docs themselves)."""
    candidates = {}
    penalty = _penalty(carrier, gate)
    leads = isinstance(pvs[0], W.ArticleVectors) if len(pvs) else False
    for m in (PROTOTYPE_PASSAGES_GRID if few_shot else (W.PROTOTYPE_PASSAGES,)):
        profiles = make_profiles(m)
        for k in TOPK_GRID:
            parts = _parts(profiles, pvs, k)
            bg = None if background is None else _parts(profiles, background, k)
            for w in (WEIGHT_GRID if few_shot else (W.PROTOTYPE_WEIGHT,)):
                for lw in (LEAD_GRID if leads else (0.0,)):
                    for ew in (EN_LEAD_GRID if leads else (0.0,)):
                        z = _calibrated(parts, (w, lw, ew), bg)
                        candidates[(k, m, w, lw, ew)] = (_language_standardised(z) if leads else z) - penalty
    masks = {key: stance(z) if stance is not None else None for key, z in candidates.items()}
    rng = np.random.default_rng(FOLD_SEED)
    idx = rng.permutation(len(y))
    yh = np.zeros_like(y)
    chosen = []
    for fold in np.array_split(idx, FOLDS):
        train = np.setdiff1d(idx, fold)
        best = None
        for key, z in candidates.items():
            m = masks[key]
            t, f = _best_threshold(z[train], y[train], None if m is None else m[train])
            if best is None or f > best[0]:
                best = (f, key, t)
        _, key, t = best
        chosen.append({"top_k": key[0], "prototype_passages": key[1], "prototype_weight": key[2],
                       "lead_weight": key[3], "en_lead_weight": key[4], "threshold": t})
        yh[fold] = (candidates[key][fold] >= t) & (True if masks[key] is None else masks[key][fold])
    cv_f1, cv_p, cv_r = micro_f1(y, yh)
    # shipped defaults, through the real code path (calibrate on the scored docs, unlabelled)
    profiles = make_profiles(W.PROTOTYPE_PASSAGES)
    for p in profiles:
        p.top_k = W.TOP_K
    W.calibrate(profiles, pvs if background is None else background)
    # one language: its standardisation over the scored docs, as the watch stage does per language
    lang = W.language_calibration(profiles, {"x": pvs}).get("x") if leads else None
    lang = (lang["shift"], lang["scale"]) if lang else None
    pred = np.array([[m.matched for m in W.score_article(profiles, v, carrier=c if gate is not None else None,
                                                         language=lang)]
                     for v, c in zip(pvs, carrier)])
    if stance is not None:
        z = np.array([[m.score for m in W.score_article(profiles, v, carrier=c if gate is not None else None,
                                                        language=lang)]
                      for v, c in zip(pvs, carrier)])
        pred = pred & stance(z)
    d_f1, d_p, d_r = micro_f1(y, pred)
    return {"cv_micro_f1": round(cv_f1, 4), "cv_precision": round(cv_p, 4), "cv_recall": round(cv_r, 4),
            "cv_chosen": chosen, "default_micro_f1": round(d_f1, 4), "default_precision": round(d_p, 4),
            "default_recall": round(d_r, 4), "cv_predictions": yh}


def oracle_ceiling(pvs, y, name_vecs, examples: dict[int, list[int]], scored: list[int], cent: np.ndarray) -> dict:
    """Micro-F1 on the `scored` docs with per-label thresholds chosen ON those docs (an oracle no
    method has): how far thresholding MiniLM similarities can go at all. Scores: the mean of the
    top-3 passage cosines to the label name (zero-shot), and the cosine of the doc's mean passage
    vector (`cent`) to the mean of its examples' (few-shot)."""
    yr = y[scored]
    zs = np.array([np.sort(pvs[i] @ name_vecs.T, axis=0)[::-1][:3].mean(0) for i in scored])
    fs = np.array([[float(cent[i] @ cent[examples[j]].mean(0)) for j in range(y.shape[1])] for i in scored])

    def best(scores):
        yh = np.zeros_like(yr)
        for j in range(yr.shape[1]):
            s, t_best = scores[:, j], np.inf
            v_best = -int(yr[:, j].sum())  # predict none: every positive missed
            for t in np.unique(s):  # 2 TP - FP - FN is what this label adds to micro-F1's ratio
                p = s >= t
                v = 2 * int((p & yr[:, j]).sum()) - int((p & ~yr[:, j]).sum()) - int((~p & yr[:, j]).sum())
                if v > v_best:
                    v_best, t_best = v, t
            yh[:, j] = s >= t_best
        return round(micro_f1(yr, yh)[0], 4)

    return {"zero_shot_name_top3": best(zs), "few_shot_example_centroid": best(fs), "docs": len(scored)}


def per_label_f1(labels, y, yh) -> dict:
    return {l: round(micro_f1(y[:, j], yh[:, j])[0], 3) for j, l in enumerate(labels)}


def pick_examples(docs: list[Doc], labels: list[str]) -> dict[str, list[int]]:
    rng = random.Random(EXAMPLE_SEED)
    out = {}
    for l in labels:
        pos = [i for i, d in enumerate(docs) if l in d.labels]
        out[l] = rng.sample(pos, 3 if len(pos) >= 4 else 1)
    return out


def evaluate_semeval(en: Path, max_passages: int = MAX_PASSAGES, judge=None) -> dict:
    """`judge`: a stance judge (clustering.stance) in the loop, as `process` runs it: a label's
    claim is its name (zero-shot), then the title of its first example (few-shot)."""
    docs = load_semeval(en)
    labels = sorted({l for d in docs for l in d.labels})
    y = np.array([[l in d.labels for l in labels] for d in docs])
    pvs = article_vectors(docs, "en", max_passages)
    embed = cached_embed
    split = lambda t, x: split_passages(t, x, max_passages=max_passages)  # noqa: E731
    leads = profile_options()

    def zero_shot(_m):
        return [W.build_profile(W.WatchedNarrative(l, label_to_name(l)), embed, **leads) for l in labels]

    examples = pick_examples(docs, labels)
    ex_docs = sorted({i for v in examples.values() for i in v})
    rest = [i for i in range(len(docs)) if i not in set(ex_docs)]

    def few_shot(m):
        return [W.build_profile(W.WatchedNarrative(l, label_to_name(l), examples=[
            (docs[i].title, docs[i].text) for i in examples[l]]), embed, passages=split, prototype_passages=m,
            **leads) for l in labels]

    # the shipped carrier model was trained on these docs: score each with a model that did not see it
    from bench.train_carrier import cv_scores

    features = np.array([C.features(W.article_vectors(v).passages) for v in pvs])
    carrier = cv_scores(features, y.any(1), 1.0)
    def stance_for(sub: list[Doc], claims_of):
        return (lambda z: stance_mask(judge, sub, labels, z, claims_of)) if judge is not None else None

    zs_claims = lambda l: [label_to_name(l)]  # noqa: E731
    fs_claims = lambda l: [label_to_name(l), docs[examples[l][0]].title]  # noqa: E731
    rest_docs = [docs[i] for i in rest]
    zs = evaluate_setting(zero_shot, pvs, y, few_shot=False, carrier=carrier, stance=stance_for(docs, zs_claims))
    zs_rest = evaluate_setting(zero_shot, [pvs[i] for i in rest], y[rest], few_shot=False, carrier=carrier[rest],
                               stance=stance_for(rest_docs, zs_claims))
    fs = evaluate_setting(few_shot, [pvs[i] for i in rest], y[rest], few_shot=True, carrier=carrier[rest],
                          stance=stance_for(rest_docs, fs_claims))

    ceiling = oracle_ceiling([W.article_vectors(v).passages for v in pvs], y, embed([label_to_name(l) for l in labels]),
                             {j: examples[l] for j, l in enumerate(labels)}, rest, features)
    sweep = {str(C.CARRIER_GATE): {"zero_shot": zs["cv_micro_f1"], "few_shot": fs["cv_micro_f1"]}}
    for g in GATE_SWEEP:
        if str(g) not in sweep:
            sweep[str(g)] = {setting: evaluate_setting(make, ps, yy, few_shot=few, carrier=c, gate=g,
                                                       stance=st)["cv_micro_f1"]
                             for setting, make, ps, yy, few, c, st in (
                                 ("zero_shot", zero_shot, pvs, y, False, carrier, stance_for(docs, zs_claims)),
                                 ("few_shot", few_shot, [pvs[i] for i in rest], y[rest], True, carrier[rest],
                                  stance_for(rest_docs, fs_claims)))}
    out = {"oracle_ceiling": ceiling, "carrier_gate_sweep": {str(g): sweep[str(g)] for g in GATE_SWEEP},
           "docs": len(docs), "labels": len(labels), "docs_without_narrative": int((~y.any(1)).sum()),
           "example_docs": len(ex_docs), "few_shot_scored_docs": len(rest), "max_passages": max_passages}
    for name, res, yy in (("zero_shot", zs, y), ("zero_shot_on_few_shot_docs", zs_rest, y[rest]),
                          ("few_shot", fs, y[rest])):
        out[name] = {k: v for k, v in res.items() if k != "cv_predictions"}
        out[name]["per_label_cv_f1"] = per_label_f1(labels, yy, res["cv_predictions"])
    return out


def demo_examples(narrative: dict, articles) -> list[str]:
    """The examples an analyst would give, fixed by rule (not tuned): the narrative's first
    planted article and the first planted article of another event."""
    event = {a.id: a.event for a in articles}
    planted = [a for a in narrative["articles"] if a in event]  # those among `articles`
    other = [a for a in planted if event[a] != event[planted[0]]]
    return [planted[0]] + other[:1]


def evaluate_demo(with_examples: bool = True, with_carrier: bool = True, judge=None) -> dict:
    """Each demo narrative watched from its label + description (+ 2 planted examples, which are
    then not scored), calibrated on all demo articles (unlabelled), shipped defaults; with
    `judge`, the candidates (score >= threshold - JUDGE_MARGIN) are judged against the watch's
    claims (description, first example's title) and only carriers match, as in `process`."""
    from demo.model import load_content

    content = load_content()
    truth = {n["id"]: n for n in json.loads((Path(__file__).resolve().parent.parent / "demo" / "ground_truth.json")
                                            .read_text("utf-8"))["narratives"]}
    from bench.embedding_cache import configured_languages

    readable = content.readable(configured_languages())  # the articles the configured model embeds
    arts = [Doc(a.id, a.title, "\n\n".join(a.paragraphs), list(a.narratives)) for a in readable]
    by_id = {a.id: a for a in arts}
    languages = [a.language for a in readable]
    pvs = article_vectors(arts, languages)
    texts = [split_passages(a.title, a.text) for a in arts]
    from clustering.embedding import load_embedder

    model = C.load_carrier(load_embedder().model_id) if with_carrier else None
    carrier = model.scores([W.article_vectors(v).passages for v in pvs], languages) if model else [None] * len(arts)
    results = {}
    for n in content.narratives:
        ex = demo_examples(truth[n["id"]], readable) if with_examples else []
        profile = W.build_profile(W.WatchedNarrative(n["id"], n["label"], n.get("description", ""), examples=[
            (by_id[e].title, by_id[e].text) for e in ex]), cached_embed, **profile_options())
        W.calibrate([profile], pvs)
        # each language standardised as the watch stage does (W.language_calibration)
        by_lang: dict[str, list] = {}
        for v, lang in zip(pvs, languages):
            by_lang.setdefault((lang or "und")[:2], []).append(v)
        table = W.language_calibration([profile], by_lang)
        stats = {k: (r["shift"], r["scale"]) for k, r in table.items()}
        scored = [i for i, a in enumerate(arts) if a.id not in ex]
        gold = np.array([n["id"] in arts[i].labels for i in scored])
        matches = [W.score_article([profile], pvs[i], texts[i], carrier[i],
                                   stats.get((languages[i] or "und")[:2]))[0] for i in scored]
        pred = np.array([m.matched for m in matches])
        if judge is not None:
            from bench.stance_cache import cached_judge
            from clustering.stance_stage import pick
            from clustering.watch_stage import JUDGE_MARGIN

            claims = [n.get("description") or n["label"]] + [by_id[e].title for e in ex[:1]]
            cand = [k for k, m in enumerate(matches) if m.score >= profile.effective_threshold - JUDGE_MARGIN]
            verdicts = cached_judge(judge, [(c, arts[scored[k]].text, arts[scored[k]].title) for k in cand for c in claims])
            for n_k, k in enumerate(cand):
                if pick(verdicts[n_k * len(claims):(n_k + 1) * len(claims)]).stance != "carries":
                    pred[k] = False
        tp = int((gold & pred).sum())
        results[n["id"]] = {
            "label": n["label"], "examples": ex, "gold": int(gold.sum()), "predicted": int(pred.sum()),
            "precision": round(tp / pred.sum(), 3) if pred.sum() else 0.0,
            "recall": round(tp / gold.sum(), 3) if gold.sum() else 0.0,
            "false_positives": [arts[i].id for i, g, p in zip(scored, gold, pred) if p and not g],
            "missed": [arts[i].id for i, g, p in zip(scored, gold, pred) if g and not p],
        }
    return results


def measure_timing(docs: list[Doc], max_passages: int = MAX_PASSAGES, n: int = 40) -> dict:
    from clustering.embedding import load_embedder

    emb = load_embedder()
    sample = docs[:n]
    emb.embed(["warm up"] * 4)
    t0 = time.process_time()
    passages = [split_passages(d.title, d.text, max_passages=max_passages) for d in sample]
    t1 = time.process_time()
    vecs = [emb.embed(p) for p in passages]
    t2 = time.process_time()
    profiles = [W.build_profile(W.WatchedNarrative(str(i), f"narrative {i}"), emb.embed) for i in range(20)]
    t3 = time.process_time()
    for v, p in zip(vecs, passages):
        W.score_article(profiles, v, p)
    t4 = time.process_time()
    for d in sample:
        emb.embed([d.title + "\n" + d.text])
    t5 = time.process_time()
    return {"articles": n, "precision": emb.precision, "mean_passages": round(float(np.mean([len(p) for p in passages])), 1),
            "split_cpu_ms_per_article": round(1000 * (t1 - t0) / n, 2),
            "embed_cpu_ms_per_article": round(1000 * (t2 - t1) / n, 1),
            "score_20_watches_cpu_ms_per_article": round(1000 * (t4 - t3) / n, 3),
            "whole_body_embed_cpu_ms_per_article (reference)": round(1000 * (t5 - t4) / n, 1),
            "note": "process CPU time summed over all threads"}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", help="write the results as JSON here")
    ap.add_argument("--no-timing", action="store_true")
    ap.add_argument("--max-passages", type=int, default=MAX_PASSAGES, help="passages per article (SemEval)")
    ap.add_argument("--stance-model", default="none", metavar="NAME|DIR",
                    help="judge candidates with this stance model, as `process` does (default: none; the "
                         "default judge, use-stance, was trained on these documents: score a judge trained "
                         "without them, `bench.train_vector_stance --semeval-languages PT`)")
    args = ap.parse_args(argv)
    from clustering.stance import load_judge

    judge = load_judge(args.stance_model)
    out: dict = {"stance_model": judge.model_id if judge is not None else None}
    en = semeval_en_dir()
    if en is None:
        print("SemEval data absent: ../shared/data/semeval2025-task10-train (set NARRATIVES_SHARED_DATA)")
    else:
        out["semeval_en"] = evaluate_semeval(en, args.max_passages, judge=judge)
        s = out["semeval_en"]
        print(f"SemEval EN, max_passages={args.max_passages}")
        print("carrier gate sweep (held-out CV micro-F1):", json.dumps(s["carrier_gate_sweep"]))
        print("oracle ceiling (per-label thresholds chosen on the scored docs):", json.dumps(s["oracle_ceiling"]))
        for name in ("zero_shot", "zero_shot_on_few_shot_docs", "few_shot"):
            r = s[name]
            print(f"{name:26s} held-out CV micro-F1 {r['cv_micro_f1']:.4f} (P {r['cv_precision']:.3f} R {r['cv_recall']:.3f})"
                  f"  shipped defaults (in-sample) {r['default_micro_f1']:.4f} (P {r['default_precision']:.3f} R {r['default_recall']:.3f})")
            print(f"          per-fold choices: {r['cv_chosen']}")
            if name != "zero_shot_on_few_shot_docs":
                for l, f in sorted(r["per_label_cv_f1"].items(), key=lambda kv: -kv[1]):
                    print(f"            {f:.3f}  {l}")
    for ex in (False, True):
        key = "demo_with_examples" if ex else "demo_name_description"
        out[key] = evaluate_demo(with_examples=ex, judge=judge)
        for nid, r in out[key].items():
            print(f"{key} {nid} {r['label']!r} examples {r['examples']}: P {r['precision']:.3f} R {r['recall']:.3f} "
                  f"(gold {r['gold']}, predicted {r['predicted']}) FP {r['false_positives']} missed {r['missed']}")
    if en is not None and not args.no_timing:
        out["timing"] = measure_timing(load_semeval(en), args.max_passages)
        print("timing", json.dumps(out["timing"]))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
