"""The build: corpus files -> reading -> text stages -> embedding -> a store generation.

Incremental by content hash: an unchanged file costs its hashing; a new or changed file is
read again and only texts the embedding cache has not seen are embedded; a removed file's
rows, vectors and postings leave the index. Work is streamed in batches, so memory does
not grow with the corpus.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from retrieval.embedding.encoder import Embedder, Encoder, model_revision, subject_key
from retrieval.errors import UserError
from retrieval.reading import UnreadableFile, doc_id_for, read_path, scan
from retrieval.reading.files import Skipped
from retrieval.settings import Settings
from retrieval.store import location_name
from retrieval.store.base import DocumentData, Sentence, Writer
from retrieval.text import vocabulary
from retrieval.text.chunking import chunk_document
from retrieval.text.facts import FACTS_VERSION
from retrieval.text.normalize import norm_text, normalize, split_sentences
from retrieval.text.tokens import TOKENIZER_VERSION, tokenize, tokenize_normalized
from retrieval.types import Chunk, Document

log = logging.getLogger(__name__)

BATCH_TEXTS = 2048  # texts embedded and written per step


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
    added: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0
    embedded: int = 0
    reused: int = 0
    generation: int = 0
    embed_seconds: float = 0.0  # of ``seconds``, spent in the encoder
    notes: list[str] = field(default_factory=list)

    def line(self) -> str:
        if not (self.added or self.changed or self.removed) and self.generation == 0:
            return (f"{self.path} is up to date: {self.files} files unchanged, {len(self.skipped)} skipped "
                    f"({self.seconds:.1f} s)")
        return (
            f"built {self.path}: {self.added} added, {self.changed} changed, {self.removed} removed, "
            f"{self.unchanged} unchanged files, {len(self.skipped)} skipped; {self.chunks} chunks, {self.facts} facts; "
            f"{self.embedded} texts embedded, {self.reused} reused from the cache, in {self.seconds:.1f} s"
        )


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


def dense_units(chunks: list[Chunk], settings: Settings) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Texts to embed, the chunk row and the part (0 = paragraph, i = i-th sentence) of each."""
    texts = [dense_text(c, settings.dense_title) for c in chunks]
    owner = list(range(len(chunks)))
    part = [0] * len(chunks)
    for row, c in enumerate(chunks):
        if not wants_sentence_vectors(c, settings):
            continue
        for i, (a, b) in enumerate(split_sentences(c.norm)[:63], start=1):
            texts.append(" | ".join(p for p in (norm_text(c.section), c.norm[a:b]) if p))
            owner.append(row)
            part.append(i)
    return texts, np.asarray(owner, dtype=np.int64), np.asarray(part, dtype=np.int64)


def wants_sentence_vectors(chunk: Chunk, settings: Settings) -> bool:
    """The sentence-vector policy: a paragraph of two or more sentences and at least ``sentence_min_chars``."""
    if not settings.sentence_vectors:
        return False
    return len(chunk.norm) >= settings.sentence_min_chars and len(split_sentences(chunk.norm)) >= 2


def bm25_tokens(chunk: Chunk) -> list[str]:
    """BM25 sees the title and section too, so a heading's subject reaches its paragraphs."""
    return tokenize(f"{chunk.title} {chunk.section}") + tokenize_normalized(chunk.norm)


def chunk_sentences(chunk: Chunk) -> list[Sentence]:
    """The chunk's sentences with their spans in the document and normalized text (what answers quote)."""
    out: list[Sentence] = []
    for i, (a, b) in enumerate(split_sentences(chunk.text)):
        raw = chunk.text[a:b].strip()
        if not raw:
            continue
        lead = chunk.text[a:b].index(raw[0])
        start = chunk.start + a + lead
        out.append(Sentence(chunk.chunk_id, i, start, start + len(raw), normalize(raw).text))
    return out


def _vector_key(model_rev: str, text: str) -> bytes:
    return hashlib.sha256(f"{model_rev}\x00passage\x00{text}".encode()).digest()[:20]



def _prepare(doc: Document, settings: Settings) -> tuple:
    from retrieval.text.facts import extract_facts
    from retrieval.text.regions import attribute_regions, mentions

    chunks = attribute_regions([doc], chunk_document(doc, settings.max_chunk_chars))
    facts = extract_facts([doc], chunks)
    sentences = [s for c in chunks for s in chunk_sentences(c)]
    terms = [tuple(bm25_tokens(c)) for c in chunks]
    places = [tuple(dict.fromkeys(p.name for p in mentions(c.norm))) for c in chunks]
    texts, owner, part = dense_units(chunks, settings)
    return chunks, facts, sentences, terms, places, texts, owner, part


@dataclass
class _Pending:
    """Documents read and processed, waiting for their vectors."""

    docs: list[tuple[Document, str, list[Chunk], list, list[Sentence], list[tuple[str, ...]],
                     list[tuple[str, ...]], list[str], np.ndarray, np.ndarray]] = field(default_factory=list)
    n_texts: int = 0


