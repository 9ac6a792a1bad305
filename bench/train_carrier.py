"""Train the narrative-carrier model (clustering/carrier.py) for the configured embedding model.

    [NARRATIVES_EMBED_MODEL=use-multilingual-v3] python -m bench.train_carrier [--check-only]

Data: SemEval-2025 Task 10 training split, English (399 documents; 230 annotated with at least
one narrative, 169 only "Other": same topics, no narrative). Features: the mean of the
document's passage vectors (clustering.passages, as the pipeline embeds them). Logistic
regression, C chosen by 5-fold CV AUC on SemEval; then fitted on all of it and written to
clustering/carrier_models/. The demo web (never trained on) is the held-out check: AUC of
planted narrative articles against the rest, and against neutral reports and fact checks of
the same events. For a multilingual model, a logit offset per other language it reads, from
SemEval's PT and RU folders (`language_offsets`: English carriers' mean out-of-fold logit minus
that language's carriers' mean), never from the demo.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from datetime import date

import numpy as np

from bench.semeval import LANGUAGES, Doc, embed_passages, load_semeval, semeval_dir, semeval_en_dir
from clustering import carrier as C
from clustering.carrier import CarrierModel, features, load_carrier, save_model
from clustering.embedding import load_embedder

C_GRID = (0.3, 1.0, 3.0)
CV_SEED = 1


def semeval_xy():
    en = semeval_en_dir()
    if en is None:
        return None
    docs = load_semeval(en)
    return np.array([features(v) for v in embed_passages(docs)]), np.array([bool(d.labels) for d in docs])


def cv_scores(x: np.ndarray, y: np.ndarray, c: float) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    return cross_val_predict(LogisticRegression(C=c, max_iter=5000), x, y,
                             cv=StratifiedKFold(5, shuffle=True, random_state=CV_SEED), method="decision_function")


def language_offsets(model: CarrierModel, en_carriers_mean: float) -> dict[str, float]:
    """Per other language the embedding model reads (SemEval's folders): the English carriers'
    mean out-of-fold logit minus that language's carriers' mean logit, so a Russian carrier
    clears the gate as an English one does. Empty for an English-only model."""
    from clustering.embed import model_languages

    reads = model_languages(load_embedder()) or set()
    out = {}
    for lang in LANGUAGES:
        folder = semeval_dir(lang)
        if lang == "EN" or lang.lower() not in reads or folder is None:
            continue
        docs = [d for d in load_semeval(folder) if d.labels]
        out[lang.lower()] = round(en_carriers_mean - float(np.mean(model.scores(embed_passages(docs)))), 4)
    return out


def demo_check(model: CarrierModel) -> dict:
    from sklearn.metrics import roc_auc_score

    from demo.model import load_content

    from bench.embedding_cache import configured_languages

    arts = load_content().readable(configured_languages())  # what the model embeds
    docs = [Doc(a.id, a.title, "\n\n".join(a.paragraphs), list(a.narratives)) for a in arts]
    s = model.scores(embed_passages(docs), [a.language for a in arts])
    y = np.array([bool(d.labels) for d in docs])
    covered = np.array([a.event is not None for a in arts])  # articles about the planted events
    return {"demo_auc_all": round(float(roc_auc_score(y, s)), 3),
            "demo_auc_event_coverage": round(float(roc_auc_score(y[covered], s[covered])), 3),
            "demo_narrative_articles_below_gate": int((s[y] < C.CARRIER_GATE).sum()), "demo_narrative_articles": int(y.sum()),
            "demo_other_event_articles_above_gate": int((s[~y & covered] >= C.CARRIER_GATE).sum()),
            "demo_other_event_articles": int((~y & covered).sum())}


def main(argv=None) -> int:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check-only", action="store_true", help="score the shipped model, do not train")
    args = ap.parse_args(argv)
    model_id = load_embedder().model_id
    if args.check_only:
        model = load_carrier(model_id)
        print(model.info if model else "no model")
        print(demo_check(model))
        return 0
    xy = semeval_xy()
    if xy is None:
        print("SemEval data absent: ../shared/data/semeval2025-task10-train (set NARRATIVES_SHARED_DATA)")
        return 1
    x, y = xy
    aucs = {c: float(roc_auc_score(y, cv_scores(x, y, c))) for c in C_GRID}
    c = max(C_GRID, key=lambda k: (round(aucs[k], 3), -abs(np.log(k))))
    lr = LogisticRegression(C=c, max_iter=5000).fit(x, y)
    model = CarrierModel(model_id, lr.coef_[0], float(lr.intercept_[0]), {
        "trained_on": "SemEval-2025 Task 10 train, English: documents with a narrative vs only 'Other'",
        "documents": int(len(y)), "positives": int(y.sum()), "features": "mean passage vector, L2-normalised",
        "C": c, "cv_auc": {str(k): round(v, 4) for k, v in aucs.items()}, "trained": date.today().isoformat()})
    model = replace(model, language_offsets=language_offsets(model, float(cv_scores(x, y, c)[y].mean())))
    model.info.update(demo_check(model))
    print(model.info, model.language_offsets)
    print("written", save_model(model))
    return 0


if __name__ == "__main__":
    sys.exit(main())
