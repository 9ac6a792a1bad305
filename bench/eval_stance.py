"""Stance judge quality (clustering/stance/): FNC-1 validation, the project's synthetic sets, the demo web.

    python -m bench.eval_stance [--model NAME|DIR] [--sets fnc1,synthetic,synthetic_fg,demo] [--limit N]
                                [--json OUT] [--write-jsonl DIR]

- fnc1: the fixed FNC-1 validation split (bench/fnc1.py, never trained or tuned on), agree /
  discuss / disagree / unrelated read as carries / reports / debunks / unrelated: macro-F1 over
  the 4 classes and over the first 3, per-class F1, confusion;
- synthetic: the development claims of areas A-E of bench/stance_data (used to choose training
  settings: not held out);
- synthetic_fg: areas F and G, written after the shipped judge was trained;
- demo: every (article, planted narrative) pair of demo/ground_truth.json, the claim being the
  narrative's description (never tuned on).
Also CPU-ms per pair. `--write-jsonl DIR` writes each set as `narratives stance` input.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

from clustering.stance import STANCES

HERE = Path(__file__).resolve().parent
SYNTHETIC = HERE / "stance_data" / "synthetic_en.jsonl"
LETTERS = "ABCDEFG"  # claim areas; F and G were written after the shipped judge was trained
DEV_CLAIMS = {f"{p}-{n:02d}" for p in LETTERS for n in (13, 14, 15, 16)}
PAIR_SEED = 7


def synthetic_rows() -> list[dict]:
    return [json.loads(line) for line in SYNTHETIC.read_text("utf-8").splitlines() if line.strip()]


def synthetic_pairs(split: str = "dev", letters: str = LETTERS) -> list[dict]:
    """The synthetic articles of one split (and of the claim areas `letters`) as pairs: own claim
    (long and short form) and another claim of the same topic area and split (unrelated)."""
    rows = synthetic_rows()
    claims = {}
    for r in rows:
        claims.setdefault(r["claim_id"], r["claim"])
    rng = random.Random(PAIR_SEED)
    out = []
    for i, r in enumerate(rows):
        if (r["claim_id"] in DEV_CLAIMS) != (split == "dev") or r["claim_id"][0] not in letters:
            continue
        for form in ("claim", "claim_short"):
            out.append({"id": f"{r['claim_id']}#{i}:{form}", "claim": r[form], "title": r["title"], "text": r["text"],
                        "gold": r["stance"]})
        pool = sorted(c for c in claims if c != r["claim_id"] and c[0] == r["claim_id"][0]
                      and (c in DEV_CLAIMS) == (r["claim_id"] in DEV_CLAIMS))
        other = rng.choice(pool)
        out.append({"id": f"{r['claim_id']}#{i}:other-{other}", "claim": claims[other], "title": r["title"],
                    "text": r["text"], "gold": "unrelated"})
    return out


def demo_pairs(languages: set[str] | None = None) -> list[dict]:
    """The demo's stance pairs whose article is in `languages` (a judge's; None: all)."""
    from demo.model import GROUND_TRUTH_PATH, load_content

    gt = json.loads(GROUND_TRUTH_PATH.read_text("utf-8"))
    by_id = {a.id: a for a in load_content().readable(languages)}
    return [{"id": f"{n['id']}:{aid}", "claim": n["description"], "title": by_id[aid].title,
             "text": "\n\n".join(by_id[aid].paragraphs), "gold": stance}
            for n in gt["narratives"] for aid, stance in n["stances"].items() if aid in by_id]


def russian_pairs(claims: str = "ru") -> list[dict]:
    """The Russian stance sets (bench/stance_data/ru_A.jsonl, ru_B.jsonl: translations of synthetic
    development articles), each toward its claim in Russian ("ru") or in English ("en")."""
    english = {r["claim_id"]: r["claim"] for r in synthetic_rows()}
    out = []
    for name in ("ru_A", "ru_B"):
        for i, line in enumerate((HERE / "stance_data" / f"{name}.jsonl").read_text("utf-8").splitlines()):
            r = json.loads(line)
            out.append({"id": f"{name}#{i}:{claims}", "claim": r["claim_ru"] if claims == "ru" else english[r["claim_id"]],
                        "title": r["title"], "text": r["text"], "gold": r["stance"]})
    return out


def fnc1_pairs(split: str = "val") -> list[dict] | None:
    from bench.fnc1 import fnc1_dir, load, split as fnc_split, stance_jsonl_rows

    folder = fnc1_dir()
    if folder is None:
        return None
    bodies, pairs = load(folder)
    return stance_jsonl_rows(bodies, fnc_split(pairs)[split])


SETS = ("fnc1", "synthetic", "synthetic_fg", "demo", "russian", "russian_en_claims")


def pairs_of(name: str, languages: set[str] | None = None) -> list[dict] | None:
    """One of SETS by name (None: its data is absent under ../shared/data). `languages`: a judge's;
    the demo's pairs are those whose article it reads (an English judge does not judge a Russian
    article: "not judged")."""
    sets = {"fnc1": lambda: fnc1_pairs("val"), "synthetic": lambda: synthetic_pairs("dev", "ABCDE"),
            "synthetic_fg": lambda: synthetic_pairs("dev", "FG"), "demo": lambda: demo_pairs(languages),
            "russian": lambda: russian_pairs("ru"), "russian_en_claims": lambda: russian_pairs("en")}
    return sets[name]()


def scores(gold: list[str], pred: list[str]) -> dict:
    labels = list(STANCES)
    cm = np.zeros((4, 4), dtype=int)
    for g, p in zip(gold, pred):
        cm[labels.index(g), labels.index(p)] += 1
    f1 = {}
    for i, l in enumerate(labels):
        tp, fp, fn = cm[i, i], cm[:, i].sum() - cm[i, i], cm[i, :].sum() - cm[i, i]
        f1[l] = round(float(2 * tp / (2 * tp + fp + fn)) if tp else 0.0, 4)
    return {"n": len(gold), "accuracy": round(float(np.trace(cm) / max(1, cm.sum())), 4),
            "macro_f1": round(float(np.mean(list(f1.values()))), 4),
            "macro_f1_related": round(float(np.mean([f1[l] for l in labels[:3]])), 4),
            "f1": f1, "confusion": {"rows=gold, cols=predicted": labels, "matrix": cm.tolist()}}


def evaluate(judge, pairs: list[dict], threads: int = 1) -> dict:
    """Scores of the judge on labelled pairs; CPU-ms per pair counts every thread's time."""
    import torch

    torch.set_num_threads(threads)
    cpu = time.process_time()
    verdicts = judge.judge_batch([(p["claim"], p["text"], p.get("title")) for p in pairs])
    return scored(pairs, verdicts, time.process_time() - cpu)


