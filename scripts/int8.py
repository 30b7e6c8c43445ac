"""Dynamic int8 quantization of the encoder against fp32 (issue 9, item 5b): speed, cosine, gold MRR.

    .venv/bin/python scripts/int8.py [--n 600] [--gold eval/gold/seed]

``Settings.encoder_int8`` (``Embedder(int8=True)``): torch's dynamic quantization
(``torch.ao.quantization.quantize_dynamic``, the Linear layers' weights in int8, activations
quantized per batch) on the bundled model, as the issue's ONNX int8 measurement did. Prints
paragraphs/s of both on ``--n`` People's Daily paragraphs (batch size from Settings), the cosine
of each int8 vector to its fp32 vector, and hybrid / dense MRR@10 and Recall@5 of the gold set
on an index built with each. The rule (README): int8 is offered as an opt-in setting only if
hybrid MRR@10 moves by at most 0.005. Run with nothing else busy.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def rate(enc, texts: list[str]) -> tuple[float, np.ndarray]:
    enc.encode_passages(texts[:16])  # warm
    t0 = time.perf_counter()
    vecs = enc.encode_passages(texts)
    return len(texts) / (time.perf_counter() - t0), vecs


def main() -> None:
    from eval.datasets import peoples_daily_lines
    from retrieval.embedding.encoder import Embedder
    from retrieval.evaluation import load_gold, run_eval
    from retrieval.index import build_index, open_index
    from retrieval.settings import Settings

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=600)
    ap.add_argument("--gold", default="eval/gold/seed")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    paras = [p for p in peoples_daily_lines() if len(p) >= 20][: args.n]
    bs = Settings().batch_size
    fp32 = Embedder(batch_size=bs)
    fp32.warm_up()
    int8 = Embedder(batch_size=bs, int8=True)
    int8.warm_up()
    r32, v32 = rate(fp32, paras)
    r8, v8 = rate(int8, paras)
    cos = np.sum(v32 * v8, axis=1)
    print(f"{len(paras)} People's Daily paragraphs, batch {bs}: fp32 {r32:.1f}/s, int8 {r8:.1f}/s "
          f"({r8 / r32:.2f}x); cosine int8 to fp32 min {cos.min():.4f}, mean {cos.mean():.4f}")
    gs = load_gold(ROOT / args.gold)
    print(f"| encoder | hybrid MRR@10 | hybrid R@5 | dense MRR@10 | dense R@5 |  ({gs.name} gold)")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name, enc in (("fp32", fp32), ("int8", int8)):
            s = Settings(corpus=gs.corpus, index=Path(tmp) / name)
            build_index(s, encoder=enc, progress=False)
            idx = open_index(s.index, s, encoder=enc)
            rep = run_eval(ROOT / args.gold, s, ["hybrid", "dense"], write=False, index=idx)
            h, d = rep.modes["hybrid"], rep.modes["dense"]
            print(f"| {name} | {h['mrr@10']:.3f} | {h['recall@5']:.3f} | {d['mrr@10']:.3f} | {d['recall@5']:.3f} |",
                  flush=True)
            idx.close()


if __name__ == "__main__":
    main()
