"""Store stage: where chunks, vectors, postings and facts live, behind one protocol (store/base.py).

A location is a folder (the local store, the default) or ``milvus://HOST:PORT/COLLECTION``
(the Milvus store, retrieval/store/milvus.py, with the ``milvus`` extra).
"""

from __future__ import annotations

from pathlib import Path

from retrieval.settings import Settings
from retrieval.store.base import DocInfo, DocumentData, Facets, FactQuery, Filter, Sentence, Store, StoreInfo, Writer
from retrieval.store.milvus_expr import is_milvus, parse_url

__all__ = [
    "DocInfo",
    "DocumentData",
    "Facets",
    "FactQuery",
    "Filter",
    "Sentence",
    "Store",
    "StoreInfo",
    "Writer",
    "check_target",
    "is_milvus",
    "location_name",
    "open_store",
    "open_writer",
    "published_generation",
]


def open_store(location: str | Path, nprobe: int = Settings.nprobe, settings: Settings | None = None) -> Store:
    """Open the store at a location for reading: a folder path, or a ``milvus://`` address."""
    if is_milvus(location):
        from retrieval.store.milvus import MilvusStore

        return MilvusStore(parse_url(location), settings)
    from retrieval.store.local import LocalStore

    small = (settings or Settings()).segment_small_chunks
    return LocalStore(Path(location), nprobe=nprobe, small_chunks=small)


def location_name(location: str | Path) -> str:
    """A location as the user wrote it (``Path`` folds ``milvus://`` into ``milvus:/``)."""
    return str(parse_url(location)) if is_milvus(location) else str(location)


def published_generation(location: str | Path) -> int | None:
    """The generation a reader would open now, or None when there is no index at the location."""
    if is_milvus(location):
        from retrieval.store.milvus import published_generation as milvus_generation

        return milvus_generation(parse_url(location))
    from retrieval.store.local import read_current

    return read_current(Path(location))


def check_target(location: str | Path) -> None:
    """Refuse a build target before any reading or embedding (a malformed address, an unfit folder)."""
    if is_milvus(location):
        parse_url(location)
        return
    from retrieval.store.local import check_target as check_folder

    check_folder(Path(location))


def open_writer(location: str | Path, model: dict, settings: dict, full: bool = False, wait: bool = False,
                ann_min_vectors: int = Settings.ann_min_vectors, nprobe: int = Settings.nprobe,
                config: Settings | None = None, ann_storage: str = Settings.ann_storage,
                optimize: bool = False) -> Writer:
    """A writer (``Writer``: LocalWriter or MilvusWriter) for one build into the store at a location.

    Before any reading or embedding, the target is checked: a folder that is neither empty nor
    an index is refused, and so is one that cannot be written. ``optimize`` folds the local
    store's segments into one (Milvus compacts its own segments).
    """
    check_target(location)
    if is_milvus(location):
        from retrieval.store.milvus import MilvusWriter

        return MilvusWriter(parse_url(location), model, settings, full=full, wait=wait, config=config)
    from retrieval.store.local import LocalWriter
    from retrieval.store.segments import MergePolicy

    return LocalWriter(Path(location), model, settings, full=full, wait=wait, ann_min_vectors=ann_min_vectors,
                       nprobe=nprobe, ann_storage=ann_storage,
                       policy=MergePolicy.of(config) if config is not None else None, optimize=optimize)
