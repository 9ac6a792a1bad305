"""Quality gate for watched narratives (clustering/watch.py), via bench/eval_watch.py.

- SemEval-2025 Task 10 English micro-F1 (held-out 5-fold CV), zero-shot and few-shot, must not
  fall more than TOLERANCE below bench/quality_gates.json;
- few-shot must beat zero-shot scored on the same documents (examples must never hurt);
- the issue-#3 targets (zero-shot 0.35, few-shot 0.45, demo N1 precision and recall >= 0.9) are
  NOT met with the default model (two spaces; held-out 0.322 / 0.290 in fp32 with the
  narrative-carrier gate; demo N1 precision 0.765, recall 1.0 with examples: similarity sees
  topic, not stance, and the carrier model only partly tells neutral coverage of the same events
  apart). Those checks are strict
  xfails: they turn into failures (XPASS) as soon as a target is reached, so its marker gets
  removed then.
Skips when ../shared/data is absent.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

TOLERANCE = 0.005
TARGETS = {"zero_shot": 0.35, "few_shot": 0.45}
GATES = json.loads((Path(__file__).resolve().parent.parent / "bench" / "quality_gates.json").read_text())

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def semeval(fp32_reference):
    from bench.eval_watch import evaluate_semeval, semeval_en_dir

    en = semeval_en_dir()
    if en is None or not en.is_dir():
        pytest.skip("../shared/data/semeval2025-task10-train absent (set NARRATIVES_SHARED_DATA to run the gate)")
    return evaluate_semeval(en)


@pytest.fixture(scope="module")
def demo(fp32_reference):
    from bench.eval_watch import evaluate_demo

    return evaluate_demo(with_examples=True)


@pytest.mark.parametrize("setting", ["zero_shot", "few_shot"])
def test_semeval_micro_f1_no_regression(semeval, setting):
    got = semeval[setting]["cv_micro_f1"]
    recorded = GATES[f"watch_{setting}_micro_f1"]
    assert got >= recorded - TOLERANCE, f"{setting} micro-F1 {got:.4f} fell below recorded {recorded:.4f}"


def test_few_shot_not_worse_than_zero_shot_on_same_docs(semeval):
    assert semeval["few_shot"]["cv_micro_f1"] >= semeval["zero_shot_on_few_shot_docs"]["cv_micro_f1"]


@pytest.mark.xfail(strict=True, reason="known shortfall: zero-shot issue target 0.35 not reached (held-out 0.322, fp32)")
def test_semeval_zero_shot_issue_target(semeval):
    assert semeval["zero_shot"]["cv_micro_f1"] >= TARGETS["zero_shot"]


@pytest.mark.xfail(strict=True, reason="known shortfall: few-shot issue target 0.45 not reached (held-out 0.290, fp32)")
def test_semeval_few_shot_issue_target(semeval):
    assert semeval["few_shot"]["cv_micro_f1"] >= TARGETS["few_shot"]


@pytest.mark.xfail(strict=True, reason="known shortfall: demo N1 precision 0.77 (neutral coverage of the same events matches)")
def test_demo_n1_precision_recall(demo):
    r = demo["N1"]
    assert r["precision"] >= 0.9 and r["recall"] >= 0.9, r
