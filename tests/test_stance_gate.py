"""Quality gate of the shipped stance judge (clustering/stance/models/minilm-stance), via bench/eval_stance.py.

- FNC-1's fixed validation split (bench/fnc1.py; never trained or tuned on): 4-class macro-F1 and
  macro-F1 over carries/reports/debunks must not fall more than TOLERANCE below
  bench/quality_gates.json;
- the synthetic development claims of areas A-E (bench/stance_data, used to choose the epoch), those
  of areas F and G (written after the judge was trained: held out for it) and the demo web's
  labelled (article, narrative) pairs (never used for training or choosing): the same;
- the issue-#16 targets (FNC-1 macro-F1 0.65, related 0.55, demo accuracy 0.9) are strict xfails
  while they are not met: they turn into failures (XPASS) the day a model reaches them.
- `narratives stance` answers a JSONL batch with the real model: one line per good input, in
  order, a bad line reported with its number, exit code 1.
The judge runs in fp32 on every chip (clustering/stance/cross_encoder.py). FNC-1 parts skip when
../shared/data is absent.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

TOLERANCE = 0.005
TARGETS = {"fnc1_macro_f1": 0.65, "fnc1_related_macro_f1": 0.55, "demo_accuracy": 0.9}
ROOT = Path(__file__).resolve().parent.parent
GATES = json.loads((ROOT / "bench" / "quality_gates.json").read_text())
SHIPPED = "minilm-stance"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def fnc1(stance_set):
    from bench.eval_stance import scored

    return scored(*stance_set(SHIPPED, "fnc1"))


@pytest.fixture(scope="module")
def demo(stance_set):
    from bench.eval_stance import scored

    return scored(*stance_set(SHIPPED, "demo"))


@pytest.fixture(scope="module")
def synthetic(stance_set):
    from bench.eval_stance import scored

    return scored(*stance_set(SHIPPED, "synthetic"))


@pytest.fixture(scope="module")
def synthetic_fg(stance_set):
    from bench.eval_stance import scored

    return scored(*stance_set(SHIPPED, "synthetic_fg"))


def test_fnc1_validation_no_regression(fnc1):
    assert fnc1["n"] == 7209
    for key, gate in (("macro_f1", "stance_fnc1_val_macro_f1"), ("macro_f1_related", "stance_fnc1_val_related_macro_f1")):
        assert fnc1[key] >= GATES[gate] - TOLERANCE, f"FNC-1 {key} {fnc1[key]:.4f} fell below recorded {GATES[gate]:.4f}"


def test_synthetic_dev_no_regression(synthetic):
    got, recorded = synthetic["macro_f1"], GATES["stance_synthetic_dev_macro_f1"]
    assert got >= recorded - TOLERANCE, f"synthetic dev macro-F1 {got:.4f} fell below recorded {recorded:.4f}"


def test_synthetic_fg_no_regression(synthetic_fg):
    assert synthetic_fg["n"] == 144
    got, recorded = synthetic_fg["macro_f1"], GATES["stance_synthetic_fg_dev_macro_f1"]
    assert got >= recorded - TOLERANCE, f"synthetic F/G dev macro-F1 {got:.4f} fell below recorded {recorded:.4f}"


def test_demo_accuracy_no_regression(demo):
    assert demo["n"] == 90
    got, recorded = demo["accuracy"], GATES["stance_demo_accuracy"]
    assert got >= recorded - TOLERANCE, f"demo stance accuracy {got:.4f} fell below recorded {recorded:.4f}"


@pytest.mark.xfail(strict=True, reason="known shortfall: FNC-1 validation macro-F1 0.642, issue target 0.65 (BENCHMARKS.md, Quality gates)")
def test_fnc1_issue_target(fnc1):
    assert fnc1["macro_f1"] >= TARGETS["fnc1_macro_f1"]


@pytest.mark.xfail(strict=True, reason="known shortfall: FNC-1 related-only macro-F1 0.535, issue target 0.55 (BENCHMARKS.md, Quality gates)")
def test_fnc1_related_issue_target(fnc1):
    assert fnc1["macro_f1_related"] >= TARGETS["fnc1_related_macro_f1"]


@pytest.mark.xfail(strict=True, reason="known shortfall: demo stance accuracy 0.722 (demo relays of an official claim read as reports), issue target 0.9")
def test_demo_issue_target(demo):
    assert demo["accuracy"] >= TARGETS["demo_accuracy"]


def test_stance_command_answers_a_batch_with_the_real_model(tmp_path):
    from bench.eval_stance import demo_pairs

    pairs = demo_pairs({"en"})[:40]  # the shipped judge reads English
    lines = [json.dumps({"id": p["id"], "claim": p["claim"], "text": p["text"], "title": p["title"]}) for p in pairs]
    lines.insert(5, '{"id": "broken", "claim": "no text"}')
    lines.insert(9, "not json at all")
    # a Russian text (detected) and an English one said to be Russian: the English judge reads neither
    ru = json.loads((ROOT / "bench" / "stance_data" / "ru_A.jsonl").read_text("utf-8").splitlines()[0])
    lines.insert(12, json.dumps({"id": "ru", "claim": pairs[0]["claim"], "text": ru["text"], "title": ru["title"]},
                                ensure_ascii=False))
    lines.insert(14, json.dumps({"id": "said-ru", "claim": pairs[0]["claim"], "text": pairs[0]["text"], "language": "ru"}))
    path = tmp_path / "pairs.jsonl"
    path.write_text("\n".join(lines) + "\n", "utf-8")
    from tests.conftest import run_cli

    r = run_cli("stance", path, "--model", SHIPPED, timeout=300)
    assert r.returncode == 1, r.stderr
    assert "line 6" in r.stderr and "line 10" in r.stderr, r.stderr
    out = [json.loads(line) for line in r.stdout.splitlines()]
    ids = [p["id"] for p in pairs]
    assert [o["id"] for o in out] == ids[:10] + ["ru"] + ids[10:11] + ["said-ru"] + ids[11:]
    unread = [out.pop(10), out.pop(11)]
    for o in unread:  # answered in place, not judged, and why
        assert (o["stance"], o["scores"], o["evidence"], o["language"]) == ("not judged", None, [], "ru")
        assert o["reason"].startswith("no stance judge reads ru"), o
    assert "not judged: 2 in ru" in r.stderr, r.stderr
    for o in out:
        assert o["language"] == "en"
        assert o["stance"] in ("carries", "reports", "debunks", "unrelated")
        assert abs(sum(o["scores"].values()) - 1) < 1e-3 and max(o["scores"], key=o["scores"].get) == o["stance"]
        assert o["evidence"] and all(isinstance(e, str) and e for e in o["evidence"])
        assert o["model"].startswith(SHIPPED + "@")
    assert "judging" in r.stderr  # the progress bar, for inputs of 32 lines and more


def test_process_with_the_real_judge_keeps_carriers_and_lists_the_rest(demo_crawled, tmp_path):
    """`narratives process` on the crawled demo web with NARRATIVES_STANCE_MODEL=minilm-stance:
    verdicts stored with the model, members are carriers only, spread lists reports and debunks
    apart with the first debunk's lag; a second run judges nothing again."""
    import shutil

    from tests.conftest import REFERENCE, db_query, run_cli

    db = tmp_path / "demo.db"
    shutil.copy(demo_crawled[0], db)
    env = dict(REFERENCE, NARRATIVES_STANCE_MODEL=SHIPPED)
    r = run_cli("process", db, timeout=900, env=env)
    assert r.returncode == 0, r.stderr
    out = r.stdout + r.stderr
    assert "stance: not judged" not in out and " judged (" in out, out[-500:]  # the summary counts the verdicts
    models = {m for (m,) in db_query(db, "SELECT DISTINCT model_id FROM stances")}
    assert models and all(m.startswith(SHIPPED + "@") for m in models), models
    counts = dict(db_query(db, "SELECT stance, count(*) FROM stances WHERE kind = 'narrative' GROUP BY stance"))
    assert counts.get("carries") and counts.get("reports", 0) + counts.get("debunks", 0) > 0, counts
    wrong = db_query(db, """SELECT m.subject_id, m.article_id, s.stance FROM subject_members m
                            JOIN stances s ON s.kind = m.kind AND s.subject_id = m.subject_id AND s.article_id = m.article_id
                            WHERE m.kind = 'narrative' AND s.stance != 'carries'""")
    assert not wrong, wrong
    shown = 0
    for (nid,) in db_query(db, "SELECT id FROM narratives WHERE status = 'active'"):
        r = run_cli("spread", db, nid, "--json", env=env)
        assert r.returncode == 0, r.stderr
        data = json.loads(r.stdout)
        apart = {x["outlet"] for x in data["reported_by"] + data["debunked_by"]}
        judged_apart = {o for (o,) in db_query(db, """SELECT DISTINCT a.outlet FROM stances s JOIN articles a ON a.id = s.article_id
                                                      WHERE s.kind = 'narrative' AND s.subject_id = ?
                                                      AND s.stance IN ('reports', 'debunks')""", nid)}
        assert apart == judged_apart, (nid, apart, judged_apart)
        if data["debunked_by"]:
            shown += 1
            assert data["first_debunk"]["lag_after_origin_hours"] is not None
    assert shown, "no narrative lists a debunk"
    before = db_query(db, "SELECT count(*), max(judged_at) FROM stances")
    r = run_cli("process", db, timeout=900, env=env)
    assert r.returncode == 0, r.stderr
    assert db_query(db, "SELECT count(*), max(judged_at) FROM stances") == before
