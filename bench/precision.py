"""Embedding cost and agreement in fp32 and bf16 on this machine (issue #14).

    python -m bench.precision [--passages 256] [--rounds 2] [--json FILE]

Embeds the same real passages (SemEval-2025 T10 English, split as the embed stage splits them;
the demo web's when SemEval is absent) with one torch thread in fp32 and in bf16 autocast,
alternating rounds so a noisy box hurts both alike, and prints CPU-ms per passage, the mean and
minimum cosine between the two formats, the CPU model, and what `auto` picks here and why.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def sample_passages(n: int) -> tuple[list[str], str]:
    from clustering.passages import split_passages

    from bench.semeval import load_semeval, semeval_en_dir

    en = semeval_en_dir()
    if en is not None and en.is_dir():
        docs = [(d.title, d.text) for d in load_semeval(en)]
        source = "SemEval-2025 T10 English"
    else:
        from demo.model import load_content

        docs = [(a.title, "\n\n".join(a.paragraphs)) for a in load_content().readable({"en"})]
        source = "demo web"
    out = []
    for title, text in docs:
        out.extend(split_passages(title, text))
        if len(out) >= n:
            break
    return out[:n], source


def measure(n_passages: int = 256, rounds: int = 2) -> dict:
    from clustering.embedding.sentence_transformers import SentenceTransformerEmbedder, native_bf16

    emb = SentenceTransformerEmbedder(precision="fp32", threads=1)
    passages, source = sample_passages(n_passages)
    tokens = float(np.mean([emb.count_tokens(p) for p in passages]))
    emb._encode(passages[:32], False)
    emb._encode(passages[:32], True)
    cpu = {"fp32": [], "bf16": []}
    vecs = {}
    for _ in range(rounds):
        for fmt in ("fp32", "bf16"):
            t = time.process_time()
            vecs[fmt] = emb._encode(passages, fmt == "bf16")
            cpu[fmt].append(1000 * (time.process_time() - t) / len(passages))
    cos = np.sum(vecs["fp32"] * vecs["bf16"], axis=1)
    auto = SentenceTransformerEmbedder(precision="auto", threads=1)
    return {
        "cpu_model": cpu_model(), "native_bf16": native_bf16(), "auto_picks": auto.precision,
        "check_set_agreement": auto.bf16_agreement if auto.bf16_agreement is not None else emb.agreement(),
        "passages": len(passages), "source": source, "mean_tokens": round(tokens, 1),
        "cpu_ms_per_passage": {k: round(min(v), 2) for k, v in cpu.items()},
        "cpu_ms_rounds": {k: [round(x, 2) for x in v] for k, v in cpu.items()},
        "bf16_over_fp32": round(min(cpu["bf16"]) / min(cpu["fp32"]), 2),
        "cosine_mean": round(float(cos.mean()), 6), "cosine_min": round(float(cos.min()), 6),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--passages", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args(argv)
    r = measure(args.passages, args.rounds)
    print(f"CPU {r['cpu_model']}; native bf16: {r['native_bf16'] or 'none'}; auto picks {r['auto_picks']}")
    print(f"{r['passages']} passages ({r['source']}, mean {r['mean_tokens']} tokens), 1 torch thread, "
          f"best of {args.rounds} rounds:")
    for fmt in ("fp32", "bf16"):
        print(f"  {fmt}: {r['cpu_ms_per_passage'][fmt]} CPU-ms per passage (rounds {r['cpu_ms_rounds'][fmt]})")
    print(f"  bf16/fp32 cost {r['bf16_over_fp32']}x; cosine bf16 vs fp32 mean {r['cosine_mean']}, "
          f"min {r['cosine_min']}; check set {r['check_set_agreement']:.6f}")
    if args.json:
        Path(args.json).write_text(json.dumps(r, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
