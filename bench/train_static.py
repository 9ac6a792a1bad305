"""Distil the shipped static first-pass model (clustering/embedding/static_use.py) from USE, seeded.

    .venv/bin/python -m bench.train_static --out clustering/embedding/models/use-static

USE multilingual v3 (the pinned int8 ONNX file) becomes a table of one vector per SentencePiece
piece of its own tokenizer; a text's vector is the sum of its pieces' rows. Four steps:

1. the tokenizer, read out of the ONNX graph (needs `pip install onnx`);
2. every piece through USE alone, centred on the frequency-weighted mean, weighted a / (a + p) by
   its unigram probability p (SIF);
3. a linear map shared by every language (so USE's cross-lingual space is kept) and one
   log-weight per piece, fitted so that a passage's sum points where USE's vector of it points
   (cosine loss); a tenth of the passages is held out and its cosine to USE printed;
4. the table projected on its frequency-weighted principal axes (>= 90 % of the energy), int8
   with one scale per row.

Unlabelled passages only (FNC-1 training bodies and headlines, AEB gold bodies, trafilatura-eval
snippets); nothing from the sets the model is scored on. USE vectors are cached (`--cache`).
"""
from __future__ import annotations

import argparse
import json
import logging
import multiprocessing as mp
import sys
import time
from pathlib import Path

import numpy as np

from bench.shared_data import cache_root, shared_data_dir, unpacked

logger = logging.getLogger(__name__)

SIF_A = 1e-4
ENERGY = 0.90
SEED = 0


def use_tokenizer_model() -> bytes:
    """The serialized SentencePiece model inside USE's ONNX graph."""
    from clustering.embedding.use_onnx import onnx_path

    try:
        import onnx
    except ImportError:
        raise SystemExit("reading USE's tokenizer out of its ONNX graph needs the onnx package: "
                         ".venv/bin/pip install onnx") from None
    graph = onnx.load(str(onnx_path())).graph
    for node in graph.node:
        if node.op_type == "SentencepieceTokenizer":
            return next(a.s for a in node.attribute if a.name == "model")
    raise SystemExit("no SentencepieceTokenizer node in the USE graph")


def _use_worker(args):
    texts, = args
    from clustering.embedding.use_onnx import MAX_CHARS, UseOnnxEmbedder

    emb = UseOnnxEmbedder(threads=1)
    out = np.zeros((len(texts), 512), np.float32)
    for i, t in enumerate(texts):
        if t:
            out[i] = emb.session.run(["outputs"], {"inputs": [t[:MAX_CHARS]]})[0][0]
    return out


def use_vectors(texts: list[str], workers: int) -> np.ndarray:
    """USE's raw (unnormalised) output for each text alone; an empty text gets zeros."""
    chunks = [texts[i:i + 2000] for i in range(0, len(texts), 2000)]
    with mp.get_context("spawn").Pool(workers) as pool:
        parts = []
        for k, part in enumerate(pool.imap(_use_worker, [(c,) for c in chunks])):
            parts.append(part)
            print(f"\r  USE: {min((k + 1) * 2000, len(texts))}/{len(texts)}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return np.concatenate(parts) if parts else np.zeros((0, 512), np.float32)


def corpus() -> list[str]:
    from bench.fnc1 import fnc1_dir, load, split
    from clustering.passages import split_passages

    data = shared_data_dir()
    if data is None or fnc1_dir() is None:
        raise SystemExit("the shared data (../shared/data) is not here")
    bodies, pairs = load(fnc1_dir())
    train = split(pairs)["train"]
    passages = [p for b in sorted({b for _, b, _ in train}) for p in split_passages(None, bodies[b])]
    passages += sorted({h for h, _, _ in train})
    aeb = json.loads((data / "scrapinghub-aeb" / "ground-truth.json").read_text())
    passages += [p for k in sorted(aeb) for p in split_passages(None, aeb[k]["articleBody"])]
    root = unpacked(data / "trafilatura-eval" / "trafilatura-eval-html.tar.xz")
    evaldata = json.loads(next(root.rglob("evaldata.json")).read_text())
    passages += [s for u in sorted(evaldata) for s in evaldata[u].get("with", []) if len(s.split()) >= 4]
    return list(dict.fromkeys(p.strip() for p in passages if p and p.strip()))


def cached(path: Path, make):
    if path.is_file():
        return np.load(path)
    arr = make()
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, arr)
    return arr


