"""Fit `narratives stance`'s judge (clustering/stance/fusion.py): the vector head fused with the
English cross-encoder, from shared data.

    .venv/bin/python -m bench.train_vector_stance        # first: the head's out-of-fold SemEval probabilities
    .venv/bin/python -m bench.train_stance_fusion --out clustering/stance/models/use-minilm-stance

A multinomial logistic regression over the two models' log-probabilities (8 features, 4 classes),
fitted on pairs neither model was scored on and the head was not trained on:
  - SemEval-2025 Task 10 train EN (subnarrative, document) pairs, "carries", and ("Other" or
    other-domain document) pairs, "unrelated", with the head's out-of-fold probabilities (the
    folds of bench/train_vector_stance.py, read from the file it leaves in the temp dir); the
    cross-encoder never saw SemEval;
  - FNC-1 DEV (bench/fnc1.py; the cross-encoder's epoch and logit bias were chosen on it);
  - the synthetic development claims of areas A-E, weighted `--synthetic-weight` (the only pairs
    written to the project's definitions; the cross-encoder's epoch was chosen on them too).
Reported: 5-fold cross-validated macro-F1 per set (folds by pair, seeded) and the SemEval share
of carriers kept. FNC-1 VAL, areas F and G, the demo web and the Russian sets are never read
here; bench/eval_stance.py scores them.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from datetime import date
from pathlib import Path

import numpy as np

from bench.eval_stance import fnc1_pairs, scores, synthetic_pairs
from clustering.stance.fusion import features

LABELS = ["carries", "reports", "debunks", "unrelated"]
HEAD, READER = "use-stance", "minilm-stance"
OOF = Path(tempfile.gettempdir()) / "narratives-vector-stance-probs.npz"


def probabilities(judge, rows: list[dict]) -> np.ndarray:
    from bench.stance_cache import cached_judge

    verdicts = cached_judge(judge, [(r["claim"], r["text"], r.get("title")) for r in rows])
    return np.array([[v.scores[s] for s in LABELS] for v in verdicts])


def semeval_rows() -> tuple[np.ndarray, list[dict]]:
    """The head's out-of-fold probabilities on the SemEval EN pairs, and those pairs as rows."""
    from bench.semeval import load_semeval, semeval_dir
    from bench.train_vector_stance import claim_text

    z = np.load(OOF)
    kinds = [str(k) for k in z["oof_kinds"]]
    docs = {d.id: d for d in load_semeval(semeval_dir("EN"))}
    keep = [i for i, k in enumerate(kinds) if k.startswith("EN:")]
    rows = []
    for i in keep:
        doc, sub = (str(x) for x in z["oof_pairs"][i])
        rows.append({"claim": claim_text(sub), "title": docs[doc].title, "text": docs[doc].text,
                     "gold": "carries" if kinds[i] == "EN:carrier" else "unrelated", "kind": kinds[i]})
    return z["oof"][keep], rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, help="write the model folder here")
    ap.add_argument("--synthetic-weight", type=float, default=3.0)
    ap.add_argument("--c", type=float, default=1.0, help="inverse regularisation strength")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    import torch
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    from bench.train_vector_stance import run_args
    from clustering.stance import load_judge

    torch.set_num_threads(args.threads)
    head, reader = load_judge(HEAD), load_judge(READER)
    if not OOF.is_file() or str(np.load(OOF).get("run_args", "")) != run_args(head.meta["args"]):
        print(f"{OOF} is not from a run of the shipped head's options: run `python -m bench.train_vector_stance` "
              "first", file=sys.stderr)
        return 1
    if fnc1_pairs("dev") is None:
        print("FNC-1 training data not found under ../shared/data", file=sys.stderr)
        return 1
    sem_head, sem = semeval_rows()
    sets = {"semeval_en": (sem, sem_head, 1.0), "fnc1_dev": (fnc1_pairs("dev"), None, 1.0),
            "synthetic_dev": (synthetic_pairs("dev", "ABCDE"), None, args.synthetic_weight)}
    x, y, w, name_of = [], [], [], []
    for name, (rows, hp, weight) in sets.items():
        hp = probabilities(head, rows) if hp is None else hp
        x.append(features(hp, probabilities(reader, rows)))
        y += [LABELS.index(r["gold"]) for r in rows]
        w += [weight] * len(rows)
        name_of += [name] * len(rows)
        print(f"{name}: {len(rows)} pairs", file=sys.stderr)
    x, y, w, name_of = np.vstack(x), np.array(y), np.array(w), np.array(name_of)

    def fit(ix):
        return LogisticRegression(C=args.c, max_iter=5000).fit(x[ix], y[ix], sample_weight=w[ix])

    pred = np.zeros(len(y), dtype=int)
    for train_ix, test_ix in StratifiedKFold(5, shuffle=True, random_state=13).split(x, y):
        pred[test_ix] = fit(train_ix).predict(x[test_ix])
    report = {}
    for name in sets:
        m = name_of == name
        s = scores([LABELS[i] for i in y[m]], [LABELS[i] for i in pred[m]])
        report[name] = {k: s[k] for k in ("n", "accuracy", "macro_f1", "f1")}
    kinds = np.array([r["kind"] for r in sem])
    sem_pred = pred[name_of == "semeval_en"]
    report["semeval_en"]["carriers_kept"] = round(float(np.mean(sem_pred[kinds == "EN:carrier"] == 0)), 4)
    report["semeval_en"]["other_judged_carries"] = round(float(np.mean(sem_pred[kinds == "EN:other"] == 0)), 4)
    print(json.dumps({"cross_validated": report}, indent=1))
    model = fit(np.arange(len(y)))
    if args.out:
        from safetensors.numpy import save_file

        args.out.mkdir(parents=True, exist_ok=True)
        weights = args.out / "stance_weights.safetensors"
        save_file({"coef": np.ascontiguousarray(model.coef_, np.float32),
                   "intercept": np.ascontiguousarray(model.intercept_, np.float32)},
                  str(weights))
        meta = {"model_id": args.out.name, "kind": "fusion", "labels": LABELS,
                "head": HEAD, "head_model_id": head.model_id, "reader": READER, "reader_model_id": reader.model_id,
                "license": f"Apache-2.0 (the fusion, fitted here); head: {head.license}; reader: {reader.license}",
                "trained_on": "SemEval-2025 Task 10 train EN (the head out of fold) + FNC-1 DEV + synthetic "
                              "development claims A-E",
                "train_command": "python -m bench.train_stance_fusion " + " ".join(argv if argv is not None else sys.argv[1:]),
                "trained": date.today().isoformat(), "weights_sha256": hashlib.sha256(weights.read_bytes()).hexdigest(),
                "args": {k: str(v) for k, v in vars(args).items()}, "development": report}
        (args.out / "stance_meta.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n", "utf-8")
        print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
