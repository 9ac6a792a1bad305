"""Quality gate of the default stance judge (clustering/stance/models/use-stance), via bench/eval_stance.py.

- FNC-1's validation split, the synthetic development claims (A-E; F and G), the demo web's
  labelled pairs (English and Russian) and the Russian stance sets (bench/stance_data/ru_*.jsonl;
  never trained or tuned on) must not fall more than TOLERANCE below bench/quality_gates.json;
- the SemEval cross-validation by document that bench/train_vector_stance.py ran (carrier recall
  and "Other" pairs judged "carries", per language) is recorded in the model's meta, which must
  describe these very weights, and meet issue #30's bars (EN and RU recall >= 0.8, EN "Other"
  judged "carries" <= 0.25; Russian has no "Other" document: its documents against the other
  domain's subnarratives stand in);
- issue #30's targets not yet met are strict xfails (FNC-1 macro-F1 0.65, demo accuracy 0.85).
The judge reads USE vectors (int8 ONNX) and runs a small fp32 head: the same figures on every chip.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

TOLERANCE = 0.005
ROOT = Path(__file__).resolve().parent.parent
GATES = json.loads((ROOT / "bench" / "quality_gates.json").read_text())
FOLDER = ROOT / "clustering" / "stance" / "models" / "use-stance"
META = json.loads((FOLDER / "stance_meta.json").read_text("utf-8"))

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def judge():
    from clustering.embedding.use_onnx import onnx_path
    from clustering.stance import load_judge

    if not onnx_path().is_file():
        pytest.skip("the USE model is not installed (make install)")
    return load_judge("use-stance")


def scored(stance_set, name: str) -> dict:
    from bench.eval_stance import scored

    return scored(*stance_set("use-stance", name))


@pytest.fixture(scope="module")
def fnc1(judge, stance_set):
    return scored(stance_set, "fnc1")


@pytest.fixture(scope="module")
def demo(judge, stance_set):
    return scored(stance_set, "demo")


def test_the_meta_describes_these_weights_and_its_cross_validation_meets_the_bars():
    assert hashlib.sha256((FOLDER / "stance_weights.safetensors").read_bytes()).hexdigest() == META["weights_sha256"]
    cv = META["development"]["semeval_cv"]
    for lang in ("EN", "RU"):
        assert cv[lang]["carrier"]["judged_carries"] >= 0.8, (lang, cv[lang])
    assert cv["EN"]["other"]["judged_carries"] <= 0.25, cv["EN"]
    assert cv["RU"]["other domain"]["judged_carries"] <= 0.25, cv["RU"]
    assert "BG" not in cv and "HI" not in cv  # USE does not read them: never judged
    assert set(META["floors"]) == {"carries", "debunks", "distance"}


def test_fnc1_validation_no_regression(fnc1):
    assert fnc1["n"] == 7209
    got, recorded = fnc1["macro_f1"], GATES["use_stance_fnc1_val_macro_f1"]
    assert got >= recorded - TOLERANCE, f"FNC-1 macro-F1 {got:.4f} fell below recorded {recorded:.4f}"


@pytest.mark.parametrize("name, gate", [("synthetic", "use_stance_synthetic_dev_macro_f1"),
                                        ("synthetic_fg", "use_stance_synthetic_fg_dev_macro_f1")])
def test_synthetic_dev_no_regression(judge, stance_set, name, gate):
    got = scored(stance_set, name)["macro_f1"]
    assert got >= GATES[gate] - TOLERANCE, f"{name} macro-F1 {got:.4f} fell below recorded {GATES[gate]:.4f}"


def test_demo_accuracy_no_regression(demo):
    assert demo["n"] == 94  # English and Russian: the judge reads both
    got, recorded = demo["accuracy"], GATES["use_stance_demo_accuracy"]
    assert got >= recorded - TOLERANCE, f"demo stance accuracy {got:.4f} fell below recorded {recorded:.4f}"
    carriers_debunked = demo["confusion"]["matrix"][0][2]
    assert carriers_debunked <= GATES["use_stance_demo_carriers_debunked"], "more demo carriers read as debunks"


def test_russian_sets_no_regression(judge, stance_set):
    got = scored(stance_set, "russian")
    assert got["n"] == 52
    assert got["accuracy"] >= GATES["use_stance_russian_accuracy"] - TOLERANCE, got["accuracy"]


@pytest.mark.xfail(strict=True, reason="known shortfall: FNC-1 validation macro-F1 of the vector head, issue #30 target 0.65 (BENCHMARKS.md)")
def test_fnc1_issue_target(fnc1):
    assert fnc1["macro_f1"] >= 0.65


@pytest.mark.xfail(strict=True, reason="known shortfall: demo stance accuracy of the vector head, issue #30 target 0.85 (BENCHMARKS.md)")
def test_demo_issue_target(demo):
    assert demo["accuracy"] >= 0.85
