"""The synthetic corpus of the scaling benchmarks (bench/synth.py): the reuse window keeps copies
of a text among articles published close together; without it every copy is the same text."""
import numpy as np

from bench.synth import synthetic_rows
from clustering.reuse import overlap, shingles


def _pool(n=3):
    words = [f"w{i}" for i in range(400)]
    pool = [(f"title {k}", "\n".join(" ".join(words[(k * 97 + p * 31 + j) % 400] for j in range(40))
                                      for p in range(5))) for k in range(n)]
    docs = np.eye(n, 8, dtype=np.float32)
    passages = [([t], np.eye(1, 8, dtype=np.float32)) for t, _ in pool]
    return pool, docs, passages


def _texts(window):
    pool, docs, passages = _pool()
    return [row["text"] for row, _, _ in synthetic_rows(60, pool, docs, passages, reuse_window=window)]


def test_without_window_the_same_pool_text_is_copied_whenever_published():
    texts = _texts(None)
    assert overlap(shingles(texts[0]), shingles(texts[-1])) > 0  # 3 pool texts: first and last share one


def test_window_limits_copies_to_nearby_articles():
    texts = _texts(10)
    sh = [shingles(t) for t in texts]
    near = [overlap(sh[i], sh[i + 1]) for i in range(len(sh) - 1)]
    far = [overlap(sh[i], sh[j]) for i in range(len(sh)) for j in range(i + 25, len(sh))]
    assert sum(x > 0 for x in near) > len(near) // 2  # neighbours still copy each other
    assert max(far) == 0  # > 2 windows apart: no 5-word sequence in common
    assert _texts(10) == texts  # deterministic


def test_window_leaves_everything_but_the_text_unchanged():
    pool, docs, passages = _pool()
    plain = list(synthetic_rows(20, pool, docs, passages))
    windowed = list(synthetic_rows(20, pool, docs, passages, reuse_window=5))
    for (r1, v1, p1), (r2, v2, p2) in zip(plain, windowed):
        assert {k: v for k, v in r1.items() if k != "text"} == {k: v for k, v in r2.items() if k != "text"}
        assert np.array_equal(v1, v2)
        assert [w for w in r2["text"].split() if not w.startswith("v")] == r1["text"].split()
