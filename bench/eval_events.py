"""Event clustering quality (clustering.events) against gold events.

    python -m bench.eval_events [--json OUT] [--no-timing] [--params JSON]

With the shipped parameters of the configured model (clustering.events.params_for), or the
EventParams given as JSON (`--params`):
1. giveme5w1h-newscluster: all 383 articles in publication order; BCubed and pairwise P/R/F1
   against the gold events (gated: bench/quality_gates.json);
2. 5-fold cross-validation by gold event: every representation x parameter grid point is scored
   on four folds, the best is scored on the fifth; prints the held-out scores and each fold's pick
   (the defaults are what the folds agree on);
3. the demo web's ground truth (never used for choosing);
4. robustness: giveme5w1h events moved years apart, the stream replayed later, and EUvsDisinfo
   case titles (each its own event: how little merges);
5. timing: assignment ms per article into 10k and 100k stored events (embedding excluded).
"""
from __future__ import annotations

import argparse
import ast
import csv
import glob
import gzip
import itertools
import json
import re
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from bench.cluster_scoring import bcubed, bcubed_items, pairwise, singleton_none
from bench.shared_data import shared_data_dir, unpacked
from clustering.events import (DEFAULT_PARAMS, DAY, EventParams, EventState, article_texts, assign_events, event_channels,
                               extra_channels, params_for, tiered_channels, to_timestamp)

REPO = Path(__file__).resolve().parent.parent
N_FOLDS = 5
REPRESENTATIONS = {  # name -> channel weights over (title, lead)
    "title": (1.0, 0.0),
    "lead": (0.0, 1.0),
    "title+lead": (0.5, 0.5),
}
# with a title model (EventParams.title_model): weights over (title, lead, title by the title model)
CASCADE_REPRESENTATIONS = {
    "title+lead": (0.5, 0.5, 0.0),
    "lead+tm": (0.0, 0.5, 0.5),
    "lead.6+tm.4": (0.0, 0.6, 0.4),
    "lead.7+tm.3": (0.0, 0.7, 0.3),
    "title+lead+tm": (1 / 3, 1 / 3, 1 / 3),
}
# with a title model and the lexical channel: weights over (title, lead, title model's title, lexical)
LEXICAL_REPRESENTATIONS = {
    "lead.6+tm.4": (0.0, 0.6, 0.4, 0.0),
    "lead.4+tm.3+lex.3": (0.0, 0.4, 0.3, 0.3),
    "lead.4+tm.4+lex.2": (0.0, 0.4, 0.4, 0.2),
    "lead.3+tm.3+lex.4": (0.0, 0.3, 0.3, 0.4),
    "lead.5+tm.25+lex.25": (0.0, 0.5, 0.25, 0.25),
}
# the cascade's cosines are lower (a centred space, more channels): its grid starts lower
CASCADE_THRESHOLDS = [0.25, 0.3, 0.35]
GRID = {
    "threshold": [0.4, 0.45, 0.5, 0.55, 0.6, 0.65],
    "tau_days": [1.0, 3.0, 10.0, 30.0],
    "power": [0.0, 0.1, 0.2, 0.3],
    "long_days": [180.0, 365.0, 730.0, 1095.0],
}
# a hard requirement, not a tuned choice: two identical texts this far apart are different events
SEPARATE_AFTER_DAYS = 730.0


# ---------------------------------------------------------------------------------------------- data
def giveme_root(data_dir=None) -> Path | None:
    data = Path(data_dir) if data_dir else shared_data_dir()
    archive = data / "giveme5w1h-newscluster" / "news_cluster-data.tar.gz" if data else None
    if archive is None or not archive.is_file():
        return None
    return unpacked(archive) / "news_cluster" / "data"


