"""The store seam: what search and answers need from an index, whatever engine holds it.

A backend (the local SQLite + FAISS + BM25 store, or a distributed engine) implements
``Store`` for reading and ``Writer`` for building. Filters are data (``Filter``),
translated by each backend into its own query language (SQL, FAISS id selectors, a Milvus
boolean expression), never Python callables over every chunk.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from retrieval.types import Chunk, Document, Fact


@dataclass(frozen=True)
class Filter:
    """Which chunks a search may return. Fields narrow together (AND); values of one field are alternatives (OR).

    Args:
        regions: region names at any level (province, city, county/district or zone); a chunk
            matches when its attributed region is, or lies inside, one of them.
        region_mentions: also match a chunk that names one of ``regions`` in its text.
        doc_ids: only these documents.
        outlets: only documents from these outlets.
        date_from: ISO date (inclusive); documents without a date are excluded when set.
        date_to: ISO date (inclusive).
    """

    regions: tuple[str, ...] = ()
    region_mentions: bool = False
    doc_ids: tuple[str, ...] = ()
    outlets: tuple[str, ...] = ()
    date_from: str | None = None
    date_to: str | None = None

    def is_empty(self) -> bool:
        return not (self.regions or self.doc_ids or self.outlets or self.date_from or self.date_to)

    def to_dict(self) -> dict:
        """Haystack-style filter dict: ``{"operator": "AND", "conditions": [...]}``."""
        conds: list[dict] = []
        if self.regions:
            op = "in_or_mentions" if self.region_mentions else "in"
            conds.append({"field": "region", "operator": op, "value": list(self.regions)})
        if self.doc_ids:
            conds.append({"field": "doc_id", "operator": "in", "value": list(self.doc_ids)})
        if self.outlets:
            conds.append({"field": "outlet", "operator": "in", "value": list(self.outlets)})
        if self.date_from:
            conds.append({"field": "date", "operator": ">=", "value": self.date_from})
        if self.date_to:
            conds.append({"field": "date", "operator": "<=", "value": self.date_to})
        return {"operator": "AND", "conditions": conds}


@dataclass(frozen=True)
class FactQuery:
    """Which facts to fetch: every field narrows; empty fields do not."""

    regions: tuple[str, ...] = ()  # any level, as Filter.regions
    units: tuple[str, ...] = ()
    value: float | None = None  # exact figure (compared with a tolerance)
    chunk_ids: tuple[str, ...] = ()
    doc_ids: tuple[str, ...] = ()
    outlets: tuple[str, ...] = ()  # of the fact's document, as Filter.outlets
    date_from: str | None = None  # the document's date, as Filter.date_from / date_to
    date_to: str | None = None
    limit: int | None = None


@dataclass(frozen=True)
class Sentence:
    """A sentence of a chunk, split and normalized once at build time."""

    chunk_id: str
    ordinal: int
    start: int  # in Document.text
    end: int
    norm: str


@dataclass(frozen=True)
class DocInfo:
    """A document as listed (no text)."""

    doc_id: str
    path: str
    title: str
    date: str | None
    outlet: str | None
    format: str
    chunks: int


@dataclass(frozen=True)
class Facets:
    """What the app offers as filters, read from the store (not computed over all chunks)."""

    regions: tuple[tuple[str, str, str], ...]  # distinct (province, city, county)
    outlets: tuple[str, ...]
    dates: tuple[str, str] | None  # first and last publication date
    units: tuple[str, ...]


@dataclass(frozen=True)
class DocumentData:
    """Everything a build adds for one document."""

    document: Document
    file_hash: str
    chunks: tuple[Chunk, ...]
    facts: tuple[Fact, ...]
    sentences: tuple[Sentence, ...]
    terms: tuple[tuple[str, ...], ...]  # BM25 terms per chunk
    places: tuple[tuple[str, ...], ...]  # region names each chunk mentions
    vectors: np.ndarray  # (n, dim) float32, L2-normalized
    vector_owner: np.ndarray  # (n,) chunk ordinal within this document
    vector_part: np.ndarray  # (n,) 0 = the paragraph, i >= 1 = its i-th sentence


# the settings a store records per generation and reports in StoreInfo.settings
INDEX_SETTINGS = ("chunking", "tokenizer", "bm25", "dense", "vocabulary", "facts")


@dataclass(frozen=True)
class StoreInfo:
    """What a store says about itself (the manifest, for the local store)."""

    location: str
    generation: int
    model: dict
    counts: dict
    built_at: str
    build_seconds: float
    skipped: tuple[dict, ...] = ()
    corpus: str = ""
    settings: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def of_manifest(cls, location: str, generation: int, m: dict) -> StoreInfo:
        """What a generation's manifest says (the local store's manifest.json, Milvus's meta row)."""
        return cls(location=location, generation=generation, model=m["model"], counts=m["counts"],
                   built_at=m.get("built_at", ""), build_seconds=m.get("build_seconds", 0.0),
                   skipped=tuple(m.get("skipped", ())), corpus=m.get("corpus", ""),
                   settings={k: m.get(k) for k in INDEX_SETTINGS})


