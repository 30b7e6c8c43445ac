"""The Milvus store: the store protocol over a Milvus server, so a team shares one index.

An index ``milvus://HOST:PORT/NAME`` is seven collections:

    NAME_chunks      one row per chunk: text, places, outlet, date, sentences (JSON), its BM25
                     terms (JSON tf), our BM25 sparse vector ``bm25`` and Milvus's own BM25 (``bm25_auto``,
                     a BM25 function over ``bm25_text`` with the jieba analyzer)
    NAME_vectors     one row per dense vector (paragraph and sentences) with the chunk's filter fields
    NAME_documents   documents (text in pieces of at most 16,000 characters, VARCHAR's limit)
    NAME_facts       facts as JSON with their filter fields
    NAME_terms       term -> stable id, document frequency, pinyin reading
    NAME_meta        the published generation, model, settings, counts, BM25 statistics, facets, the build lock
    NAME_cache<dim>  the embedding cache (content hash -> vector), shared by every build

Generations, as in the local store: rows carry ``gen``; a reader adds ``gen <= published`` to
every expression, so rows a build is still writing stay invisible. Commit publishes the new
generation in NAME_meta, then deletes the rows of removed and changed documents. Milvus has
no transactions, so between publish and those deletes (a moment) a changed document can be
seen twice; readers keep only the newest generation of each document.

BM25 ("own", the default): a chunk stores ``saturation(tf, dl, avgdl_w)`` per term (retrieval/
store/bm25.py) and the query vector carries ``idf(df, N) * count``; their inner product is
exactly the local store's score while avgdl_w equals the live average chunk length. idf comes
from NAME_terms at query time, so adds and deletes never leave it stale; when the live average
drifts more than ``Settings.milvus_avgdl_tolerance`` from avgdl_w, commit rewrites every
chunk's weights.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime

import numpy as np

from retrieval.errors import UserError
from retrieval.settings import Settings
from retrieval.store.base import DocInfo, DocumentData, Facets, FactQuery, Filter, Readings, Sentence, StoreInfo
from retrieval.store.bm25 import lucene_idf, new_term_ids, saturation
from retrieval.store.compile import filter_expr, of_facts, to_milvus
from retrieval.store.dense import PARTS
from retrieval.store.milvus_expr import MilvusUrl, both, in_list, literal
from retrieval.store.milvus_schema import (
    GEN_COLLECTIONS,
    IN_BATCH,
    MAX_PLACES,
    SHORT,
    Names,
    _clip,
    _Conn,
    connect,
    ensure_collections,
)
from retrieval.text.normalize import norm_text
from retrieval.types import Chunk, Document, Fact

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
PIECE_CHARS = 16_000  # a document text piece: at most 4 bytes a character
MAX_REPLACED_IDS = 2_000  # removed/changed document ids kept in NAME_meta for a resumed delete
CHUNK_FIELDS = ("chunk_id", "doc_id", "ordinal", "title", "section", "subtitle", "text", "norm", "start", "end_",
                "mojibake", "region", "province", "city", "county")


def _newest(rows: list[dict]) -> list[dict]:
    """Rows of each document's newest generation (a changed document is briefly there twice)."""
    top: dict[str, int] = {}
    for r in rows:
        top[r["doc_id"]] = max(top.get(r["doc_id"], -1), int(r["gen"]))
    return [r for r in rows if int(r["gen"]) == top[r["doc_id"]]]


def _chunk(r: dict) -> Chunk:
    d = {k: r[k] for k in CHUNK_FIELDS}
    d["end"] = d.pop("end_")
    d["mojibake"] = bool(d["mojibake"])
    return Chunk(**d)


