"""Body-text quality of `crawler.extraction.extract_article` on real pages.

    python -m bench.eval_extraction [--json OUT] [--snippets] [--workers N]

1. Scrapinghub article-extraction benchmark (../shared/data/scrapinghub-aeb): per page F1 of the
   lower-cased \\w+ token multisets (bench.scoring.token_f1) against the gold articleBody; mean
   over all 181 pages, and over the two alternate halves A/B (sorted ids) used for tuning.
2. --snippets: trafilatura's evaluation corpus (../shared/data/trafilatura-eval), never used to
   tune the body settings: share of "with" snippets found and of "without" snippets wrongly
   included in the extracted text.
"""
from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import time
from multiprocessing import Pool

from bench.scoring import mean, token_f1
from bench.shared_data import shared_data_dir, unpacked

AEB = "scrapinghub-aeb"
TRAF_EVAL = "trafilatura-eval/trafilatura-eval-html.tar.xz"


def _extract_text(html, url) -> tuple[str, float]:
    from crawler.exceptions import ExtractionError
    from crawler.extraction import extract_article

    start = time.process_time()
    try:
        text = extract_article(html, url).text
    except ExtractionError:
        text = ""
    return text, time.process_time() - start


def _aeb_one(args):
    path, url, gold = args
    html = gzip.open(path).read()
    text, cpu = _extract_text(html, url)
    return token_f1(text, gold), cpu


def evaluate_aeb(data_dir=None, workers: int = 1) -> dict | None:
    data_dir = data_dir or shared_data_dir()
    folder = data_dir / AEB if data_dir else None
    if folder is None or not (folder / "ground-truth.json").is_file():
        return None
    gold = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
    ids = sorted(gold)
    jobs = [(folder / "html" / f"{i}.html.gz", gold[i]["url"], gold[i]["articleBody"]) for i in ids]
    results = _map(_aeb_one, jobs, workers)
    f1 = [r[0] for r in results]
    return {
        "pages": len(ids),
        "mean_f1": mean(f1),
        "half_a_f1": mean(f1[::2]),
        "half_b_f1": mean(f1[1::2]),
        "cpu_ms_per_page": 1000 * mean(r[1] for r in results),
        "per_page": dict(zip(ids, f1)),
    }


def traf_eval_root(data_dir=None):
    data_dir = data_dir or shared_data_dir()
    archive = data_dir / TRAF_EVAL if data_dir else None
    if archive is None or not archive.is_file():
        return None
    return unpacked(archive) / "trafilatura-tests" / "tests"


def traf_eval_file(root, name):
    path = root / "eval" / name
    return path if path.exists() else root / "cache" / name


def _norm(s: str) -> str:
    return re.sub(r"\s+", " ", s).strip()


def _snippet_one(args):
    path, url, with_, without = args
    text, cpu = _extract_text(path.read_bytes(), url)
    text = _norm(text)
    return (
        sum(_norm(s) in text for s in with_), len(with_),
        sum(_norm(s) in text for s in without), len(without), cpu,
    )


def evaluate_snippets(data_dir=None, workers: int = 1) -> dict | None:
    root = traf_eval_root(data_dir)
    if root is None:
        return None
    ev = json.loads((root / "evaldata.json").read_text(encoding="utf-8"))
    jobs = [(traf_eval_file(root, v["file"]), url, v.get("with", []), v.get("without", [])) for url, v in ev.items()]
    res = _map(_snippet_one, jobs, workers)
    return {
        "pages": len(res),
        "with_found": sum(r[0] for r in res) / max(1, sum(r[1] for r in res)),
        "without_included": sum(r[2] for r in res) / max(1, sum(r[3] for r in res)),
        "cpu_ms_per_page": 1000 * mean(r[4] for r in res),
    }


def _map(func, jobs, workers):
    if workers > 1:
        with Pool(workers) as pool:
            return pool.map(func, jobs, chunksize=4)
    return [func(job) for job in jobs]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", help="write the results to this file")
    parser.add_argument("--snippets", action="store_true", help="also score trafilatura-eval snippets")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    import logging

    logging.basicConfig(level=logging.ERROR)  # trafilatura warns on every discarded page
    if shared_data_dir() is None:
        print("shared data folder not found (set NARRATIVES_SHARED_DATA); nothing to evaluate")
        return 0
    out = {}
    start = time.perf_counter()
    aeb = evaluate_aeb(workers=args.workers)
    if aeb is None:
        print(f"{AEB} not found under {shared_data_dir()}; skipped")
    else:
        out["aeb"] = aeb
        print(
            f"aeb body token F1: mean {aeb['mean_f1']:.4f} over {aeb['pages']} pages "
            f"(half A {aeb['half_a_f1']:.4f}, half B {aeb['half_b_f1']:.4f}); "
            f"{aeb['cpu_ms_per_page']:.1f} CPU ms/page, wall {time.perf_counter() - start:.1f} s"
        )
    if args.snippets:
        snip = evaluate_snippets(workers=args.workers)
        if snip is None:
            print("trafilatura-eval not found; snippet check skipped")
        else:
            out["snippets"] = snip
            print(
                f"trafilatura-eval snippets: 'with' found {snip['with_found']:.4f}, "
                f"'without' included {snip['without_included']:.4f} over {snip['pages']} pages; "
                f"{snip['cpu_ms_per_page']:.1f} CPU ms/page"
            )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(out, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
