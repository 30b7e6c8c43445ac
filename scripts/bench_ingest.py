"""Issue #11 figures: the readers per format on the seed articles rendered as real files.

    .venv/bin/python scripts/bench_ingest.py            # reading: recovery, chrome leaked, speed
    .venv/bin/python scripts/bench_ingest.py --eval     # also index each format and run the seed gold

Writes the seed corpus as .txt, .html (news page with chrome), .pdf (A5, CJK font, running header,
page numbers) and .docx (heading styles, a table of figures) into a temporary folder with
eval/formats.py, plus the nested-div page with a sidebar ("html-sidebar") and PDFs set in blocks
parted by space instead of indents ("pdf-block"), and prints per format:
.txt body paragraphs recovered (definition in ``eval.formats.recovered``), content lines
carrying chrome, and reading speed (files/s; pages/s for PDF), the best of --repeat runs.
With --eval (loads the real model, takes minutes): per format corpus (--formats, default txt,
html, pdf, docx), hybrid MRR@10, recall@5 and answer accuracy of the seed gold set. The html and
docx corpora carry an extra table of the article's figures (rows lifted from its text), so they
have more chunks and facts than the .txt; html-sidebar and pdf have none.
"""

from __future__ import annotations

import argparse
import io
import logging
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
log = logging.getLogger("bench_ingest")


def _pages(path: Path) -> int:
    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(path.read_bytes())).pages)


def reading_table(folders: dict[str, Path], repeat: int) -> None:
    from eval.formats import leaked, recovered
    from retrieval.reading import find_files, read_path

    txt = {p.stem: read_path(p, folders["txt"]) for p in find_files(folders["txt"])}
    print(f"{'format':13s} {'files':>5s} {'paragraphs recovered':>22s} {'chrome leaked':>14s} {'files/s':>9s} "
          f"{'pages/s':>9s}")
    for fmt, folder in folders.items():
        files = find_files(folder)
        best = float("inf")
        for _ in range(repeat):
            t0 = time.perf_counter()
            docs = [read_path(p, folder) for p in files]
            best = min(best, time.perf_counter() - t0)
        found = total = leaks = 0
        for p, doc in zip(files, docs, strict=True):
            f, n = recovered(txt[p.stem], doc)
            found, total, leaks = found + f, total + n, leaks + len(leaked(doc))
        pages = sum(_pages(p) for p in files) if fmt.startswith("pdf") else 0
        rate = f"{pages / best:9.1f}" if pages else f"{'':>9s}"
        print(f"{fmt:13s} {len(files):5d} {f'{found}/{total} ({found / total:.1%})':>22s} {leaks:14d} "
              f"{len(files) / best:9.1f} {rate}" + (f"   ({pages} pages)" if pages else ""))


def eval_table(folders: dict[str, Path], work: Path) -> None:
    from retrieval.evaluation import run_eval
    from retrieval.index import build_index, open_index
    from retrieval.settings import Settings

    print(f"\n{'format':13s} {'chunks':>6s} {'hybrid MRR@10':>14s} {'recall@5':>9s} {'answers':>9s} {'build s':>8s}")
    for fmt, folder in folders.items():
        settings = Settings(corpus=folder, index=work / f"index-{fmt}")
        t0 = time.perf_counter()
        build_index(settings, progress=False)
        built = time.perf_counter() - t0
        index = open_index(settings.index, settings)
        rep = run_eval(gold=ROOT / "eval/gold/seed", settings=settings, modes=["hybrid"], out_dir=work,
                       write=False, index=index)
        ans = rep.answers.get("all", {})
        print(f"{fmt:13s} {index.info.counts['chunks']:6d} {rep.modes['hybrid']['mrr@10']:14.3f} "
              f"{rep.modes['hybrid']['recall@5']:9.3f} {ans.get('correct', 0):>4d}/{ans.get('n', 0):<4d} {built:8.1f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--eval", action="store_true", help="also build an index per format and run the seed gold")
    ap.add_argument("--repeat", type=int, default=3, help="reading runs per format; the best is reported")
    ap.add_argument("--formats", default="txt,html,pdf,docx",
                    help="format corpora --eval indexes (also html-sidebar, pdf-block), comma-separated")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    for noisy in ("sentence_transformers", "transformers", "jieba", "trafilatura", "htmldate"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    from eval.formats import load_articles, render_pdf, render_sidebar_html, write_corpora

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        folders = write_corpora(ROOT / "corpus", work / "corpora")
        extra = {
            "html-sidebar": (render_sidebar_html, "html"),
            "pdf-block": (lambda a: render_pdf(a, indent=False), "pdf"),
        }
        for name, (render, suffix) in extra.items():
            folder = work / "corpora" / name
            folder.mkdir()
            for _, a in load_articles(ROOT / "corpus"):
                (folder / f"{a.name}.{suffix}").write_bytes(render(a))
        folders |= {name: work / "corpora" / name for name in extra}
        reading_table(folders, args.repeat)
        if args.eval:
            eval_table({f: folders[f] for f in args.formats.split(",")}, work)


if __name__ == "__main__":
    main()