def scored(pairs: list[dict], verdicts, cpu: float = 0.0) -> dict:
    """Scores of verdicts on labelled pairs (`evaluate` without the judging)."""
    out = scores([p["gold"] for p in pairs], [v.stance for v in verdicts])
    out["cpu_ms_per_pair"] = round(1000 * cpu / max(1, len(pairs)), 1)
    out["errors"] = [{"id": p["id"], "gold": p["gold"], "predicted": v.stance} for p, v in zip(pairs, verdicts)
                     if v.stance != p["gold"]][:200]
    return out


def main(argv=None) -> int:
    from clustering.stance import load_judge

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="minilm-stance", help="stance model name or folder")
    ap.add_argument("--sets", default="fnc1,synthetic,synthetic_fg,demo",
                    help="of fnc1, synthetic, synthetic_fg, demo, russian, russian_en_claims")
    ap.add_argument("--limit", type=int, default=None, help="score only the first N pairs of each set (quick look)")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (CPU-ms per pair count them all)")
    ap.add_argument("--write-jsonl", metavar="DIR", help="write each set as `narratives stance` input and stop")
    args = ap.parse_args(argv)
    judge = load_judge(args.model)
    wanted = [s.strip() for s in args.sets.split(",") if s.strip()]
    unknown = [name for name in wanted if name not in SETS]
    if unknown:
        ap.error(f"unknown set(s) {', '.join(unknown)}: give some of {', '.join(SETS)}")
    if args.write_jsonl:
        folder = Path(args.write_jsonl)
        folder.mkdir(parents=True, exist_ok=True)
        for name in wanted:
            pairs = pairs_of(name, judge.languages) or []
            (folder / f"{name}.jsonl").write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in pairs))
            print(f"{folder / (name + '.jsonl')}: {len(pairs)} pairs")
        return 0
    results = {"model": judge.model_id}
    for name in wanted:
        pairs = pairs_of(name, judge.languages)
        if pairs is None:
            print(f"{name}: data absent under ../shared/data, skipped")
            continue
        pairs = pairs[:args.limit] if args.limit else pairs
        r = results[name] = evaluate(judge, pairs, threads=args.threads)
        print(f"{name} ({r['n']} pairs): accuracy {r['accuracy']:.4f}  macro-F1 {r['macro_f1']:.4f}  "
              f"related macro-F1 {r['macro_f1_related']:.4f}  F1 {r['f1']}  {r['cpu_ms_per_pair']} CPU-ms/pair")
        print(f"   confusion (rows gold, cols predicted; {', '.join(STANCES)}): {r['confusion']['matrix']}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
