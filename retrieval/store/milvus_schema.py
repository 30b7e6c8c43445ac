"""The Milvus store's collections and connection: names, schemas, indexes, and queries that page.

``ensure_collections`` creates what an index needs (retrieval/store/milvus.py describes the
layout); ``_Conn`` is what reader and writer share: the client, the collection names, and
queries whose failures become one-line UserErrors.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator

from retrieval.errors import UserError
from retrieval.settings import Settings
from retrieval.store.milvus_expr import MilvusUrl, both, in_list, literal

log = logging.getLogger(__name__)

LONG = 65_535  # VARCHAR's limit in bytes
SHORT = 512
MAX_PLACES = 256
EMPTY_ARRAY_QUIRK = "Unsupported data type: 0"
IN_BATCH = 500  # values per `in [...]` expression
SCAN_BATCH = 4_000  # rows per page when scanning (queries return primary-key order)
GEN_COLLECTIONS = ("chunks", "vectors", "documents", "facts")


def _quiet(record: logging.LogRecord) -> bool:
    """pymilvus logs every failed call as an error: the empty-result quirk (see _query) is not one, and
    other failures reach the user once, as our UserError."""
    msg = record.getMessage()
    return EMPTY_ARRAY_QUIRK not in msg and not msg.startswith("Failed to query collection")


def _pymilvus():
    try:
        import pymilvus
    except ImportError as exc:
        raise UserError("the Milvus store needs the milvus extra: pip install 'policyqa[milvus]' "
                        "(or ./run setup)") from exc
    for name in ("pymilvus.decorators", "pymilvus.milvus_client.milvus_client"):
        lg = logging.getLogger(name)
        if _quiet not in lg.filters:
            lg.addFilter(_quiet)
    return pymilvus


def connect(url: MilvusUrl, timeout: float):
    """A MilvusClient for the server with a connection of its own, or a one-line UserError naming it.

    pymilvus shares one connection among clients of the same address unless told an alias, and
    ``close()`` removes it for all of them: a writer or a generation check closing its client
    cut the serving store's ("should create connection first").
    """
    pm = _pymilvus()
    try:
        return pm.MilvusClient(uri=url.uri, timeout=timeout, alias=f"policyqa-{uuid.uuid4().hex}")
    except Exception as exc:  # pymilvus raises MilvusException or grpc errors on an unreachable server
        raise UserError(f"cannot reach Milvus at {url} ({type(exc).__name__}): start the server or fix --store") \
            from exc


def _clip(text: str | None, limit: int = LONG) -> str:
    data = (text or "").encode("utf-8", "replace")
    return text or "" if len(data) <= limit else data[:limit].decode("utf-8", "ignore")


class Names:
    """Collection names of one index."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        for part in (*GEN_COLLECTIONS, "terms", "meta"):
            setattr(self, part, f"{prefix}_{part}")

    def cache(self, dim: int) -> str:
        return f"{self.prefix}_cache{dim}"


def _loc_fields(schema, pm) -> None:
    dt = pm.DataType
    for f in ("region", "province", "city", "county"):
        schema.add_field(f, dt.VARCHAR, max_length=SHORT)
    schema.add_field("places", dt.ARRAY, element_type=dt.VARCHAR, max_capacity=MAX_PLACES, max_length=SHORT)
    schema.add_field("outlet", dt.VARCHAR, max_length=SHORT)
    schema.add_field("date", dt.VARCHAR, max_length=64)


def _create(client, name: str, fields: list[tuple], vector: str, index: dict, scalar: tuple[str, ...] = (),
            function=None, extra_index: tuple[dict, ...] = ()) -> None:
    """Create a collection: (name, DataType, kwargs) fields, the first the VARCHAR primary key."""
    pm = _pymilvus()
    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    for fname, dtype, kw in fields:
        if fname == "__loc__":
            _loc_fields(schema, pm)
            continue
        schema.add_field(fname, dtype, **kw)
    if function is not None:
        schema.add_function(function)
    params = client.prepare_index_params()
    params.add_index(vector, **index)
    for idx in extra_index:
        params.add_index(**idx)
    for f in scalar:
        params.add_index(f, index_type="INVERTED")
    client.create_collection(name, schema=schema, index_params=params, consistency_level="Strong")


