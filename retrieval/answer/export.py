"""An answer (or many) written out: JSON as `policyqa ask --json` prints it, CSV rows, Markdown.

JSON keeps every quote verbatim (``quote.text`` is ``documents[doc_id].text[start:end]``);
CSV and Markdown are for people, so their quotes and passages are readable (pinyin notes
removed, script kept) unless ``original=True``.
"""

from __future__ import annotations

import csv
import io
import json

from retrieval.payload import answer_payload
from retrieval.render import readable
from retrieval.types import Answer, Hit

ANSWER_COLUMNS = ("question", "kind", "supported", "answer", "region", "period", "value", "subject", "quote",
                  "title", "outlet", "date", "doc_id", "chunk_id", "start", "end")
PASSAGE_COLUMNS = ("rank", "score", "doc_id", "chunk_id", "title", "section", "region", "page", "start", "end",
                   "text")


def answer_json(ans: Answer) -> dict:
    """The answer as one `policyqa ask --json` line (`retrieval.payload.answer_payload`)."""
    return answer_payload(ans)


def answer_rows(ans: Answer, original: bool = False) -> list[dict]:
    """One row per item (region, value, quote, source); one row with the answer alone when it has none."""
    head = {"question": ans.question, "kind": ans.kind, "supported": ans.supported, "answer": ans.answer}
    if not ans.items:  # no item: empty text, no offsets (a table's column keeps one type)
        return [{c: head.get(c, None if c in ("start", "end") else "") for c in ANSWER_COLUMNS}]
    return [{**head, "region": i.region, "period": i.period, "value": i.value, "subject": i.subject,
             "quote": readable(i.quote, original=original), "title": i.title, "outlet": i.outlet, "date": i.date,
             "doc_id": i.doc_id, "chunk_id": i.chunk_id, "start": i.span[0], "end": i.span[1]}
            for i in ans.items]


def passage_rows(hits: list[Hit] | tuple[Hit, ...], original: bool = False) -> list[dict]:
    """The passages (ranked hits) as rows, text readable unless ``original``."""
    return [{"rank": h.rank, "score": round(h.score, 6), "doc_id": h.chunk.doc_id, "chunk_id": h.chunk.chunk_id,
             "title": readable(h.chunk.title, original=original),
             "section": readable(h.chunk.section, original=original),
             "region": h.chunk.region, "page": h.chunk.page, "start": h.chunk.start, "end": h.chunk.end,
             "text": readable(h.chunk.text, original=original)} for h in hits]


def to_csv(rows: list[dict], columns: tuple[str, ...] | None = None) -> str:
    """CSV text with a header row (columns: the given ones, else the first row's keys)."""
    buf = io.StringIO()
    cols = list(columns or (rows[0] if rows else ()))
    w = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def answer_csv(ans: Answer, original: bool = False) -> str:
    return to_csv(answer_rows(ans, original), ANSWER_COLUMNS)


def passages_csv(hits: list[Hit] | tuple[Hit, ...], original: bool = False) -> str:
    return to_csv(passage_rows(hits, original), PASSAGE_COLUMNS)


def answer_json_text(ans: Answer) -> str:
    """The JSON export: the `ask --json` object, indented for reading."""
    return json.dumps(answer_json(ans), ensure_ascii=False, indent=2, allow_nan=False)


def _md(text: str) -> str:
    """Text for a Markdown table cell or line: pipes, backslashes, HTML and newlines made harmless."""
    flat = " ".join(str(text).split()).replace("\\", "\\\\").replace("|", "\\|").replace("`", "\\`")
    return flat.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def answer_markdown(ans: Answer, original: bool = False) -> str:
    """The answer, a table of its items and each quote with its source, as Markdown."""
    lines = [f"# {_md(ans.question)}", "", _md(ans.answer), ""]
    if ans.items:
        lines += ["| region | period | value | source | date |", "|---|---|---|---|---|"]
        for i in ans.items:
            lines.append(f"| {_md(i.region)} | {_md(i.period)} | {_md(i.value)} | {_md(i.title)} ({_md(i.doc_id)}) "
                         f"| {_md(i.date)} |")
        lines += ["", "## Quotes", ""]
        for n, i in enumerate(ans.items, start=1):
            where = ", ".join(_md(x) for x in (i.region, i.title, i.outlet, i.date, i.doc_id) if x)
            lines += [f"{n}. > {_md(readable(i.quote, original=original))}", f"   — {where}", ""]
    if ans.evidence:
        lines += ["## Passages", ""]
        for h in ans.evidence:
            lines.append(f"{h.rank}. {_md(readable(h.chunk.text, original=original))[:300]} "
                         f"({_md(h.chunk.doc_id)})")
    return "\n".join(lines).rstrip() + "\n"
