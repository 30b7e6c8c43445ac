"""The local store: SQLite for rows, FAISS for vectors, memory-mapped arrays for BM25 postings.

Layout of an index folder (Lucene's idea of commit points and segments, not its code):

    CURRENT             the served generation's number, replaced atomically (os.replace)
    store.sqlite        documents, chunks, sentences, places, facts, terms, embedding cache (WAL)
    gen-000007/         one generation: manifest.json (its live segments, each with every file's size
                        and sha256; counts, model, settings), deleted.npy (chunks of those segments no
                        longer live), bm25_df.npy (each term's live document frequency), and the
                        segment generation 7 wrote, if it wrote one: dense.faiss (with dense_exact.npy
                        and dense_ids.npy for an SQ8 index), dense_n.npy, bm25_*.npy
    write.lock          held by the one running build (fcntl), with its pid

A segment (retrieval/store/segments.py) is written once, by the build that adds its chunks or
merges older segments into it, and read by every later generation that lists it; its files are
hashed when written and their digests copied into later manifests. So a build that adds 2,000
paragraphs writes one small segment, one that deletes writes deleted.npy, and neither rewrites
the others. BM25 scores over all live segments with the generation's statistics (live chunks,
their average length, df without deleted chunks): equal to a full build's. A size-tiered policy
folds segments of one size, and segments mostly deleted, into the new one; ``policyqa build
--optimize`` folds all of them.

Rows carry ``gen_from``/``gen_to``: a reader of generation g sees rows with
``gen_from <= g < gen_to`` (or no gen_to), so a build writes its rows before it flips CURRENT
and a reader never sees a half-written index. A killed build's rows are undone by the next
build (rows newer than CURRENT are dropped, their deletions reverted; its unpublished generation
folder, segment included, is removed). Rows dead for two generations, and older generation
folders whose segments no kept generation reads, are purged.

An index written before segments (a manifest without ``segments``) is refused by readers with
the rebuild command, and the next build rebuilds it whole (vectors come from the embedding
cache, so nothing is embedded again).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import logging
import os
import shutil
import sqlite3
import tempfile
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import numpy as np

from retrieval.errors import OutdatedIndex, UserError
from retrieval.settings import Settings
from retrieval.store.base import DocInfo, DocumentData, Facets, FactQuery, Filter, Readings, Sentence, StoreInfo
from retrieval.store.bm25 import BM25, DF_FILE, Postings, new_term_ids
from retrieval.store.compile import Conditions, of_facts, of_filter, to_sql
from retrieval.store.dense import PARTS, DenseSet, cid_bitmap
from retrieval.store.segments import DELETED, NVEC, MergePolicy, Searchable, Segment, merged_vectors
from retrieval.types import Chunk, Document, Fact

log = logging.getLogger(__name__)

SCHEMA_VERSION = 3  # 3: chunks carry their PDF page
CURRENT = "CURRENT"
DB = "store.sqlite"
LOCK = "write.lock"
KEEP_GENERATIONS = 3  # the served one and two before it, for readers still on them
VIS = "gen_from <= ? AND (gen_to IS NULL OR gen_to > ?)"
OLD_FORMAT = ("manifest.json", "chunks.jsonl", "documents.jsonl", "facts.jsonl", "dense.faiss", "bm25.json")
OWN_NAMES = (CURRENT, DB, DB + "-wal", DB + "-shm", LOCK, "README.md")

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS documents(
    doc_id TEXT NOT NULL, path TEXT, title TEXT, date TEXT, outlet TEXT, author TEXT, format TEXT,
    encoding TEXT, text TEXT, file_hash TEXT, n_chunks INTEGER, gen_from INTEGER NOT NULL, gen_to INTEGER);
CREATE INDEX IF NOT EXISTS documents_id ON documents(doc_id);
CREATE INDEX IF NOT EXISTS documents_outlet ON documents(outlet);
CREATE INDEX IF NOT EXISTS documents_date ON documents(date);
CREATE TABLE IF NOT EXISTS chunks(
    cid INTEGER PRIMARY KEY, chunk_id TEXT NOT NULL, doc_id TEXT NOT NULL, ordinal INTEGER, title TEXT,
    section TEXT, subtitle TEXT, text TEXT, norm TEXT, start INTEGER, end_ INTEGER, mojibake INTEGER,
    region TEXT, province TEXT, city TEXT, county TEXT, page INTEGER, gen_from INTEGER NOT NULL, gen_to INTEGER);
CREATE INDEX IF NOT EXISTS chunks_id ON chunks(chunk_id);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
CREATE INDEX IF NOT EXISTS chunks_region ON chunks(region);
CREATE INDEX IF NOT EXISTS chunks_province ON chunks(province);
CREATE INDEX IF NOT EXISTS chunks_city ON chunks(city);
CREATE INDEX IF NOT EXISTS chunks_county ON chunks(county);
CREATE TABLE IF NOT EXISTS places(cid INTEGER NOT NULL, name TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS places_name ON places(name);
CREATE INDEX IF NOT EXISTS places_cid ON places(cid);
CREATE TABLE IF NOT EXISTS sentences(
    cid INTEGER NOT NULL, ordinal INTEGER NOT NULL, start INTEGER, end_ INTEGER, norm TEXT,
    PRIMARY KEY(cid, ordinal)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS facts(
    fid INTEGER PRIMARY KEY, fact_id TEXT, cid INTEGER, doc_id TEXT, chunk_id TEXT, region TEXT, province TEXT,
    city TEXT, county TEXT, unit TEXT, value REAL, data TEXT NOT NULL, gen_from INTEGER NOT NULL, gen_to INTEGER);
CREATE INDEX IF NOT EXISTS facts_value ON facts(unit, value);
CREATE INDEX IF NOT EXISTS facts_chunk ON facts(chunk_id);
CREATE INDEX IF NOT EXISTS facts_doc ON facts(doc_id);
CREATE INDEX IF NOT EXISTS facts_region ON facts(region);
CREATE TABLE IF NOT EXISTS terms(tid INTEGER PRIMARY KEY, term TEXT UNIQUE NOT NULL, reading TEXT);
CREATE INDEX IF NOT EXISTS terms_reading ON terms(reading);
CREATE TABLE IF NOT EXISTS embed_cache(key BLOB PRIMARY KEY, vec BLOB NOT NULL) WITHOUT ROWID;
"""

