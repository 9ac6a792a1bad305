"""The lexical event channel: the names and numbers of an article's lead, hashed into a vector.

Sentence vectors see what a story is about; two stories on one subject (two votes in one
parliament, two attacks in one city) differ in who, where and how many. This channel keeps
exactly that: the capitalised words (stop words aside) and the numbers of two or more digits of
the lead (title + body start), each weighted (1 + log count) x its IDF in a reference corpus of
news, signed-hashed (crc32) into DIM buckets, unit length. Alone it is weak; as a third part of
the multilingual model's event score it lifts giveme5w1h held-out BCubed 0.939 -> 0.944
(BENCHMARKS-notebook.md, *Events as a cascade*). Without the IDF it adds nothing, so the table
matters: `python -m bench.event_center` writes it (`clustering/event_centers/<name>.npz`: crc32 of
each lower-cased word of FNC-1's article bodies and its IDF; numbers only, no text).

Its words are English-centred (capitals, English stop words) and scripts do not meet across
languages, so the events stage gives it only to articles in the title model's languages; for
the others it is a missing channel (clustering/events.py).
"""
from __future__ import annotations

import functools
import re
import zlib
from pathlib import Path

import numpy as np

from clustering.stopwords import ENGLISH

DIM = 512
CHARS = 2000
TABLES_DIR = Path(__file__).resolve().parent / "event_centers"
WORD = re.compile(r"\w+", re.U)


def idf_from_counts(df: dict[str, int], n_docs: int) -> tuple[dict[int, float], float]:
    """({crc32 of word: idf}, idf of an unseen word), smoothed: log((n + 1) / (df + 1)) + 1."""
    table = {zlib.crc32(w.encode()): float(np.log((n_docs + 1) / (c + 1)) + 1) for w, c in df.items()}
    return table, float(np.log(n_docs + 1) + 1)


def document_words(text: str) -> set[str]:
    """The lower-cased words a document counts for (its first CHARS characters)."""
    return {w.lower() for w in WORD.findall(text[:CHARS])}


def save_table(name: str, table: dict[int, float], unseen: float) -> Path:
    keys = np.array(sorted(table), dtype=np.uint32)
    out = TABLES_DIR / f"{name}.npz"
    np.savez_compressed(out, crc32=keys, idf=np.array([table[int(k)] for k in keys], dtype=np.float32),
                        unseen=np.float32(unseen))
    return out


@functools.lru_cache(maxsize=None)
def idf_table(name: str) -> tuple[dict[int, float], float]:
    data = np.load(TABLES_DIR / f"{name}.npz")
    return dict(zip(data["crc32"].tolist(), data["idf"].tolist())), float(data["unseen"])


def lexical_vector(lead: str, table: str) -> np.ndarray:
    """(DIM,) float32 unit vector of the lead's names and numbers (zeros: none)."""
    idf, unseen = idf_table(table)
    counts: dict[str, int] = {}
    for w in WORD.findall((lead or "")[:CHARS]):
        if w.isdigit():
            if len(w) < 2:
                continue
        elif not w[0].isupper() or w.lower() in ENGLISH:
            continue
        counts[w.lower()] = counts.get(w.lower(), 0) + 1
    v = np.zeros(DIM, np.float32)
    for word, c in counts.items():
        h = zlib.crc32(word.encode())
        v[h % DIM] += (1 if (h >> 16) & 1 else -1) * (1 + np.log(c)) * idf.get(h, unseen)
    n = np.linalg.norm(v)
    return v / n if n else v
