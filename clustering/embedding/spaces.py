"""Vector spaces by the role they play: what each stage reads, as one small value.

A database holds one or two vector spaces:

- the *shared* space: every article in a language its model reads, passages included. Narratives,
  watched narratives, translations and events across languages are found in it, so a Russian
  article and its English relay can meet;
- the *English* space (optional): the title and lead of every English article, read by a model
  that is better at English than the shared one. Events between English articles are found in it
  (and watched narratives use its lead as one more signal for English articles).

A model name `SHARED+ENGLISH` (the default, `use-multilingual-v3+all-MiniLM-L6-v2`) gives both; a
single name (`all-MiniLM-L6-v2`, databases made before the two spaces) gives a shared space only,
the stages then read it for everything, as before. Vectors of two spaces are never compared: each
stage receives the `Space` it reads and every stored vector records its model id.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SEPARATOR = "+"
# English articles are read by the English space when there is one (two-letter language codes)
ENGLISH = "en"


def split_name(name: str) -> tuple[str, str | None]:
    """(shared model name, English model name or None) of a model setting."""
    shared, sep, english = (name or "").partition(SEPARATOR)
    return shared.strip(), (english.strip() or None) if sep else None


@dataclass(frozen=True)
class Spaces:
    """The embedders of a database's spaces, by role. It stands in for the shared embedder where a
    caller needs one model (`model_id`, `embed`, `languages`, ...), so single-space code reads the
    shared space without knowing there may be another."""

    name: str  # the setting as given: "use-multilingual-v3+all-MiniLM-L6-v2" or one model's name
    shared: object
    english: object | None = None

    # the shared embedder's interface
    @property
    def model_id(self) -> str:
        return self.shared.model_id

    @property
    def dim(self) -> int:
        return self.shared.dim

    @property
    def precision(self) -> str:
        return self.shared.precision

    @property
    def max_tokens(self) -> int:
        return self.shared.max_tokens

    @property
    def languages(self):
        return getattr(self.shared, "languages", None)

    @property
    def worker_cpu_s(self) -> float:
        return sum(getattr(e, "worker_cpu_s", 0.0) for e in self.embedders)

    def embed(self, texts) -> np.ndarray:
        return self.shared.embed(texts)

    def count_tokens(self, text: str) -> int:
        return self.shared.count_tokens(text)

    def set_threads(self, threads: int) -> None:
        for e in self.embedders:
            e.set_threads(threads)

    @property
    def info(self):
        return self.shared.info

    # the spaces
    @property
    def embedders(self) -> list:
        return [self.shared] + ([self.english] if self.english is not None else [])

    @property
    def model_ids(self) -> list[str]:
        """Every model id whose vectors this setting keeps."""
        return [e.model_id for e in self.embedders]

    @property
    def space_id(self) -> str:
        """What events and settings record: the shared model's id, with the English one when there is one."""
        return self.model_id + (SEPARATOR + self.english.model_id if self.english is not None else "")

    def describe(self) -> str:
        if self.english is None:
            return self.model_id
        return f"{self.shared.model_id} (shared, every language) + {self.english.model_id} (English events)"


def spaces_of(embedder) -> Spaces:
    """`embedder` as Spaces (a bare embedder is a shared space alone)."""
    return embedder if isinstance(embedder, Spaces) else Spaces(getattr(embedder, "model_id", ""), embedder, None)
