"""Run every benchmark in turn (`make bench`); each skips what ../shared/data lacks."""
from __future__ import annotations

import subprocess
import sys

BENCHES = [
    ["bench.eval_extraction", "--workers", "2", "--snippets"],
    ["bench.eval_dates", "--workers", "2"],
    ["bench.crawl_aeb"],
    ["bench.eval_events"],
    ["bench.eval_narratives"],
    ["bench.eval_watch"],
    ["bench.e2e"],
]


def main() -> int:
    failed = 0
    for args in BENCHES:
        print(f"== python -m {' '.join(args)}", flush=True)
        failed += subprocess.run([sys.executable, "-m", *args]).returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
