"""Store stage: where chunks, vectors, postings and facts live, behind one protocol (store/base.py)."""

from __future__ import annotations

from pathlib import Path

from retrieval.store.base import DocInfo, DocumentData, Facets, FactQuery, Filter, Sentence, Store, StoreInfo

__all__ = ["DocInfo", "DocumentData", "Facets", "FactQuery", "Filter", "Sentence", "Store", "StoreInfo", "open_store"]


def open_store(location: str | Path, nprobe: int = 32) -> Store:
    """Open the store at a location: a folder path for the local store."""
    from retrieval.store.local import LocalStore

    return LocalStore(Path(location), nprobe=nprobe)