class MilvusStore(_Conn):
    """The reading side: follows the published generation (re-read at most every ``milvus_meta_ttl_s``)."""

    def __init__(self, url: MilvusUrl, settings: Settings | None = None) -> None:
        self.url = url
        self.settings = settings or Settings()
        self.names = Names(url.name)
        self.client = connect(url, self.settings.milvus_timeout_s)
        self._lock = threading.Lock()
        self._meta_at = 0.0
        self._meta: dict = {}
        self.meta()  # refuses a missing index now

    def meta(self) -> dict:
        with self._lock:
            if time.monotonic() - self._meta_at < self.settings.milvus_meta_ttl_s and self._meta:
                return self._meta
        meta = self._meta_row("index")
        if not meta or not meta.get("generation"):
            raise UserError(f"no index at {self.url}: run `policyqa build --store {self.url}` first")
        if meta.get("schema_version") != SCHEMA_VERSION:
            raise UserError(f"index {self.url} has schema {meta.get('schema_version')}, this version reads "
                            f"{SCHEMA_VERSION}: run `policyqa build --full --store {self.url}`")
        with self._lock:
            self._meta, self._meta_at = meta, time.monotonic()
        return meta

    def _vis(self) -> str:
        return f"gen <= {int(self.meta()['generation'])}"

    def close(self) -> None:
        self._call("closing", self.client.close)

    # -- the protocol
    def info(self) -> StoreInfo:
        m = self.meta()
        return StoreInfo.of_manifest(str(self.url), int(m["generation"]), m)

    def dense_top(self, vector: np.ndarray, k: int, flt: Filter | None = None) -> list[tuple[str, float]]:
        params = {"metric_type": "IP"}
        if self.settings.milvus_dense_index.upper() == "HNSW":
            params["params"] = {"ef": max(self.settings.milvus_search_ef, k)}
        res = self._call("dense search", self.client.search, self.names.vectors,
                         data=[np.asarray(vector, dtype=np.float32).tolist()], anns_field="vec", limit=k,
                         filter=both(self._vis(), filter_expr(flt)), group_by_field="chunk_id",
                         output_fields=["chunk_id"], search_params=params)
        pairs = [(h["entity"]["chunk_id"], float(h["distance"])) for h in res[0]]
        return sorted(pairs, key=lambda p: (-p[1], p[0]))

    def part_scores(self, vector: np.ndarray, chunk_ids: Iterable[str]) -> dict[str, dict[int, float]]:
        wanted = list(dict.fromkeys(chunk_ids))
        out: dict[str, dict[int, float]] = {c: {} for c in wanted}
        for i in range(0, len(wanted), 200):  # Milvus answers at most 16,384 rows a search
            part = wanted[i : i + 200]
            res = self._call("sentence scores", self.client.search, self.names.vectors,
                             data=[np.asarray(vector, dtype=np.float32).tolist()], anns_field="vec",
                             limit=min(16_384, len(part) * PARTS), filter=both(self._vis(), in_list("chunk_id", part)),
                             output_fields=["key", "chunk_id"], search_params={"metric_type": "IP"})
            for h in res[0]:
                key = h["entity"]["key"].rsplit("@", 1)[0]  # chunk_id#part@generation
                out[h["entity"]["chunk_id"]][int(key.rsplit("#", 1)[1])] = float(h["distance"])
        return out

    def _df(self, terms: list[str]) -> dict[str, tuple[int, int]]:
        """term -> (tid, df) for the terms the published generation holds."""
        uniq = list(dict.fromkeys(terms))
        # `term in [...]` alone: milvus-lite 2.5.1 answered `term in [...] and df > 0` with other
        # terms' rows once the terms collection had been upserted in several batches (the People's
        # Daily parity run: an empty BM25 leg), so df is checked here
        rows = self._query_in(self.names.terms, "term", uniq, "", ["term", "tid", "df"])
        return {r["term"]: (int(r["tid"]), int(r["df"])) for r in rows if int(r["df"]) > 0}

    def _idf(self, df: np.ndarray) -> np.ndarray:
        return lucene_idf(int(self.meta()["stats"]["n"]), df.astype(np.float64))

    def bm25_top(self, terms: list[str], k: int, flt: Filter | None = None) -> list[tuple[str, float]]:
        if not terms:
            return []
        expr = both(self._vis(), filter_expr(flt))
        if self.settings.milvus_bm25 == "builtin":
            res = self._call("BM25 search", self.client.search, self.names.chunks, data=[" ".join(terms)],
                             anns_field="bm25_auto", limit=k, filter=expr, output_fields=["chunk_id"],
                             search_params={"metric_type": "BM25"})
        else:
            known = self._df(terms)
            counts = Counter(t for t in terms if t in known)
            if not counts:
                return []
            ts = list(counts)
            idf = self._idf(np.array([known[t][1] for t in ts]))
            query = {known[t][0]: float(w * counts[t]) for t, w in zip(ts, idf, strict=True)}
            res = self._call("BM25 search", self.client.search, self.names.chunks, data=[query], anns_field="bm25",
                             limit=k, filter=expr, output_fields=["chunk_id"],
                             search_params={"metric_type": "IP", "params": {"drop_ratio_search": 0.0}})
        best: dict[str, float] = {}
        for h in res[0]:
            cid, s = h["entity"]["chunk_id"], float(h["distance"])
            if s > 0 and s > best.get(cid, 0.0):
                best[cid] = s
        return sorted(best.items(), key=lambda p: (-p[1], p[0]))

    def bm25_max(self, terms: list[str]) -> float:
        known = self._df(terms)
        df = np.array([known[t][1] for t in terms if t in known], dtype=np.float64)
        k1 = float(self.meta()["bm25"]["k1"])
        return float(self._idf(df).sum() * (k1 + 1)) if len(df) and self.meta()["stats"]["n"] else 0.0

    def term_df(self, terms: Iterable[str]) -> dict[str, int]:
        terms = list(terms)
        known = self._df(terms)
        return {t: known.get(t, (0, 0))[1] for t in terms}

    def terms_by_reading(self) -> Mapping[str, tuple[str, ...]]:
        return Readings(lambda key: tuple(sorted(r["term"] for r in self._query(
            self.names.terms, f"reading == {literal(key)} and df > 0", ["term"]))))

    def stored_vectors(self, keys: list[bytes]) -> dict[bytes, np.ndarray]:
        dim = int(self.meta()["model"]["dim"])
        rows = self._query_in(self.names.cache(dim), "key", [k.hex() for k in keys], "", ["key", "vec"])
        return {bytes.fromhex(r["key"]): np.asarray(r["vec"], dtype=np.float32) for r in rows}

    def _chunk_rows(self, field: str, values: list[str], fields: list[str]) -> list[dict]:
        return _newest(self._query_in(self.names.chunks, field, values, self._vis(), [*fields, "doc_id", "gen"]))

    def chunks(self, chunk_ids: Iterable[str]) -> dict[str, Chunk]:
        rows = self._chunk_rows("chunk_id", list(dict.fromkeys(chunk_ids)), list(CHUNK_FIELDS))
        return {r["chunk_id"]: _chunk(r) for r in rows}

    def chunks_of(self, doc_ids: Iterable[str]) -> list[Chunk]:
        rows = self._chunk_rows("doc_id", list(dict.fromkeys(doc_ids)), list(CHUNK_FIELDS))
        return [_chunk(r) for r in sorted(rows, key=lambda r: (r["doc_id"], r["ordinal"]))]

    def documents(self, doc_ids: Iterable[str]) -> dict[str, Document]:
        fields = ["doc_id", "gen", "piece", "path", "title", "text", "date", "outlet", "author", "format", "encoding"]
        rows = _newest(self._query_in(self.names.documents, "doc_id", list(dict.fromkeys(doc_ids)), self._vis(),
                                      fields))
        out: dict[str, Document] = {}
        for r in sorted(rows, key=lambda r: (r["doc_id"], r["piece"])):
            if r["piece"] == 0:
                out[r["doc_id"]] = Document(doc_id=r["doc_id"], path=r["path"], text=r["text"], encoding=r["encoding"],
                                            title=r["title"], date=r["date"] or None, outlet=r["outlet"] or None,
                                            author=r["author"] or None, format=r["format"] or "txt")
            else:
                d = out[r["doc_id"]]
                out[r["doc_id"]] = replace(d, text=d.text + r["text"])
        return out

    def list_documents(self) -> list[DocInfo]:
        fields = ["doc_id", "gen", "path", "title", "date", "outlet", "format", "n_chunks"]
        rows = _newest(list(self._scan(self.names.documents, both(self._vis(), "piece == 0"), fields)))
        return [DocInfo(r["doc_id"], r["path"], r["title"], r["date"] or None, r["outlet"] or None, r["format"],
                        int(r["n_chunks"])) for r in sorted(rows, key=lambda r: r["doc_id"])]

    def sentences(self, chunk_ids: Iterable[str]) -> dict[str, list[Sentence]]:
        ids = list(dict.fromkeys(chunk_ids))
        out: dict[str, list[Sentence]] = {i: [] for i in ids}
        for r in self._chunk_rows("chunk_id", ids, ["chunk_id", "sentences"]):
            out[r["chunk_id"]] = [Sentence(r["chunk_id"], *s) for s in r["sentences"]["s"]]
        return out

    def facts(self, query: FactQuery | None = None) -> list[Fact]:
        cq = of_facts(query)
        conds = [self._vis(), to_milvus(cq.rows)]
        if cq.docs:  # the documents' fields live in the documents collection
            dexpr = both(self._vis(), "piece == 0", to_milvus(cq.docs))
            docs = sorted({r["doc_id"] for r in self._scan(self.names.documents, dexpr, ["doc_id"])})
            if not docs:
                return []
            conds.append(in_list("doc_id", docs))
        rows = _newest(list(self._scan(self.names.facts, both(*conds), ["doc_id", "gen", "fid", "data"])))
        rows.sort(key=lambda r: r["fid"])
        if query and query.limit:
            rows = rows[: int(query.limit)]
        return [Fact(**r["data"]) for r in rows]

    def facets(self) -> Facets:
        f = self.meta().get("facets") or {}
        dates = f.get("dates")
        return Facets(tuple(tuple(r) for r in f.get("regions", ())), tuple(f.get("outlets", ())),
                      tuple(dates) if dates else None, tuple(f.get("units", ())))


