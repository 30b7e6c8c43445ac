"""The Milvus store with the bundled model: the seed gold through search and ask, as the local store.

Its own file (not tests/test_milvus.py) so that a second test worker runs it beside the rest of
the Milvus tests; it starts its own milvus-lite server (the `lite` fixture, tests/conftest.py).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest
from test_milvus import GOLD, needs_milvus

from retrieval.settings import Settings


@needs_milvus
@pytest.mark.model
def test_seed_gold_with_the_real_model_through_search_and_ask(lite, real_index, capsys):
    """The bundled model: the seed gold through Milvus (vectors reused from the local build's cache)."""
    import json

    from retrieval.cli import main
    from retrieval.evaluation import run_eval
    from retrieval.index import build_index, open_index
    url = f"{lite.url}/real"
    settings = real_index.settings.with_(index=Path(url))
    seed_cache(url, real_index.settings.index, real_index.info.model)
    report = build_index(settings, progress=False)
    assert report.embedded == 0 and report.chunks == real_index.info.counts["chunks"]
    milvus = open_index(url, settings)
    a = run_eval(GOLD, real_index.settings, ["hybrid"], write=False, index=real_index)
    b = run_eval(GOLD, settings, ["hybrid"], write=False, index=milvus)
    for m in ("mrr@10", "recall@5"):
        assert abs(a.modes["hybrid"][m] - b.modes["hybrid"][m]) <= 0.02, m
    assert b.answers["all"]["correct"] == a.answers["all"]["correct"]
    assert main(["search", "--store", url, "--k", "3", "--json", "哪些地区提出了9.5%的增长目标"]) == 0
    hits = json.loads(capsys.readouterr().out)["hits"]
    assert any(h["text"].startswith("廣安區(qū)將緊扣") for h in hits)
    assert main(["ask", "--store", url, "--json", "Which regions set 9.5% targets?"]) == 0
    assert [i["region"] for i in json.loads(capsys.readouterr().out)["items"]] == ["广安区", "岳池县"]


def seed_cache(url: str, folder: Path, model: dict) -> int:
    """Copy a local index's embedding cache into the Milvus store's cache collection."""
    from retrieval.store.milvus import Names, connect, ensure_collections
    from retrieval.store.milvus_expr import parse_url

    u = parse_url(url)
    client = connect(u, 10.0)
    dim = int(model["dim"])
    ensure_collections(client, Names(u.name), dim, Settings(), {"k1": 1.2, "b": 0.75})
    with sqlite3.connect(folder / "store.sqlite") as db:
        rows = [{"key": k.hex(), "vec": np.frombuffer(v, np.float32).tolist()}
                for k, v in db.execute("SELECT key, vec FROM embed_cache")]
    for i in range(0, len(rows), 500):
        client.upsert(Names(u.name).cache(dim), rows[i:i + 500])
    client.close()
    return len(rows)
