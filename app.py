"""policyqa in the browser: ask, read cited answers, filter, compare modes, open the source.

This page only draws; every decision is made in `retrieval/`.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import streamlit as st

from retrieval.access import is_loopback, may_change_index
from retrieval.answer.extractive import answer_question, facts_for
from retrieval.errors import UserError
from retrieval.index import Index, build_index, open_index
from retrieval.ingest import remove, save
from retrieval.progress import with_eta
from retrieval.reading import SUFFIXES
from retrieval.render import display_text, highlight, md_escape, term_spans
from retrieval.settings import DEFAULT, Settings
from retrieval.store import Filter, is_milvus, published_generation
from retrieval.store.local import is_index_folder
from retrieval.types import Answer, Hit

# a folder, or a Milvus index milvus://HOST:PORT/COLLECTION (POLICYQA_STORE wins)
INDEX = Path(os.environ.get("POLICYQA_STORE") or os.environ.get("POLICYQA_INDEX", "index"))
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
    """The served generation: a new build is picked up on the next rerun."""
    try:
        return float(published_generation(INDEX) or 0)
    except UserError:
        return -1.0


def build_ui(reason: str) -> None:
    """Build the index in the page, with progress."""
    st.info(md_escape(reason))
    bar = st.progress(0.0, text="Building the index…")
    draw = with_eta(lambda msg, f: bar.progress(f, text=md_escape(msg)))
    report = build_index(settings(), progress=False, on_progress=draw)
    st.success(md_escape(report.line()))
    for s in report.skipped:
        st.warning(md_escape(f"skipped {s.path}: {s.reason}"))


def get_index() -> Index | None:
    try:
        exists = published_generation(INDEX) is not None if is_milvus(INDEX) else is_index_folder(INDEX)
    except UserError as exc:  # a Milvus server that does not answer
        st.error(md_escape(exc))
        return None
    if not exists:
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
    facets = idx.store.facets()
    provinces = sorted({p for p, _c, _x in facets.regions if p})
    province = sb.selectbox("Province", ["(all)", *provinces], key="province")
    cities = sorted({c for p, c, _x in facets.regions if c and (province == "(all)" or p == province)})
    city = sb.selectbox("City", ["(all)", *cities], key="city")
    counties = sorted({x for _p, c, x in facets.regions if x and (city == "(all)" or c == city)})
    county = sb.selectbox("County / district / zone", ["(all)", *counties], key="county")
    docs = {d.doc_id: f"{d.title[:24]} ({d.doc_id})" for d in idx.store.list_documents()}
    chosen_docs = sb.multiselect("Documents", list(docs), format_func=docs.get, key="docs")
    chosen_outlets = sb.multiselect("Outlet", list(facets.outlets), key="outlets")
    date_range = None
    if facets.dates and facets.dates[0] < facets.dates[1]:
        first, last = date.fromisoformat(facets.dates[0]), date.fromisoformat(facets.dates[1])
        picked = sb.slider("Date", first, last, (first, last), key="dates")
        # the slider filters only once the analyst moves it: its full range keeps undated documents too
        date_range = None if tuple(picked) == (first, last) else picked
    simplified = sb.toggle("Show text in Simplified Chinese", key="simplified")
    return {"mode": mode, "k": k, "alpha": alpha, "province": province, "city": city, "county": county,
            "docs": chosen_docs, "outlets": chosen_outlets, "dates": date_range, "simplified": simplified}


def make_filter(f: dict) -> Filter | None:
    """The sidebar's choices as a declarative filter, or None when nothing is filtered."""
    region = next((f[x] for x in ("county", "city", "province") if f[x] != "(all)"), None)
    flt = Filter(
        regions=(region,) if region else (),
        doc_ids=tuple(f["docs"]),
        outlets=tuple(f["outlets"]),
        date_from=f["dates"][0].isoformat() if f["dates"] else None,
        date_to=f["dates"][1].isoformat() if f["dates"] else None,
    )
    return None if flt.is_empty() else flt


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
        rows.append({"region": it.region, "period": it.period, "value": it.value, "quote": it.quote,
                     "date": it.date, "outlet": it.outlet, "source": f"{it.title} ({it.doc_id})"})
    st.dataframe(rows, hide_index=True, width="stretch")
    for it in ans.items:
        page = idx.chunks[it.chunk_id].page
        where = " · ".join(x for x in (it.region, it.title, it.outlet, it.date, f"p. {page}" if page else "",
                                       it.doc_id) if x)
        st.html(f'<div class="pq-hit">「{quote_html(idx, it.doc_id, it.span, it.highlights, simplified)}」'
                f'<div class="pq-meta">{highlight(where, [])}</div></div>')


