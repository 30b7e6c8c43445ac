"""Build, save, load and search the index: chunks + FAISS + BM25, checked by a manifest."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import numpy as np

from retrieval.embedding.encoder import Embedder, Encoder
from retrieval.errors import UserError
from retrieval.reading import UnreadableFile, read_path
from retrieval.reading.files import Skipped, find_files
from retrieval.search import fusion
from retrieval.search.translate import expand_english, has_latin_only, vocabulary_pinyin
from retrieval.settings import SCHEMA_VERSION, Settings
from retrieval.store.bm25 import BM25Index
from retrieval.store.dense import DenseIndex
from retrieval.text.chunking import chunk_document
from retrieval.text.normalize import norm_text, split_sentences
from retrieval.text.tokens import TOKENIZER_VERSION, tokenize, tokenize_normalized
from retrieval.types import Chunk, Document, Fact, Hit

log = logging.getLogger(__name__)

MODES = ("hybrid", "dense", "bm25")
FILES = ("manifest.json", "chunks.jsonl", "documents.jsonl", "dense.faiss", "bm25.json")


def package_version() -> str:
    try:
        return metadata.version("policyqa")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def corpus_hash(corpus: Path) -> str:
    """sha256 over the relative paths and contents of every corpus file."""
    h = hashlib.sha256()
    for p in find_files(corpus):
        h.update(p.relative_to(corpus).as_posix().encode())
        h.update(hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()


def dense_text(chunk: Chunk, with_title: bool = False) -> str:
    """What the dense leg embeds: [title |] section | paragraph, all normalized.

    The title is left out by default: on the seed gold set it lowered dense Recall@5
    (0.90 -> 0.85 on the train split; `policyqa eval`). The subtitle under a heading is
    always left out: copied into every paragraph of its section it made them all match its
    figures (岳池縣's "增长9.5%" outranked 廣安區's own 9.5% paragraph).
    """
    parts = [norm_text(chunk.title)] if with_title else []
    parts += [norm_text(chunk.section), chunk.norm]
    return " | ".join(p for p in parts if p)


def dense_units(chunks: list[Chunk], settings: Settings) -> tuple[list[str], np.ndarray]:
    """Texts to embed and the chunk row of each: every paragraph, then (optionally) its sentences."""
    texts = [dense_text(c, settings.dense_title) for c in chunks]
    owner = list(range(len(chunks)))
    if settings.sentence_vectors:
        for row, c in enumerate(chunks):
            spans = split_sentences(c.norm)
            if len(spans) < 2:
                continue
            for a, b in spans:
                texts.append(" | ".join(p for p in (norm_text(c.section), c.norm[a:b]) if p))
                owner.append(row)
    return texts, np.asarray(owner, dtype=np.int64)


def bm25_tokens(chunk: Chunk) -> list[str]:
    """BM25 sees the title and section too, so a heading's subject reaches its paragraphs."""
    return tokenize(f"{chunk.title} {chunk.section}") + tokenize_normalized(chunk.norm)


def has_content(query: str) -> bool:
    """False for a query of only punctuation, symbols or spaces."""
    return any(ch.isalnum() for ch in norm_text(query))


@dataclass
class Legs:
    """One query's candidates from each leg, before fusion."""

    bm25: dict[str, float]
    dense: dict[str, float]
    bm25_max: float = 0.0  # the best BM25 score possible for this query (BM25Index.max_score)


@dataclass(frozen=True)
class BuildReport:
    """What a build did (printed as one summary line)."""

    path: str
    files: int
    skipped: list[Skipped]
    documents: int
    chunks: int
    facts: int
    seconds: float

    def line(self) -> str:
        return (
            f"built {self.path}: {self.files} files, {len(self.skipped)} skipped, "
            f"{self.chunks} chunks, {self.facts} facts in {self.seconds:.1f} s"
        )


def _load_documents(settings: Settings) -> tuple[list[Document], list[Skipped], int]:
    corpus = settings.corpus
    if not corpus.is_dir():
        raise UserError(f"corpus folder {corpus} does not exist: create it and put .txt/.md files in it")
    docs: list[Document] = []
    skipped: list[Skipped] = []
    files = 0
    for path in find_files(corpus):
        files += 1
        try:
            docs.append(read_path(path, corpus))
        except UnreadableFile as exc:
            skipped.append(Skipped(str(path), str(exc)))
    return docs, skipped, files