def fit(table0, weights0, ids, targets, *, epochs: int, lr: float, batch: int = 256):
    """The linear map and per-piece log-weights; returns (map, weights, held-out cosine before, after)."""
    import torch
    import torch.nn.functional as F

    torch.manual_seed(SEED)
    rng = np.random.default_rng(SEED)
    perm = rng.permutation(len(ids))
    held, train = perm[: len(ids) // 10], perm[len(ids) // 10:]
    table = torch.tensor(table0)
    w0 = torch.tensor(weights0)
    logw = torch.zeros(len(weights0), requires_grad=True)
    M = torch.eye(table0.shape[1], requires_grad=True)
    opt = torch.optim.AdamW([logw, M], lr=lr, weight_decay=0.0)
    Y = torch.tensor(targets / np.maximum(np.linalg.norm(targets, axis=1, keepdims=True), 1e-12))

    def forward(idx):
        flat = torch.tensor(np.concatenate([ids[i] for i in idx]), dtype=torch.long)
        offsets = torch.tensor(np.cumsum([0] + [len(ids[i]) for i in idx[:-1]]), dtype=torch.long)
        bag = F.embedding_bag(flat, table, offsets, mode="sum", per_sample_weights=(w0 * logw.exp())[flat])
        return F.normalize(bag @ M, dim=1)

    def held_cos():
        with torch.no_grad():
            return float((forward(held) * Y[held]).sum(1).mean())

    before = held_cos()
    for epoch in range(epochs):
        rng.shuffle(train)
        for k in range(0, len(train), batch):
            idx = train[k:k + batch]
            loss = 1 - (forward(idx) * Y[idx]).sum(1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        logger.info("epoch %d: held-out cosine to USE %.4f", epoch + 1, held_cos())
    return M.detach().numpy(), (w0 * logw.exp()).detach().numpy(), before, held_cos()


def compress(table: np.ndarray, p: np.ndarray):
    """Frequency-weighted principal axes keeping ENERGY; int8 rows with one scale each."""
    cov = (table * p[:, None]).T @ table
    vals, vecs = np.linalg.eigh(cov)
    vals, vecs = vals[::-1], vecs[:, ::-1]
    energy = np.cumsum(vals) / vals.sum()
    dim = int(np.searchsorted(energy, ENERGY) + 1)
    dim = min(table.shape[1], -(-dim // 32) * 32)  # a multiple of 32
    proj = table @ vecs[:, :dim]
    scale = np.abs(proj).max(1) / 127.0
    scale[scale == 0] = 1.0
    q = np.round(proj / scale[:, None]).astype(np.int8)
    return q, scale.astype(np.float32), float(energy[dim - 1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="folder for tokenizer.model, table.npz and meta.json")
    ap.add_argument("--cache", default=str(cache_root() / "train-static"), help="USE vectors of pieces and passages")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--lr", type=float, default=3e-3)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    import sentencepiece as spm
    import torch

    from clustering.embedding.use_onnx import MAX_CHARS as use_max_chars

    torch.set_num_threads(args.workers)
    start = time.time()
    out, cache = Path(args.out), Path(args.cache)
    out.mkdir(parents=True, exist_ok=True)
    (out / "tokenizer.model").write_bytes(use_tokenizer_model())
    sp = spm.SentencePieceProcessor(model_file=str(out / "tokenizer.model"))
    n = sp.get_piece_size()
    pieces = ["" if sp.is_control(i) or sp.is_unknown(i) else sp.id_to_piece(i).replace("\u2581", " ").strip()
              for i in range(n)]
    logger.info("1/4 pieces: %d through USE alone", n)
    raw = cached(cache / "pieces.npy", lambda: use_vectors(pieces, args.workers))
    score = np.array([sp.get_score(i) for i in range(n)])
    prob = np.where(score == 0, 0.0, np.exp(score))
    prob /= prob.sum()
    empty = np.linalg.norm(raw, axis=1) == 0
    table0 = (raw - (prob[:, None] * raw).sum(0)).astype(np.float32)
    table0[empty] = 0
    weights0 = (SIF_A / (SIF_A + prob)).astype(np.float32)
    weights0[empty] = 0
    passages = corpus()
    logger.info("2/4 passages: %d through USE", len(passages))
    targets = cached(cache / f"passages-{len(passages)}.npy", lambda: use_vectors(passages, args.workers))
    # the text USE read for each target (its MAX_CHARS), tokenised
    ids = [np.array(r, dtype=np.int64) for r in sp.encode([t[:use_max_chars] for t in passages])]
    logger.info("3/4 fitting the map and the piece weights, %d epochs", args.epochs)
    M, weights, before, after = fit(table0, weights0, ids, targets, epochs=args.epochs, lr=args.lr)
    table = (table0 @ M) * weights[:, None]
    q, scale, energy = compress(table, prob)
    logger.info("4/4 compressed to %d dims (%.3f of the energy), int8", q.shape[1], energy)
    np.savez_compressed(out / "table.npz", q=q, scale=scale)
    meta = {"model_id": "use-multilingual-v3-static", "teacher": "use-multilingual-v3-int8",
            "pieces": n, "dim": int(q.shape[1]), "energy_kept": round(energy, 4),
            "passages": len(passages), "held_out_cosine_to_teacher": {"before_fit": round(before, 4),
                                                                       "after_fit": round(after, 4)},
            "epochs": args.epochs, "lr": args.lr, "sif_a": SIF_A, "seed": SEED,
            "license": "Apache-2.0 (derived from Google's USE multilingual v3, Apache-2.0)"}
    (out / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    logger.info("wrote %s in %.0f s: held-out cosine to USE %.3f -> %.3f", out, time.time() - start, before, after)
    return 0


if __name__ == "__main__":
    sys.exit(main())
