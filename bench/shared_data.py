"""Locate the read-only shared data folder and unpack its archives once into a cache.

`../shared/data` (beside the checkout) is read-only, so archives such as
`trafilatura-eval/trafilatura-eval-html.tar.xz` are unpacked into a cache folder under the
system temp dir, keyed by archive name, size and mtime. Extraction goes to a private temporary
folder first and is renamed into place, so concurrent runs and interrupted runs never see a
half-unpacked tree.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
from pathlib import Path

ENV_VAR = "NARRATIVES_SHARED_DATA"
REPO_ROOT = Path(__file__).resolve().parent.parent


def shared_data_dir() -> Path | None:
    """The shared data folder: $NARRATIVES_SHARED_DATA, else <repo>/../shared/data; None if absent."""
    env = os.environ.get(ENV_VAR)
    path = Path(env) if env else REPO_ROOT.parent / "shared" / "data"
    return path if path.is_dir() else None


def cache_root() -> Path:
    return Path(tempfile.gettempdir()) / "narratives-shared-cache"


def unpacked(archive_path: str | os.PathLike) -> Path:
    """Unpack a tar archive (any compression) once; return the folder holding its members."""
    archive = Path(archive_path)
    st = archive.stat()
    key = hashlib.sha1(f"{archive.name}:{st.st_size}:{int(st.st_mtime)}".encode()).hexdigest()[:12]
    stem = archive.name.split(".tar")[0]
    target = cache_root() / f"{stem}-{key}"
    if target.is_dir():
        return target
    cache_root().mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{stem}-", dir=cache_root()))
    try:
        with tarfile.open(archive) as tar:
            try:
                tar.extractall(tmp, filter="data")
            except TypeError:  # Python without extraction filters
                tar.extractall(tmp)
        try:
            os.rename(tmp, target)
        except OSError:
            # another process won the race: its complete tree is in place
            if not target.is_dir():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target
