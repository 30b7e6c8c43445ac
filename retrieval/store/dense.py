"""Dense leg: FAISS inner-product search over L2-normalized vectors (cosine), with stable ids.

Each chunk has one vector for its paragraph and, by the sentence-vector policy, one per
sentence; vector id = cid * PARTS + part (part 0 = the paragraph), so a chunk's dense score is
the best of its vectors and filters select whole chunks by id. Small indexes are exact
(``IDMap2,Flat``); above ``Settings.ann_min_vectors`` an IVF index whose lists store the vectors
as 8-bit scalar codes (``IVF{nlist},SQ8``: a quarter of float32, so a million paragraphs with their
sentence vectors fit the memory budget) or, by ``Settings.ann_storage``, as fp16 or float32.

8-bit codes alone cap recall@10 near 0.98 (the codes, not the lists probed, lose the order of
close neighbours), so an SQ8 index keeps every vector also as float16 in an array
beside it (``dense_exact.npy``, rows sorted by id in ``dense_ids.npy``) and re-scores its
candidates exactly: the IVF lists choose, the float16 rows rank. A query reads only its
candidates' rows of that array (``RowFile``), so it costs disk, not memory. Recall@10 against exact
search, per nprobe, is measured by ``scripts/bench_scale.py synthetic``.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
from pathlib import Path

import numpy as np

from retrieval.settings import Settings

log = logging.getLogger(__name__)

PARTS = 64  # vectors per chunk at most: the paragraph and up to 63 sentences
STORAGES = ("sq8", "fp16", "flat")  # how an IVF index stores its vectors (Settings.ann_storage)
KMEANS_ITERATIONS = 10  # FAISS's default 25 triples the training time for no recall measured here
PARALLEL_OVER_LISTS = 1  # FAISS IndexIVF.parallel_mode: threads share one query's lists
EXACT_IDS, EXACT_VECS = "dense_ids.npy", "dense_exact.npy"  # beside a quantized IVF index


def _faiss():
    import faiss

    return faiss


def auto_nprobe(nlist: int) -> int:
    """Lists to probe for recall@10 >= 0.99: 8 sqrt(nlist), so the share probed falls as lists multiply.

    Measured by ``scripts/bench_scale.py synthetic`` (nlist = 2 sqrt(vectors)): recall at a fixed
    nprobe falls as nlist grows (256 lists: 0.996 of 1,146, 0.985 of 3,644), while the lists a
    0.99 recall needs grow more slowly than nlist.
    """
    return min(nlist, math.ceil(8 * math.sqrt(nlist)))


def cid_bitmap(cids: np.ndarray, max_cid: int) -> np.ndarray:
    """FAISS IDSelectorBitmap bytes selecting every vector id of the given chunks (8 bytes = 64 ids a chunk)."""
    bitmap = np.zeros((max_cid + 1) * (PARTS // 8), dtype=np.uint8)
    if len(cids):
        idx = (cids.astype(np.int64)[:, None] * (PARTS // 8) + np.arange(PARTS // 8)).ravel()
        bitmap[idx] = 0xFF
    return bitmap


class RowFile:
    """A float16 ``.npy`` matrix read row by row with ``os.pread``.

    A query needs a few hundred scattered rows; read through a memory map, each would fault in
    (and count in the process's RSS) the pages around it, so a searching process's memory would
    grow towards the whole file. Read by pread, the rows come from the page cache and stay there.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        with path.open("rb") as fh:
            version = np.lib.format.read_magic(fh)
            read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            self.shape, fortran, self.dtype = read(fh)
            self.offset = fh.tell()
        if fortran or self.dtype != np.float16 or len(self.shape) != 2:
            raise ValueError(f"{path.name}: not a float16 matrix")
        self.row_bytes = int(self.shape[1]) * 2
        if self.offset + self.shape[0] * self.row_bytes != path.stat().st_size:
            raise ValueError(f"{path.name}: size does not match its header")
        self.fd = os.open(path, os.O_RDONLY)

    def __len__(self) -> int:
        return int(self.shape[0])

    def __del__(self) -> None:
        with contextlib.suppress(AttributeError, OSError):
            os.close(self.fd)

    def rows(self, rows: np.ndarray) -> np.ndarray:
        """These rows (ascending order reads the file forwards)."""
        n = self.row_bytes
        data = b"".join(os.pread(self.fd, n, self.offset + int(r) * n) for r in rows)
        return np.frombuffer(data, np.float16).reshape(len(rows), self.shape[1])

    def matrix(self) -> np.ndarray:
        return np.load(self.path, mmap_mode="r")


class RowFiles:
    """Several `RowFile` as one matrix, one after another (the float16 copies of folded segments)."""

    def __init__(self, files: list[RowFile]) -> None:
        self.files = files
        self.starts = np.cumsum([0] + [len(f) for f in files])
        self.shape = (int(self.starts[-1]), files[0].shape[1])

    def __len__(self) -> int:
        return self.shape[0]

    def rows(self, rows: np.ndarray) -> np.ndarray:
        """These rows (ascending)."""
        which = np.searchsorted(self.starts, rows, side="right") - 1
        parts = [self.files[f].rows(rows[which == f] - self.starts[f]) for f in np.unique(which)]
        return np.concatenate(parts) if parts else np.zeros((0, self.shape[1]), np.float16)

    def matrix(self) -> np.ndarray:
        return np.concatenate([f.matrix() for f in self.files])


class Exact:
    """Every vector as float16, rows sorted by vector id: exact re-scoring of a quantized index's candidates."""

    def __init__(self, ids: np.ndarray, vecs: np.ndarray | RowFile | RowFiles) -> None:
        self.ids = ids
        self.vecs = vecs

    @classmethod
    def of(cls, ids: np.ndarray, vecs: np.ndarray) -> Exact:
        order = np.argsort(ids, kind="stable")
        out = np.empty((len(ids), vecs.shape[1]), np.float16)
        for start in range(0, len(order), 200_000):  # no second float32 copy of everything
            out[start : start + 200_000] = vecs[order[start : start + 200_000]]
        return cls(np.ascontiguousarray(ids[order], dtype=np.int64), out)

    def matrix(self) -> np.ndarray:
        return self.vecs if isinstance(self.vecs, np.ndarray) else self.vecs.matrix()

    def updated(self, dead_cids: np.ndarray, ids: np.ndarray, vecs: np.ndarray) -> Exact:
        """Without the dead chunks' rows, with the new ones; the old rows are copied in slices.

        New chunk ids exceed every old one (the store never reuses a cid), so the new rows go
        after the kept ones and nothing is sorted again: at a million paragraphs this keeps a
        build's memory to one copy of the array instead of three.
        """
        keep = ~np.isin(np.asarray(self.ids) // PARTS, dead_cids) if len(dead_cids) else \
            np.ones(len(self.ids), bool)
        kept_ids = np.asarray(self.ids)[keep]
        order = np.argsort(ids, kind="stable")
        new_ids = ids.astype(np.int64)[order]
        matrix = self.matrix()
        out = np.empty((len(kept_ids) + len(new_ids), matrix.shape[1]), np.float16)
        at = 0
        for start in range(0, len(keep), 200_000):
            rows = np.asarray(matrix[start : start + 200_000])[keep[start : start + 200_000]]
            out[at : at + len(rows)] = rows
            at += len(rows)
        out[at:] = vecs[order]
        all_ids = np.concatenate([kept_ids, new_ids])
        if len(kept_ids) and len(new_ids) and new_ids[0] <= kept_ids[-1]:
            # a merge of segments whose chunk ids interleave: sorted again (a second copy, merges only)
            order = np.argsort(all_ids, kind="stable")
            if (np.diff(all_ids[order]) == 0).any():
                raise ValueError("a vector id is stored twice")
            all_ids, out = all_ids[order], out[order]
        return Exact(all_ids, out)

    def scores(self, query: np.ndarray, vids: np.ndarray) -> np.ndarray:
        """Inner products of the query with these stored vectors (ids must be present)."""
        rows = np.searchsorted(self.ids, vids)
        order = np.argsort(rows)
        got = self.vecs[rows[order]] if isinstance(self.vecs, np.ndarray) else self.vecs.rows(rows[order])
        out = np.empty(len(vids), np.float32)
        out[order] = got.astype(np.float32) @ query
        return out

    def of_chunks(self, cids: np.ndarray) -> np.ndarray:
        """Vector ids of every stored vector of these chunks."""
        lo = np.searchsorted(self.ids, cids.astype(np.int64) * PARTS)
        hi = np.searchsorted(self.ids, (cids.astype(np.int64) + 1) * PARTS)
        return np.concatenate([np.asarray(self.ids[a:b]) for a, b in zip(lo, hi, strict=True)]) if len(cids) \
            else np.zeros(0, np.int64)

    def save(self, folder: Path) -> None:
        np.save(folder / EXACT_IDS, self.ids)
        np.save(folder / EXACT_VECS, self.matrix())

    @classmethod
    def load(cls, folder: Path, mmap: bool = True) -> Exact:
        """For searching (``mmap``): ids memory-mapped, rows read on demand; for a writer, ids in memory
        and the rows mapped (``updated`` copies them once, in slices)."""
        ids = np.load(folder / EXACT_IDS, mmap_mode="r" if mmap else None)
        vecs: np.ndarray | RowFile = RowFile(folder / EXACT_VECS) if mmap else np.load(folder / EXACT_VECS,
                                                                                        mmap_mode="r")
        if ids.ndim != 1 or len(ids) != len(vecs) or (isinstance(vecs, np.ndarray) and
                                                      (vecs.ndim != 2 or vecs.dtype != np.float16)):
            raise ValueError("exact vectors do not match their ids")
        return cls(ids, vecs)


class Vectors:
    """One generation's FAISS index (exact or IVF) over vector ids ``cid * PARTS + part``."""

    def __init__(self, index, nprobe: int = Settings.nprobe, exact: Exact | None = None) -> None:
        self.index = index
        self.nprobe = nprobe
        self.exact = exact  # float16 copies, for a quantized IVF index
        self._flat_ids: np.ndarray | None = None  # an exact index's vector ids, in its order (read once)
        faiss = _faiss()
        try:
            self.ivf = faiss.downcast_index(faiss.extract_index_ivf(index))
        except RuntimeError:
            self.ivf = None
        if self.ivf is not None:  # one query at a time: split its probed lists across the threads, not queries
            self.ivf.parallel_mode = PARALLEL_OVER_LISTS

    @classmethod
    def empty(cls, dim: int) -> Vectors:
        faiss = _faiss()
        return cls(faiss.IndexIDMap2(faiss.IndexFlatIP(dim)))

    @property
    def size(self) -> int:
        return int(self.index.ntotal)

    @property
    def dim(self) -> int:
        return int(self.index.d)

    @property
    def kind(self) -> str:
        """"flat" (exact), or "ivf-flat" / "ivf-sq8" / "ivf-fp16" by how the IVF lists store vectors."""
        faiss = _faiss()
        ivf = self.ivf
        if ivf is None:
            return "flat"
        if isinstance(ivf, faiss.IndexIVFScalarQuantizer):
            return "ivf-sq8" if ivf.sq.qtype == faiss.ScalarQuantizer.QT_8bit else "ivf-fp16"
        return "ivf-flat"

    @property
    def probes(self) -> int:
        """IVF lists a query probes: ``nprobe``, or when it is 0, ``auto_nprobe(nlist)``."""
        ivf = self.ivf
        if ivf is None:
            return 0
        return min(ivf.nlist, self.nprobe or auto_nprobe(ivf.nlist))

    def all_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of every stored vector (for re-indexing into another structure)."""
        faiss = _faiss()
        n, d = self.size, self.dim
        if n == 0:
            return np.zeros(0, np.int64), np.zeros((0, d), np.float32)
        if self.exact is not None:
            return np.asarray(self.exact.ids), np.asarray(self.exact.matrix(), dtype=np.float32)
        ivf = self.ivf
        if ivf is None:
            ids = faiss.vector_to_array(self.index.id_map).astype(np.int64)
            xb = faiss.downcast_index(self.index.index).reconstruct_n(0, n)
            return ids, xb
        ids_all, vecs = [], []
        invlists = ivf.invlists
        for li in range(ivf.nlist):
            ls = invlists.list_size(li)
            if not ls:
                continue
            ids_all.append(faiss.rev_swig_ptr(invlists.get_ids(li), ls).copy())
            codes = faiss.rev_swig_ptr(invlists.get_codes(li), ls * ivf.code_size).copy()
            if isinstance(ivf, faiss.IndexIVFScalarQuantizer):  # codes of the vectors (not residuals)
                vecs.append(ivf.sq.decode(codes.reshape(ls, ivf.code_size)))
            else:
                vecs.append(codes.view(np.float32).reshape(ls, d))
        return np.concatenate(ids_all).astype(np.int64), np.concatenate(vecs)

    def updated(self, dead_cids: np.ndarray, max_cid: int, ids: np.ndarray, vecs: np.ndarray,
                ann_min_vectors: int, nlist: int | None = None, storage: str = Settings.ann_storage,
                copy: bool = True) -> Vectors:
        """A new generation: this index minus the dead chunks' vectors plus new ones (ids given).

        Switches to IVF when the total passes ``ann_min_vectors`` (training on the vectors at hand);
        an IVF index keeps its trained centroids across incremental builds. ``copy=False`` changes
        this index in place (a writer's own copy, loaded for this: no second one in memory).
        """
        faiss = _faiss()
        index = (faiss.clone_index(self.index) if copy else self.index) if self.size else None
        if index is not None and len(dead_cids):
            bitmap = cid_bitmap(dead_cids, max_cid)
            index.remove_ids(faiss.IDSelectorBitmap(len(bitmap), faiss.swig_ptr(bitmap)))
        total = (index.ntotal if index is not None else 0) + len(ids)
        exact = self.exact.updated(dead_cids, ids, vecs) if self.exact is not None and index is not None else None
        current = Vectors(index, self.nprobe, exact) if index is not None else \
            Vectors.empty(vecs.shape[1] if len(vecs) else self.dim)
        if total >= ann_min_vectors and current.kind == "flat":
            old_ids, old_vecs = current.all_vectors()
            all_ids = np.concatenate([old_ids, ids.astype(np.int64)])
            all_vecs = np.concatenate([old_vecs, vecs.astype(np.float32)]) if len(vecs) else old_vecs
            return Vectors.trained(all_ids, all_vecs, nlist, self.nprobe, storage)
        if len(ids):
            current.index.add_with_ids(np.ascontiguousarray(vecs, dtype=np.float32), ids.astype(np.int64))
        return current

    @classmethod
    def trained(cls, ids: np.ndarray, vecs: np.ndarray, nlist: int | None, nprobe: int,
                storage: str = Settings.ann_storage) -> Vectors:
        """An IVF index trained on (a sample of) ``vecs``; nlist defaults to 2 * sqrt(n)."""
        faiss = _faiss()
        if storage not in STORAGES:
            raise ValueError(f"ann_storage must be one of {', '.join(STORAGES)}, not {storage!r}")
        n, d = vecs.shape
        nlist = nlist or max(16, int(2 * math.sqrt(n)))
        quantizer = faiss.IndexFlatIP(d)
        if storage == "flat":
            index = faiss.IndexIVFFlat(quantizer, d, nlist, faiss.METRIC_INNER_PRODUCT)
        else:
            qtype = faiss.ScalarQuantizer.QT_8bit if storage == "sq8" else faiss.ScalarQuantizer.QT_fp16
            # codes of the vectors themselves (not residuals): decodable without the centroids, and
            # inner products scan the codes directly
            index = faiss.IndexIVFScalarQuantizer(quantizer, d, nlist, qtype, faiss.METRIC_INNER_PRODUCT, False)
        index.cp.niter = KMEANS_ITERATIONS
        rng = np.random.default_rng(0)
        sample = vecs[rng.choice(n, size=min(n, 64 * nlist), replace=False)] if n > 64 * nlist else vecs
        index.train(np.ascontiguousarray(sample, dtype=np.float32))
        for start in range(0, n, 200_000):  # in slices: no second float32 copy of everything
            index.add_with_ids(np.ascontiguousarray(vecs[start : start + 200_000], dtype=np.float32),
                               np.ascontiguousarray(ids[start : start + 200_000], dtype=np.int64))
        index.own_fields = True
        quantizer.this.disown()
        log.info("IVF index (%s): %d vectors, nlist %d", storage, n, nlist)
        return cls(index, nprobe, Exact.of(ids, vecs) if storage == "sq8" else None)

    def empty_like(self) -> Vectors:
        """An empty IVF index with this one's trained lists and code ranges, for a new segment.

        Segments that share them are searched as one IVF index would be (`DenseSet`): the query's
        lists are chosen once, each segment scans only those, and a vector is coded as a merge into
        this index would code it; a small segment indexed exactly was read whole by every query.
        """
        faiss = _faiss()
        ivf = self.ivf
        if ivf is None:
            raise ValueError("only an IVF index has trained lists to share")
        quantizer = faiss.clone_index(ivf.quantizer)
        if isinstance(ivf, faiss.IndexIVFScalarQuantizer):
            index = faiss.IndexIVFScalarQuantizer(quantizer, ivf.d, ivf.nlist, ivf.sq.qtype,
                                                  faiss.METRIC_INNER_PRODUCT, False)
            index.sq = ivf.sq  # a copy of the trained code ranges
        else:
            index = faiss.IndexIVFFlat(quantizer, ivf.d, ivf.nlist, faiss.METRIC_INNER_PRODUCT)
        index.is_trained = True
        index.own_fields = True
        quantizer.this.disown()
        return Vectors(index, self.nprobe, Exact(np.zeros(0, np.int64), np.zeros((0, ivf.d), np.float16))
                       if self.exact is not None else None)

    def added(self, ids: np.ndarray, vecs: np.ndarray) -> Vectors:
        """This (IVF) index with the vectors added in place, and their float16 copies."""
        if len(ids):
            for start in range(0, len(ids), 200_000):
                self.index.add_with_ids(np.ascontiguousarray(vecs[start : start + 200_000], dtype=np.float32),
                                        np.ascontiguousarray(ids[start : start + 200_000], dtype=np.int64))
            if self.exact is not None:
                self.exact = self.exact.updated(np.zeros(0, np.int64), np.asarray(ids, np.int64),
                                                np.asarray(vecs, np.float32))
        return self

    @classmethod
    def folded(cls, parts: list[Vectors]) -> Vectors:
        """IVF indexes that share trained lists as one, in memory: their lists' codes copied, their
        float16 copies read from the parts' files (``parts`` in ascending, disjoint vector ids)."""
        out = parts[0].empty_like()
        ivf, invlists = out.ivf, out.ivf.invlists
        for p in parts:
            src = p.ivf.invlists
            for li in range(ivf.nlist):
                n = src.list_size(li)
                if n:
                    invlists.add_entries(li, n, src.get_ids(li), src.get_codes(li))
            ivf.ntotal += p.size
        if out.exact is not None:
            ids = np.concatenate([np.asarray(p.exact.ids) for p in parts])
            files = [p.exact.vecs for p in parts]
            out.exact = Exact(ids, RowFiles(files) if all(isinstance(f, RowFile) for f in files) else
                              np.concatenate([p.exact.matrix() for p in parts]))
        return out

    def coarse(self, query: np.ndarray, nprobe: int) -> tuple[np.ndarray, np.ndarray]:
        """(distances, list numbers) of the ``nprobe`` lists an IVF index probes for this query."""
        return self.ivf.quantizer.search(query.reshape(1, -1).astype(np.float32), nprobe)

    def candidates(self, query: np.ndarray, want: int, allowed: np.ndarray | None = None,
                   allowed_share: float = 1.0, coarse: dict | None = None,
                   key: object = None) -> tuple[np.ndarray, np.ndarray]:
        """(vector ids, scores) of the ``want`` best stored vectors by the index's own scores (an IVF
        index's codes), best first; ``allowed`` is a vector-id bitmap (cid_bitmap). ``coarse``
        caches the probed lists of IVF indexes that share trained lists (``key`` names them)."""
        faiss = _faiss()
        want = int(min(self.size, want))
        if want <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        if self.ivf is None:
            return self._flat_candidates(query, want, allowed)
        ivf = self.ivf
        sel = faiss.IDSelectorBitmap(len(allowed), faiss.swig_ptr(allowed)) if allowed is not None else None
        # a selective filter leaves few vectors per probed list: probe more lists to keep recall
        base = self.probes
        nprobe = min(ivf.nlist, max(base, int(base / max(allowed_share, 1e-6))))
        params = faiss.SearchParametersIVF(sel=sel, nprobe=nprobe) if sel is not None else \
            faiss.SearchParametersIVF(nprobe=nprobe)
        x = query.reshape(1, -1).astype(np.float32)
        # the lists first, then a scan of them: the same results as IVF search(), faster for one
        # query on two cores (about half the time at 3M vectors, timed by hand), and segments
        # sharing trained lists (the same ``key``) choose them once
        if coarse is not None and key is not None and (key, nprobe) in coarse:
            dq, iq = coarse[(key, nprobe)]
        else:
            dq, iq = self.coarse(x, nprobe)
            if coarse is not None and key is not None:
                coarse[(key, nprobe)] = dq, iq
        scores, ids = np.empty((1, want), np.float32), np.empty((1, want), np.int64)
        # the C++ call: the Python wrapper of search_preassigned takes no parameters (nprobe, selector)
        ivf.search_preassigned_c(1, faiss.swig_ptr(x), want, faiss.swig_ptr(iq), faiss.swig_ptr(dq),
                                 faiss.swig_ptr(scores), faiss.swig_ptr(ids), False, params)
        found = ids[0] >= 0
        return ids[0][found].astype(np.int64), scores[0][found]

    def _flat_candidates(self, query: np.ndarray, want: int, allowed: np.ndarray | None) -> tuple[np.ndarray,
                                                                                                  np.ndarray]:
        """An exact index's best ``want``: every inner product by FAISS's own kernel, the best by a partition.

        FAISS's search keeps a heap of ``want`` results, which for one query and the hundreds of
        candidates a segment gives took 2 ms on 6,000 vectors against 0.2 ms this way; the scores are
        the same floats (``fvec_inner_products_ny`` is what an exact search computes, vector by vector,
        so they do not depend on which segment holds a vector).
        """
        faiss = _faiss()
        flat = faiss.downcast_index(self.index.index)
        n, d = int(flat.ntotal), self.dim
        if self._flat_ids is None or len(self._flat_ids) != n:
            self._flat_ids = faiss.vector_to_array(self.index.id_map).astype(np.int64)
        ids = self._flat_ids
        xb = faiss.rev_swig_ptr(flat.get_xb(), n * d)
        q = np.ascontiguousarray(query, dtype=np.float32).reshape(-1)
        scores = np.empty(n, np.float32)
        faiss.fvec_inner_products_ny(faiss.swig_ptr(scores), faiss.swig_ptr(q), faiss.swig_ptr(xb), d, n)
        pos = np.arange(n)
        if allowed is not None:
            byte = ids >> 3
            ok = byte < len(allowed)
            ok[ok] = (allowed[byte[ok]] >> (ids[ok] & 7)).astype(bool)
            pos = pos[ok]
        if want < len(pos):
            pos = pos[np.argpartition(-scores[pos], want - 1)[:want]]
        pos = pos[np.lexsort((pos, -scores[pos]))]
        return ids[pos], scores[pos]

    def top(self, query: np.ndarray, depth: int, per_chunk: float = 1.0,
            allowed: np.ndarray | None = None, allowed_share: float = 1.0) -> list[tuple[int, float]]:
        """(cid, best cosine over its vectors), best first; ``allowed`` is a cid bitmap (cid_bitmap)."""
        return DenseSet([self]).top(query, depth, per_chunk, allowed, allowed_share)

    def scores_of(self, query: np.ndarray, cids: np.ndarray) -> list[tuple[int, float]]:
        """(vector id, inner product) of every stored vector of these chunks (an exhaustive, selected scan)."""
        faiss = _faiss()
        if self.size == 0 or not len(cids):
            return []
        if self.exact is not None:
            vids = self.exact.of_chunks(np.asarray(cids))
            return [(int(v), float(s)) for v, s in zip(vids, self.exact.scores(query.astype(np.float32), vids),
                                                       strict=True)]
        allowed = cid_bitmap(cids, int(cids.max()))
        sel = faiss.IDSelectorBitmap(len(allowed), faiss.swig_ptr(allowed))
        ivf = self.ivf
        params = faiss.SearchParametersIVF(sel=sel, nprobe=ivf.nlist) if ivf is not None else \
            faiss.SearchParameters(sel=sel)
        want = int(min(self.size, len(cids) * PARTS))
        scores, ids = self.index.search(query.reshape(1, -1).astype(np.float32), want, params=params)
        return [(int(v), float(s)) for v, s in zip(ids[0], scores[0], strict=True) if v >= 0]

    def save(self, path: Path) -> None:
        """The FAISS index at ``path``, and beside it a quantized index's float16 copies."""
        _faiss().write_index(self.index, str(path))
        if self.exact is not None:
            self.exact.save(path.parent)

    @classmethod
    def load(cls, path: Path, nprobe: int = Settings.nprobe, mmap: bool = True) -> Vectors:
        """Memory-mapped for searching; ``mmap=False`` for a writer that will change it."""
        faiss = _faiss()
        if not mmap:
            index = faiss.read_index(str(path))
        else:
            try:
                index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)
            except RuntimeError:
                index = faiss.read_index(str(path))
        out = cls(index, nprobe)
        if out.kind == "ivf-sq8":
            out.exact = Exact.load(path.parent, mmap)
            if len(out.exact.ids) != out.size:
                raise ValueError("exact vectors and the index differ in size")
        return out


class DenseSet:
    """The dense leg over a generation's live segments, each with its own index (exact or IVF by its size).

    ``deleted`` lists chunks of these segments that are no longer live: a segment holding some
    is searched through a bitmap without them. Every segment gives its best ``want`` vectors by its
    own scores; the best ``want`` of them all are what one index of the live vectors would have
    given, and are then ranked as one index ranks them (a quantized segment's candidates
    re-scored from its float16 copies), a chunk scoring its best vector.
    """

    def __init__(self, parts: list[Vectors], chunks: list[np.ndarray] | None = None,
                 nvec: list[np.ndarray] | None = None, deleted: np.ndarray | None = None, dim: int = 0,
                 trained: list[object] | None = None) -> None:
        self.parts = parts
        self.chunks = chunks
        self._dim = dim
        # IVF segments that share trained lists (the same ``trained`` key) choose a query's lists once
        keys = trained or [None] * len(parts)
        shared = [k for k, p in zip(keys, parts, strict=True) if k is not None and p.ivf is not None]
        self.keys = [k if k is not None and shared.count(k) > 1 and p.ivf is not None else None
                     for k, p in zip(keys, parts, strict=True)]
        deleted = np.zeros(0, np.int64) if deleted is None else np.asarray(deleted, dtype=np.int64)
        self.deleted = deleted
        self.dead_in = [False] * len(parts)
        dead_vectors = 0
        if len(deleted):
            if chunks is None or nvec is None:
                raise ValueError("deleted chunks need each segment's chunks and vector counts")
            for i, (ch, nv) in enumerate(zip(chunks, nvec, strict=True)):
                at = np.searchsorted(ch, deleted)
                hit = (at < len(ch)) & (np.asarray(ch)[np.minimum(at, len(ch) - 1)] == deleted) if len(ch) else \
                    np.zeros(len(deleted), bool)
                self.dead_in[i] = bool(hit.any())
                dead_vectors += int(np.asarray(nv)[at[hit]].astype(np.int64).sum())
        self.size = sum(p.size for p in parts) - dead_vectors
        self.live: np.ndarray | None = None
        if len(deleted):  # every vector id of the live chunks: 8 bytes a chunk
            top = max(int(np.asarray(ch)[-1]) for ch in chunks if len(ch))
            self.live = np.full((top + 1) * (PARTS // 8), 0xFF, dtype=np.uint8)
            self.live.reshape(-1, PARTS // 8)[deleted[deleted <= top]] = 0

    def _main(self) -> Vectors | None:
        return max(self.parts, key=lambda p: p.size) if self.parts else None

    @property
    def dim(self) -> int:
        main = self._main()
        return main.dim if main is not None else self._dim

    @property
    def kind(self) -> str:
        """The kind of the segment holding the most vectors ("flat" when there is none)."""
        main = self._main()
        return main.kind if main is not None else "flat"

    @property
    def probes(self) -> int:
        main = self._main()
        return main.probes if main is not None else 0

    @property
    def nprobe(self) -> int:
        main = self._main()
        return main.nprobe if main is not None else 0

    @nprobe.setter
    def nprobe(self, value: int) -> None:
        for p in self.parts:
            p.nprobe = value

    @property
    def exact(self) -> Exact | None:
        """A single segment's float16 copies (None with several segments: each has its own)."""
        return self.parts[0].exact if len(self.parts) == 1 and not self.dead_in[0] else None

    def all_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of every live vector."""
        ids_all, vecs_all = [np.zeros(0, np.int64)], [np.zeros((0, self.dim), np.float32)]
        for p, dead in zip(self.parts, self.dead_in, strict=True):
            ids, vecs = p.all_vectors()
            if dead:
                keep = ~np.isin(ids // PARTS, self.deleted)
                ids, vecs = ids[keep], vecs[keep]
            ids_all.append(ids)
            vecs_all.append(np.asarray(vecs, dtype=np.float32))
        return np.concatenate(ids_all), np.concatenate(vecs_all)

    def top(self, query: np.ndarray, depth: int, per_chunk: float = 1.0,
            allowed: np.ndarray | None = None, allowed_share: float = 1.0) -> list[tuple[int, float]]:
        """(cid, best cosine over its vectors), best first; ``allowed`` is a cid bitmap (cid_bitmap)
        of live chunks only (a filter is evaluated on the live rows)."""
        if self.size <= 0:
            return []
        want = int(min(self.size, depth * (math.ceil(per_chunk) + 2)))
        vids, scores, owner = [], [], []
        coarse: dict = {}
        for i, (p, dead) in enumerate(zip(self.parts, self.dead_in, strict=True)):
            if dead and allowed is None and p.ivf is not None:
                v, s = self._ivf_without_deleted(p, query, want, coarse, self.keys[i])
            else:
                sel = allowed if allowed is not None else (self.live if dead else None)
                v, s = p.candidates(query, want, sel, allowed_share, coarse, self.keys[i])
            vids.append(v)
            scores.append(s)
            owner.append(np.full(len(v), i, np.int64))
        v, s, o = np.concatenate(vids), np.concatenate(scores), np.concatenate(owner)
        if len(self.parts) > 1:
            keep = np.argsort(-s, kind="stable")[:want]
            v, s, o = v[keep], s[keep], o[keep]
        rescored = False
        q = query.astype(np.float32)
        for i, p in enumerate(self.parts):  # the codes chose the candidates; exact scores rank them
            mine = np.flatnonzero(o == i)
            if p.exact is not None and len(mine):
                s = s.copy() if not rescored else s
                s[mine] = p.exact.scores(q, v[mine])
                rescored = True
        if rescored:
            order = np.argsort(-s, kind="stable")
            v, s = v[order], s[order]
        best: dict[int, float] = {}
        for vid, sc in zip(v, s, strict=True):
            c = int(vid) // PARTS
            if c not in best:  # results come best first
                best[c] = float(sc)
        return sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))[:depth]

    def _ivf_without_deleted(self, p: Vectors, query: np.ndarray, want: int, coarse: dict | None = None,
                             key: object = None) -> tuple[np.ndarray, np.ndarray]:
        """An IVF segment's best ``want`` live vectors: searched without a selector, its deleted
        vectors dropped after. FAISS checks a selector for every code it scans, which doubled an
        IVF search at 1M vectors (15 -> 32 ms); deletions are a small share of a segment (a third
        at most before it is merged), so asking for a few more is cheaper."""
        ask = want + want // 2 + 16
        while True:
            v, s = p.candidates(query, ask, None, 1.0, coarse, key)
            byte = v >> 3
            alive = np.ones(len(v), bool)  # a vector past the bitmap's end belongs to no deleted chunk
            known = byte < len(self.live)
            alive[known] = (self.live[byte[known]] >> (v[known] & 7)).astype(bool)
            if alive.sum() >= want or len(v) < ask or ask >= p.size:
                return v[alive][:want], s[alive][:want]
            ask = min(p.size, 2 * ask)

    def scores_of(self, query: np.ndarray, cids: np.ndarray) -> list[tuple[int, float]]:
        """(vector id, inner product) of every stored vector of these (live) chunks."""
        out: list[tuple[int, float]] = []
        cids = np.asarray(cids, dtype=np.int64)
        for i, p in enumerate(self.parts):
            mine = cids if self.chunks is None else np.intersect1d(cids, np.asarray(self.chunks[i]))
            out += p.scores_of(query, mine)
        return out