def ensure_collections(client, names: Names, dim: int, settings: Settings, bm25: dict) -> None:
    """Create the index's collections that do not exist yet (a vectors collection of another dimension is replaced)."""
    pm = _pymilvus()
    dt = pm.DataType
    key = ("key", dt.VARCHAR, {"is_primary": True, "max_length": 1024})
    dummy = ("_v", dt.FLOAT_VECTOR, {"dim": 2})  # Milvus wants a vector in every collection
    flat = {"index_type": "FLAT", "metric_type": "IP"}
    have = set(client.list_collections())
    if names.vectors in have:
        got = next((f for f in client.describe_collection(names.vectors)["fields"] if f["name"] == "vec"), None)
        if got is not None and int(got.get("params", {}).get("dim", dim)) != dim:
            log.info("dropping %s: its vectors have another dimension", names.vectors)
            client.drop_collection(names.vectors)
            have.discard(names.vectors)
    gen = ("gen", dt.INT64, {})
    ids = [("chunk_id", dt.VARCHAR, {"max_length": SHORT}), ("doc_id", dt.VARCHAR, {"max_length": SHORT}), gen]
    if names.chunks not in have:
        bm25_fn = pm.Function(name="bm25_auto_fn", function_type=pm.FunctionType.BM25,
                              input_field_names=["bm25_text"], output_field_names=["bm25_auto"])
        _create(client, names.chunks, [
            key, *ids, ("ordinal", dt.INT64, {}),
            *[(f, dt.VARCHAR, {"max_length": LONG}) for f in ("title", "section", "subtitle", "text", "norm")],
            ("start", dt.INT64, {}), ("end_", dt.INT64, {}), ("mojibake", dt.BOOL, {}), ("__loc__", None, {}),
            ("sentences", dt.JSON, {}), ("tf", dt.JSON, {}), ("dl", dt.INT64, {}),
            ("bm25", dt.SPARSE_FLOAT_VECTOR, {}),
            ("bm25_text", dt.VARCHAR, {"max_length": LONG, "enable_analyzer": True,
                                       "analyzer_params": {"tokenizer": "jieba"}}),
            ("bm25_auto", dt.SPARSE_FLOAT_VECTOR, {}),
        ], "bm25", {"index_type": "SPARSE_INVERTED_INDEX", "metric_type": "IP"}, ("chunk_id", "doc_id", "gen"),
            bm25_fn, ({"field_name": "bm25_auto", "index_type": "SPARSE_INVERTED_INDEX", "metric_type": "BM25",
                       "params": {"bm25_k1": bm25["k1"], "bm25_b": bm25["b"]}},))
    if names.vectors not in have:
        kind = settings.milvus_dense_index.upper()
        index = {"index_type": kind, "metric_type": "IP"}
        if kind == "HNSW":
            index["params"] = {"M": settings.milvus_hnsw_m, "efConstruction": settings.milvus_hnsw_ef_construction}
        _create(client, names.vectors, [key, *ids, ("__loc__", None, {}), ("vec", dt.FLOAT_VECTOR, {"dim": dim})],
                "vec", index, ("chunk_id", "doc_id", "gen"))
    if names.documents not in have:
        _create(client, names.documents, [
            key, ("doc_id", dt.VARCHAR, {"max_length": SHORT}), gen, ("piece", dt.INT64, {}),
            *[(f, dt.VARCHAR, {"max_length": LONG}) for f in ("path", "title", "text")],
            *[(f, dt.VARCHAR, {"max_length": SHORT}) for f in ("date", "outlet", "author", "format", "encoding",
                                                                  "file_hash")],
            ("n_chunks", dt.INT64, {}), dummy], "_v", flat, ("doc_id", "gen"))
    if names.facts not in have:
        _create(client, names.facts, [
            key, *ids, ("fid", dt.INT64, {}),
            *[(f, dt.VARCHAR, {"max_length": SHORT}) for f in ("region", "province", "city", "county", "unit")],
            ("value", dt.DOUBLE, {}), ("data", dt.JSON, {}), dummy], "_v", flat, ("doc_id", "gen"))
    if names.terms not in have:
        _create(client, names.terms, [
            ("term", dt.VARCHAR, {"is_primary": True, "max_length": SHORT}), ("tid", dt.INT64, {}),
            ("df", dt.INT64, {}), ("reading", dt.VARCHAR, {"max_length": SHORT}), dummy], "_v", flat, ("tid",))
    if names.meta not in have:
        _create(client, names.meta, [key, ("value", dt.JSON, {}), dummy], "_v", flat)
    if names.cache(dim) not in have:
        _create(client, names.cache(dim), [("key", dt.VARCHAR, {"is_primary": True, "max_length": 64}),
                                           ("vec", dt.FLOAT_VECTOR, {"dim": dim})], "vec", flat)


