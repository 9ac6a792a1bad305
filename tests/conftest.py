import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# Every test web serves on 127.0.0.0/8, which the crawler's address guard refuses by default
# (crawler/addresses.py, issue #32): each crawl of a test web opens loopback with this setting,
# in plain sight on its command line. The guard's own tests (test_address_guard.py) open less.
ALLOW_LOOPBACK = ["-s", "NARRATIVES_ALLOW_ADDRESSES=127.0.0.0/8"]
# the demo's watched narrative, as `make demo` adds it (demo/make_demo.py)
N1_DESCRIPTION = "The US, NATO and the West recruit, train and arm jihadist militants to attack Russia and its allies."


def run_cli(*args, cwd=None, timeout=180, env=None):
    """Run `narratives ...` in a subprocess (the Twisted reactor cannot restart in-process)."""
    full_env = dict(os.environ, PYTHONUNBUFFERED="1", **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "narratives.cli", *map(str, args)],
        cwd=cwd or REPO, capture_output=True, text=True, timeout=timeout, env=full_env,
    )


def import_outlets(db, toml_text: str, folder) -> None:
    """Write an outlets file into `folder` and import it into `db` with the CLI, as a user would."""
    path = Path(folder) / "outlets.toml"
    path.write_text(toml_text)
    r = run_cli("outlets", "import", db, path)
    assert r.returncode == 0, r.stderr


def db_rows(db, sql, *params) -> list[dict]:
    """Rows of a query on a database file, as dicts (a fresh connection, closed after)."""
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(sql, params)]
    finally:
        conn.close()


def db_query(db, sql, *params) -> list[tuple]:
    """Rows of a query on a database file, as tuples."""
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


@pytest.fixture
def cli():
    return run_cli


# The quality gates and the demo checks run in the reference number format, fp32, whatever
# NARRATIVES_EMBED_PRECISION or the CPU would pick: fp32 gives the same figures on every x86-64
# chip, bf16 does not (issue #14). bf16 has its own gate (tests/test_events_gate.py).
REFERENCE = {"NARRATIVES_EMBED_PRECISION": "fp32"}


@pytest.fixture(scope="module")
def fp32_reference():
    """NARRATIVES_EMBED_PRECISION=fp32 for a module (its in-process embedders and the CLIs it runs)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NARRATIVES_EMBED_PRECISION", "fp32")
        yield


def _crawl_demo(tmp) -> tuple:
    from demo.server import start_demo_web

    db = tmp / "demo.db"
    with start_demo_web() as web:
        web.write_outlets_toml(tmp / "outlets.toml")
        r = run_cli("outlets", "import", db, tmp / "outlets.toml")
        assert r.returncode == 0, r.stderr
        r = run_cli("crawl", db, "-s", "AUTOTHROTTLE_START_DELAY=0.05", *ALLOW_LOOPBACK)
        assert r.returncode == 0, r.stderr
        return db, web.ground_truth


def adoption_in(gt: dict, narrative: dict, languages: set[str] | None) -> list[dict]:
    """A planted narrative's adoption order (outlet, first article) among the outlets in
    `languages`: what a model reading those languages can see (None: every language)."""
    language = {o["name"]: o["language"] for o in gt["outlets"]}
    return [a for a in narrative["adoption_order"] if languages is None or language[a["outlet"]] in languages]


EN = {"en"}  # what the English-only model of before reads


@pytest.fixture(scope="session")
def demo_crawled(tmp_path_factory):
    """(path, ground truth) of the demo web crawled once per session; copy it before writing."""
    return _crawl_demo(tmp_path_factory.mktemp("demo-crawled"))


@pytest.fixture(scope="session")
def demo_processed(tmp_path_factory, demo_crawled):
    """(path, ground truth) of the crawled demo web after `narratives process`; copy it before writing."""
    import shutil

    db = tmp_path_factory.mktemp("demo-processed") / "demo.db"
    shutil.copy(demo_crawled[0], db)
    r = run_cli("process", db, timeout=600, env=REFERENCE)
    assert r.returncode == 0, r.stderr
    return db, demo_crawled[1]


@pytest.fixture(scope="session")
def stance_set():
    """judged(model, name) -> (pairs, verdicts): a stance model's verdicts on one of
    bench.eval_stance's labelled sets (`pairs_of`, in the model's languages), each judged once per
    session: the fused judge's gate reads its parts' verdicts instead of judging again. Skips where
    the set's data is absent."""
    memo: dict = {}

    def judged(model: str, name: str):
        if (model, name) not in memo:
            import torch

            from bench.eval_stance import pairs_of
            from clustering.stance import load_judge

            judge = load_judge(model)
            pairs = pairs_of(name, judge.languages)
            if pairs is None:
                pytest.skip(f"the data of the stance set {name} is absent under ../shared/data "
                            "(set NARRATIVES_SHARED_DATA to run the gate)")
            torch.set_num_threads(2)
            memo[model, name] = pairs, judge.judge_batch([(p["claim"], p["text"], p.get("title")) for p in pairs])
        return memo[model, name]

    return judged
