"""Watched narratives across languages through the CLI, as a user would (issue #29): SemEval's
English and Russian training documents (and Bulgarian, which no model reads) imported into one
database, `process`, one `watch add` per coarse narrative label from its English name, `watch show
--json` (bench/eval_watch_cli.py). Checks that Russian documents are read and matched by
English-worded watches, standardised on their own language, and that Bulgarian is skipped with
its reason; the micro-F1 per language is gated against bench/quality_gates.json. The issue's bar
(RU >= 0.85 x EN of the same run) is a strict xfail: measured 0.82 (the English space's lead
lifts English more than anything lifts Russian). Skips when ../shared/data is absent."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import REFERENCE

TOLERANCE = 0.005
GATES = json.loads((Path(__file__).resolve().parent.parent / "bench" / "quality_gates.json").read_text())

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    from bench.eval_watch_cli import evaluate

    # without the stance judge: the default one was trained on these very documents
    out = evaluate(("EN", "RU", "BG"), tmp_path_factory.mktemp("watch-cli"),
                   env=dict(REFERENCE, NARRATIVES_STANCE_MODEL="none"))
    if out is None:
        pytest.skip("../shared/data/semeval2025-task10-train absent (set NARRATIVES_SHARED_DATA to run it)")
    return out


def test_russian_is_read_and_standardised_on_its_own_bulgarian_skipped_with_the_reason(result):
    assert result["RU"]["skipped"] == 0 and result["RU"]["matches"] > 0
    assert result["calibration"]["ru"]["status"] == "own" and result["calibration"]["en"]["status"] == "own"
    assert result["BG"]["skipped"] == result["BG"]["docs"]
    assert result["BG"]["skip_reason"] == "language 'bg' not covered by the model"


@pytest.mark.parametrize("lang", ["EN", "RU"])
def test_micro_f1_no_regression(result, lang):
    recorded = GATES[f"watch_cli_micro_f1_{lang.lower()}"]
    got = result[lang]["micro_f1"]
    assert got >= recorded - TOLERANCE, f"{lang} micro-F1 {got:.4f} fell below recorded {recorded:.4f}: {result[lang]}"


@pytest.mark.xfail(strict=True, reason="known shortfall: RU 0.82 x EN through the CLI (issue #29 bar 0.85)")
def test_russian_at_least_085_of_english(result):
    assert result["RU"]["micro_f1"] >= 0.85 * result["EN"]["micro_f1"]