class _Conn:
    """What reader and writer share: the client, the names, queries with errors as UserError."""

    url: MilvusUrl
    client: object
    names: Names

    def _call(self, what: str, fn, *args, **kw):
        try:
            return fn(*args, **kw)
        except UserError:
            raise
        except Exception as exc:
            msg = getattr(exc, "message", None) or str(exc)
            raise UserError(f"Milvus at {self.url}: {what} failed ({' '.join(str(msg).split())[:200]})") from exc

    def _query(self, coll: str, expr: str, fields: list[str], limit: int | None = None) -> list[dict]:
        kw = {"limit": limit} if limit else {}
        try:
            return list(self.client.query(coll, filter=expr, output_fields=fields, **kw))
        except Exception as exc:
            # milvus-lite 2.5.1 answers an empty result on a collection with an ARRAY field with an
            # array column of element type 0, which pymilvus 2.5 refuses to decode: that is "no rows"
            if EMPTY_ARRAY_QUIRK in str(getattr(exc, "message", "")):
                return []
            return self._call(f"query on {coll}", _reraise, exc)

    def _query_in(self, coll: str, field: str, values: list, expr: str, fields: list[str]) -> list[dict]:
        out: list[dict] = []
        for i in range(0, len(values), IN_BATCH):
            out += self._query(coll, both(in_list(field, values[i:i + IN_BATCH]), expr), fields)
        if field in fields:  # a guard: rows are what was asked for (see MilvusStore._df)
            wanted = set(values)
            out = [r for r in out if r[field] in wanted]
        return out

    def _scan(self, coll: str, expr: str, fields: list[str], pk: str = "key") -> Iterator[dict]:
        """Every row matching ``expr``, paged by primary key (Milvus answers a limited query in key order)."""
        last: str | None = None
        while True:
            page = self._query(coll, both(expr, f"{pk} > {literal(last)}" if last is not None else ""),
                               [*fields, pk] if pk not in fields else fields, limit=SCAN_BATCH)
            yield from page
            if len(page) < SCAN_BATCH:
                return
            last = max(r[pk] for r in page)

    def _count(self, coll: str, expr: str) -> int:
        rows = self._query(coll, expr, ["count(*)"])
        return int(rows[0]["count(*)"]) if rows else 0

    def _meta_row(self, key: str) -> dict | None:
        if not self._call("listing collections", self.client.has_collection, self.names.meta):
            return None
        rows = self._query(self.names.meta, f"key == {literal(key)}", ["value"])
        return rows[0]["value"] if rows else None


def _reraise(exc: BaseException):
    raise exc