@dataclass
class _Counts:
    """What a build did so far."""

    added: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0
    embedded: int = 0
    reused: int = 0
    embed_s: float = 0.0


class BuildPipeline:
    """One build, stage by stage: ``plan`` (which files are new, changed or gone), ``read`` (a file
    through its reader, chunks, facts, tokens and places), ``embed`` (a batch's vectors, from the
    cache or the encoder, then handed to the writer) and ``finish`` (publish the generation).
    ``build_index`` runs them in that order; the writer keeps the served generation until
    ``finish`` commits (a failure or a kill anywhere before leaves it as it was)."""

    def __init__(self, settings: Settings, encoder: Encoder, writer: Writer, model: dict,
                 note: Callable[[str, float], None]) -> None:
        self.settings, self.encoder, self.w, self.model, self.note = settings, encoder, writer, model, note
        self.rev = model_revision(model)
        self.pending = _Pending()
        self.counts = _Counts()
        self.skipped: list[Skipped] = []
        self.removed: list[str] = []

    def plan(self, paths: list[Path]) -> list[tuple[Path, str, str]]:
        """(path, sha256, "added"/"changed") of the files to read; gone and changed documents are
        deleted from the new generation. Files are known by document id (their path under the
        corpus), so a corpus folder that moved, or an index copied beside a copy of its corpus, is
        still up to date."""
        corpus = self.settings.corpus
        known = {doc_id: digest for doc_id, digest in self.w.known_files().values()}
        seen: set[str] = set()
        todo: list[tuple[Path, str, str]] = []
        for p in paths:
            try:
                data = p.read_bytes()
            except OSError as exc:
                self.skipped.append(Skipped(str(p), exc.strerror or str(exc)))
                continue
            digest = hashlib.sha256(data).hexdigest()
            doc_id = doc_id_for(p, corpus)
            seen.add(doc_id)
            old = known.get(doc_id)
            if old != digest:
                todo.append((p, digest, "changed" if old is not None else "added"))
        self.removed = [d for d in known if d not in seen]
        changed_ids = [doc_id_for(p, corpus) for p, _h, s in todo if s == "changed"]
        self.w.delete_documents(self.removed + changed_ids)
        self.counts.unchanged = len(seen) - len(todo)
        self.counts.removed = len(self.removed)
        return todo

    def read(self, path: Path, digest: str, status: str) -> None:
        """Read and prepare one file; a batch full of texts is embedded and written."""
        try:
            doc = read_path(path, self.settings.corpus, self.settings.max_file_bytes)
        except UnreadableFile as exc:
            self.skipped.append(Skipped(str(path), str(exc)))
            return
        prepared = _prepare(doc, self.settings)
        if not prepared[0]:
            self.skipped.append(Skipped(str(path), "no readable text"))
            return
        if status == "added":
            self.counts.added += 1
        else:
            self.counts.changed += 1
        self.pending.docs.append((doc, digest, *prepared))
        self.pending.n_texts += len(prepared[5])
        if self.pending.n_texts >= BATCH_TEXTS:
            self.embed()

    def _vectors(self, keys: list[bytes], texts: list[str], encode) -> tuple[dict[bytes, np.ndarray], int, int]:
        """Vectors by key: the cached ones, the rest encoded once each and cached; with how many
        keys were encoded and how many texts took a cached vector."""
        have = self.w.cached_vectors(list(dict.fromkeys(keys)))
        reused = sum(1 for k in keys if k in have)
        first: dict[bytes, int] = {}
        for i, k in enumerate(keys):
            if k not in have:
                first.setdefault(k, i)
        if first:
            te = time.perf_counter()
            vecs = encode([texts[i] for i in first.values()])
            self.counts.embed_s += time.perf_counter() - te
            self.w.cache_vectors(list(first), vecs)
            have.update(zip(first, vecs, strict=True))
        return have, len(first), reused

    def embed(self) -> None:
        """Vectors of the pending documents' texts and of their facts' subjects, then the writer."""
        pending = self.pending
        if not pending.docs:
            return
        texts = [t for d in pending.docs for t in d[7]]
        keys = [_vector_key(self.rev, t) for t in texts]
        have, embedded, reused = self._vectors(keys, texts,
                                               lambda xs: self.encoder.encode_passages(xs, progress=False))
        self.counts.embedded += embedded
        self.counts.reused += reused
        # each distinct subject of the facts once, as a question's measured phrase is encoded
        # (retrieval/answer/subjects.py reads them back instead of encoding them per question)
        subjects = list(dict.fromkeys(f.subject for d in pending.docs for f in d[3] if f.subject))
        self._vectors([subject_key(self.rev, x) for x in subjects], subjects, self.encoder.encode_phrases)
        items, i = [], 0
        for doc, digest, chunks, facts, sentences, terms, places, dtexts, owner, part in pending.docs:
            vecs = np.stack([have[k] for k in keys[i : i + len(dtexts)]]) if dtexts else \
                np.zeros((0, self.model["dim"]), np.float32)
            i += len(dtexts)
            items.append(DocumentData(doc, digest, tuple(chunks), tuple(facts), tuple(sentences), tuple(terms),
                                      tuple(places), vecs, owner, part))
        self.w.add(items, _readings({t for it in items for ts in it.terms for t in ts}))
        pending.docs.clear()
        pending.n_texts = 0

    def finish(self, n_files: int, t0: float) -> dict | None:
        """Publish the new generation (its manifest), or None when nothing changed."""
        self.embed()
        if not self.w.changed():
            return None
        corpus = self.settings.corpus
        if self.w.live_chunks() == 0:  # leaving without commit keeps the served generation
            raise UserError(f"no readable text under {corpus} ({n_files} files, {len(self.skipped)} skipped): "
                            "add documents and run `policyqa build` again; the previous index is kept")
        self.note("writing the index", 0.92)
        c = self.counts
        return self.w.commit({
            "corpus": str(corpus), "skipped": [asdict(s) for s in self.skipped],
            "build_seconds": round(time.perf_counter() - t0, 2),
            "last_build": {"added": c.added, "changed": c.changed, "removed": c.removed, "unchanged": c.unchanged,
                           "embedded": c.embedded, "reused": c.reused},
        })