def load_giveme(data_dir=None) -> list[dict] | None:
    """All 383 articles: id, title, text, time (date_publish), gold (EventId)."""
    root = giveme_root(data_dir)
    if root is None:
        return None
    out = []
    for f in sorted(glob.glob(str(root / "*.json"))):
        d = json.loads(Path(f).read_text("utf-8"))
        if "newsCluster" not in d:
            continue
        nc = d["newsCluster"]
        if isinstance(nc, str):
            nc = ast.literal_eval(nc)
        out.append({"id": d["dId"], "title": d.get("title") or "", "text": d.get("text") or "",
                    "time": to_timestamp(d["date_publish"]), "gold": int(nc["EventId"]),
                    "category": nc.get("Category")})
    return out


_LINK = re.compile(r"\{\{link:[a-z0-9-]+\|([^}]*)\}\}")
_READMORE = re.compile(r"^\{\{readmore:[a-z0-9-]+\}\}$")


def load_demo(languages="model") -> list[dict]:
    """The demo web's articles in `languages` (default: those the configured model reads)."""
    from bench.embedding_cache import configured_languages
    from demo.model import load_content

    languages = configured_languages() if languages == "model" else languages
    gt = json.loads((REPO / "demo" / "ground_truth.json").read_text("utf-8"))
    content = load_content().by_id
    out = []
    for a in gt["articles"]:
        if languages is not None and a["language"] not in languages:
            continue
        paras = [_LINK.sub(r"\1", p) for p in content[a["id"]].paragraphs if not _READMORE.match(p)]
        out.append({"id": a["id"], "title": a["title"], "text": "\n".join(paras),
                    "time": to_timestamp(a["published_at"]), "gold": a["event"], "language": a["language"]})
    return out