CHUNK_COLS = ("chunk_id", "doc_id", "ordinal", "title", "section", "subtitle", "text", "norm", "start", "end_",
              "mojibake", "region", "province", "city", "county", "page")


def package_version() -> str:
    try:
        return metadata.version("policyqa")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def _connect(path: Path, readonly: bool = False) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), timeout=30.0, check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    if readonly:
        conn.execute("PRAGMA query_only=1")
    return conn


def _file_digest(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _digests(paths: list[Path]) -> dict[Path, str]:
    """sha256 of each file, hashed in threads (hashlib releases the GIL), largest first so they end together.

    A million-paragraph generation is about 5 GB: two cores hash it in about half the time.
    """
    paths = sorted(paths, key=lambda p: -p.stat().st_size)
    with ThreadPoolExecutor(max_workers=max(1, min(len(paths), os.cpu_count() or 1))) as pool:
        return dict(zip(paths, pool.map(_file_digest, paths), strict=True))


def read_current(folder: Path) -> int | None:
    """The served generation, or None when the folder holds no index."""
    try:
        text = (folder / CURRENT).read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"index {folder}: {CURRENT} is unreadable: run `policyqa build --full --index {folder}`") \
            from exc
    if not text.isdigit():
        raise UserError(f"index {folder}: {CURRENT} is damaged: run `policyqa build --full --index {folder}`")
    return int(text)


def gen_dir(folder: Path, gen: int) -> Path:
    return folder / f"gen-{gen:06d}"


def is_index_folder(folder: Path) -> bool:
    return (folder / CURRENT).exists() or (folder / DB).exists() or (folder / "manifest.json").exists()


def check_target(folder: Path) -> None:
    """Refuse to build into a folder that is neither empty nor an index; check it is writable.

    Nothing is touched on refusal. Called before any reading or embedding.
    """
    if folder.exists() and not folder.is_dir():
        raise UserError(f"index target {folder} is a file, not a folder: choose another --index")
    if folder.is_dir():
        names = {p.name for p in folder.iterdir()}
        foreign = sorted(n for n in names if n not in OWN_NAMES and n not in OLD_FORMAT
                         and not n.startswith(("gen-", ".gen-", "bm25_", "dense.")))
        if foreign and not is_index_folder(folder):
            raise UserError(
                f"index target {folder} is neither empty nor an index (it holds {foreign[0]!r}"
                f"{' and more' if len(foreign) > 1 else ''}): choose an empty or new folder for --index"
            )
    probe_dir = folder if folder.is_dir() else folder.parent
    while not probe_dir.exists() and probe_dir != probe_dir.parent:
        probe_dir = probe_dir.parent
    if not os.access(probe_dir, os.W_OK | os.X_OK):
        raise UserError(f"cannot write the index at {folder}: {probe_dir} is not writable")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".probe-"):
            pass
    except OSError as exc:
        raise UserError(f"cannot write the index at {folder}: {exc.strerror or exc}") from exc


class BuildLock:
    """One build at a time per index folder (fcntl lock on write.lock, which names the holder's pid)."""

    def __init__(self, folder: Path, wait: bool = False) -> None:
        self.path = folder / LOCK
        self.wait = wait
        self.fh = None

    def __enter__(self) -> BuildLock:
        self.fh = self.path.open("a+")
        flags = fcntl.LOCK_EX | (0 if self.wait else fcntl.LOCK_NB)
        try:
            fcntl.flock(self.fh, flags)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            self.fh.seek(0)
            holder = self.fh.read().strip() or "?"
            self.fh.close()
            raise UserError(f"another build is running on {self.path.parent} (pid {holder}): wait for it to finish")\
                from exc
        self.fh.seek(0)
        self.fh.truncate()
        self.fh.write(str(os.getpid()))
        self.fh.flush()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fh is not None:
            self.fh.seek(0)
            self.fh.truncate()
            fcntl.flock(self.fh, fcntl.LOCK_UN)
            self.fh.close()


def _chunk_row(row: tuple) -> Chunk:
    d = dict(zip(CHUNK_COLS, row, strict=True))
    d["end"] = d.pop("end_")
    d["mojibake"] = bool(d["mojibake"])
    return Chunk(**d)


