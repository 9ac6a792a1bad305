"""Quality gate of `narratives stance`'s judge (clustering/stance/models/use-minilm-stance): the
vector head fused with the English cross-encoder, via bench/eval_stance.py.

- The fusion's meta describes these weights and names the shipped head and reader (loading refuses
  other parts); its cross-validation on its own fitting data (SemEval EN, FNC-1 DEV, synthetic
  A-E) keeps SemEval carriers (>= 0.8) and lets few "Other" pairs through (<= 0.25).
- FNC-1's validation split, the synthetic F/G claims and the demo web's labelled pairs (never
  fitted on) and the synthetic A-E claims must not fall more than TOLERANCE below
  bench/quality_gates.json. The verdicts are fused from the parts' verdicts on the same sets
  (the other two gates judge them once per session, tests/conftest.py `stance_set`).
- Russian pairs get the head's verdicts (the reader reads English only).
- issue #30's targets not yet met are strict xfails (FNC-1 macro-F1 0.65, demo accuracy 0.85).
- `narratives stance` uses it when no model is configured, and judges Russian too.
Every part runs in fp32 (int8 USE vectors): the same figures on every chip.
"""
from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path

import pytest

TOLERANCE = 0.005
ROOT = Path(__file__).resolve().parent.parent
GATES = json.loads((ROOT / "bench" / "quality_gates.json").read_text())
FOLDER = ROOT / "clustering" / "stance" / "models" / "use-minilm-stance"
META = json.loads((FOLDER / "stance_meta.json").read_text("utf-8"))

pytestmark = pytest.mark.slow


class _Answered:
    """A part of the fused judge that answers from the verdicts it already gave on a set."""

    def __init__(self, judge, pairs, verdicts):
        self.judge, self.languages, self.labels = judge, judge.languages, judge.labels
        self.by = {(p["claim"], p["text"], p.get("title")): v for p, v in zip(pairs, verdicts)}

    def judge_batch(self, items):
        missing = [it for it in items if it not in self.by]
        if missing:
            self.by.update(zip(missing, self.judge.judge_batch(missing)))
        return [self.by[it] for it in items]


@pytest.fixture(scope="module")
def judge():
    from clustering.embedding.use_onnx import onnx_path
    from clustering.stance import load_judge

    if not onnx_path().is_file():
        pytest.skip("the USE model is not installed (make install)")
    return load_judge("use-minilm-stance")


@pytest.fixture(scope="module")
def fused(judge, stance_set):
    """name -> scores of the fused judge on one of bench.eval_stance's sets, from its parts'
    verdicts on it (the reader reads no Russian: asked nothing there)."""
    from bench.eval_stance import scored

    def score(name):
        pairs, verdicts = stance_set("use-stance", name)  # the fused judge reads the head's languages
        reading = copy.copy(judge)
        reading.head = _Answered(judge.head, pairs, verdicts)
        reading.reader = _Answered(judge.reader, *(stance_set("minilm-stance", name) if name != "russian" else ([], [])))
        return scored(pairs, reading.judge_batch([(p["claim"], p["text"], p.get("title")) for p in pairs]))

    return score


def test_the_meta_names_its_parts_and_describes_these_weights(judge):
    from clustering.stance import load_judge

    assert hashlib.sha256((FOLDER / "stance_weights.safetensors").read_bytes()).hexdigest() == META["weights_sha256"]
    assert META["head_model_id"] == load_judge("use-stance").model_id
    assert META["reader_model_id"] == load_judge("minilm-stance").model_id
    assert judge.languages == load_judge("use-stance").languages  # every language the head reads
    cv = META["development"]["semeval_en"]
    assert cv["carriers_kept"] >= 0.8 and cv["other_judged_carries"] <= 0.25, cv
    assert "Apache-2.0" in judge.license


@pytest.mark.parametrize("name, gate, key", [
    ("fnc1", "fused_stance_fnc1_val_macro_f1", "macro_f1"),
    ("synthetic", "fused_stance_synthetic_dev_macro_f1", "macro_f1"),
    ("synthetic_fg", "fused_stance_synthetic_fg_dev_macro_f1", "macro_f1"),
    ("demo", "fused_stance_demo_accuracy", "accuracy"),
])
def test_no_regression(fused, name, gate, key):
    got = fused(name)[key]
    assert got >= GATES[gate] - TOLERANCE, f"{name} {key} {got:.4f} fell below recorded {GATES[gate]:.4f}"


def test_russian_pairs_get_the_heads_verdicts(fused, stance_set):
    from bench.eval_stance import scored

    head = scored(*stance_set("use-stance", "russian"))
    got = fused("russian")
    assert got["n"] == 52 and got["confusion"] == head["confusion"]


@pytest.mark.xfail(strict=True, reason="known shortfall: FNC-1 validation macro-F1 of the fused judge, issue #30 target 0.65 (BENCHMARKS.md)")
def test_fnc1_issue_target(fused):
    assert fused("fnc1")["macro_f1"] >= 0.65


@pytest.mark.xfail(strict=True, reason="known shortfall: demo stance accuracy of the fused judge, issue #30 target 0.85 (BENCHMARKS.md)")
def test_demo_issue_target(fused):
    assert fused("demo")["accuracy"] >= 0.85


def test_narratives_stance_uses_it_by_default_in_both_languages(judge, tmp_path):
    from bench.eval_stance import russian_pairs, synthetic_pairs
    from tests.conftest import run_cli

    en = [p for p in synthetic_pairs("dev", "ABCDE") if p["gold"] == "debunks"][:2]
    ru = [p for p in russian_pairs("ru") if p["gold"] == "carries"][:2]
    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(json.dumps({k: p[k] for k in ("id", "claim", "title", "text")}, ensure_ascii=False) + "\n"
                            for p in en + ru), "utf-8")
    r = run_cli("stance", path, env={"NARRATIVES_STANCE_MODEL": ""}, timeout=300)
    assert r.returncode == 0, r.stderr
    out = [json.loads(line) for line in r.stdout.splitlines()]
    assert [o["model"] for o in out] == [judge.model_id] * 4
    assert [o["language"] for o in out] == ["en", "en", "ru", "ru"]
    assert [o["stance"] for o in out] == [judge.judge_batch([(p["claim"], p["text"], p["title"])])[0].stance
                                          for p in en + ru]
    assert all(o["stance"] != "not judged" for o in out)