class MilvusWriter(_Conn):
    """The writing side: one build under the index's lock, published by one write of NAME_meta.

    Use as a context manager; leaving without ``commit()`` deletes every row this build wrote.
    """

    def __init__(self, url: MilvusUrl, model: dict, settings: dict, full: bool = False, wait: bool = False,
                 config: Settings | None = None) -> None:
        self.url, self.model, self.settings, self.full, self.wait = url, model, settings, full, wait
        self.config = config or Settings()
        self.names = Names(url.name)
        self.committed = False
        self.token = f"{socket.gethostname()}:{os.getpid()}:{time.time_ns()}"

    # -- lifecycle
    def __enter__(self) -> MilvusWriter:
        self.client = connect(self.url, self.config.milvus_timeout_s)
        self.dim = int(self.model.get("dim", 0))
        self._call("creating collections", ensure_collections, self.client, self.names, self.dim, self.config,
                   self.settings["bm25"])
        try:
            self._take_lock()
            try:
                self._open()
            except BaseException:
                self._drop_lock()
                raise
        except BaseException:
            self.client.close()
            raise
        return self

    def _take_lock(self) -> None:
        while True:
            held = self._meta_row("lock")
            if not held or time.time() - float(held.get("since", 0)) > self.config.milvus_lock_stale_s:
                break
            if not self.wait:
                raise UserError(f"another build is running on {self.url} ({held.get('token')}): wait for it to finish")
            time.sleep(2.0)
        self._put_meta("lock", {"token": self.token, "since": time.time()})
        if (self._meta_row("lock") or {}).get("token") != self.token:  # Milvus has no compare-and-set: re-read
            raise UserError(f"another build took the lock on {self.url} at the same time: try again")

    def _drop_lock(self) -> None:
        held = self._meta_row("lock")
        if held and held.get("token") == self.token:
            self._call("releasing the lock", self.client.delete, self.names.meta, filter='key == "lock"')

    def _put_meta(self, key: str, value: dict) -> None:
        row = {"key": key, "value": value, "_v": [0.0, 0.0]}
        self._call("writing meta", self.client.upsert, self.names.meta, [row])

    def _open(self) -> None:
        self.prev = self._meta_row("index") or {}
        self.prev_gen = int(self.prev.get("generation", 0))
        self.gen = self.prev_gen + 1
        self.next_tid = int(self.prev.get("next_tid", 0))
        self.next_fid = int(self.prev.get("next_fid", 0))
        self._recover()
        if self.prev and (self.prev.get("model") != self.model
                          or any(self.prev.get(k) != v for k, v in self.settings.items())):
            log.info("model or settings changed since generation %d: full rebuild", self.prev_gen)
            self.full = True
        if not self.prev:
            self.full = True
        stats = self.prev.get("stats") or {}
        self.n = int(stats.get("n", 0))
        self.total_len = int(stats.get("total_len", 0))
        self.avgdl_w: float | None = stats.get("avgdl_w")
        self.dead_docs: set[str] = set()
        self.df_delta: Counter[int] = Counter()
        self.counts: Counter[str] = Counter()

    def _recover(self) -> None:
        """Rows a killed build left (newer than the published generation), the term ids it gave, and
        replaced rows a build published but did not finish deleting."""
        for part in GEN_COLLECTIONS:
            self._call("undoing a killed build", self.client.delete, getattr(self.names, part),
                       filter=f"gen > {self.prev_gen}")
        self._call("undoing a killed build", self.client.delete, self.names.terms, filter=f"tid >= {self.next_tid}")
        replaced = self.prev.get("replaced") or {}
        if replaced:
            self._delete_replaced(int(replaced["gen"]), bool(replaced["full"]), list(replaced["doc_ids"]))

    def _delete_replaced(self, gen: int, full: bool, doc_ids: list[str]) -> None:
        exprs = [f"gen < {gen}"] if full else [f"gen < {gen} and {in_list('doc_id', doc_ids[i:i + IN_BATCH])}"
                                                for i in range(0, len(doc_ids), IN_BATCH)]
        for part in GEN_COLLECTIONS:
            for expr in exprs:
                self._call("deleting replaced rows", self.client.delete, getattr(self.names, part), filter=expr)

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if not self.committed:
                for part in GEN_COLLECTIONS:
                    self._call("undoing this build", self.client.delete, getattr(self.names, part),
                               filter=f"gen == {self.gen}")
                self._call("undoing this build", self.client.delete, self.names.terms,
                           filter=f"tid >= {int(self.prev.get('next_tid', 0))}")
        finally:
            try:
                self._drop_lock()
            finally:
                self.client.close()

    # -- what the build asks
    def known_files(self) -> dict[str, tuple[str, str]]:
        if self.full:
            return {}
        rows = _newest(list(self._scan(self.names.documents, f"piece == 0 and gen <= {self.prev_gen}",
                                       ["doc_id", "gen", "path", "file_hash"])))
        return {r["path"]: (r["doc_id"], r["file_hash"]) for r in rows}

    def cached_vectors(self, keys: list[bytes]) -> dict[bytes, np.ndarray]:
        rows = self._query_in(self.names.cache(self.dim), "key", [k.hex() for k in keys], "", ["key", "vec"])
        return {bytes.fromhex(r["key"]): np.asarray(r["vec"], dtype=np.float32) for r in rows}

    def cache_vectors(self, keys: list[bytes], vecs: np.ndarray) -> None:
        rows = [{"key": k.hex(), "vec": np.asarray(v, dtype=np.float32).tolist()} for k, v in zip(keys, vecs,
                                                                                                strict=True)]
        self._write(self.names.cache(self.dim), rows, upsert=True)

    def _write(self, coll: str, rows: list[dict], upsert: bool = False) -> None:
        fn = self.client.upsert if upsert else self.client.insert
        step = self.config.milvus_batch_rows
        for i in range(0, len(rows), step):
            self._call(f"writing {coll}", fn, coll, rows[i:i + step])

    # -- changes
    def delete_documents(self, doc_ids: Iterable[str]) -> int:
        """Mark documents removed: their rows leave at commit, after the new generation is published."""
        ids = [d for d in doc_ids if d not in self.dead_docs]
        self.dead_docs.update(ids)
        return len(ids)

    def _term_ids(self, terms: list[str], readings: dict[str, str]) -> dict[str, int]:
        found = {r["term"]: int(r["tid"]) for r in self._query_in(self.names.terms, "term", terms, "",
                                                                 ["term", "tid"])}
        new = new_term_ids(terms, found, self.next_tid)
        self.next_tid += len(new)
        self._write(self.names.terms, [{"term": t, "tid": tid, "df": 0, "reading": readings.get(t, ""),
                                        "_v": [0.0, 0.0]} for tid, t in new], upsert=True)
        return found

    def _weights(self, tf: dict[int, int], dl: int) -> dict[int, float]:
        if not tf:
            return {}
        b = self.settings["bm25"]
        tids = list(tf)
        w = saturation(np.array([tf[t] for t in tids]), dl, self.avgdl_w or 1.0, b["k1"], b["b"])
        return {int(t): float(x) for t, x in zip(tids, w, strict=True)}

    def add(self, items: list[DocumentData], readings: dict[str, str] | None = None) -> None:
        """Write documents with their chunks, vectors, facts and terms (invisible until commit)."""
        if not items:
            return
        terms = sorted({t for d in items for ts in d.terms for t in ts if len(t.encode()) <= SHORT})
        tids = self._term_ids(terms, readings or {})
        if self.avgdl_w is None:  # the first build: the first batch's mean; commit corrects it if far off
            lens = [len(ts) for d in items for ts in d.terms]
            self.avgdl_w = max(1.0, float(np.mean(lens))) if lens else 1.0
        g = self.gen
        docs, chunks, vectors, facts = [], [], [], []
        for d in items:
            doc = d.document
            dinfo = {"outlet": _clip(doc.outlet or "", SHORT), "date": _clip(doc.date or "", 64)}
            text = doc.text
            for piece, start in enumerate(range(0, max(1, len(text)), PIECE_CHARS)):
                docs.append({"key": f"{doc.doc_id}#{piece}@{g}", "doc_id": doc.doc_id, "gen": g, "piece": piece,
                             "path": _clip(doc.path), "title": _clip(doc.title) if piece == 0 else "",
                             "text": text[start:start + PIECE_CHARS], **dinfo, "author": _clip(doc.author or "", SHORT),
                             "format": doc.format, "encoding": _clip(doc.encoding, SHORT), "file_hash": d.file_hash,
                             "n_chunks": len(d.chunks), "_v": [0.0, 0.0]})
            sents: dict[str, list] = {}
            for s in d.sentences:
                sents.setdefault(s.chunk_id, []).append([s.ordinal, s.start, s.end, s.norm])
            loc_of = {}
            for c, ts, places in zip(d.chunks, d.terms, d.places, strict=True):
                loc = {"region": c.region, "province": c.province, "city": c.city, "county": c.county,
                       "places": [_clip(p, SHORT) for p in list(dict.fromkeys(places))[:MAX_PLACES]], **dinfo}
                loc_of[c.ordinal] = loc
                tf = Counter(tids[t] for t in ts if t in tids)
                self.df_delta.update(tf.keys())
                self.n += 1
                self.total_len += len(ts)
                chunks.append({
                    "key": f"{c.chunk_id}@{g}", "chunk_id": c.chunk_id, "doc_id": c.doc_id, "gen": g,
                    "ordinal": c.ordinal, "title": _clip(c.title), "section": _clip(c.section),
                    "subtitle": _clip(c.subtitle), "text": _clip(c.text), "norm": _clip(c.norm), "start": c.start,
                    "end_": c.end, "mojibake": c.mojibake, **loc, "sentences": {"s": sents.get(c.chunk_id, [])},
                    "tf": {str(t): n for t, n in tf.items()}, "dl": len(ts), "bm25": self._weights(tf, len(ts)),
                    "bm25_text": _clip(" ".join(x for x in (norm_text(c.title), norm_text(c.section), c.norm) if x)),
                })
            for vec, owner, part in zip(d.vectors, d.vector_owner, d.vector_part, strict=True):
                c = d.chunks[int(owner)]
                vectors.append({"key": f"{c.chunk_id}#{int(part)}@{g}", "chunk_id": c.chunk_id, "doc_id": c.doc_id,
                                "gen": g, **loc_of[c.ordinal], "vec": np.asarray(vec, dtype=np.float32).tolist()})
            for f in d.facts:
                facts.append({"key": f"{self.next_fid:012d}", "chunk_id": f.chunk_id, "doc_id": f.doc_id, "gen": g,
                              "fid": self.next_fid, "region": f.region, "province": f.province, "city": f.city,
                              "county": f.county, "unit": f.unit, "value": float(f.value), "data": f.to_json(),
                              "_v": [0.0, 0.0]})
                self.next_fid += 1
            self.counts["documents"] += 1
            self.counts["chunks"] += len(d.chunks)
        for coll, rows in ((self.names.documents, docs), (self.names.chunks, chunks), (self.names.vectors, vectors),
                           (self.names.facts, facts)):
            self._write(coll, rows)

    def _dead_exprs(self) -> list[str]:
        """Expressions selecting the published rows this build replaces."""
        if self.full:
            return [f"gen < {self.gen}"]
        ids = sorted(self.dead_docs)
        return [f"gen < {self.gen} and {in_list('doc_id', ids[i:i + IN_BATCH])}" for i in range(0, len(ids), IN_BATCH)]

    def _visible(self) -> str:
        """Rows of the generation being written."""
        if self.full:
            return f"gen == {self.gen}"
        if not self.dead_docs:
            return f"gen <= {self.gen}"
        kept = in_list("doc_id", sorted(self.dead_docs)).replace(" in [", " not in [", 1)  # lite has no `not (...)`
        return f"gen == {self.gen} or (gen < {self.gen} and {kept})"

    def live_chunks(self) -> int:
        return self._count(self.names.chunks, self._visible())

    def changed(self) -> bool:
        return self.full or bool(self.dead_docs) or self.counts["documents"] > 0

    def commit(self, extra: dict) -> dict:
        """Update term statistics, re-weight if the average length drifted, publish, then delete replaced rows."""
        t0 = time.perf_counter()
        for expr in self._dead_exprs():
            for r in self._scan(self.names.chunks, expr, ["tf", "dl"]):
                self.df_delta.subtract(int(t) for t in r["tf"])
                self.n -= 1
                self.total_len -= int(r["dl"])
        self._update_terms()
        avgdl = self.total_len / self.n if self.n else 1.0
        drift = abs(avgdl - self.avgdl_w) / self.avgdl_w if self.avgdl_w else 1.0
        if drift > self.config.milvus_avgdl_tolerance:
            self._reweight(avgdl)
        visible = self._visible()
        counts = {"documents": self._count(self.names.documents, both(visible, "piece == 0")),
                  "chunks": self.n, "facts": self._count(self.names.facts, visible),
                  "vectors": self._count(self.names.vectors, visible), "terms": self._count(self.names.terms, "df > 0")}
        manifest = {
            "schema_version": SCHEMA_VERSION, "generation": self.gen, "backend": "milvus",
            "package_version": _package_version(), "model": self.model, **self.settings,
            "dense": {"kind": self.config.milvus_dense_index.lower(), "vectors": counts["vectors"]},
            "counts": counts, "stats": {"n": self.n, "total_len": self.total_len, "avgdl_w": self.avgdl_w},
            "next_tid": self.next_tid, "next_fid": self.next_fid, "facets": self._facets(visible),
            "built_at": datetime.now(UTC).isoformat(timespec="seconds"), **extra,
        }
        manifest["build_seconds"] = round(float(extra.get("build_seconds", 0.0)) + time.perf_counter() - t0, 2)
        # what this generation replaces, so the next build finishes the deletes if this one dies first
        # (a long list is left out: the JSON row stays small, and such a build finishes its deletes or
        # leaves removed documents visible until they are built again, which the log says)
        dead = sorted(self.dead_docs)
        manifest["replaced"] = {"gen": self.gen, "full": self.full,
                                "doc_ids": [] if self.full or len(dead) > MAX_REPLACED_IDS else dead}
        self._put_meta("index", manifest)  # published: readers now see generation self.gen
        self.committed = True
        if len(dead) > MAX_REPLACED_IDS and not self.full:
            log.info("%d documents replaced: deleting their old rows now (not resumable)", len(dead))
        self._delete_replaced(self.gen, self.full, dead)
        return manifest

    def _update_terms(self) -> None:
        tids = [t for t, n in self.df_delta.items() if n]
        rows = self._query_in(self.names.terms, "tid", tids, "", ["term", "tid", "df", "reading"])
        out = [{**r, "df": max(0, int(r["df"]) + self.df_delta[int(r["tid"])]), "_v": [0.0, 0.0]} for r in rows]
        self._write(self.names.terms, out, upsert=True)

    def _reweight(self, avgdl: float) -> None:
        """Rewrite every live chunk's BM25 weights for the current average length (Milvus 2.5 upserts whole rows)."""
        log.info("BM25 average chunk length %.2f -> %.2f: re-weighting every chunk", self.avgdl_w or 0.0, avgdl)
        self.avgdl_w = avgdl
        fields = ["key", "chunk_id", "doc_id", "gen", *CHUNK_FIELDS[2:], "places", "outlet", "date", "sentences",
                  "tf", "dl", "bm25_text"]
        batch: list[dict] = []
        for r in self._scan(self.names.chunks, self._visible(), fields):
            r = {k: r[k] for k in fields}
            r["bm25"] = self._weights({int(t): n for t, n in r["tf"].items()}, int(r["dl"]))
            batch.append(r)
            if len(batch) >= self.config.milvus_batch_rows:
                self._write(self.names.chunks, batch, upsert=True)
                batch = []
        self._write(self.names.chunks, batch, upsert=True)

    def _facets(self, visible: str) -> dict:
        regions = {(r["province"], r["city"], r["county"])
                   for r in self._scan(self.names.chunks, both(visible, 'province != ""'), ["province", "city",
                                                                                          "county"])}
        docs = list(self._scan(self.names.documents, both(visible, "piece == 0"), ["outlet", "date"]))
        outlets = sorted({r["outlet"] for r in docs if r["outlet"]})
        dates = sorted(r["date"] for r in docs if r["date"])
        units = sorted({r["unit"] for r in self._scan(self.names.facts, visible, ["unit"])})
        return {"regions": sorted(regions), "outlets": outlets, "dates": [dates[0], dates[-1]] if dates else None,
                "units": units}


def published_generation(url: MilvusUrl, settings: Settings | None = None) -> int | None:
    """The generation NAME_meta publishes, or None when no build has committed there."""
    conn = _Conn()
    conn.url, conn.names = url, Names(url.name)
    conn.client = connect(url, (settings or Settings()).milvus_timeout_s)
    try:
        meta = conn._meta_row("index")
    finally:
        conn.client.close()
    return int(meta["generation"]) if meta and meta.get("generation") else None


def _package_version() -> str:
    from retrieval.store.local import package_version

    return package_version()