class LocalStore:
    """One generation of a local index, opened read-only: the reading side of the store protocol."""

    def __init__(self, folder: Path, nprobe: int = Settings.nprobe, verify: bool = True,
                 small_chunks: int = Settings.segment_small_chunks) -> None:
        self.folder = folder
        gen = read_current(folder)
        rebuild = f"run `policyqa build --full --index {folder}`"
        if gen is None:
            if (folder / "manifest.json").exists():
                raise UserError(f"index {folder} has an older format (schema 1): {rebuild}")
            raise UserError(f"no index at {folder}: run `policyqa build --index {folder}` first")
        self.generation = gen
        self.dir = gen_dir(folder, gen)
        self.manifest = self._read_manifest(rebuild)
        if verify:
            self._verify(rebuild)
        man = self.manifest
        try:
            k1, b = man["bm25"]["k1"], man["bm25"]["b"]
            self.segments = [Segment(gen_dir(folder, int(m["gen"])), m, k1, b, nprobe) for m in man["segments"]]
            deleted = np.load(self.dir / DELETED, allow_pickle=False)
            df = np.load(self.dir / DF_FILE, allow_pickle=False)
            view = Searchable.of(self.segments, deleted, small_chunks, k1, b)
            self.bm25 = BM25(view.postings, deleted, k1, b, df)
            self.vectors = DenseSet(view.vectors, view.chunks, view.nvec, deleted, int(man["model"].get("dim", 0)),
                                    view.keys)
        except (OSError, ValueError, RuntimeError, KeyError, TypeError) as exc:
            raise UserError(f"index {folder} generation {gen} is damaged ({type(exc).__name__}): {rebuild}") from exc
        self.n_terms = self.bm25.n_terms
        self.max_cid = self.bm25.max_cid
        self._local = threading.local()
        self._filters: OrderedDict[Filter, tuple[np.ndarray, np.ndarray, float]] = OrderedDict()
        self._filters_lock = threading.Lock()
        n = self._q(f"SELECT count(*) FROM chunks WHERE {VIS}", (gen, gen))[0][0]
        counts = man["counts"]
        if not n == counts["chunks"] == self.bm25.n_docs:
            raise UserError(f"index {folder}: the database holds {n} chunks, the manifest {counts['chunks']}, the "
                            f"segments {self.bm25.n_docs}: {rebuild}")
        if self.vectors.size != counts.get("vectors"):
            raise UserError(f"index {folder}: the segments hold {self.vectors.size} live vectors, the manifest "
                            f"{counts.get('vectors')}: {rebuild}")
        self.per_chunk = self.vectors.size / max(1, n)

    # -- opening
    def _read_manifest(self, rebuild: str) -> dict:
        path = self.dir / "manifest.json"
        try:
            man = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise UserError(f"index {self.folder} is incomplete (generation {self.generation} has no manifest): "
                            f"{rebuild}") from exc
        except (OSError, ValueError) as exc:
            raise UserError(f"index manifest {path} is unreadable: {rebuild}") from exc
        need = {"schema_version": int, "files": dict, "counts": dict, "model": dict, "bm25": dict}
        bad = [k for k, t in need.items() if not isinstance(man, dict) or not isinstance(man.get(k), t)]
        if bad:
            raise UserError(f"index manifest {path} is damaged (bad or missing {', '.join(bad)}): {rebuild}")
        if man["schema_version"] != SCHEMA_VERSION:
            raise OutdatedIndex(f"index {self.folder} has schema {man['schema_version']}, this version reads "
                                f"{SCHEMA_VERSION}: {rebuild}")
        if "segments" not in man:
            raise OutdatedIndex(f"index {self.folder} was written by an older version (one set of files per "
                                f"generation, before segments): {rebuild}")
        segs = man["segments"]
        if not isinstance(segs, list) or not all(isinstance(m, dict) and isinstance(m.get("gen"), int)
                                                 and isinstance(m.get("files"), dict) for m in segs):
            raise UserError(f"index manifest {path} is damaged (bad segments): {rebuild}")
        return man

    def _files(self) -> dict[Path, dict]:
        """Every file this generation reads (its own and its segments', in their folders) -> size and sha256."""
        out = {self.dir / name: want for name, want in self.manifest["files"].items()}
        for m in self.manifest["segments"]:
            d = gen_dir(self.folder, m["gen"])
            out.update((d / name, want) for name, want in m["files"].items())
        return out

    def _verify(self, rebuild: str) -> None:
        """Every file of the generation and its segments exists with the size and sha256 the manifest lists."""
        files = self._files()
        for path, want in files.items():
            name = path.relative_to(self.folder)
            try:
                size = path.stat().st_size
            except OSError as exc:
                raise UserError(f"index {self.folder} is incomplete (missing {name}): {rebuild}") from exc
            if not isinstance(want, dict) or size != want.get("size"):
                raise UserError(f"index {self.folder}: {name} has the wrong size (truncated?): {rebuild}")
        digests = _digests(list(files))
        for path, want in files.items():
            if digests[path] != want.get("sha256"):
                raise UserError(f"index {self.folder}: {path.relative_to(self.folder)} does not match its checksum: "
                                f"{rebuild}")
        if not (self.folder / DB).is_file():
            raise UserError(f"index {self.folder} is incomplete (missing {DB}): {rebuild}")

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = _connect(self.folder / DB, readonly=True)
            except sqlite3.Error as exc:
                raise UserError(f"index {self.folder}: {DB} is unreadable ({exc}): "
                                f"run `policyqa build --full --index {self.folder}`") from exc
            self._local.conn = conn
        return conn

    def _q(self, sql: str, params: Iterable = ()) -> list[tuple]:
        try:
            return self._conn().execute(sql, tuple(params)).fetchall()
        except sqlite3.DatabaseError as exc:
            raise UserError(f"index {self.folder}: {DB} is damaged ({exc}): "
                            f"run `policyqa build --full --index {self.folder}`") from exc

    def stored_vectors(self, keys: list[bytes]) -> dict[bytes, np.ndarray]:
        out: dict[bytes, np.ndarray] = {}
        for i in range(0, len(keys), 900):
            part = keys[i : i + 900]
            rows = self._q(f"SELECT key, vec FROM embed_cache WHERE key IN ({','.join('?' * len(part))})", part)
            out.update((bytes(k), np.frombuffer(v, dtype=np.float32)) for k, v in rows)
        return out

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # -- the protocol
    def info(self) -> StoreInfo:
        return StoreInfo.of_manifest(str(self.folder), self.generation, self.manifest)

    def _allowed(self, flt: Filter | None) -> tuple[np.ndarray, np.ndarray, float] | None:
        """(cid mask for BM25, cid bitmap for FAISS, share of chunks allowed) for a filter, cached."""
        if flt is None or flt.is_empty():
            return None
        with self._filters_lock:
            if flt in self._filters:
                self._filters.move_to_end(flt)
                return self._filters[flt]
        sql, params = self._filter_sql(flt)
        cids = np.array([r[0] for r in self._q(sql, params)], dtype=np.int64)
        mask = np.zeros(self.max_cid + 1, dtype=bool)
        mask[cids[cids <= self.max_cid]] = True
        out = (mask, cid_bitmap(cids[cids <= self.max_cid], self.max_cid), len(cids) / max(1, mask.size))
        with self._filters_lock:
            self._filters[flt] = out
            while len(self._filters) > 32:
                self._filters.popitem(last=False)
        return out

    def _where(self, cq: Conditions) -> tuple[str, list]:
        """WHERE of the rows this generation sees that meet the conditions (the document's by a subquery)."""
        g = self.generation
        where, params = [VIS], [g, g]
        rows, rparams = to_sql(cq.rows)
        if rows:
            where.append(rows)
            params += rparams
        docs, dparams = to_sql(cq.docs)
        if docs:
            where.append(f"doc_id IN (SELECT doc_id FROM documents WHERE {VIS} AND {docs})")
            params += [g, g, *dparams]
        return " AND ".join(where), params

    def _filter_sql(self, flt: Filter) -> tuple[str, list]:
        where, params = self._where(of_filter(flt))
        return f"SELECT cid FROM chunks WHERE {where}", params

    def _chunk_ids(self, cids: list[int]) -> dict[int, str]:
        out: dict[int, str] = {}
        for i in range(0, len(cids), 900):
            part = cids[i : i + 900]
            out.update(self._q(f"SELECT cid, chunk_id FROM chunks WHERE cid IN ({','.join('?' * len(part))})", part))
        return out

    def _by_cid(self, pairs: list[tuple[int, float]]) -> list[tuple[str, float]]:
        ids = self._chunk_ids([c for c, _ in pairs])
        return [(ids[c], s) for c, s in pairs if c in ids]

    def part_scores(self, vector: np.ndarray, chunk_ids: Iterable[str]) -> dict[str, dict[int, float]]:
        wanted = list(dict.fromkeys(chunk_ids))
        cid_of: dict[int, str] = {}
        for i in range(0, len(wanted), 900):
            part = wanted[i : i + 900]
            cid_of.update(self._q(f"SELECT cid, chunk_id FROM chunks WHERE {VIS} AND chunk_id IN "
                                  f"({','.join('?' * len(part))})", [self.generation, self.generation, *part]))
        out: dict[str, dict[int, float]] = {c: {} for c in wanted}
        for vid, s in self.vectors.scores_of(vector, np.array(sorted(cid_of), dtype=np.int64)):
            out[cid_of[vid // PARTS]][vid % PARTS] = s
        return out

    def dense_top(self, vector: np.ndarray, k: int, flt: Filter | None = None) -> list[tuple[str, float]]:
        allowed = self._allowed(flt)
        if allowed is not None and not allowed[0].any():
            return []
        pairs = self.vectors.top(vector, k, self.per_chunk, None if allowed is None else allowed[1],
                                 1.0 if allowed is None else allowed[2])
        return self._by_cid(pairs)

    def _tids(self, terms: list[str]) -> list[int]:
        uniq = list(dict.fromkeys(terms))
        found: dict[str, int] = {}
        for i in range(0, len(uniq), 900):
            part = uniq[i : i + 900]
            found.update(self._q(f"SELECT term, tid FROM terms WHERE term IN ({','.join('?' * len(part))})", part))
        return [found[t] for t in terms if t in found and found[t] < self.n_terms]

    def bm25_top(self, terms: list[str], k: int, flt: Filter | None = None) -> list[tuple[str, float]]:
        allowed = self._allowed(flt)
        pairs = self.bm25.top(self._tids(terms), k, None if allowed is None else allowed[0])
        return self._by_cid(pairs)

    def bm25_max(self, terms: list[str]) -> float:
        return self.bm25.max_score(self._tids(terms))

    def term_df(self, terms: Iterable[str]) -> dict[str, int]:
        terms = list(terms)
        tids = dict(zip([t for t in terms], [None] * len(terms), strict=True))
        for t in tids:
            got = self._tids([t])
            tids[t] = self.bm25.df(got[0]) if got else 0
        return tids  # type: ignore[return-value]

    def terms_by_reading(self) -> Mapping[str, tuple[str, ...]]:
        return Readings(lambda key: tuple(r[0] for r in self._q(
            "SELECT term FROM terms WHERE reading = ? AND tid < ?", (key, self.n_terms))))

    def chunks(self, chunk_ids: Iterable[str]) -> dict[str, Chunk]:
        ids = list(dict.fromkeys(chunk_ids))
        out: dict[str, Chunk] = {}
        g = self.generation
        for i in range(0, len(ids), 900):
            part = ids[i : i + 900]
            rows = self._q(f"SELECT {', '.join(CHUNK_COLS)} FROM chunks WHERE chunk_id IN "
                           f"({','.join('?' * len(part))}) AND {VIS}", [*part, g, g])
            out.update((r[0], _chunk_row(r)) for r in rows)
        return out

    def chunks_of(self, doc_ids: Iterable[str]) -> list[Chunk]:
        ids = list(dict.fromkeys(doc_ids))
        g = self.generation
        out: list[Chunk] = []
        for i in range(0, len(ids), 900):
            part = ids[i : i + 900]
            rows = self._q(f"SELECT {', '.join(CHUNK_COLS)} FROM chunks WHERE doc_id IN "
                           f"({','.join('?' * len(part))}) AND {VIS} ORDER BY doc_id, ordinal", [*part, g, g])
            out.extend(_chunk_row(r) for r in rows)
        return out

    def documents(self, doc_ids: Iterable[str]) -> dict[str, Document]:
        ids = list(dict.fromkeys(doc_ids))
        g = self.generation
        out: dict[str, Document] = {}
        for i in range(0, len(ids), 900):
            part = ids[i : i + 900]
            rows = self._q("SELECT doc_id, path, text, encoding, title, date, outlet, author, format FROM documents "
                           f"WHERE doc_id IN ({','.join('?' * len(part))}) AND {VIS}", [*part, g, g])
            for r in rows:
                out[r[0]] = Document(doc_id=r[0], path=r[1], text=r[2], encoding=r[3], title=r[4], date=r[5],
                                     outlet=r[6], author=r[7], format=r[8] or "txt")
        return out

    def list_documents(self) -> list[DocInfo]:
        g = self.generation
        rows = self._q(f"SELECT doc_id, path, title, date, outlet, format, n_chunks FROM documents WHERE {VIS} "
                       "ORDER BY doc_id", (g, g))
        return [DocInfo(*r) for r in rows]

    def sentences(self, chunk_ids: Iterable[str]) -> dict[str, list[Sentence]]:
        ids = list(dict.fromkeys(chunk_ids))
        g = self.generation
        out: dict[str, list[Sentence]] = {i: [] for i in ids}
        for i in range(0, len(ids), 900):
            part = ids[i : i + 900]
            rows = self._q("SELECT c.chunk_id, s.ordinal, s.start, s.end_, s.norm FROM sentences s JOIN chunks c "
                           f"ON c.cid = s.cid WHERE c.chunk_id IN ({','.join('?' * len(part))}) AND "
                           f"c.gen_from <= ? AND (c.gen_to IS NULL OR c.gen_to > ?) ORDER BY c.cid, s.ordinal",
                           [*part, g, g])
            for r in rows:
                out[r[0]].append(Sentence(*r))
        return out

    def facts(self, query: FactQuery | None = None) -> list[Fact]:
        where, params = self._where(of_facts(query))
        sql = f"SELECT data FROM facts WHERE {where} ORDER BY fid"
        if query and query.limit:
            sql += f" LIMIT {int(query.limit)}"
        return [Fact(**json.loads(r[0])) for r in self._q(sql, params)]

    def facets(self) -> Facets:
        g = self.generation
        regions = self._q(f"SELECT DISTINCT province, city, county FROM chunks WHERE {VIS} AND province != '' "
                          "ORDER BY province, city, county", (g, g))
        outlets = [r[0] for r in self._q(f"SELECT DISTINCT outlet FROM documents WHERE {VIS} AND outlet IS NOT NULL "
                                         "AND outlet != '' ORDER BY outlet", (g, g))]
        lo, hi = self._q(f"SELECT min(date), max(date) FROM documents WHERE {VIS} AND date IS NOT NULL", (g, g))[0]
        units = [r[0] for r in self._q(f"SELECT DISTINCT unit FROM facts WHERE {VIS} ORDER BY unit", (g, g))]
        return Facets(tuple(tuple(r) for r in regions), tuple(outlets), (lo, hi) if lo else None, tuple(units))


class LocalWriter:
    """The writing side: one build, under the folder's lock, ending in one atomic generation flip.

    Use as a context manager; ``commit()`` publishes, leaving without it (or an exception)
    undoes every row this build wrote.
    """

    def __init__(self, folder: Path, model: dict, settings: dict, full: bool = False, wait: bool = False,
                 ann_min_vectors: int = Settings.ann_min_vectors, nprobe: int = Settings.nprobe,
                 ann_storage: str = Settings.ann_storage, policy: MergePolicy | None = None,
                 optimize: bool = False) -> None:
        self.folder = folder
        self.model = model
        self.settings = settings
        self.full = full
        self.ann_min_vectors = ann_min_vectors
        self.nprobe = nprobe
        self.ann_storage = ann_storage
        self.policy = policy or MergePolicy()
        self.optimize = optimize  # fold every live segment into one (`policyqa build --optimize`)
        self.lock = BuildLock(folder, wait)
        self.committed = False

    # -- lifecycle
    def __enter__(self) -> LocalWriter:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.lock.__enter__()
        try:
            self._open()
        except BaseException:
            self.lock.__exit__()
            raise
        return self

    def _open(self) -> None:
        self._remove_old_format()
        self._drop_other_schema()
        self.db = _connect(self.folder / DB)
        self.db.executescript(SCHEMA)
        self.db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
        cur = read_current(self.folder) or 0
        self.prev_gen = cur
        self.gen = cur + 1
        self._recover(cur)
        self.prev_manifest: dict | None = None
        if cur:
            try:
                self.prev_manifest = json.loads((gen_dir(self.folder, cur) / "manifest.json").read_text("utf-8"))
            except (OSError, ValueError):
                self.prev_manifest = None
            if self.prev_manifest is not None:
                same_model = self.prev_manifest.get("model", {}) == self.model
                same_settings = all(self.prev_manifest.get(k) == v for k, v in self.settings.items())
                if not (same_model and same_settings):
                    log.info("model or settings changed since generation %d: full rebuild", cur)
                    self.full = True
                elif not isinstance(self.prev_manifest.get("segments"), list):
                    log.info("generation %d was written before segments: full rebuild", cur)
                    self.full = True
            else:
                self.full = True
        seen = self.db.execute("SELECT value FROM meta WHERE key = 'next_cid'").fetchone()
        top = self.db.execute("SELECT max(cid) FROM chunks").fetchone()[0]
        self.max_cid = max(-1 if top is None else top, int(seen[0]) - 1 if seen else -1)  # cids are never reused
        top_tid = self.db.execute("SELECT max(tid) FROM terms").fetchone()[0]
        self.next_tid = 0 if top_tid is None else top_tid + 1
        self.dead_docs: set[str] = set()
        self.new_cids: list[np.ndarray] = []
        self.new_tids: list[np.ndarray] = []
        self.new_tf: list[np.ndarray] = []
        self.new_len_c: list[np.ndarray] = []
        self.new_len_v: list[np.ndarray] = []
        self.new_vids: list[np.ndarray] = []
        self.new_vecs: list[np.ndarray] = []
        self.new_nvec: list[np.ndarray] = []
        self.counts = Counter()
        self.term_cache: dict[str, int] = {}
        if self.full and cur:
            g = self.gen
            for table in ("documents", "chunks", "facts"):
                self.db.execute(f"UPDATE {table} SET gen_to = ? WHERE gen_to IS NULL", (g,))

    def _drop_other_schema(self) -> None:
        """A database of another schema version is not migrated: this build starts the index afresh."""
        path = self.folder / DB
        if not path.exists():
            return
        try:
            con = sqlite3.connect(str(path))
            row = con.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            con.close()
        except sqlite3.Error:
            row = None
        if row is not None and row[0] == str(SCHEMA_VERSION):
            return
        log.warning("index %s has another schema (or a damaged database): building it afresh", self.folder)
        for p in self.folder.iterdir():
            if p.name in (CURRENT, DB, DB + "-wal", DB + "-shm") or p.name.startswith("gen-"):
                shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)

    def _remove_old_format(self) -> None:
        """Schema-1 files (a manifest at the top, JSONL, one FAISS file) are replaced by this build."""
        if (self.folder / CURRENT).exists() or not (self.folder / "manifest.json").exists():
            return
        for p in self.folder.iterdir():
            if p.name in OLD_FORMAT or p.name.startswith(("bm25_", "dense.")):
                p.unlink()

    def _recover(self, cur: int) -> None:
        """Undo what a killed build left: rows of unpublished generations, stray folders."""
        db = self.db
        db.execute("BEGIN")
        dead = [r[0] for r in db.execute("SELECT cid FROM chunks WHERE gen_from > ?", (cur,))]
        for table in ("documents", "chunks", "facts"):
            db.execute(f"DELETE FROM {table} WHERE gen_from > ?", (cur,))
            db.execute(f"UPDATE {table} SET gen_to = NULL WHERE gen_to > ?", (cur,))
        self._purge_cids(dead)
        # rows dead before the oldest generation a reader may still hold
        keep_from = cur - KEEP_GENERATIONS + 1
        old = [r[0] for r in db.execute("SELECT cid FROM chunks WHERE gen_to IS NOT NULL AND gen_to <= ?",
                                        (keep_from,))]
        for table in ("documents", "chunks", "facts"):
            db.execute(f"DELETE FROM {table} WHERE gen_to IS NOT NULL AND gen_to <= ?", (keep_from,))
        self._purge_cids(old)
        db.execute("COMMIT")
        referenced = self._referenced(cur, keep_from)
        for p in self.folder.iterdir():
            if p.name.startswith(".gen-") or p.name.startswith(".probe-") or p.name.startswith(".CURRENT"):
                shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
            elif p.name.startswith("gen-") and p.is_dir():
                try:
                    n = int(p.name[4:])
                except ValueError:
                    continue
                if n > cur or (n < keep_from and referenced is not None and n not in referenced):
                    shutil.rmtree(p, ignore_errors=True)

    def _referenced(self, cur: int, keep_from: int) -> set[int] | None:
        """Generations whose folders hold a segment a kept generation (``keep_from``..``cur``) reads;
        None when a kept manifest cannot be read (then no older folder is removed)."""
        out: set[int] = set()
        for n in range(max(1, keep_from), cur + 1):
            path = gen_dir(self.folder, n) / "manifest.json"
            if not path.parent.exists():
                continue
            try:
                man = json.loads(path.read_text(encoding="utf-8"))
                out.update(int(m["gen"]) for m in man.get("segments", ()))
            except (OSError, ValueError, TypeError, KeyError, AttributeError):
                log.warning("index %s: manifest of generation %d is unreadable: older folders are kept", self.folder, n)
                return None
        return out

    def _purge_cids(self, cids: list[int]) -> None:
        for i in range(0, len(cids), 900):
            part = cids[i : i + 900]
            marks = ",".join("?" * len(part))
            self.db.execute(f"DELETE FROM sentences WHERE cid IN ({marks})", part)
            self.db.execute(f"DELETE FROM places WHERE cid IN ({marks})", part)

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if not self.committed:
                with contextlib.suppress(sqlite3.Error):
                    if self.db.in_transaction:
                        self.db.execute("ROLLBACK")
                    self._recover(self.prev_gen)
        finally:
            with contextlib.suppress(sqlite3.Error):
                self.db.close()
            self.lock.__exit__()

    # -- what the build asks
    def known_files(self) -> dict[str, tuple[str, str]]:
        """path -> (doc_id, file hash) of the documents live in the served generation."""
        if self.full:
            return {}
        g = self.prev_gen
        rows = self.db.execute(f"SELECT path, doc_id, file_hash FROM documents WHERE {VIS}", (g, g)).fetchall()
        return {p: (d, h) for p, d, h in rows}

    def cached_vectors(self, keys: list[bytes]) -> dict[bytes, np.ndarray]:
        out: dict[bytes, np.ndarray] = {}
        for i in range(0, len(keys), 900):
            part = keys[i : i + 900]
            rows = self.db.execute(f"SELECT key, vec FROM embed_cache WHERE key IN ({','.join('?' * len(part))})",
                                   part).fetchall()
            out.update((k, np.frombuffer(v, dtype=np.float32)) for k, v in rows)
        return out

    def cache_vectors(self, keys: list[bytes], vecs: np.ndarray) -> None:
        self.db.executemany("INSERT OR REPLACE INTO embed_cache(key, vec) VALUES (?, ?)",
                            [(k, np.ascontiguousarray(v, dtype=np.float32).tobytes()) for k, v in
                             zip(keys, vecs, strict=True)])

    # -- changes
    def delete_documents(self, doc_ids: Iterable[str]) -> int:
        ids = [d for d in doc_ids if d not in self.dead_docs]
        if not ids or self.full:
            self.dead_docs.update(ids)
            return len(ids)
        g = self.gen
        db = self.db
        db.execute("BEGIN")
        for i in range(0, len(ids), 900):
            part = ids[i : i + 900]
            marks = ",".join("?" * len(part))
            for table in ("documents", "chunks", "facts"):
                db.execute(f"UPDATE {table} SET gen_to = ? WHERE doc_id IN ({marks}) AND gen_to IS NULL AND "
                           "gen_from <= ?", [g, *part, self.prev_gen])
        db.execute("COMMIT")
        self.dead_docs.update(ids)
        return len(ids)

    def _term_ids(self, terms: set[str], readings: dict[str, str]) -> dict[str, int]:
        missing = [t for t in terms if t not in self.term_cache]
        for i in range(0, len(missing), 900):
            part = missing[i : i + 900]
            self.term_cache.update(self.db.execute(
                f"SELECT term, tid FROM terms WHERE term IN ({','.join('?' * len(part))})", part).fetchall())
        new = new_term_ids(missing, self.term_cache, self.next_tid)
        self.next_tid += len(new)
        self.db.executemany("INSERT INTO terms(tid, term, reading) VALUES (?, ?, ?)",
                            [(tid, t, readings.get(t)) for tid, t in new])
        return {t: self.term_cache[t] for t in terms}

    def add(self, items: list[DocumentData], readings: dict[str, str] | None = None) -> None:
        """Write documents with their chunks, sentences, facts, terms and vectors (invisible until commit)."""
        db = self.db
        g = self.gen
        db.execute("BEGIN")
        all_terms = {t for d in items for ts in d.terms for t in ts}
        tids = self._term_ids(all_terms, readings or {})
        for d in items:
            doc = d.document
            db.execute(
                "INSERT INTO documents(doc_id, path, title, date, outlet, author, format, encoding, text, file_hash, "
                "n_chunks, gen_from) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (doc.doc_id, doc.path, doc.title, doc.date, doc.outlet, doc.author, doc.format, doc.encoding,
                 doc.text, d.file_hash, len(d.chunks), g))
            cids = np.arange(self.max_cid + 1, self.max_cid + 1 + len(d.chunks), dtype=np.int64)
            self.max_cid += len(d.chunks)
            by_chunk = {c.chunk_id: int(cid) for c, cid in zip(d.chunks, cids, strict=True)}
            db.executemany(
                f"INSERT INTO chunks(cid, {', '.join(CHUNK_COLS)}, gen_from) VALUES ({','.join('?' * 18)})",
                [(int(cid), c.chunk_id, c.doc_id, c.ordinal, c.title, c.section, c.subtitle, c.text, c.norm, c.start,
                  c.end, int(c.mojibake), c.region, c.province, c.city, c.county, c.page, g)
                 for c, cid in zip(d.chunks, cids, strict=True)])
            db.executemany("INSERT INTO places(cid, name) VALUES (?, ?)",
                           [(int(cid), p) for cid, ps in zip(cids, d.places, strict=True) for p in set(ps)])
            db.executemany("INSERT INTO sentences(cid, ordinal, start, end_, norm) VALUES (?,?,?,?,?)",
                           [(by_chunk[s.chunk_id], s.ordinal, s.start, s.end, s.norm) for s in d.sentences])
            db.executemany(
                "INSERT INTO facts(fact_id, cid, doc_id, chunk_id, region, province, city, county, unit, value, data, "
                "gen_from) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                [(f.fact_id, by_chunk.get(f.chunk_id), f.doc_id, f.chunk_id, f.region, f.province, f.city, f.county,
                  f.unit, f.value, json.dumps(f.to_json(), ensure_ascii=False, allow_nan=False), g) for f in d.facts])
            for cid, ts in zip(cids, d.terms, strict=True):
                tf = Counter(tids[t] for t in ts)
                self.new_cids.append(np.full(len(tf), cid, dtype=np.int64))
                self.new_tids.append(np.fromiter(tf.keys(), dtype=np.int64, count=len(tf)))
                self.new_tf.append(np.fromiter(tf.values(), dtype=np.float32, count=len(tf)))
            self.new_len_c.append(cids)
            self.new_len_v.append(np.array([len(ts) for ts in d.terms], dtype=np.float32))
            self.new_nvec.append(np.bincount(np.asarray(d.vector_owner, dtype=np.int64),
                                             minlength=len(d.chunks)).astype(np.uint8))
            if len(d.vectors):
                self.new_vids.append(cids[d.vector_owner] * PARTS + d.vector_part.astype(np.int64))
                self.new_vecs.append(np.asarray(d.vectors, dtype=np.float32))
            self.counts["documents"] += 1
            self.counts["chunks"] += len(d.chunks)
            self.counts["facts"] += len(d.facts)
            self.counts["vectors"] += len(d.vectors)
        db.execute("COMMIT")

    def live_chunks(self) -> int:
        """Chunks the generation being written will hold."""
        g = self.gen
        return self.db.execute(f"SELECT count(*) FROM chunks WHERE {VIS}", (g, g)).fetchone()[0]

    def changed(self) -> bool:
        """Whether there is anything to commit: adds, deletes, a full build, or an optimize with work to do."""
        if self.full or self.dead_docs or self.counts["documents"] > 0:
            return True
        man = self.prev_manifest or {}
        return self.optimize and (len(man.get("segments", ())) > 1 or bool(man.get("deleted", {}).get("chunks")))

    def commit(self, extra: dict) -> dict:
        """Write the generation's files (its new segment, if any, its deletions and BM25 statistics, the
        manifest), then publish it with one atomic rename of CURRENT."""
        t0 = time.perf_counter()
        g, prev = self.gen, self.prev_gen
        k1, b = self.settings["bm25"]["k1"], self.settings["bm25"]["b"]
        dim = int(self.model.get("dim", 0))
        prior = [] if (self.full or not prev or self.prev_manifest is None) else self.prev_manifest["segments"]
        segs = [Segment(gen_dir(self.folder, int(m["gen"])), m, k1, b, self.nprobe) for m in prior]
        prev_dir = gen_dir(self.folder, prev)
        deleted = np.load(prev_dir / DELETED, allow_pickle=False) if prior else np.zeros(0, np.int64)
        df = np.zeros(self.next_tid, dtype=np.int64)
        if prior:
            old_df = np.load(prev_dir / DF_FILE, allow_pickle=False)
            df[: len(old_df)] = old_df
            dead_now = np.array([r[0] for r in self.db.execute("SELECT cid FROM chunks WHERE gen_to = ?", (g,))],
                                dtype=np.int64)
            if len(dead_now):
                mask = np.zeros(max([s.postings.max_cid for s in segs] + [int(dead_now.max())]) + 1, dtype=bool)
                mask[dead_now] = True
                for s in segs:  # the newly deleted chunks' postings leave the document frequencies
                    s.postings.df_of(mask, df)
                deleted = np.union1d(deleted, dead_now)

        def cat(xs: list[np.ndarray], dt: type) -> np.ndarray:
            return np.concatenate(xs).astype(dt, copy=False) if xs else np.zeros(0, dtype=dt)

        new_cids, new_tids, new_tf = cat(self.new_cids, np.int64), cat(self.new_tids, np.int64), \
            cat(self.new_tf, np.float32)
        new_chunks, new_lengths, new_nvec = cat(self.new_len_c, np.int64), cat(self.new_len_v, np.float32), \
            cat(self.new_nvec, np.uint8)
        df += np.bincount(new_tids, minlength=len(df))[: len(df)]
        fold = self.policy.plan([(len(s.chunks), len(s.dead(deleted)[0])) for s in segs], len(new_chunks),
                                self.optimize)
        folded = [segs[i] for i in fold]
        kept = [s for i, s in enumerate(segs) if i not in set(fold)]
        postings = vectors = nvec = None
        trained: int | None = None
        if len(new_chunks) or folded:
            if folded:
                log.info("generation %d folds %d segments (%s) into its own", g, len(folded),
                         ", ".join(str(s.gen) for s in folded))
            postings = Postings.merged([s.postings for s in folded], deleted,
                                       (new_cids, new_tids, new_tf, new_chunks, new_lengths), k1, b)
            # vectors per chunk, in the segment's chunk order
            all_c = np.concatenate([new_chunks] + [np.asarray(s.chunks) for s in folded])
            all_n = np.concatenate([new_nvec] + [np.asarray(s.nvec) for s in folded])
            order = np.argsort(all_c, kind="stable")
            nvec = all_n[order[np.searchsorted(all_c, postings.chunks, sorter=order)]]
            vectors, trained = merged_vectors(
                folded, deleted, cat(self.new_vids, np.int64),
                np.concatenate(self.new_vecs) if self.new_vecs else np.zeros((0, dim), np.float32),
                dim, max(self.max_cid, 0), self.ann_min_vectors, self.ann_storage, self.nprobe, kept)
            if int(nvec.astype(np.int64).sum()) != vectors.size:
                raise RuntimeError(f"generation {g}: {vectors.size} vectors, {int(nvec.sum())} counted per chunk")
            if not postings.n_docs:
                postings = vectors = nvec = None
        # the deletions that stay: those of the segments kept
        dead_kept = [s.dead(deleted) for s in kept]
        deleted = np.sort(np.concatenate([d for d, _ in dead_kept] + [np.zeros(0, np.int64)]))
        dead_vectors = sum(n for _, n in dead_kept)
        tmp = Path(tempfile.mkdtemp(prefix=".gen-", dir=self.folder))
        try:
            if postings is not None:
                postings.save(tmp)
                vectors.save(tmp / "dense.faiss")
                np.save(tmp / NVEC, nvec, allow_pickle=False)
            seg_names = {p.name for p in tmp.iterdir()}
            np.save(tmp / DELETED, deleted.astype(np.int64), allow_pickle=False)
            np.save(tmp / DF_FILE, df.astype(np.int32), allow_pickle=False)
            live = self.db.execute(f"SELECT count(*) FROM documents WHERE {VIS}", (g, g)).fetchone()[0]
            chunks = self.db.execute(f"SELECT count(*) FROM chunks WHERE {VIS}", (g, g)).fetchone()[0]
            facts = self.db.execute(f"SELECT count(*) FROM facts WHERE {VIS}", (g, g)).fetchone()[0]
            digests = _digests(list(tmp.iterdir()))  # this generation's files only: older segments were hashed once
            files = {p.name: {"size": p.stat().st_size, "sha256": d} for p, d in sorted(digests.items())}
            metas = [s.meta for s in kept]
            if postings is not None:
                metas.append({"gen": g, "chunks": postings.n_docs, "vectors": vectors.size, "kind": vectors.kind,
                              **({"trained": trained} if trained is not None and vectors.kind != "flat" else {}),
                              "files": {n: f for n, f in files.items() if n in seg_names}})
            n_vectors = sum(int(m["vectors"]) for m in metas) - dead_vectors
            main = max(metas, key=lambda m: int(m["vectors"]), default={"kind": "flat"})
            manifest = {
                "schema_version": SCHEMA_VERSION,
                "generation": g,
                "package_version": package_version(),
                "model": self.model,
                **self.settings,
                "dense": {"kind": main["kind"], "vectors": n_vectors, "ann_min_vectors": self.ann_min_vectors,
                          "nprobe": self.nprobe},
                "counts": {"documents": live, "chunks": chunks, "facts": facts, "vectors": n_vectors,
                           "terms": int(np.count_nonzero(df))},
                "segments": metas,
                "deleted": {"chunks": len(deleted), "vectors": dead_vectors},
                "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "files": files,
                **extra,
            }
            manifest["build_seconds"] = round(float(extra.get("build_seconds", 0.0)) + time.perf_counter() - t0, 2)
            (tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1, allow_nan=False),
                                               encoding="utf-8")
            for p in tmp.iterdir():
                with p.open("rb") as fh:
                    os.fsync(fh.fileno())
            target = gen_dir(self.folder, g)
            shutil.rmtree(target, ignore_errors=True)
            os.rename(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        self.db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('next_cid', ?)", (str(self.max_cid + 1),))
        self._flip(g)
        self.committed = True
        return manifest

    def _flip(self, g: int) -> None:
        fd, tmp = tempfile.mkstemp(prefix=".CURRENT-", dir=self.folder)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(f"{g}\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.folder / CURRENT)
        dfd = os.open(self.folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