def hit_ui(idx: Index, hit: Hit, query: str, simplified: bool) -> None:
    c = hit.chunk
    meta = idx.documents[c.doc_id]
    legs = " · ".join(
        f"{name} rank {hit.ranks[name] if hit.ranks.get(name) else '–'}" for name in ("bm25", "dense")
    )
    page = f"p. {c.page}" if c.page else ""
    where = " · ".join(x for x in (c.section, c.region, meta.get("outlet") or "", meta.get("date") or "", page) if x)
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
    where = make_filter(f)
    if where is not None:
        st.caption("Filters are on: the answer and the passages come from matching documents only.")
    ans = answer_question(idx, question, mode=f["mode"], alpha=f["alpha"], where=where)
    answer_ui(idx, ans, f["simplified"])
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
    units = list(idx.store.facets().units)
    unit = c2.selectbox("Unit", ["(all)", *units], key="fact_unit")
    limit = DEFAULT.facts_shown
    facts = facts_for(idx, Filter(regions=(region,) if region else ()), unit=None if unit == "(all)" else unit,
                      limit=limit)
    rows = [{"region": f.region, "subject": f.subject, "value": f.value, "unit": f.unit, "period": f.period,
             "qualifier": f.qualifier, "quote": f.sentence, "source": f.doc_id} for f in facts]
    st.caption(f"the first {limit:,} stated figures: narrow by region or unit" if len(rows) == limit
               else f"{len(rows)} stated figures")
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
    info = idx.info
    st.write({
        "documents": info.counts["documents"], "chunks": info.counts["chunks"], "facts": info.counts["facts"],
        "vectors": info.counts.get("vectors"), "generation": info.generation,
        "model": info.model["name"], "dimension": info.model["dim"], "built at": info.built_at,
        "build seconds": info.build_seconds, "corpus": info.corpus,
    })
    skipped = [f"{s['path']} ({s['reason']})" for s in info.skipped]
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
    documents_ui(idx, allowed)


def documents_ui(idx: Index, allowed: bool) -> None:
    """The documents in the index; adding (uploads) and removing them when this visitor may change the index."""
    for line in st.session_state.pop("notices", []):
        st.warning(md_escape(line))
    docs = idx.store.list_documents()
    st.subheader(f"Documents ({len(docs)})")
    st.dataframe([{"document": d.doc_id, "title": d.title, "date": d.date or "", "outlet": d.outlet or "",
                   "format": d.format, "chunks": d.chunks} for d in docs], hide_index=True, width="stretch")
    if not allowed:
        return
    uploads = st.file_uploader("Add documents (web pages, PDF, Word, text)", accept_multiple_files=True,
                               type=[x.lstrip(".") for x in SUFFIXES], key="uploads")
    if uploads and st.button("Add and index", key="add"):
        results = save([(u.name, u.getvalue()) for u in uploads], settings())
        notices = [f"refused {r.name}: {r.reason}" for r in results if not r.ok]
        if any(r.ok for r in results):
            try:
                build_ui(f"Adding {sum(r.ok for r in results)} file(s); the current index keeps serving meanwhile.")
            except UserError as exc:
                notices.append(str(exc))
            load_index.clear()
        st.session_state["notices"] = notices
        st.rerun()
    chosen = st.selectbox("Remove a document", ["", *(d.doc_id for d in docs)], key="remove_doc")
    if chosen and st.button("Remove it from the corpus and the index", key="remove"):
        try:
            remove([chosen], settings())
            build_ui(f"Removing {chosen}.")
        except UserError as exc:
            st.session_state["notices"] = [str(exc)]
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
