"""Publication-date accuracy of `crawler.extraction.extract_article` from the HTML alone.

    python -m bench.eval_dates [--json OUT] [--workers N]

Data: trafilatura's evaluation corpus (../shared/data/trafilatura-eval), the 728 entries with a
gold "date". The page URL is passed (the crawler always knows it), no feed or sitemap date.
Score: share of pages whose date agrees with the gold on the first 10 characters
(bench.scoring.same_day); the two malformed gold dates count as misses. Reported for
`published_date` (the day as the page writes it; the gated number) and for `published_at`
(UTC-normalised; a timestamp late in the evening west of UTC moves to the next day), and over the
alternate halves A/B used to choose the source order (see crawler/dates.py).
"""
from __future__ import annotations

import argparse
import json
import sys
import time

from bench.eval_extraction import _map, traf_eval_file, traf_eval_root
from bench.scoring import mean, same_day
from bench.shared_data import shared_data_dir


def _one(args):
    from crawler.exceptions import ExtractionError
    from crawler.extraction import extract_article

    path, url, gold = args
    start = time.process_time()
    try:
        ex = extract_article(path.read_bytes(), url)
        day, at, source = ex.published_date, ex.published_at, ex.date_source
    except ExtractionError:
        day = at = source = None
    return same_day(day, gold), same_day(at, gold), source, time.process_time() - start


def evaluate_dates(data_dir=None, workers: int = 1) -> dict | None:
    root = traf_eval_root(data_dir)
    if root is None:
        return None
    ev = json.loads((root / "evaldata.json").read_text(encoding="utf-8"))
    jobs = [(traf_eval_file(root, v["file"]), url, v["date"]) for url, v in ev.items() if v.get("date")]
    res = _map(_one, jobs, workers)
    sources: dict[str, int] = {}
    for r in res:
        sources[str(r[2])] = sources.get(str(r[2]), 0) + 1
    return {
        "pages": len(res),
        "day_accuracy": mean(r[0] for r in res),
        "half_a": mean(r[0] for r in res[::2]),
        "half_b": mean(r[0] for r in res[1::2]),
        "utc_day_accuracy": mean(r[1] for r in res),
        "sources": sources,
        "cpu_ms_per_page": 1000 * mean(r[3] for r in res),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", help="write the results to this file")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    import logging

    logging.basicConfig(level=logging.ERROR)
    if shared_data_dir() is None:
        print("shared data folder not found (set NARRATIVES_SHARED_DATA); nothing to evaluate")
        return 0
    start = time.perf_counter()
    result = evaluate_dates(workers=args.workers)
    if result is None:
        print("trafilatura-eval not found; skipped")
        return 0
    print(
        f"date exact-day accuracy: {result['day_accuracy']:.4f} over {result['pages']} pages "
        f"(half A {result['half_a']:.4f}, half B {result['half_b']:.4f}); "
        f"published_at (UTC) {result['utc_day_accuracy']:.4f}; "
        f"{result['cpu_ms_per_page']:.1f} CPU ms/page, wall {time.perf_counter() - start:.1f} s"
    )
    print("date sources:", json.dumps(result["sources"], sort_keys=True))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(result, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
