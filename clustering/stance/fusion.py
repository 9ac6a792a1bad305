"""The judge `narratives stance` uses: the vector head everywhere, fused with a sentence reader
where the reader reads both texts (issue #30).

The vector head (vector_head.py) reads every language of the shared space and keeps propaganda
that uses the rhetoric of refutation a carrier, but it does not read a body's disagreement with a
headline. The cross-encoder (cross_encoder.py) reads sentences, English only, and reads that
rhetoric as debunking. Where the claim and the article are both in a language the reader reads,
the two models' log-probabilities are combined by a multinomial logistic regression fitted here
(bench/train_stance_fusion.py) on data neither was scored on; elsewhere the head's verdict
stands. The fused verdict is the most probable stance (no floors: `narratives stance` moves no
article out of a spread).

The fusion's meta names the head and the reader by model id (weights digest included): a re-trained
head or reader needs a re-fitted fusion, and loading says so.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from clustering.errors import ModelNotAvailableError
from clustering.languages import reads_pair, text_language
from clustering.stance.base import WEIGHTS, Judgement, read_model_folder

logger = logging.getLogger(__name__)


FLOOR = 1e-3  # probabilities below it read as it: the fit must not lean on differences among tiny ones


def features(head: np.ndarray, reader: np.ndarray) -> np.ndarray:
    """The fusion's inputs: both models' log-probabilities, (N, 8)."""
    return np.hstack([np.log(np.clip(head, FLOOR, 1.0)), np.log(np.clip(reader, FLOOR, 1.0))])


def fuse(coef: np.ndarray, intercept: np.ndarray, head: np.ndarray, reader: np.ndarray) -> np.ndarray:
    """Fused probabilities (N, 4) from the two models' probabilities (N, 4 each)."""
    z = features(head, reader) @ coef.T + intercept
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


class FusedJudge:
    """judge_batch([(claim, text, title)]) and judge_vectors([(claim, passages, vectors)])."""

    def __init__(self, folder: Path, load_part):
        """`load_part(name) -> judge`: how the head and the reader the meta names are loaded."""
        from safetensors.numpy import load_file

        folder = Path(folder)
        self.meta, self.model_id = read_model_folder(folder)
        self.license = self.meta.get("license", "unknown")
        self.labels = list(self.meta["labels"])
        weights = load_file(str(folder / WEIGHTS))
        self.coef, self.intercept = weights["coef"].astype(np.float64), weights["intercept"].astype(np.float64)
        self.head = load_part(self.meta["head"])
        self.reader = load_part(self.meta["reader"])
        for part, judge in (("head", self.head), ("reader", self.reader)):
            if judge.model_id != self.meta[f"{part}_model_id"]:
                raise ModelNotAvailableError(
                    f"stance model {self.model_id} was fitted on {part} {self.meta[f'{part}_model_id']}, "
                    f"not {judge.model_id}: re-fit it (python -m bench.train_stance_fusion)")
        if list(self.head.labels) != self.labels or list(self.reader.labels) != self.labels:
            raise ModelNotAvailableError(f"stance model {self.model_id}: its parts order the stances differently")
        self.languages = self.head.languages
        self.space = self.head.space  # the stance stage hands the head stored vectors in this space

    def _fused(self, items, head: list[Judgement], texts: list[tuple[str, str | None]]) -> list[Judgement]:
        """The head's verdicts, fused with the reader's where it reads the claim and the text."""
        which = [i for i, (it, (text, title)) in enumerate(zip(items, texts))
                 if reads_pair(text_language(f"{title or ''}\n{text}")[0], it[0], self.reader.languages)]
        if not which:
            return head
        read = self.reader.judge_batch([(items[i][0], texts[i][0], texts[i][1]) for i in which])
        hp = np.array([[head[i].scores[s] for s in self.labels] for i in which])
        rp = np.array([[r.scores[s] for s in self.labels] for r in read])
        out = list(head)
        for i, r, p in zip(which, read, fuse(self.coef, self.intercept, hp, rp)):
            out[i] = Judgement(self.labels[int(np.argmax(p))], {s: float(x) for s, x in zip(self.labels, p)},
                               r.evidence)
        return out

    def judge_batch(self, items) -> list[Judgement]:
        items = list(items)
        texts = [(it[1], it[2] if len(it) > 2 else None) for it in items]
        return self._fused(items, self.head.judge_batch(items), texts)

    def judge_vectors(self, items) -> list[Judgement]:
        """From stored passage vectors (the head) and the passages' texts (the reader)."""
        items = list(items)
        texts = [("\n".join(it[1]), None) for it in items]
        return self._fused(items, self.head.judge_vectors(items), texts)