class Readings(Mapping):
    """pinyin -> the index's words read so, each looked up in the store on demand (no scan of the
    vocabulary): what ``Store.terms_by_reading`` returns, for English names read by their pinyin."""

    def __init__(self, lookup: Callable[[str], tuple[str, ...]]) -> None:
        self.lookup = lookup

    def __getitem__(self, key: str) -> tuple[str, ...]:
        words = self.lookup(key)
        if not words:
            raise KeyError(key)
        return words

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


@runtime_checkable
class Store(Protocol):
    """Reading side: one consistent snapshot of an index."""

    def info(self) -> StoreInfo: ...

    def dense_top(self, vector: np.ndarray, k: int, flt: Filter | None = None) -> list[tuple[str, float]]:
        """(chunk_id, best cosine over the chunk's vectors), best first."""
        ...

    def part_scores(self, vector: np.ndarray, chunk_ids: Iterable[str]) -> dict[str, dict[int, float]]:
        """chunk_id -> {part: cosine} for every stored vector of these chunks (0 = the paragraph,
        i = its i-th sentence): the sentences' meaning without embedding them again."""
        ...

    def bm25_top(self, terms: list[str], k: int, flt: Filter | None = None) -> list[tuple[str, float]]:
        """(chunk_id, BM25 score > 0), best first; a repeated term counts again."""
        ...

    def bm25_max(self, terms: list[str]) -> float:
        """Upper bound of any chunk's BM25 score for these terms."""
        ...

    def term_df(self, terms: Iterable[str]) -> dict[str, int]:
        """Number of chunks containing each term (0 for unknown terms)."""
        ...

    def terms_by_reading(self) -> Mapping[str, tuple[str, ...]]:
        """Toneless pinyin -> the index's words read so (for English names); a lazy mapping."""
        ...

    def chunks(self, chunk_ids: Iterable[str]) -> dict[str, Chunk]: ...

    def chunks_of(self, doc_ids: Iterable[str]) -> list[Chunk]:
        """Every chunk of these documents, in document order."""
        ...

    def documents(self, doc_ids: Iterable[str]) -> dict[str, Document]: ...

    def list_documents(self) -> list[DocInfo]: ...

    def sentences(self, chunk_ids: Iterable[str]) -> dict[str, list[Sentence]]: ...

    def stored_vectors(self, keys: list[bytes]) -> dict[bytes, np.ndarray]:
        """Vectors the build stored under these keys (its embedding cache; facts' subjects too)."""
        ...

    def facts(self, query: FactQuery | None = None) -> list[Fact]: ...

    def facets(self) -> Facets: ...

    def close(self) -> None: ...


@runtime_checkable
class Writer(Protocol):
    """One build into a store (LocalWriter, MilvusWriter): a context manager that writes a new
    generation and publishes it on ``commit``; leaving without a commit (an error, a kill) keeps
    the generation readers already use."""

    def __enter__(self) -> Writer: ...

    def __exit__(self, exc_type, exc, tb) -> None: ...

    def known_files(self) -> dict[str, tuple[str, str]]:
        """Path -> (document id, sha256) of the files the published generation was built from."""
        ...

    def cached_vectors(self, keys: list[bytes]) -> dict[bytes, np.ndarray]:
        """Vectors embedded before, by key (passages, sentences, fact subjects)."""
        ...

    def cache_vectors(self, keys: list[bytes], vecs: np.ndarray) -> None: ...

    def delete_documents(self, doc_ids: Iterable[str]) -> int:
        """Mark documents deleted in the new generation; the number deleted."""
        ...

    def add(self, items: list[DocumentData], readings: dict[str, str] | None = None) -> None:
        """Documents with their chunks, sentences, facts, terms, places and vectors."""
        ...

    def live_chunks(self) -> int: ...

    def changed(self) -> bool:
        """Whether anything was added or deleted since the writer opened."""
        ...

    def commit(self, extra: dict) -> dict:
        """Publish the new generation (atomically for readers); its manifest."""
        ...

