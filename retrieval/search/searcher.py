"""Hybrid search over any Store: the two legs, then fusion.

The store returns each leg's candidates (filters pushed down); everything here is the same
for every backend, so two backends given the same legs rank the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from retrieval.embedding.encoder import Encoder
from retrieval.errors import UserError
from retrieval.search import fusion
from retrieval.search.translate import expand_english, gloss_candidates, has_latin_only
from retrieval.settings import Settings
from retrieval.store.base import FactQuery, Filter, Store, StoreInfo
from retrieval.text.normalize import norm_text
from retrieval.text.tokens import tokenize
from retrieval.types import Chunk, Fact, Hit

log = logging.getLogger(__name__)

MODES = ("hybrid", "dense", "bm25")


def has_content(query: str) -> bool:
    """False for a query of only punctuation, symbols or spaces."""
    return any(ch.isalnum() for ch in norm_text(query))


@dataclass
class Legs:
    """One query's candidates from each leg, before fusion."""

    bm25: dict[str, float]
    dense: dict[str, float]
    bm25_max: float = 0.0  # the best BM25 score possible for this query


class _DocumentView(Mapping):
    """``index.documents[doc_id]`` as a dict, fetched from the store on demand."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def __getitem__(self, doc_id: str) -> dict:
        doc = self.store.documents([doc_id]).get(doc_id)
        if doc is None:
            raise KeyError(doc_id)
        return {"doc_id": doc.doc_id, "path": doc.path, "text": doc.text, "encoding": doc.encoding, "title": doc.title,
                "date": doc.date, "outlet": doc.outlet, "author": doc.author, "format": doc.format}

    def __iter__(self) -> Iterator[str]:
        return (d.doc_id for d in self.store.list_documents())

    def __len__(self) -> int:
        return int(self.store.info().counts.get("documents", 0))


class _ChunkView(Mapping):
    """``index.chunks[chunk_id]``, fetched from the store on demand."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def __getitem__(self, chunk_id: str) -> Chunk:
        c = self.store.chunks([chunk_id]).get(chunk_id)
        if c is None:
            raise KeyError(chunk_id)
        return c

    def __iter__(self) -> Iterator[str]:
        raise TypeError("iterating every chunk is not offered: query the store with a Filter")

    def __len__(self) -> int:
        return int(self.store.info().counts.get("chunks", 0))


class _Identity(Mapping):
    def __getitem__(self, key: str) -> str:
        return key

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


@dataclass
class Searcher:
    """A store, the encoder its vectors came from, and the search settings."""

    store: Store
    encoder: Encoder
    settings: Settings = field(default_factory=Settings)

    def __post_init__(self) -> None:
        self.documents = _DocumentView(self.store)
        self.chunks = _ChunkView(self.store)
        self.by_id = _Identity()  # index.chunks[index.by_id[cid]] reads as before

    @property
    def folder(self):
        """Where the index lives (the settings' index location)."""
        return self.settings.index

    @property
    def info(self) -> StoreInfo:
        return self.store.info()

    @property
    def manifest(self) -> dict:
        return self.store.info().to_json()

    def facts_where(self, query: FactQuery | None = None) -> list[Fact]:
        return self.store.facts(query)

    @property
    def facts(self) -> list[Fact]:
        """Every fact (the facts table is small per document; prefer ``facts_where``)."""
        return self.store.facts(None)

    def english_terms(self, query: str) -> list[str]:
        """Chinese index terms for an English question (CEDICT glosses, pinyin of the index's words)."""
        store = self.store
        known = store.term_df(gloss_candidates(query))  # one look-up for the glossary's terms

        def df(term: str) -> int:
            if term not in known:  # a name read by its pinyin
                known.update(store.term_df([term]))
            return known.get(term, 0)

        return expand_english(query, df, store.terms_by_reading())

    def legs(self, query: str, depth: int, mode: str = "hybrid", flt: Filter | None = None) -> Legs:
        """Raw BM25 and dense scores (chunk_id -> score) of the top ``depth`` chunks of each leg."""
        legs = Legs({}, {})
        if not has_content(query):
            return legs
        # an English question gets Chinese terms: BM25 matches them, the dense model reads them as a gloss
        gloss = self.english_terms(query) if has_latin_only(query) else []
        if mode in ("hybrid", "bm25"):
            tokens = tokenize(query) + gloss
            legs.bm25.update(self.store.bm25_top(tokens, depth, flt))
            legs.bm25_max = self.store.bm25_max(tokens)
        if mode in ("hybrid", "dense"):
            text = " ".join([norm_text(query), *gloss])
            vec = self.encoder.encode_queries([text])[0]
            legs.dense.update(self.store.dense_top(vec, depth, flt))
        return legs

    def search(
        self,
        query: str,
        k: int = 10,
        mode: str = "hybrid",
        fusion_method: str | None = None,
        alpha: float | None = None,
        rrf_k: int | None = None,
        where: Filter | None = None,
    ) -> list[Hit]:
        """Ranked hits for a query; ``where`` is a declarative Filter pushed down to the store."""
        if mode not in MODES:
            raise UserError(f"unknown mode {mode!r}: use one of {', '.join(MODES)}")
        if not has_content(query) or k <= 0:
            return []
        if where is not None and not isinstance(where, Filter):
            raise TypeError("where must be a retrieval.store.Filter (filters are data, not callables)")
        legs = self.legs(query, max(self.settings.depth, k), mode, where)
        return self.rank(legs, k, mode, fusion_method, alpha, rrf_k)

    def rank(
        self,
        legs: Legs,
        k: int = 10,
        mode: str = "hybrid",
        fusion_method: str | None = None,
        alpha: float | None = None,
        rrf_k: int | None = None,
        bm25_ceiling: float | None = None,
    ) -> list[Hit]:
        """Fuse two legs' scores into ranked hits (pure: the inputs are not changed)."""
        bm, de = legs.bm25, legs.dense
        s = self.settings
        method = fusion_method or s.fusion
        a = s.alpha if alpha is None else alpha
        bm_rank = {d: r for r, d in enumerate(sorted(bm, key=lambda d: (-bm[d], d)), start=1)}
        de_rank = {d: r for r, d in enumerate(sorted(de, key=lambda d: (-de[d], d)), start=1)}
        if mode == "bm25":
            ranked = sorted(bm.items(), key=lambda kv: (-kv[1], kv[0]))
        elif mode == "dense":
            ranked = sorted(de.items(), key=lambda kv: (-kv[1], kv[0]))
        elif method == "rrf":
            ranked = fusion.rrf([list(bm_rank), list(de_rank)], k=rrf_k or s.rrf_k)
        else:
            share = s.bm25_ceiling if bm25_ceiling is None else bm25_ceiling
            ceiling = share * legs.bm25_max if share else None
            ranked = fusion.weighted([bm, de], [1.0 - a, a], floors=[0.0, None], ceilings=[ceiling, None])
        top = ranked[:k]
        chunks = self.store.chunks([cid for cid, _ in top])
        hits = []
        for cid, score in top:
            if cid not in chunks:
                continue
            hits.append(Hit(
                rank=len(hits) + 1,
                chunk=chunks[cid],
                score=float(score),
                scores={"bm25": bm.get(cid), "dense": de.get(cid)},
                ranks={"bm25": bm_rank.get(cid), "dense": de_rank.get(cid)},
            ))
        return hits

    def close(self) -> None:
        self.store.close()
