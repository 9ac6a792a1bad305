"""The default stance judge: a small head over the shared space's passage vectors (issue #30).

It reads the claim's vector and the article's passage vectors in the multilingual space (USE
multilingual v3, the vectors the embed stage already stored), so it judges every language that
space reads at almost no cost (~0.1 CPU-ms per pair from stored vectors). Per passage it looks at
the passage, its product with the claim and their distance; it attends over the passages (the
attention orders the evidence it returns) and classifies the pooled reading with a few
similarity figures. Trained here (bench/train_vector_stance.py) on SemEval-2025 carriers in
every language of the training split, FNC-1 and the project's synthetic articles; the weights
and `stance_meta.json` (data, folds, scores, license, floors) ship in models/<name>/.

Three floors in the meta guard the verdicts that move an article out of the spread (chosen on the
folds, bench/train_vector_stance.py; `decide`): an article stays a carrier while p(carries)
clears the "carries" floor; a "debunks", the costliest error, must clear its own floor (its
precision on the folds); a "reports" needs the mass of keeping a distance (reports + debunks) to
clear the "distance" floor, which few true carriers reach: a relay of an official's claim, with
attribution and no distance, reads close to a report.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
from torch import nn

from clustering.errors import ModelNotAvailableError
from clustering.stance.base import WEIGHTS, Judgement, read_model_folder

logger = logging.getLogger(__name__)

MAX_PASSAGES = 24  # the embed stage's (clustering.passages.MAX_PASSAGES)


class VectorStanceHead(nn.Module):
    """(claim vector, passage vectors, mask) -> 4 stance logits and the attention over passages."""

    N_SCALAR = 5

    def __init__(self, dim: int = 512, inner: int = 128, n_labels: int = 4, dropout: float = 0.2):
        super().__init__()
        self.proj = nn.Sequential(nn.Linear(3 * dim, inner), nn.GELU())
        self.att = nn.Linear(inner, 1)
        self.beta = nn.Parameter(torch.tensor(5.0))
        self.out = nn.Sequential(nn.Dropout(dropout), nn.Linear(2 * inner + self.N_SCALAR, inner), nn.GELU(),
                                 nn.Dropout(dropout), nn.Linear(inner, n_labels))

    def forward(self, c: torch.Tensor, p: torch.Tensor, mask: torch.Tensor):
        c = nn.functional.normalize(c, dim=-1)
        p = nn.functional.normalize(p, dim=-1)
        s = (p * c[:, None]).sum(-1)
        h = self.proj(torch.cat([p, p * c[:, None], (p - c[:, None]).abs()], -1))
        a = torch.softmax((self.att(h).squeeze(-1) + self.beta * s).masked_fill(~mask, -1e4), -1)
        pooled = (a[..., None] * h).sum(1)
        peak = h.masked_fill(~mask[..., None], -1e4).max(1).values
        top = s.masked_fill(~mask, -2.0).topk(min(3, s.shape[1]), -1).values
        n = mask.sum(-1).clamp(min=1)
        scalars = torch.stack([top[:, 0], top.clamp(min=-1).mean(-1), (s * mask).sum(-1) / n, s[:, 0],
                               torch.log(n.float()) / 3], -1)
        return self.out(torch.cat([pooled, peak, scalars], -1)), a


def pack(claim_vectors, passage_vectors, max_passages: int = MAX_PASSAGES):
    """Tensors for the head: claims (B, D), passages (B, J, D) zero-padded, mask (B, J)."""
    n, dim = len(passage_vectors), len(claim_vectors[0])
    p = np.zeros((n, max_passages, dim), np.float32)
    m = np.zeros((n, max_passages), bool)
    for i, v in enumerate(passage_vectors):
        k = min(max_passages, len(v))
        if k:
            p[i, :k] = np.asarray(v[:k], np.float32)
        m[i, :k] = True
        m[i, 0] |= not k  # an empty article: one zero passage, so the softmax has a place
    return torch.tensor(np.asarray(claim_vectors, np.float32)), torch.tensor(p), torch.tensor(m)


def decide(labels: list[str], probs: np.ndarray, floors: dict[str, float]) -> str:
    """The verdict from the four probabilities and the floors (none: the most probable stance).

    "carries" while p(carries) clears the "carries" floor; else "debunks" if p(debunks) clears its
    floor; else "reports" if the mass of keeping a distance, p(reports) + p(debunks), clears the
    "distance" floor; else "unrelated" if p(unrelated) outweighs both carrying and keeping a
    distance; else the article stays a carrier."""
    if not floors:
        return labels[int(np.argmax(probs))]
    p = dict(zip(labels, probs))
    distance = p["reports"] + p["debunks"]
    if p["carries"] >= floors.get("carries", 0.5):
        return "carries"
    if p["debunks"] >= floors.get("debunks", 0.5):
        return "debunks"
    if distance >= floors.get("distance", 0.5):
        return "reports"
    if p["unrelated"] >= max(p["carries"], distance):
        return "unrelated"
    return "carries"


class VectorJudge:
    """judge_batch([(claim, text, title)]) embeds the article; judge_vectors() reads stored vectors.

    `space`: the embedding model id whose stored passage vectors it reads (the stance stage hands
    those over when the database has them); `encoder`: the model name that embeds otherwise."""

    def __init__(self, folder: Path, batch_size: int = 256):
        from safetensors.torch import load_file

        folder = Path(folder)
        self.meta, self.model_id = read_model_folder(folder)
        self.license = self.meta.get("license", "unknown")
        self.labels = list(self.meta["labels"])
        self.space = self.meta["space"]
        self.encoder_name = self.meta["encoder"]
        self.floors = dict(self.meta.get("floors", {}))
        self.max_passages = int(self.meta.get("max_passages", MAX_PASSAGES))
        self.batch_size = batch_size
        self.net = VectorStanceHead(self.meta.get("dim", 512), self.meta.get("inner", 128))
        self.net.load_state_dict({k: v.float() for k, v in load_file(str(folder / WEIGHTS)).items()})
        self.net.eval()
        self._encoder = None
        self.languages: set[str] | None = set(self.meta["languages"]) if self.meta.get("languages") else None

    @property
    def encoder(self):
        if self._encoder is None:
            from clustering.embedding import load_embedder

            self._encoder = load_embedder(self.encoder_name, workers=1)
            if self._encoder.model_id != self.space:
                raise ModelNotAvailableError(f"stance model {self.model_id} reads {self.space} vectors; "
                                             f"{self.encoder_name} gives {self._encoder.model_id}")
        return self._encoder

    def judge_batch(self, items) -> list[Judgement]:
        """Judgements of (claim, text, title) items: the articles are cut into passages as the
        embed stage cuts them and embedded here."""
        from clustering.passages import embed_grouped, split_passages

        items = list(items)
        passages = [split_passages(it[2] if len(it) > 2 else None, it[1], max_passages=self.max_passages)
                    for it in items]
        out = embed_grouped(self.encoder.embed, passages)
        return self.judge_vectors([(it[0], ps, v) for it, ps, v in zip(items, passages, out)])

    @torch.inference_mode()
    def judge_vectors(self, items) -> list[Judgement]:
        """Judgements of (claim, passage texts, passage vectors) items, the vectors in `space`."""
        items = list(items)
        if not items:
            return []
        claims = sorted({it[0] for it in items})
        cv = dict(zip(claims, self.encoder.embed(claims)))
        res: list[Judgement] = []
        for s in range(0, len(items), self.batch_size):
            chunk = items[s:s + self.batch_size]
            c, p, m = pack([cv[it[0]] for it in chunk], [it[2] for it in chunk], self.max_passages)
            logits, att = self.net(c, p, m)
            probs = torch.softmax(logits, -1).numpy()
            for it, pr, a in zip(chunk, probs, att.numpy()):
                n = min(len(it[1]), self.max_passages)
                order = np.argsort(-a[:n], kind="stable")
                res.append(Judgement(decide(self.labels, pr, self.floors),
                                     {l: float(x) for l, x in zip(self.labels, pr)},
                                     [it[1][j] for j in order]))
        return res
