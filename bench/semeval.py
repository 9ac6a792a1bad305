"""SemEval-2025 Task 10 documents, as the watch and carrier benchmarks read them.

Shared by bench/eval_watch.py (watched-narrative matching), bench/train_carrier.py (the
narrative-carrier model) and bench/precision.py: the documents, their narrative labels ("Other" =
none) and their passage vectors (clustering.passages, as the pipeline embeds them; cached).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bench.embedding_cache import cached_embed
from bench.shared_data import shared_data_dir, unpacked
from clustering.passages import embed_grouped, split_passages

MAX_PASSAGES = 24


@dataclass
class Doc:
    id: str
    title: str
    text: str
    labels: list[str]
    subnarratives: list[str] = field(default_factory=list)  # the specific ones ("<narrative>: Other" left out)


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
        fname, narr, sub = (line.split("\t") + ["", ""])[:3]
        labels = sorted({x.strip() for x in narr.split(";") if x.strip() and x.strip() != "Other"})
        subs = sorted({x.strip() for x in sub.split(";") if x.strip() and x.strip() != "Other"
                       and not x.strip().endswith(": Other")})
        title, _, body = (folder / "raw-documents" / fname).read_text("utf-8").partition("\n")
        docs.append(Doc(fname, title.strip(), body.strip(), labels, subs))
    return docs


def embed_passages(docs: list[Doc], max_passages: int = MAX_PASSAGES, model: str | None = None) -> list[np.ndarray]:
    """Each doc's passage vectors (the configured model, or `model`), cut as the embed stage cuts them."""
    return embed_grouped(lambda texts: cached_embed(texts, model=model),
                         [split_passages(d.title, d.text, max_passages=max_passages) for d in docs])


def two_spaces():
    """The configured model's spaces when it has two (clustering.embedding.Spaces), else None."""
    from clustering.embedding import load_embedder
    from clustering.embedding.spaces import spaces_of

    spaces = spaces_of(load_embedder())
    return spaces if spaces.english is not None else None


def english_model_name() -> str | None:
    from clustering.embedding import default_model
    from clustering.embedding.spaces import split_name

    return split_name(default_model())[1]


def article_vectors(docs: list[Doc], language="en", max_passages: int = MAX_PASSAGES) -> list:
    """What the watch stage reads of each doc: its passage vectors (an array each), or with two
    spaces a clustering.watch.ArticleVectors with the shared lead and, for English docs, the
    English space's lead (cached). `language`: the docs' language, or one per doc."""
    from clustering.embed import doc_text, reads_english
    from clustering.watch import ArticleVectors

    pvs = embed_passages(docs, max_passages)
    if two_spaces() is None:
        return pvs
    languages = [language] * len(docs) if isinstance(language, str) or language is None else list(language)
    leads = cached_embed([doc_text(d.title, d.text) for d in docs])
    english = [i for i, lang in enumerate(languages) if reads_english(lang)]
    en = dict(zip(english, cached_embed([doc_text(docs[i].title, docs[i].text) for i in english],
                                        model=english_model_name()))) if english else {}
    return [ArticleVectors(p, lead, en.get(i)) for i, (p, lead) in enumerate(zip(pvs, leads))]