def load_euvsdisinfo(data_dir=None, limit: int = 3000) -> list[dict] | None:
    """Case titles with dates; every case its own gold event. The first `limit` by date after
    a fixed stride sample over 2015-2021 (deterministic)."""
    data = Path(data_dir) if data_dir else shared_data_dir()
    if data is None or not (data / "euvsdisinfo-cknabs").is_dir():
        return None
    files = sorted(glob.glob(str(data / "euvsdisinfo-cknabs" / "*.csv.gz")))
    rows = []
    for f in files:
        with gzip.open(f, "rt", newline="", encoding="utf-8") as fh:
            for r in csv.DictReader(fh):
                rows.append(r)
    if not rows:
        return None
    tkey = next(k for k in rows[0] if k.lower() in ("title", "claim", "summary"))
    dkey = next(k for k in rows[0] if "date" in k.lower())
    out = []
    for i, r in enumerate(rows):
        try:
            t = to_timestamp(r[dkey][:10])
        except (ValueError, TypeError):
            continue
        if r[tkey].strip():
            out.append({"id": f"c{i}", "title": r[tkey].strip(), "text": "", "time": t, "gold": None})
    out.sort(key=lambda x: (x["time"], x["id"]))
    stride = max(1, len(out) // limit)
    return out[::stride][:limit]


def configured_params() -> EventParams:
    """The event parameters of the configured embedding model (its spaces' id with two spaces)."""
    from clustering.embedding import load_embedder
    from clustering.embedding.spaces import spaces_of

    return params_for(spaces_of(load_embedder()).space_id)


def embed_articles(articles: list[dict], title_only: bool = False, precision: str | None = None,
                   params: EventParams | None = None) -> np.ndarray:
    """(n, channels, dim) vectors in the channels of `params` (default: the configured model's):
    title and lead (title + body start), then the title model's title where the params name one
    (zeros where it does not read the article's language, as in the events stage); `precision`
    defaults to NARRATIVES_EMBED_PRECISION."""
    from bench.embedding_cache import cached_embed
    from clustering.embed import model_languages
    from clustering.embedding import load_embedder

    params = configured_params() if params is None else params
    pairs = [article_texts(a["title"], "" if title_only else a["text"]) for a in articles]
    if params.fallback:
        return tiered_vectors(articles, pairs, precision)
    titles = cached_embed([p[0] for p in pairs], precision=precision)
    leads = titles if title_only else cached_embed([p[1] for p in pairs], precision=precision)
    if not params.title_model and not params.lexical:
        return np.stack([titles, leads], axis=1)
    tm = load_embedder(params.title_model, precision, workers=1) if params.title_model else None
    extra, dims = extra_channels(
        [dict(a, text="" if title_only else a["text"]) for a in articles], params,
        lambda texts: cached_embed(texts, model=params.title_model, precision=precision),
        model_languages(tm) if tm else None, tm.dim if tm else 0)
    return np.stack([event_channels(titles[i], leads[i], extra[i], dims) for i in range(len(articles))])


def tiered_vectors(articles: list[dict], pairs: list[tuple[str, str]], precision: str | None = None,
                   foreign: np.ndarray | None = None) -> np.ndarray:
    """(n, 3, dim) vectors of two spaces (clustering.events.tiered_channels): the English space's
    title and lead for the English articles (language "en" or unknown), the shared space's lead
    for all; `foreign`: articles to treat as not English (the tier check below)."""
    from bench.embedding_cache import cached_embed
    from bench.semeval import english_model_name
    from clustering.embed import reads_english
    from clustering.embedding import load_embedder

    english = english_model_name()
    dim = max(load_embedder().dim, load_embedder(english).dim)
    shared = cached_embed([p[1] for p in pairs], precision=precision)
    is_en = np.array([reads_english(a.get("language")) for a in articles])
    if foreign is not None:
        is_en &= ~foreign
    idx = np.nonzero(is_en)[0]
    en_t = cached_embed([pairs[i][0] for i in idx], model=english, precision=precision) if len(idx) else []
    en_l = cached_embed([pairs[i][1] for i in idx], model=english, precision=precision) if len(idx) else []
    at = {int(i): k for k, i in enumerate(idx)}
    return np.stack([tiered_channels(en_t[at[i]] if i in at else None, en_l[at[i]] if i in at else None, shared[i], dim)
                     for i in range(len(articles))])


TIER_GAINS = tuple(round(x, 2) for x in np.arange(0.9, 1.71, 0.05))
TIER_SHARES = (0.10, 0.25, 1.0)  # shares of giveme5w1h read as foreign (a fixed draw, seed 0)


def tier_gain_cv(articles: list[dict], params: EventParams, precision: str | None = None) -> dict:
    """The second tier's gain, chosen by the folds: giveme5w1h with a share of its articles read as
    if no English model read them (their only channel the shared lead), each gain clustering the
    whole stream; the pick of fold f uses the other folds' labels (as cross_validate does)."""
    pairs = [article_texts(a["title"], a["text"]) for a in articles]
    gold = [a["gold"] for a in articles]
    folds = folds_by_event(articles)
    rng = np.random.default_rng(0)
    out = {}
    for share in TIER_SHARES:
        foreign = rng.random(len(articles)) < share if share < 1 else np.ones(len(articles), bool)
        vecs = tiered_vectors(articles, pairs, precision, foreign)
        preds = [run(articles, vecs, replace(params, fallback_gain=g)) for g in TIER_GAINS]
        table = np.array([[_restricted(p, gold, idx) for idx in folds] for p in preds])
        train = np.array([[_restricted(p, gold, [i for h, idx in enumerate(folds) if h != f for i in idx])
                           for f in range(N_FOLDS)] for p in preds])
        picks = [int(np.argmax(train[:, f])) for f in range(N_FOLDS)]
        out[f"{share:.2f}"] = {"picks": [TIER_GAINS[p] for p in picks],
                               "heldout_bcubed_f1": round(float(np.mean([table[p, f] for f, p in enumerate(picks)])), 4),
                               "shipped_gain_full_f1": round(float(scores(preds[TIER_GAINS.index(params.fallback_gain)]
                                                                          if params.fallback_gain in TIER_GAINS else
                                                                          run(articles, vecs, params), gold)["bcubed_f1"]), 4)}
    return out


# ---------------------------------------------------------------------------------------------- scoring
def run(articles, vecs, params: EventParams, times=None) -> list:
    state = EventState(vecs.shape[2], vecs.shape[1], params)
    times = [a["time"] for a in articles] if times is None else times
    got = {x.article_id: x.event_id for x in
           assign_events(state, [(i, t, vecs[i]) for i, t in enumerate(times)])}
    return [got[i] for i in range(len(articles))]


def scores(pred, gold) -> dict:
    gold = singleton_none(gold)
    bp, br, bf = bcubed(pred, gold)
    pp, pr, pf = pairwise(pred, gold)
    return {"bcubed_p": round(bp, 4), "bcubed_r": round(br, 4), "bcubed_f1": round(bf, 4),
            "pairwise_p": round(pp, 4), "pairwise_r": round(pr, 4), "pairwise_f1": round(pf, 4),
            "n": len(pred), "events_pred": len(set(pred)), "events_gold": len(set(gold))}


def cross_language(articles, pred) -> dict | None:
    """Non-English articles of a gold event: how many of their (article, gold event mate) pairs
    share a predicted event, and how many other articles their predicted events hold."""
    foreign = [i for i, a in enumerate(articles) if (a.get("language") or "en") != "en"]
    if not foreign:
        return None
    pairs = joined = strays = 0
    for i in foreign:
        g = articles[i]["gold"]
        for j, b in enumerate(articles):
            if j == i:
                continue
            if g is not None and b["gold"] == g:
                pairs += 1
                joined += pred[j] == pred[i]
            elif pred[j] == pred[i]:
                strays += 1
    return {"articles": len(foreign), "with_gold_event": sum(articles[i]["gold"] is not None for i in foreign),
            "gold_mate_pairs": pairs, "gold_mate_pairs_joined": int(joined), "other_articles_joined": strays}


def score_params(articles, vecs, params) -> dict:
    return scores(run(articles, vecs, params), [a["gold"] for a in articles])


def grid_points(center: str = "", title_model: str = "", lexical: str = "", tiers: EventParams | None = None):
    """Every (representation, parameters) point, in the event space of `center`, `title_model`
    and `lexical` (the model's)."""
    reps = LEXICAL_REPRESENTATIONS if lexical else CASCADE_REPRESENTATIONS if title_model else REPRESENTATIONS
    thresholds = (CASCADE_THRESHOLDS if title_model or lexical else []) + GRID["threshold"]
    for rep, w in reps.items():
        for th, tau, pw, long in itertools.product(thresholds, GRID["tau_days"], GRID["power"], GRID["long_days"]):
            if pw == 0.0 and tau != GRID["tau_days"][0]:
                continue  # power 0: the Gaussian cut-off alone; tau irrelevant
            params = EventParams(threshold=th, tau_days=tau, power=pw, long_days=long, weights=w, center=center,
                                 title_model=title_model, lexical=lexical)
            if tiers is not None:  # two spaces: the first tier's weights, then the shared lead's tier as shipped
                params = replace(tiers, threshold=th, tau_days=tau, power=pw, long_days=long, weights=(*w, 0.0))
            if float(params.decay(SEPARATE_AFTER_DAYS)) >= th:
                continue  # identical texts two years apart would merge
            yield rep, params


def folds_by_event(articles, k=N_FOLDS) -> list[list[int]]:
    events = sorted({a["gold"] for a in articles})
    fold_of = {e: i % k for i, e in enumerate(events)}
    return [[i for i, a in enumerate(articles) if fold_of[a["gold"]] == f] for f in range(k)]


def _restricted(pred, gold, idx) -> float:
    """BCubed F1 averaged over the articles idx, with the whole stream's clusters."""
    return bcubed_items(pred, gold, idx)[2]


def cross_validate(articles, vecs, k=N_FOLDS, shipped: EventParams = DEFAULT_PARAMS) -> dict:
    """Folds by gold event. Every grid point clusters the whole 383-article stream once (no labels
    involved, and the stream keeps its real density of confusable stories); the choice for fold f
    uses only the gold labels of the other folds' articles (BCubed F1 averaged over those
    articles), and the chosen point is scored averaging over fold f's articles alone (each
    article's BCubed precision/recall computed with the whole stream's clusters, so a merge with
    another fold's event still counts against it; pairwise F1 is over fold f's articles alone). So no held-out label ever informs the
    choice. Also reported: 'independent' = each fold's articles clustered as a stream of its own
    (sparser than reality, so it favours lower thresholds)."""
    folds = folds_by_event(articles, k)
    gold = [a["gold"] for a in articles]
    points = list(grid_points(shipped.center, shipped.title_model, shipped.lexical,
                              shipped if shipped.fallback else None))
    preds = [run(articles, vecs, params) for _, params in points]
    table = np.array([[_restricted(pred, gold, idx) for idx in folds] for pred in preds])
    train_table = np.array([[_restricted(pred, gold, [i for g, idx in enumerate(folds) if g != f for i in idx])
                             for f in range(k)] for pred in preds])
    rows = []
    for f in range(k):
        best = int(np.argmax(train_table[:, f]))  # first best in grid order on ties
        rep, params = points[best]
        idx = folds[f]
        pp = pairwise([preds[best][i] for i in idx], [gold[i] for i in idx])[2]
        rows.append({"fold": f, "n": len(idx), "rep": rep, "threshold": params.threshold, "tau_days": params.tau_days,
                     "power": params.power, "long_days": params.long_days, "train_f1": round(float(train_table[best, f]), 4),
                     "heldout_bcubed_f1": round(float(table[best, f]), 4), "heldout_pairwise_f1": round(pp, 4)})
    per_rep = {}
    for rep in dict.fromkeys(r for r, _ in points):
        ids = [p for p, (r, _) in enumerate(points) if r == rep]
        held = [table[ids[int(np.argmax(train_table[ids, f]))], f] for f in range(k)]
        per_rep[rep] = round(float(np.mean(held)), 4)
    nodecay = [p for p, (_, prm) in enumerate(points) if prm.power == 0.0]  # Gaussian cut-off only
    held_nd = [table[nodecay[int(np.argmax(train_table[nodecay, f]))], f] for f in range(k)]
    # independent fold streams (sparser): pick on 4 folds' own streams, score the 5th's stream
    ind = np.zeros((len(points), k))
    for f, idx in enumerate(folds):
        sub = [articles[i] for i in idx]
        for p, (_, params) in enumerate(points):
            ind[p, f] = score_params(sub, vecs[idx], params)["bcubed_f1"]
    ind_rows = []
    for f in range(k):
        best = int(np.argmax(ind[:, [g for g in range(k) if g != f]].mean(axis=1)))
        rep, prm = points[best]
        ind_rows.append({"fold": f, "rep": rep, "threshold": prm.threshold, "tau_days": prm.tau_days,
                         "power": prm.power, "long_days": prm.long_days, "heldout_bcubed_f1": round(float(ind[best, f]), 4)})
    d = [p for p, (_, prm) in enumerate(points) if prm == shipped]
    return {"folds": rows, "heldout_mean_bcubed_f1": round(float(np.mean([r["heldout_bcubed_f1"] for r in rows])), 4),
            "heldout_mean_by_representation": per_rep,
            "heldout_mean_gaussian_only": round(float(np.mean(held_nd)), 4),
            "grid_points": len(points),
            "defaults_per_fold_f1": [round(float(x), 4) for x in table[d[0]]] if d else None,
            "independent_streams": {"folds": ind_rows, "heldout_mean_bcubed_f1":
                                    round(float(np.mean([r["heldout_bcubed_f1"] for r in ind_rows])), 4)}}


def stretched_times(articles, years: float = 2.0) -> list[float]:
    """Each gold event moved to its own era: event rank r (by first date) -> + r*years."""
    first = {}
    for a in articles:
        first[a["gold"]] = min(first.get(a["gold"], a["time"]), a["time"])
    rank = {e: i for i, e in enumerate(sorted(first, key=lambda e: (first[e], e)))}
    return [a["time"] + rank[a["gold"]] * years * 365.25 * DAY for a in articles]


def _mixed(pred, gold) -> int:
    return sum(1 for e in set(pred) if len({g for p, g in zip(pred, gold) if p == e}) > 1)


def robustness(articles, vecs, params=DEFAULT_PARAMS) -> dict:
    gold = [a["gold"] for a in articles]
    out = {}
    for name, prm in [("giveme_events_2y_apart", params), ("giveme_events_2y_apart_no_decay", replace(params, power=0.0, long_days=0.0))]:
        pred = run(articles, vecs, prm, times=stretched_times(articles))
        out[name] = {**scores(pred, gold), "pred_events_mixing_gold_events": _mixed(pred, gold)}
    # the whole stream replayed N years later, identical texts: gold = (event, copy)
    both = articles + articles
    vv = np.concatenate([vecs, vecs])
    for years in (1, 2, 5):
        times = [a["time"] for a in articles] + [a["time"] + years * 365.25 * DAY for a in articles]
        g2 = [(a["gold"], c) for c in (0, 1) for a in articles]
        pred = run(both, vv, params, times=times)
        cross = sum(1 for e in set(pred) if len({c for p, (_, c) in zip(pred, g2) if p == e}) > 1)
        out[f"giveme_replayed_{years}y_later"] = {**scores(pred, g2), "pred_events_mixing_gold_events": cross}
    return out


def timing(vecs, sizes=(10_000, 100_000), new=1000, params=DEFAULT_PARAMS, per_day=100) -> dict:
    """ms/article to assign `new` articles into a state of N existing events (synthetic-from-real
    vectors: real article vectors + noise; one event per article, `per_day` articles a day)."""
    rng = np.random.default_rng(0)
    ch, dim = vecs.shape[1], vecs.shape[2]
    out = {}
    for n in sizes:
        base = vecs[rng.integers(0, len(vecs), n)] + rng.normal(0, 0.08, (n, ch, dim)).astype(np.float32)
        times = np.arange(n) * (DAY / per_day)
        rows = [(i + 1, 1, float(t), float(t), base[i]) for i, t in enumerate(times)]
        state = EventState.from_rows(rows, dim, ch, params)
        t0 = float(times[-1])
        q = vecs[rng.integers(0, len(vecs), new)] + rng.normal(0, 0.08, (new, ch, dim)).astype(np.float32)
        items = [(f"n{i}", t0 + (i + 1) * DAY / per_day, q[i]) for i in range(new)]
        start = time.perf_counter()
        assign_events(state, items)
        out[n] = round((time.perf_counter() - start) * 1000 / new, 4)
    out["ratio_100k_over_10k"] = round(out[sizes[-1]] / out[sizes[0]], 3)
    out["note"] = f"{per_day} articles/day, all stored events loaded in the state; horizon {params.horizon_days:.1f} days"
    return out


def evaluate(data_dir=None, cv: bool = True, with_timing: bool = True, overrides: dict | None = None) -> dict | None:
    """`overrides`: EventParams fields to score instead of the configured model's shipped ones
    (a cascade that does not ship yet, e.g. a title model and the lexical channel for use-static);
    the cross-validation grid follows their center / title_model / lexical."""
    articles = load_giveme(data_dir)
    if articles is None:
        return None
    shipped = configured_params()  # the configured model's parameters (its spaces')
    if overrides:
        shipped = replace(shipped, **{k: tuple(v) if isinstance(v, list) else v for k, v in overrides.items()})
    vecs = embed_articles(articles, params=shipped)
    res = {"params": asdict(shipped), "horizon_days": round(shipped.horizon_days, 2),
           "giveme5w1h": score_params(articles, vecs, shipped)}
    if cv:
        res["cross_validation"] = cross_validate(articles, vecs, shipped=shipped)
        if shipped.fallback:
            res["tier_gain_cv"] = tier_gain_cv(articles, shipped)
    demo = load_demo()
    demo_vecs = embed_articles(demo, params=shipped)
    res["demo_web"] = score_params(demo, demo_vecs, shipped)
    crossed = cross_language(demo, run(demo, demo_vecs, shipped))
    if crossed:
        res["demo_web_cross_language"] = crossed
    res["robustness"] = robustness(articles, vecs, shipped)
    euvs = load_euvsdisinfo(data_dir)
    if euvs:
        s = score_params(euvs, embed_articles(euvs, title_only=True, params=shipped), shipped)
        res["robustness"]["euvsdisinfo_case_titles_singletons"] = s
    if with_timing:
        res["timing_ms_per_article"] = {f"{r}_events_per_day": timing(vecs, per_day=r) for r in (20, 100)}
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--no-cv", action="store_true")
    ap.add_argument("--no-timing", action="store_true")
    ap.add_argument("--params", type=json.loads, default=None, metavar="JSON",
                    help='EventParams fields instead of the shipped ones, e.g. \'{"title_model": "all-MiniLM-L6-v2", '
                         '"lexical": "fnc1-lexical-idf", "weights": [0, 0.4, 0.3, 0.3], "threshold": 0.35}\'')
    args = ap.parse_args(argv)
    res = evaluate(cv=not args.no_cv, with_timing=not args.no_timing, overrides=args.params)
    if res is None:
        print("giveme5w1h-newscluster absent under ../shared/data", file=sys.stderr)
        return 2
    print(f"defaults: {res['params']}  horizon {res['horizon_days']} days")
    for name, s in [("giveme5w1h (383, gated)", res["giveme5w1h"]), (f"demo web ({res['demo_web']['n']})", res["demo_web"])]:
        print(f"{name:28s} BCubed P {s['bcubed_p']:.4f} R {s['bcubed_r']:.4f} F1 {s['bcubed_f1']:.4f}  "
              f"pairwise P {s['pairwise_p']:.4f} R {s['pairwise_r']:.4f} F1 {s['pairwise_f1']:.4f}  "
              f"events {s['events_pred']} (gold {s['events_gold']})")
    if "demo_web_cross_language" in res:
        c = res["demo_web_cross_language"]
        print(f"demo web, non-English articles: {c['articles']} ({c['with_gold_event']} in a gold event); pairs with "
              f"their gold event mates in one predicted event {c['gold_mate_pairs_joined']}/{c['gold_mate_pairs']}; "
              f"other articles in their events {c['other_articles_joined']}")
    if "cross_validation" in res:
        cv = res["cross_validation"]
        print(f"\ncross-validation ({N_FOLDS} folds by gold event; pick on 4 folds, score the 5th):")
        print("fold    n  rep         thr   tau  power  train_F1  heldout_BCubed_F1  heldout_pairwise_F1")
        for r in cv["folds"]:
            print(f"{r['fold']:4d} {r['n']:4d}  {r['rep']:10s} {r['threshold']:.2f} {r['tau_days']:5.1f}  {r['power']:.2f}"
                  f"   {r['train_f1']:.4f}   {r['heldout_bcubed_f1']:.4f}             {r['heldout_pairwise_f1']:.4f}")
        print(f"held-out mean BCubed F1 {cv['heldout_mean_bcubed_f1']:.4f}; by representation "
              f"(same selection within each): {cv['heldout_mean_by_representation']}")
        print(f"defaults scored per fold: {cv['defaults_per_fold_f1']}")
    if "tier_gain_cv" in res:
        print("\nsecond tier's gain (giveme5w1h with a share read as foreign; folds pick on 4, score the 5th):")
        for share, r in res["tier_gain_cv"].items():
            print(f"  share {share}: picks {r['picks']}, held-out BCubed F1 {r['heldout_bcubed_f1']:.4f}, "
                  f"shipped gain on all {r['shipped_gain_full_f1']:.4f}")
    print("\nrobustness (never used for choosing):")
    for name, s in res["robustness"].items():
        extra = f"  mixed pred events {s['pred_events_mixing_gold_events']}" if "pred_events_mixing_gold_events" in s else ""
        print(f"  {name:40s} BCubed P {s['bcubed_p']:.4f} R {s['bcubed_r']:.4f} F1 {s['bcubed_f1']:.4f}  "
              f"pairwise F1 {s['pairwise_f1']:.4f}  events {s['events_pred']}/{s['events_gold']}{extra}")
    if "timing_ms_per_article" in res:
        print("\ntiming, ms/article to assign 1,000 new articles (embedding excluded):")
        for k, t in res["timing_ms_per_article"].items():
            print(f"  {k}: {t}")
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
