"""Store stage: where chunks, vectors, postings and facts live, behind one protocol (store/base.py)."""

from __future__ import annotations

from pathlib import Path

from retrieval.store.base import DocInfo, DocumentData, Facets, FactQuery, Filter, Sentence, Store, StoreInfo

__all__ = [
    "DocInfo",
    "DocumentData",
    "Facets",
    "FactQuery",
    "Filter",
    "Sentence",
    "Store",
    "StoreInfo",
    "open_store",
    "open_writer",
]


def open_store(location: str | Path, nprobe: int = 32) -> Store:
    """Open the store at a location for reading: a folder path for the local store."""
    from retrieval.store.local import LocalStore

    return LocalStore(Path(location), nprobe=nprobe)


def open_writer(location: str | Path, model: dict, settings: dict, full: bool = False, wait: bool = False,
                ann_min_vectors: int = 200_000, nprobe: int = 32):
    """A writer (a context manager, see LocalWriter) for one build into the store at a location.

    Before any reading or embedding, the target is checked: a folder that is neither empty nor
    an index is refused, and so is one that cannot be written.
    """
    from retrieval.store.local import LocalWriter, check_target

    check_target(Path(location))
    return LocalWriter(Path(location), model, settings, full=full, wait=wait, ann_min_vectors=ann_min_vectors,
                       nprobe=nprobe)
