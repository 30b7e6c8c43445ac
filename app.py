"""policyqa in the browser: ask, read cited answers, filter, compare modes, open the source.

This page only draws; every decision is made in `retrieval/`.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import streamlit as st

from retrieval.access import is_loopback, may_change_index
from retrieval.answer.extractive import answer_question, filter_facts
from retrieval.errors import UserError
from retrieval.index import Index, build_index, open_index
from retrieval.progress import with_eta
from retrieval.reading.files import Skipped, with_unlisted
from retrieval.render import display_text, highlight, md_escape, term_spans
from retrieval.settings import Settings
from retrieval.types import Answer, Chunk, Hit

INDEX = Path(os.environ.get("POLICYQA_INDEX", "index"))
CORPUS = Path(os.environ.get("POLICYQA_CORPUS", "corpus"))
CSS = """<style>
mark { background: #ffe58a; padding: 0 1px; }
.pq-hit { border-left: 3px solid #d0d7de; padding: 4px 10px; margin: 6px 0 14px 0; line-height: 1.7; }
.pq-meta { color: #57606a; font-size: 0.85em; }
.pq-answer { font-size: 1.15em; font-weight: 600; }
</style>"""


def settings() -> Settings:
    return Settings(corpus=CORPUS, index=INDEX)


@st.cache_resource(show_spinner="Loading the model and the index…")
def load_index(index: str, stamp: float) -> Index:
    """One Index per process, shared by every session (searching does not change it)."""
    idx = open_index(Path(index), settings())
    idx.search("预热", k=1)  # load the model now, not on the first question
    idx.english_terms("Warm up")  # and the English lexicon (CEDICT, pinyin of the vocabulary)
    return idx


def index_stamp() -> float:
    path = INDEX / "manifest.json"
    return path.stat().st_mtime if path.exists() else 0.0


@st.cache_data(show_spinner=False)
def skipped_lines(recorded: list[dict], corpus: str, stamp: float) -> list[str]:
    """What the build skipped plus what a corpus scan names that it did not see, once per build."""
    return [f"{s.path} ({s.reason})" for s in with_unlisted([Skipped(**r) for r in recorded], Path(corpus))]


def build_ui(reason: str) -> None:
    """Build the index in the page, with progress."""
    st.info(md_escape(reason))
    bar = st.progress(0.0, text="Building the index…")
    draw = with_eta(lambda msg, f: bar.progress(f, text=md_escape(msg)))
    report = build_index(settings(), progress=False, on_progress=draw)
    st.success(md_escape(report.line()))
    for s in with_unlisted(report.skipped, CORPUS):
        st.warning(md_escape(f"skipped {s.path}: {s.reason}"))


def get_index() -> Index | None:
    if not (INDEX / "manifest.json").exists():
        try:
            build_ui(f"No index at {INDEX} yet: building it from {CORPUS} (once).")
        except UserError as exc:
            st.error(md_escape(exc))
            return None
    try:
        return load_index(str(INDEX), index_stamp())
    except UserError as exc:
        st.error(md_escape(exc))
        return None


def sidebar_ui(idx: Index) -> dict:
    sb = st.sidebar
    sb.header("Search")
    mode = sb.radio("Mode", ["hybrid", "dense", "bm25"], horizontal=True, key="mode")
    k = sb.slider("Results", 1, 30, 10, key="k")
    alpha = sb.slider("Fusion weight (dense share)", 0.0, 1.0, float(idx.settings.alpha), 0.05, key="alpha")
    sb.header("Filters")
    provinces = sorted({c.province for c in idx.chunks if c.province})
    province = sb.selectbox("Province", ["(all)", *provinces], key="province")
    cities = sorted({c.city for c in idx.chunks if c.city and (province == "(all)" or c.province == province)})
    city = sb.selectbox("City", ["(all)", *cities], key="city")
    counties = sorted({c.county for c in idx.chunks if c.county and (city == "(all)" or c.city == city)})
    county = sb.selectbox("County / district / zone", ["(all)", *counties], key="county")
    docs = {d: f"{m['title'][:24]} ({d})" for d, m in idx.documents.items()}
    chosen_docs = sb.multiselect("Documents", list(docs), format_func=docs.get, key="docs")
    outlets = sorted({m["outlet"] for m in idx.documents.values() if m.get("outlet")})
    chosen_outlets = sb.multiselect("Outlet", outlets, key="outlets")
    dates = sorted(date.fromisoformat(m["date"]) for m in idx.documents.values() if m.get("date"))
    date_range = None
    if dates and dates[0] < dates[-1]:
        date_range = sb.slider("Date", dates[0], dates[-1], (dates[0], dates[-1]), key="dates")
    simplified = sb.toggle("Show text in Simplified Chinese", key="simplified")
    return {"mode": mode, "k": k, "alpha": alpha, "province": province, "city": city, "county": county,
            "docs": chosen_docs, "outlets": chosen_outlets, "dates": date_range, "simplified": simplified}


def make_filter(idx: Index, f: dict):
    """A chunk predicate from the sidebar, or None when nothing is filtered."""
    def keep(c: Chunk) -> bool:
        meta = idx.documents[c.doc_id]
        if f["province"] != "(all)" and c.province != f["province"]:
            return False
        if f["city"] != "(all)" and c.city != f["city"]:
            return False
        if f["county"] != "(all)" and c.county != f["county"]:
            return False
        if f["docs"] and c.doc_id not in f["docs"]:
            return False
        if f["outlets"] and meta.get("outlet") not in f["outlets"]:
            return False
        if f["dates"] and meta.get("date"):
            d = date.fromisoformat(meta["date"])
            return f["dates"][0] <= d <= f["dates"][1]
        return True

    active = any(f[x] != "(all)" for x in ("province", "city", "county")) or f["docs"] or f["outlets"]
    return keep if active or f["dates"] else None


def quote_html(idx: Index, doc_id: str, span: tuple[int, int], marks, simplified: bool) -> str:
    text = idx.documents[doc_id]["text"][span[0] : span[1]]
    local = [(a - span[0], b - span[0]) for a, b in marks]
    shown, remap = display_text(text, simplified)
    return highlight(shown, remap(local))


def answer_ui(idx: Index, ans: Answer, simplified: bool) -> None:
    st.html(f'<div class="pq-answer">{highlight(ans.answer, [])}</div>')
    if not ans.items:
        return
    rows = []
    for it in ans.items:
        meta = idx.documents[it.doc_id]
        rows.append({"region": it.region, "period": it.period, "value": it.value, "quote": it.quote,
                     "source": f"{meta['title']} ({it.doc_id})"})
    st.dataframe(rows, hide_index=True, width="stretch")
    for it in ans.items:
        st.html(f'<div class="pq-hit">「{quote_html(idx, it.doc_id, it.span, it.highlights, simplified)}」'
                f'<div class="pq-meta">{highlight(it.region, [])} · {highlight(it.doc_id, [])}</div></div>')


def hit_ui(idx: Index, hit: Hit, query: str, simplified: bool) -> None:
    c = hit.chunk
    meta = idx.documents[c.doc_id]
    legs = " · ".join(
        f"{name} rank {hit.ranks[name] if hit.ranks.get(name) else '–'}" for name in ("bm25", "dense")
    )
    where = " · ".join(x for x in (c.section, c.region, meta.get("outlet") or "", meta.get("date") or "") if x)
    shown, remap = display_text(c.text, simplified)
    body = highlight(shown, remap(term_spans(c.text, query)))
    st.html(
        f'<div class="pq-hit"><b>{hit.rank}. {highlight(c.title, [])}</b>'
        f'<div class="pq-meta">{highlight(where, [])}</div>{body}'
        f'<div class="pq-meta">fused {hit.score:.3f} · {legs}{" · mojibake" if c.mojibake else ""}</div></div>'
    )


def document_ui(idx: Index, hits: list[Hit], simplified: bool) -> None:
    """The whole article with the chosen hit's paragraph marked and scrolled to."""
    options = {h.chunk.chunk_id: f"{h.rank}. {h.chunk.doc_id} · {h.chunk.section or h.chunk.title[:20]}"
               for h in hits}
    chosen = st.selectbox("Open the source of", list(options), format_func=options.get, key="open_doc")
    if not chosen:
        return
    c = idx.chunks[idx.by_id[chosen]]
    text = idx.documents[c.doc_id]["text"]
    before, para, after = text[: c.start], text[c.start : c.end], text[c.end :]
    show = (lambda s: display_text(s, True)[0]) if simplified else (lambda s: s)
    body = (highlight(show(before), []) + '<mark id="hit">' + highlight(show(para), []) + "</mark>"
            + highlight(show(after), [])).replace("\n", "<br>")
    # corpus text is escaped above; the only script is ours, to scroll to the paragraph
    st.iframe(
        f'<div style="font-family:sans-serif;line-height:1.7">{body}</div>'
        '<script>document.getElementById("hit").scrollIntoView({block: "center"});</script>',
        height=420,
    )


def ask_tab(idx: Index, f: dict) -> None:
    question = st.text_input("Question (Chinese in either script, or English)", key="question",
                             placeholder="哪些地区提出了9.5%的增长目标?")
    if not question.strip():
        st.caption("Try: 哪些地区提出了9.5%的增长目标? · 河北哪些城市一季度预期增速低于全年目标 · "
                   "Which regions set 9.5% targets?")
        return
    where = make_filter(idx, f)
    if where is None:
        ans = answer_question(idx, question, mode=f["mode"], alpha=f["alpha"])
        answer_ui(idx, ans, f["simplified"])
    else:
        st.caption("Filters are on: showing matching passages (answers use the whole corpus).")
    hits = idx.search(question, k=f["k"], mode=f["mode"], alpha=f["alpha"], where=where)
    st.subheader(f"Passages ({f['mode']})")
    if not hits:
        st.write("No passages match." if question.strip() else "")
        return
    for h in hits:
        hit_ui(idx, h, question, f["simplified"])
    with st.expander("Document view", expanded=False):
        document_ui(idx, hits, f["simplified"])


def figures_tab(idx: Index) -> None:
    c1, c2 = st.columns(2)
    region = c1.text_input("Region (e.g. 广安市, 岳池县)", key="fact_region")
    units = sorted({f.unit for f in idx.facts})
    unit = c2.selectbox("Unit", ["(all)", *units], key="fact_unit")
    facts = filter_facts(idx.facts, region=region or None, unit=None if unit == "(all)" else unit)
    rows = [{"region": f.region, "subject": f.subject, "value": f.value, "unit": f.unit, "period": f.period,
             "qualifier": f.qualifier, "quote": f.sentence, "source": f.doc_id} for f in facts]
    st.caption(f"{len(rows)} stated figures")
    st.dataframe(rows, hide_index=True, width="stretch")
    import csv
    import io

    buf = io.StringIO()
    if rows:
        w = csv.DictWriter(buf, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    st.download_button("Download CSV", buf.getvalue().encode("utf-8-sig"), "policyqa-figures.csv", "text/csv")


def index_tab(idx: Index) -> None:
    m = idx.manifest
    st.write({
        "documents": m["counts"]["documents"], "chunks": m["counts"]["chunks"], "facts": m["counts"]["facts"],
        "model": m["model"]["name"], "dimension": m["model"]["dim"], "built at": m["built_at"],
        "build seconds": m["build_seconds"], "corpus": m["corpus"], "corpus hash": m["corpus_hash"][:16],
    })
    skipped = skipped_lines(m["skipped"], str(CORPUS), index_stamp())
    if skipped:
        st.warning(md_escape("Skipped files: " + "; ".join(skipped)))
    address = st.get_option("server.address")
    token = None if is_loopback(address) else st.text_input(
        "Admin token (the app listens beyond this machine; env POLICYQA_ADMIN_TOKEN)", type="password", key="token")
    allowed = may_change_index(address, token, settings().admin_token)
    if not allowed:
        st.caption("Rebuilding needs the admin token here." if settings().admin_token else
                   "Rebuilding is off: the app listens beyond this machine and POLICYQA_ADMIN_TOKEN is not set.")
    if st.button("Rebuild the index", key="rebuild", disabled=not allowed) and allowed:
        try:
            build_ui("Rebuilding; the current index keeps serving until the new one is complete.")
        except UserError as exc:
            st.error(md_escape(exc))
            return
        load_index.clear()
        st.rerun()


def main() -> None:
    st.set_page_config(page_title="policyqa", layout="wide")
    st.html(CSS)
    st.title("policyqa")
    idx = get_index()
    if idx is None:
        return
    f = sidebar_ui(idx)
    ask, figures, index = st.tabs(["Ask", "Figures", "Index"])
    with ask:
        ask_tab(idx, f)
    with figures:
        figures_tab(idx)
    with index:
        index_tab(idx)


main()
