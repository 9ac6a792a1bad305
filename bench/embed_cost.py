"""CPU-ms per passage of embedding models, measured in the same run (alternating, best of three).

    python -m bench.embed_cost [--models all-MiniLM-L6-v2,use-multilingual-v3,use-static] [--docs 40]

SemEval-2025 T10 training documents (the first `--docs` of EN and of RU) cut into the pipeline's
passages (clustering.passages.split_passages); each model embeds them all on one thread, in the
calling process, uncached; `process_time`, the best of three rounds, the models alternating within
a round so that a busy box slows each alike. A model that does not read a language is skipped there.
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from bench.semeval import load_semeval, semeval_dir
from clustering.passages import split_passages


def measure(models: list[str], docs: int = 40, rounds: int = 3) -> dict:
    from clustering.embedding import load_embedder

    embedders = {m: load_embedder(m, workers=1) for m in models}
    for e in embedders.values():
        e.set_threads(1)
    out = {}
    for lang in ("EN", "RU"):
        folder = semeval_dir(lang)
        if folder is None:
            continue
        passages = [p for d in load_semeval(folder)[:docs] for p in split_passages(None, d.text)]
        readers = {m: e for m, e in embedders.items() if lang.lower() in (getattr(e, "languages", None) or {"en"})}
        best = {m: float("inf") for m in readers}
        for _ in range(rounds):
            for m, e in readers.items():
                start = time.process_time()
                e.embed(passages)
                best[m] = min(best[m], time.process_time() - start)
        out[lang] = {"passages": len(passages), "words": round(float(np.mean([len(p.split()) for p in passages])), 1),
                     "cpu_ms_per_passage": {m: round(1000 * b / len(passages), 3) for m, b in best.items()}}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="all-MiniLM-L6-v2,use-multilingual-v3,use-static")
    ap.add_argument("--docs", type=int, default=40)
    args = ap.parse_args(argv)
    result = measure(args.models.split(","), args.docs)
    if not result:
        print("SemEval data not found under ../shared/data", file=sys.stderr)
        return 1
    for lang, r in result.items():
        costs = ", ".join(f"{m} {v}" for m, v in r["cpu_ms_per_passage"].items())
        print(f"{lang}: {r['passages']} passages of {r['words']} words; CPU-ms per passage: {costs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
