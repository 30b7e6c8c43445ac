"""Open an index for searching: the store plus the encoder its vectors were made with.

``open_index(path).search("…", k=10, mode="hybrid")`` is the library's entry point;
``build_index(settings)`` (retrieval/build.py) brings an index up to date with a corpus.
"""

from __future__ import annotations

from pathlib import Path

from retrieval.build import BuildReport, build_index
from retrieval.embedding.encoder import Embedder, Encoder
from retrieval.errors import UserError
from retrieval.search.searcher import MODES, Legs, Searcher, has_content
from retrieval.settings import Settings
from retrieval.store import open_store
from retrieval.text import vocabulary

Index = Searcher

__all__ = ["MODES", "BuildReport", "Index", "Legs", "Searcher", "build_index", "has_content", "open_index"]


def open_index(
    path: str | Path = "index", settings: Settings | None = None, encoder: Encoder | None = None
) -> Searcher:
    """Open an index, checking that its model is the one this package would query it with."""
    settings = (settings or Settings()).with_(index=Path(path))
    store = open_store(path, nprobe=settings.nprobe, settings=settings)
    vocabulary.register(store.info().settings.get("vocabulary"))  # tokenize questions as the passages were
    model = store.info().model
    where = store.info().location
    rebuild = f"run `policyqa build --full --index {where}`"
    if encoder is None:
        from retrieval.embedding.model import MODEL_NAME, revision

        built = model.get("name")
        want = settings.model or (None if built == MODEL_NAME else built)
        if (want or MODEL_NAME) != built:
            raise UserError(f"index {where} was built with model {built}, not {want or MODEL_NAME}: {rebuild}")
        if want in (None, MODEL_NAME) and model.get("revision") != revision():
            raise UserError(f"index {where} was built with another build of {built}: {rebuild}")
        encoder = Embedder(want, query_prefix=model.get("query_prefix"), passage_prefix=model.get("passage_prefix"),
                           batch_size=settings.batch_size, int8=bool(model.get("int8")),  # as it was built
                           query_threads=settings.query_threads, query_cache=settings.query_cache,
                           device=settings.device, gpu_batch_size=settings.gpu_batch_size)
    elif encoder.name != model.get("name"):
        raise UserError(f"index {where} was built with model {model.get('name')}, not {encoder.name}: {rebuild}")
    elif model.get("dim") and getattr(encoder, "dim", model["dim"]) != model["dim"]:
        raise UserError(f"index {where} holds {model['dim']}-dimensional vectors, the encoder makes {encoder.dim}: "
                        f"{rebuild}")
    return Searcher(store, encoder, settings)
