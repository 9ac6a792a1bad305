"""Quality gate: extraction must not regress against bench/quality_gates.json.

Runs the two benchmark evaluations (bench.eval_extraction, bench.eval_dates) on the real data in
../shared/data, calling extract_article directly, with 2 worker processes. Fails when a score is
more than TOLERANCE below the recorded value. Skips when the data folder is absent.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.eval_dates import evaluate_dates
from bench.eval_extraction import evaluate_aeb, traf_eval_root
from bench.shared_data import shared_data_dir

TOLERANCE = 0.005
GATES = json.loads((Path(__file__).resolve().parent.parent / "bench" / "quality_gates.json").read_text())

pytestmark = pytest.mark.slow


def _data():
    data = shared_data_dir()
    if data is None:
        pytest.skip("shared data folder ../shared/data absent (set NARRATIVES_SHARED_DATA to run the gate)")
    return data


def test_aeb_body_f1_gate():
    data = _data()
    if not (data / "scrapinghub-aeb" / "ground-truth.json").is_file():
        pytest.skip(f"{data}/scrapinghub-aeb absent")
    result = evaluate_aeb(data, workers=2)
    assert result["mean_f1"] >= GATES["aeb_body_f1"] - TOLERANCE, (
        f"body F1 {result['mean_f1']:.4f} fell below recorded {GATES['aeb_body_f1']:.4f}"
    )


def test_date_accuracy_gate():
    data = _data()
    if traf_eval_root(data) is None:
        pytest.skip(f"{data}/trafilatura-eval absent")
    result = evaluate_dates(data, workers=2)
    assert result["day_accuracy"] >= GATES["date_day_accuracy"] - TOLERANCE, (
        f"date accuracy {result['day_accuracy']:.4f} fell below recorded {GATES['date_day_accuracy']:.4f}"
    )
