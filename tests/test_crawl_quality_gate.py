"""Evaluation gate through the real spider: scrapinghub-aeb pages served on loopback, crawled by
`narratives crawl`, stored text scored against the gold body (bench/crawl_aeb.py)."""
import json
from pathlib import Path

import pytest

from bench.crawl_aeb import aeb_dir, run

GATES = json.loads((Path(__file__).resolve().parent.parent / "bench" / "quality_gates.json").read_text())
TOLERANCE = 0.005
ISSUE_TARGET = 0.96  # issue #2: body text >= 0.96 through the real spider

pytestmark = pytest.mark.slow


def test_aeb_body_f1_through_the_spider(tmp_path):
    if aeb_dir() is None:
        pytest.skip("../shared/data/scrapinghub-aeb absent (set NARRATIVES_SHARED_DATA to run the gate)")
    result = run(tmp_path)
    assert result["articles"] == result["pages"] == 181
    assert result["mean_f1"] >= GATES["aeb_crawl_body_f1"] - TOLERANCE, result
    assert result["mean_f1"] >= ISSUE_TARGET, result
