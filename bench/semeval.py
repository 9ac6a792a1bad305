"""SemEval-2025 Task 10 documents, as the watch and carrier benchmarks read them.

Shared by bench/eval_watch.py (watched-narrative matching), bench/train_carrier.py (the
narrative-carrier model) and bench/precision.py: the documents, their narrative labels ("Other" =
none) and their passage vectors (clustering.passages, as the pipeline embeds them; cached).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.embedding_cache import cached_embed
from bench.shared_data import shared_data_dir, unpacked
from clustering.passages import split_passages

MAX_PASSAGES = 24


@dataclass
class Doc:
    id: str
    title: str
    text: str
    labels: list[str]


LANGUAGES = ("EN", "BG", "HI", "PT", "RU")  # the training split's folders


def semeval_dir(lang: str = "EN") -> Path | None:
    """The unpacked training folder of one language (EN, BG, HI, PT, RU), or None without the data."""
    data = shared_data_dir()
    archive = data / "semeval2025-task10-train" / "semeval2025t10-train.tar.gz" if data else None
    if archive is None or not archive.is_file():
        return None
    return unpacked(archive) / "semeval2025t10" / "training_data" / lang


def semeval_en_dir() -> Path | None:
    return semeval_dir("EN")


def load_semeval(folder: Path) -> list[Doc]:
    """The documents of one language folder (semeval_dir)."""
    docs = []
    for line in (folder / "subtask-2-annotations.txt").read_text("utf-8").splitlines():
        if not line.strip():
            continue
        fname, narr = line.split("\t")[:2]
        labels = sorted({x.strip() for x in narr.split(";") if x.strip() and x.strip() != "Other"})
        title, _, body = (folder / "raw-documents" / fname).read_text("utf-8").partition("\n")
        docs.append(Doc(fname, title.strip(), body.strip(), labels))
    return docs


def embed_passages(docs: list[Doc], max_passages: int = MAX_PASSAGES) -> list[np.ndarray]:
    passages = [split_passages(d.title, d.text, max_passages=max_passages) for d in docs]
    flat = [p for ps in passages for p in ps]
    vecs = cached_embed(flat)
    out, i = [], 0
    for ps in passages:
        out.append(vecs[i:i + len(ps)])
        i += len(ps)
    return out