def build_index(
    settings: Settings,
    encoder: Encoder | None = None,
    progress: bool = True,
    on_progress: Callable[[str, float], None] | None = None,
) -> BuildReport:
    """Read the corpus and write a complete index folder, swapped in atomically.

    A failure at any point leaves the previous index in place.
    """
    from retrieval.text.facts import extract_facts
    from retrieval.text.regions import attribute_regions

    t0 = time.perf_counter()
    note = on_progress or (lambda _msg, _frac: None)
    note("reading corpus", 0.0)
    docs, skipped, files = _load_documents(settings)
    chunks: list[Chunk] = []
    for doc in docs:
        chunks.extend(chunk_document(doc, settings.max_chunk_chars))
    if not chunks:
        raise UserError(
            f"no readable text under {settings.corpus} ({files} files, {len(skipped)} skipped): "
            "add .txt/.md documents and run `policyqa build` again; the previous index is kept"
        )
    note("attributing regions", 0.1)
    chunks = attribute_regions(docs, chunks)
    facts = extract_facts(docs, chunks)
    encoder = encoder or Embedder(settings.model, settings.query_prefix, settings.passage_prefix, settings.batch_size)
    note("embedding paragraphs", 0.2)
    texts, owner = dense_units(chunks, settings)
    vectors = encoder.encode_passages(texts, progress=progress)
    note("indexing", 0.9)
    bm25 = BM25Index([bm25_tokens(c) for c in chunks], k1=settings.bm25_k1, b=settings.bm25_b)

    target = settings.index
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        _write(tmp, settings, encoder, docs, chunks, facts, DenseIndex(vectors, owner), bm25, skipped, files, t0)
        old = target.parent / f".{target.name}.old-{os.getpid()}"
        if target.exists():
            target.rename(old)
        tmp.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    note("done", 1.0)
    return BuildReport(str(target), files, skipped, len(docs), len(chunks), len(facts), time.perf_counter() - t0)


def _describe(encoder: Encoder) -> dict:
    describe = getattr(encoder, "describe", None)
    return describe() if describe else {"name": encoder.name, "dim": encoder.dim}


