"""Sentence embeddings: the bundled e5 model (or any sentence-transformers model), offline."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Protocol

import numpy as np

from retrieval.errors import UserError

log = logging.getLogger(__name__)
_THREADS = threading.Lock()
# question vectors of this process: (model key, prefix, text) -> vector, least recently used first
_QUERIES: OrderedDict[tuple, np.ndarray] = OrderedDict()
_QUERIES_LOCK = threading.Lock()


def model_revision(model: dict) -> str:
    """What a stored vector depends on: the model, its build, the passage prefix, int8 or not."""
    base = f"{model.get('name')}|{model.get('revision')}|{model.get('passage_prefix')}"
    return base + "|int8" if model.get("int8") else base  # int8 vectors are not fp32's


def subject_key(model_rev: str, subject: str) -> bytes:
    """Where the build stores a fact subject's vector (encoded as a question's phrase is)."""
    return hashlib.sha256(f"{model_rev}\x00subject\x00{subject}".encode()).digest()[:20]


class Encoder(Protocol):
    """What the index needs from an embedder (a fake one serves the unit tests)."""

    name: str

    @property
    def dim(self) -> int: ...

    def encode_queries(self, texts: list[str]) -> np.ndarray: ...

    def encode_phrases(self, texts: list[str]) -> np.ndarray: ...

    def encode_passages(self, texts: list[str], progress: bool = False) -> np.ndarray: ...


_MODELS: dict[tuple[str, bool, int], object] = {}  # loaded models, shared by every Embedder of this process
_MODELS_LOCK = threading.Lock()


def resolve_device(device: str | None) -> str:
    """'auto' (or none): 'cuda' when torch sees a GPU, else 'cpu'; a GPU asked for where torch
    sees none is a one-line error naming the way out."""
    import torch

    want = (device or "auto").strip().lower()
    if want == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if want == "cpu":
        return want
    if re.fullmatch(r"cuda(?::\d+)?", want):
        if not torch.cuda.is_available():
            raise UserError(f"--device {want}: torch {torch.__version__} sees no GPU here: use --device cpu or auto")
        return want
    raise UserError(f"unknown device {device!r}: auto, cpu, cuda or cuda:N")


def _loaded(path: str, int8: bool, device: str = "cpu"):
    """The SentenceTransformer at ``path``, loaded once per process (a build, a rebuild from the
    app or an upload to the server reuses it: loading takes seconds and half a GB each time).
    The weights file's mtime is part of the key, so a model rebuilt in place is loaded again.
    On a GPU the weights are fp16 (vectors within fp16 tolerance of the CPU's fp32 ones)."""
    if int8 and device != "cpu":
        raise UserError("the int8 encoder is a CPU option (torch's dynamic quantization): use --device cpu")
    weights = Path(path) / "model.safetensors"
    key = (path, int8, device, weights.stat().st_mtime_ns if weights.exists() else 0)
    with _MODELS_LOCK:
        if key in _MODELS:
            return _MODELS[key]
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        # no "Loading weights" bar or load report on every command: errors still show
        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        try:
            st = SentenceTransformer(path, device=device, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise UserError(
                f"cannot load embedding model {path!r} offline ({type(exc).__name__}): "
                "give a local folder or a model already in the Hugging Face cache"
            ) from exc
        if int8:  # weights of the Linear layers in int8, activations quantized per batch
            import torch

            st = torch.ao.quantization.quantize_dynamic(st, {torch.nn.Linear}, dtype=torch.qint8)
        if device != "cpu":
            st = st.half()
        _MODELS[key] = st
        return st


class Embedder:
    """sentence-transformers model loaded lazily with the hub switched off.

    Args:
        model: None for the bundled multilingual-e5-small, else a sentence-transformers
            name (already in the local Hugging Face cache) or a folder path.
        query_prefix / passage_prefix: None to use the model's own ``query``/``passage``
            prompts (the bundled model has e5's ``query: ``/``passage: ``), else these.
        batch_size: texts per forward pass (default from Settings, see scripts/bench_embed.py).
        query_threads: torch threads for encoding questions (0 = torch's default, all cores).
        query_cache: question vectors kept per process (0: none); a question asked again, by the
            app's rerun, a batch or another client, is not encoded again.
        device: "auto" (a GPU when torch sees one), "cpu", "cuda" or "cuda:N".
        gpu_batch_size: texts per forward pass on a GPU (``batch_size`` is the CPU's).
    """

    def __init__(
        self,
        model: str | None = None,
        query_prefix: str | None = None,
        passage_prefix: str | None = None,
        batch_size: int = 32,
        cache_dir: Path | None = None,
        int8: bool = False,
        query_threads: int = 0,
        query_cache: int = 0,
        device: str = "cpu",
        gpu_batch_size: int = 64,
    ) -> None:
        from retrieval.embedding import model as bundled

        self.name = model or bundled.MODEL_NAME
        self._spec = None if model == bundled.MODEL_NAME else model  # the bundled model by name too
        self._cache_dir = cache_dir
        self._qp, self._pp = query_prefix, passage_prefix
        self.batch_size = batch_size
        self.int8 = int8
        self.query_threads = query_threads
        self.query_cache = query_cache
        self.device = device
        self.gpu_batch_size = gpu_batch_size
        self._model = None
        self._key: tuple = ()
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        """Load the model (installing the bundled one on first use)."""
        if self._model is not None:
            return
        with self._lock:
            if self._model is not None:
                return
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            from retrieval.embedding import model as bundled

            path = str(bundled.ensure_installed(self._cache_dir)) if self._spec is None else self._spec
            self.device = resolve_device(self.device)
            if self.device != "cpu":
                self.batch_size = self.gpu_batch_size
            st = _loaded(path, self.int8, self.device)
            self._key = (path, self.int8, id(st))
            prompts = getattr(st, "prompts", {}) or {}
            if self._qp is None:
                self._qp = prompts.get("query", "")
            if self._pp is None:
                self._pp = prompts.get("passage", prompts.get("document", ""))
            self._model = st

    @property
    def dim(self) -> int:
        self.warm_up()
        get = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        return int(get())

    @property
    def prefixes(self) -> tuple[str, str]:
        self.warm_up()
        return self._qp or "", self._pp or ""

    def _encode(self, texts: list[str], prefix: str, progress: bool) -> np.ndarray:
        self.warm_up()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vecs = self._model.encode(
            texts,
            prompt=prefix or None,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.ascontiguousarray(vecs, dtype=np.float32)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """L2-normalized query vectors; the query prefix is added here.

        With ``query_threads`` set, torch uses that many threads for this call only (a question
        is one short text: a second thread buys little, and threads spinning on a core another
        process is using make it several times slower; scripts/bench_query_threads.py measures both).
        With ``query_cache`` set, questions this process has encoded before are not encoded again.
        """
        self.warm_up()
        prefix = self.prefixes[0]
        keys = [(self._key, prefix, t) for t in texts]
        known: dict[int, np.ndarray] = {}
        if self.query_cache:
            with _QUERIES_LOCK:
                for i, k in enumerate(keys):
                    if k in _QUERIES:
                        _QUERIES.move_to_end(k)
                        known[i] = _QUERIES[k]
        todo = [i for i in range(len(texts)) if i not in known]
        fresh = self._encode_now([texts[i] for i in todo], prefix) if todo else None
        if not self.query_cache:
            return fresh if fresh is not None else np.zeros((0, self.dim), dtype=np.float32)
        with _QUERIES_LOCK:
            for j, i in enumerate(todo):
                known[i] = _QUERIES[keys[i]] = fresh[j].copy()
            while len(_QUERIES) > self.query_cache:
                _QUERIES.popitem(last=False)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([known[i] for i in range(len(texts))]).astype(np.float32, copy=False)

    def _encode_now(self, texts: list[str], prefix: str) -> np.ndarray:
        if not self.query_threads:
            return self._encode(texts, prefix, False)
        import torch

        with _THREADS:  # torch's thread count is the process's: one caller at a time changes it
            before = torch.get_num_threads()
            torch.set_num_threads(self.query_threads)
            try:
                return self._encode(texts, prefix, False)
            finally:
                torch.set_num_threads(before)

    def encode_phrases(self, texts: list[str]) -> np.ndarray:
        """Short phrases in bulk, encoded as questions are (their prefix) but with every core and
        without the question cache: a build's fact subjects, compared with questions' phrases."""
        return self._encode(texts, self.prefixes[0], False)

    def encode_passages(self, texts: list[str], progress: bool = False) -> np.ndarray:
        """L2-normalized passage vectors; the passage prefix is added here."""
        return self._encode(texts, self.prefixes[1], progress)

    def describe(self) -> dict:
        """Model name, prefixes and dimension, for the index manifest.

        For the bundled model this reads its folder's config, without loading torch, so a build
        with nothing to embed and opening an index stay fast.
        """
        from retrieval.embedding import model as bundled

        if self._spec is None and self._model is None:
            folder = bundled.ensure_installed(self._cache_dir)
            config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
            prompts = json.loads((folder / "config_sentence_transformers.json").read_text(encoding="utf-8"))["prompts"]
            qp = prompts.get("query", "") if self._qp is None else self._qp
            pp = prompts.get("passage", "") if self._pp is None else self._pp
            return {"name": self.name, "dim": int(config["hidden_size"]), "query_prefix": qp, "passage_prefix": pp,
                    "revision": bundled.revision(), **({"int8": True} if self.int8 else {})}
        qp, pp = self.prefixes
        rev = bundled.revision() if self._spec is None else None
        return {"name": self.name, "dim": self.dim, "query_prefix": qp, "passage_prefix": pp, "revision": rev,
                **({"int8": True} if self.int8 else {})}
