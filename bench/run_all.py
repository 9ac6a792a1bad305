"""Run every benchmark in turn (`make bench`); each skips what ../shared/data lacks."""
from __future__ import annotations

import os
import subprocess
import sys

USE = {"NARRATIVES_EMBED_MODEL": "use-multilingual-v3"}
BENCHES = [
    ["bench.eval_extraction", "--workers", "2", "--snippets"],
    ["bench.eval_dates", "--workers", "2"],
    ["bench.crawl_aeb"],
    ["bench.address_guard"],
    ["bench.eval_events"],
    ["bench.eval_narratives"],
    ["bench.eval_watch"],
    ["bench.eval_watch_cli"],
    ["bench.eval_stance"],
    ["bench.eval_stance", "--model", "use-stance", "--sets", "fnc1,synthetic,synthetic_fg,demo,russian"],
    ["bench.train_vector_stance"],  # its cross-validation (writes no model without --out)
    ["bench.train_stance_fusion"],  # the fusion's cross-validation, from the run above
    ["bench.eval_stance", "--model", "use-minilm-stance", "--sets", "fnc1,synthetic,synthetic_fg,demo"],
    ["bench.eval_crosslingual", USE],
    ["bench.eval_translation", USE],
    ["bench.e2e"],
    ["bench.process_cost"],
]


def main() -> int:
    failed = 0
    for entry in BENCHES:
        args = [a for a in entry if isinstance(a, str)]
        env = next((a for a in entry if isinstance(a, dict)), {})
        print(f"== {' '.join(f'{k}={v}' for k, v in env.items())} python -m {' '.join(args)}".replace("==  ", "== "),
              flush=True)
        failed += subprocess.run([sys.executable, "-m", *args], env=dict(os.environ, **env)).returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