def _readings(terms: set[str]) -> dict[str, str]:
    """Toneless pinyin of the Chinese words (2-6 characters) that English names may match."""
    import re

    from pypinyin import lazy_pinyin

    return {t: "".join(lazy_pinyin(t)) for t in terms if 2 <= len(t) <= 6 and re.fullmatch(r"[\u4e00-\u9fff]+", t)}


def index_settings(settings: Settings) -> dict:
    """Settings that change what is indexed: recorded per generation; a change forces a full build."""
    return {
        "chunking": {"max_chunk_chars": settings.max_chunk_chars, "unit": "paragraph",
                     "dense_title": settings.dense_title, "sentence_vectors": settings.sentence_vectors,
                     "sentence_min_chars": settings.sentence_min_chars},
        "tokenizer": {"name": TOKENIZER_VERSION},
        "bm25": {"k1": settings.bm25_k1, "b": settings.bm25_b},
        "vocabulary": vocabulary.load(settings.corpus),
        "facts": {"version": FACTS_VERSION},
    }


def build_index(
    settings: Settings,
    encoder: Encoder | None = None,
    progress: bool = True,
    on_progress: Callable[[str, float], None] | None = None,
    full: bool = False,
    optimize: bool = False,
) -> BuildReport:
    """Bring the index at ``settings.index`` up to date with ``settings.corpus``.

    ``optimize`` also folds the local store's segments into one. A failure at any point
    (including a kill) leaves the served generation as it was.
    """
    t0 = time.perf_counter()
    note = on_progress or (lambda _msg, _frac: None)
    corpus, target = settings.corpus, settings.index
    if not corpus.is_dir():
        raise UserError(f"corpus folder {corpus} does not exist: create it and put documents in it")
    from retrieval.store import open_writer

    encoder = encoder or Embedder(settings.model, settings.query_prefix, settings.passage_prefix, settings.batch_size,
                                  int8=settings.encoder_int8, device=settings.device,
                                  gpu_batch_size=settings.gpu_batch_size)
    model = _describe(encoder)
    note("scanning the corpus", 0.0)
    paths, skipped = scan(corpus)
    indexed = index_settings(settings)
    vocabulary.register(indexed["vocabulary"])  # before any text of the corpus is tokenized
    with open_writer(target, model, indexed, full=full, wait=False,
                     ann_min_vectors=settings.ann_min_vectors, nprobe=settings.nprobe, config=settings,
                     ann_storage=settings.ann_storage, optimize=optimize) as w:
        run = BuildPipeline(settings, encoder, w, model, note)
        run.skipped = skipped
        todo = run.plan(paths)
        bar = _bar(len(todo), progress)
        for n, (p, digest, status) in enumerate(todo, start=1):
            run.read(p, digest, status)
            bar.update(1)
            note(f"reading and embedding {n}/{len(todo)} files", 0.05 + 0.85 * n / max(1, len(todo)))
        man = run.finish(len(paths), t0)
        bar.close()
    c = run.counts
    if man is None:
        return BuildReport(location_name(target), len(paths), run.skipped, 0, 0, 0, time.perf_counter() - t0,
                           unchanged=c.unchanged, embed_seconds=c.embed_s)
    note("done", 1.0)
    counts = man["counts"]
    return BuildReport(location_name(target), len(paths), run.skipped, counts["documents"], counts["chunks"],
                       counts["facts"], time.perf_counter() - t0, c.added, c.changed, c.removed, c.unchanged,
                       c.embedded, c.reused, man["generation"], c.embed_s)


def _describe(encoder: Encoder) -> dict:
    describe = getattr(encoder, "describe", None)
    return describe() if describe else {"name": encoder.name, "dim": encoder.dim}


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _bar(total: int, show: bool):
    if not show or total == 0:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, unit="file", desc="indexing")