def _write(folder, settings, encoder, docs, chunks, facts, dense, bm25, skipped, files, t0) -> None:
    with (folder / "chunks.jsonl").open("w", encoding="utf-8") as fh:
        for c in chunks:
            fh.write(json.dumps(c.to_json(), ensure_ascii=False) + "\n")
    with (folder / "documents.jsonl").open("w", encoding="utf-8") as fh:
        for d in docs:
            row = {k: v for k, v in asdict(d).items() if k != "lines"}
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    with (folder / "facts.jsonl").open("w", encoding="utf-8") as fh:
        for f in facts:
            fh.write(json.dumps(f.to_json(), ensure_ascii=False) + "\n")
    dense.save(folder / "dense.faiss")
    bm25.save(folder)
    manifest = {
        "schema_version": SCHEMA_VERSION,
        "package_version": package_version(),
        "model": _describe(encoder),
        "corpus": str(settings.corpus),
        "corpus_hash": corpus_hash(settings.corpus),
        "chunking": {"max_chunk_chars": settings.max_chunk_chars, "unit": "paragraph",
                     "dense_title": settings.dense_title, "sentence_vectors": settings.sentence_vectors},
        "tokenizer": {"name": TOKENIZER_VERSION, "k1": settings.bm25_k1, "b": settings.bm25_b},
        "counts": {"files": files, "documents": len(docs), "chunks": len(chunks), "facts": len(facts)},
        "skipped": [asdict(s) for s in skipped],
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "build_seconds": round(time.perf_counter() - t0, 2),
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")


@dataclass
class Index:
    """A loaded index. Thread-safe for searching (no state changes after load)."""

    folder: Path
    manifest: dict
    chunks: list[Chunk]
    documents: dict[str, dict]
    facts: list[Fact]
    bm25: BM25Index
    dense: DenseIndex
    encoder: Encoder
    settings: Settings = field(default_factory=Settings)

    def __post_init__(self) -> None:
        self.by_id = {c.chunk_id: i for i, c in enumerate(self.chunks)}
        self._readings: dict[str, tuple[str, ...]] | None = None

    def english_terms(self, query: str) -> list[str]:
        """Chinese index terms for an English question (CEDICT glosses, pinyin of local names)."""
        if self._readings is None:
            self._readings = vocabulary_pinyin(list(self.bm25.vocab))
        return expand_english(query, self.bm25.df, self._readings)

    def legs(self, query: str, depth: int, mode: str = "hybrid") -> Legs:
        """Raw BM25 and dense scores (chunk_id -> score) of the top ``depth`` chunks of each leg."""
        legs = Legs({}, {})
        if not has_content(query):
            return legs
        # an English question gets Chinese terms: BM25 matches them, the dense model reads them as a gloss
        gloss = self.english_terms(query) if has_latin_only(query) else []
        if mode in ("hybrid", "bm25"):
            tokens = tokenize(query) + gloss
            legs.bm25.update((self.chunks[i].chunk_id, s) for i, s in self.bm25.top(tokens, depth))
            legs.bm25_max = self.bm25.max_score(tokens)
        if mode in ("hybrid", "dense"):
            text = " ".join([norm_text(query), *gloss])
            vec = self.encoder.encode_queries([text])[0]
            legs.dense.update((self.chunks[i].chunk_id, s) for i, s in self.dense.top(vec, depth))
        return legs
        if mode in ("hybrid", "bm25"):
            tokens = self.query_tokens(query)
            legs.bm25.update((self.chunks[i].chunk_id, s) for i, s in self.bm25.top(tokens, depth))
            legs.bm25_max = self.bm25.max_score(tokens)
        if mode in ("hybrid", "dense"):
            text = norm_text(query)
            if has_latin_only(query):  # the model matches English to Chinese better with a gloss beside it
                text += " " + " ".join(self.english_terms(query))
            vec = self.encoder.encode_queries([text])[0]
            legs.dense.update((self.chunks[i].chunk_id, s) for i, s in self.dense.top(vec, depth))
        return legs

    def search(
        self,
        query: str,
        k: int = 10,
        mode: str = "hybrid",
        fusion_method: str | None = None,
        alpha: float | None = None,
        rrf_k: int | None = None,
        where: Callable[[Chunk], bool] | None = None,
    ) -> list[Hit]:
        """Ranked hits for a query. ``where`` keeps only the chunks it accepts."""
        if mode not in MODES:
            raise UserError(f"unknown mode {mode!r}: use one of {', '.join(MODES)}")
        if not has_content(query) or k <= 0:
            return []
        depth = len(self.chunks) if where else max(self.settings.depth, k)
        legs = self.legs(query, depth, mode)
        if where is not None:
            keep = {c.chunk_id for c in self.chunks if where(c)}
            legs = Legs({d: v for d, v in legs.bm25.items() if d in keep},
                        {d: v for d, v in legs.dense.items() if d in keep}, legs.bm25_max)
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
        hits = []
        for rank, (cid, score) in enumerate(ranked[:k], start=1):
            hits.append(Hit(
                rank=rank,
                chunk=self.chunks[self.by_id[cid]],
                score=float(score),
                scores={"bm25": bm.get(cid), "dense": de.get(cid)},
                ranks={"bm25": bm_rank.get(cid), "dense": de_rank.get(cid)},
            ))
        return hits

    def document(self, doc_id: str) -> dict:
        return self.documents[doc_id]


def _read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def load_manifest(folder: Path) -> dict:
    """The manifest of an index folder; a UserError naming `policyqa build` when absent."""
    path = folder / "manifest.json"
    if not path.is_file():
        raise UserError(f"no index at {folder}: run `policyqa build --index {folder}` first")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise UserError(f"index manifest {path} is unreadable: run `policyqa build --index {folder}`") from exc


def open_index(path: str | Path = "index", settings: Settings | None = None, encoder: Encoder | None = None) -> Index:
    """Load an index folder, checking its manifest against this package and model."""
    folder = Path(path)
    settings = (settings or Settings()).with_(index=folder)
    man = load_manifest(folder)
    rebuild = f"run `policyqa build --index {folder}`"
    if man.get("schema_version") != SCHEMA_VERSION:
        raise UserError(
            f"index {folder} has schema {man.get('schema_version')}, this version reads {SCHEMA_VERSION}: {rebuild}"
        )
    if man.get("tokenizer", {}).get("name") != TOKENIZER_VERSION:
        raise UserError(f"index {folder} was tokenized with {man.get('tokenizer')}: {rebuild}")
    if encoder is None:
        from retrieval.embedding.model import MODEL_NAME

        built = man["model"]["name"]
        # no --model: search with the model the index was built with
        want = settings.model or (None if built == MODEL_NAME else built)
        if (want or MODEL_NAME) != built:
            raise UserError(f"index {folder} was built with model {built}, not {want or MODEL_NAME}: {rebuild}")
        if want in (None, MODEL_NAME):
            from retrieval.embedding.model import revision

            if man["model"].get("revision") != revision():
                raise UserError(f"index {folder} was built with an older build of {built}: {rebuild}")
        encoder = Embedder(
            want,
            query_prefix=man["model"].get("query_prefix"),
            passage_prefix=man["model"].get("passage_prefix"),
            batch_size=settings.batch_size,
        )
    elif encoder.name != man["model"]["name"]:
        raise UserError(f"index {folder} was built with model {man['model']['name']}, not {encoder.name}: {rebuild}")
    missing = [f for f in FILES if not (folder / f).exists()]
    if missing:
        raise UserError(f"index {folder} is incomplete (missing {', '.join(missing)}): {rebuild}")
    chunks = [Chunk(**row) for row in _read_jsonl(folder / "chunks.jsonl")]
    documents = {row["doc_id"]: row for row in _read_jsonl(folder / "documents.jsonl")}
    facts_path = folder / "facts.jsonl"
    facts = [Fact(**row) for row in _read_jsonl(facts_path)] if facts_path.exists() else []
    dense = DenseIndex.load(folder / "dense.faiss")
    if dense.size and dense.index.d != man["model"]["dim"]:
        raise UserError(
            f"index {folder}: vectors of {dense.index.d} dims, manifest says {man['model']['dim']}: {rebuild}"
        )
    bm25 = BM25Index.load(folder)
    if dense.n_chunks != len(chunks) or bm25.n_docs != len(chunks):
        raise UserError(f"index {folder} is inconsistent (chunks, vectors and BM25 rows differ): {rebuild}")
    return Index(folder, man, chunks, documents, facts, bm25, dense, encoder, settings)
