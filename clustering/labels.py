"""Cluster labels: distinctive keywords (class-based TF-IDF) and a representative headline.

c-TF-IDF (as in BERTopic): the cluster's texts are one "class document"; a term's weight is its
frequency in the class (normalised by the class length) times log(1 + A / f), A the average
number of words per document of the whole collection and f the term's frequency over the whole
collection. English and Russian stop words (clustering/stopwords.py), numbers and one-letter
tokens are left out; unigrams and bigrams are counted, and a bigram hides the unigrams it contains
when both would be listed.
"""
from __future__ import annotations

import re

import numpy as np

from clustering.stopwords import ENGLISH, RUSSIAN as RUSSIAN_STOP

TOKEN_PATTERN = r"(?u)\b[^\W\d_][\w'-]*[^\W_]\b"
EXTRA_STOP = {"said", "says", "say", "according", "told", "read", "source", "year", "years", "new", "just",
              "like", "also", "mr", "ms", "percent", "cent", "week", "weeks", "day", "days", "monday",
              "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "people", "time"}


STOP = ENGLISH | EXTRA_STOP | RUSSIAN_STOP
_TOKEN = re.compile(TOKEN_PATTERN)


def analyze(text: str) -> list[str]:
    """A text's terms: its lower-cased tokens without stop words, then their adjacent pairs."""
    words = [w for w in _TOKEN.findall(text.lower()) if w not in STOP]
    return words + [f"{a} {b}" for a, b in zip(words, words[1:])]


class KeywordIndex:
    """Term counts of a whole collection, fitted once; `keywords` for many clusters of it.

    The terms are those of scikit-learn's CountVectorizer(lowercase=True, token_pattern=TOKEN_PATTERN,
    ngram_range=(1, 2), stop_words=STOP) analysis (`analyze`, checked against it in
    tests/test_narratives_algo.py), without importing scikit-learn; the counts are kept in the order terms
    are first met instead of sklearn's sorted vocabulary, whose sort and remapping were half the
    cost, and keywords break ties by the term itself, so they are the same."""

    def __init__(self, all_texts: list[str]):
        from scipy.sparse import csr_matrix

        self.terms: dict[str, int] = {}
        texts = list(all_texts)
        counted = self._count(texts, grow=True)
        if not self.terms:  # empty vocabulary
            self.counts, self.vocab = None, np.asarray([])
            return
        self.counts = csr_matrix(counted, shape=(len(texts), len(self.terms)))
        self.vocab = np.asarray(list(self.terms), dtype=object)
        self.total = np.asarray(self.counts.sum(axis=0)).ravel().astype(np.float64)
        self.avg_words = self.counts.sum() / max(1, self.counts.shape[0])

    def _count(self, texts: list[str], grow: bool):
        """(data, indices, indptr) of the texts' term counts; unknown terms are added (`grow`) or skipped."""
        data: list[int] = []
        indices: list[int] = []
        indptr = [0]
        terms = self.terms
        for text in texts:
            row: dict[int, int] = {}
            for t in analyze(text):
                j = terms.get(t)
                if j is None:
                    if not grow:
                        continue
                    j = terms[t] = len(terms)
                row[j] = row.get(j, 0) + 1
            indices.extend(row)
            data.extend(row.values())
            indptr.append(len(indices))
        return (np.asarray(data, dtype=np.int64), np.asarray(indices, dtype=np.int64), np.asarray(indptr, dtype=np.int64))

    def transform(self, texts: list[str]):
        from scipy.sparse import csr_matrix

        return csr_matrix(self._count(list(texts), grow=False), shape=(len(texts), len(self.terms)))

    def keywords(self, cluster_rows: list[int], k: int = 8) -> list[str]:
        if self.counts is None or not cluster_rows:
            return []
        sub = self.counts[sorted(cluster_rows)]
        return _top_terms(sub, self.vocab, self.total, self.avg_words, k)


def keywords(cluster_texts: list[str], all_texts: list[str], k: int = 8) -> list[str]:
    """The k most distinctive terms of `cluster_texts` against `all_texts` (c-TF-IDF)."""
    if not cluster_texts:
        return []
    index = KeywordIndex(list(all_texts) if all_texts else list(cluster_texts))
    if index.counts is None:
        return []
    return _top_terms(index.transform(cluster_texts), index.vocab, index.total, index.avg_words, k)


def _top_terms(sub, vocab, total, avg_words, k: int) -> list[str]:
    cls = np.asarray(sub.sum(axis=0)).ravel().astype(np.float64)
    tf = cls / max(1.0, cls.sum())
    idf = np.log1p(avg_words / np.maximum(total, 1.0))
    score = tf * idf
    # a term must occur in at least two of the cluster's texts when the cluster has several
    if sub.shape[0] > 1:
        df = np.asarray((sub > 0).sum(axis=0)).ravel()
        score = np.where(df >= 2, score, 0.0)
    order = sorted(np.nonzero(score > 0)[0], key=lambda i: (-score[i], vocab[i]))
    out: list[str] = []
    for i in order:
        term = vocab[i]
        if any(term in chosen.split() or (" " in term and set(term.split()) & set(chosen.split()) == set(term.split()))
               for chosen in out):
            continue
        if " " in term:  # a bigram replaces the unigrams it contains
            out = [c for c in out if c not in term.split()]
        out.append(term)
        if len(out) >= k:
            break
    return out[:k]


def representative_headline(titles: list[str], title_vectors: np.ndarray | None = None,
                            centroid: np.ndarray | None = None) -> str:
    """The title closest to the centroid (first such title on ties); without vectors, the most
    frequent title, then the shortest."""
    if not titles:
        return ""
    if title_vectors is not None and centroid is not None and len(title_vectors) == len(titles):
        sims = np.asarray(title_vectors, dtype=np.float32) @ np.asarray(centroid, dtype=np.float32)
        return titles[int(np.argmax(sims))]
    counts: dict[str, int] = {}
    for t in titles:
        counts[t] = counts.get(t, 0) + 1
    return sorted(counts, key=lambda t: (-counts[t], len(t), t))[0]
