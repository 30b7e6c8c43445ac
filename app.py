"""policyqa in the browser: ask, read cited answers on a chart and a map, filter, share, export, batch.

This page only draws; every decision is made in `retrieval/`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pandas as pd
import streamlit as st

from retrieval.access import is_loopback, may_change_index
from retrieval.answer import chart_data
from retrieval.answer.batch import answer_batch, batch_rows, read_questions
from retrieval.answer.china_map import map_chart
from retrieval.answer.export import (
    ANSWER_COLUMNS,
    answer_csv,
    answer_json_text,
    answer_markdown,
    passages_csv,
    to_csv,
)
from retrieval.answer.extractive import answer_question, facts_for
from retrieval.errors import OutdatedIndex, user_message
from retrieval.index import Index, build_index, open_index
from retrieval.ingest import remove, save
from retrieval.progress import with_eta
from retrieval.reading import SUFFIXES
from retrieval.render import display_text, highlight, md_escape, term_spans
from retrieval.settings import DEFAULT, Settings
from retrieval.store import Filter, is_milvus, published_generation
from retrieval.store.base import DocInfo, Facets
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
MODES = ["hybrid", "dense", "bm25"]
HISTORY = 20  # questions kept in the sidebar
# Charts are Vega-Lite specs (what Altair writes), built as dicts: Altair's objects validate every
# channel against the schema as they are made, about 50 ms a chart on two cores, on every rerun.
TOOLTIP = chart_data.TOOLTIP
Q, N = "quantitative", "nominal"


def settings() -> Settings:
    return Settings(corpus=CORPUS, index=INDEX)


@contextlib.contextmanager
def shown_errors() -> Iterator[None]:
    """Any failure of a library call as one line on the page; the rest of the page keeps working."""
    try:
        yield
    except Exception as exc:  # every error, not only UserError, is one line, never a traceback
        st.error(md_escape(user_message(exc)))


@st.cache_resource(show_spinner="Loading the model and the index…")
def load_index(index: str, stamp: float) -> Index:
    """One Index per process, shared by every session (searching does not change it)."""
    idx = open_index(Path(index), settings())
    idx.search("预热", k=1)  # load the model now, not on the first question
    idx.english_terms("Warm up")  # and the English lexicon (CEDICT, pinyin of the vocabulary)
    return idx


@st.cache_resource(max_entries=4)
def facets(_idx: Index, key: int) -> Facets:
    """The index's regions, outlets, dates and units: fixed for an open index (one generation)."""
    return _idx.store.facets()


@st.cache_resource(max_entries=4)
def documents(_idx: Index, key: int) -> list[DocInfo]:
    """The index's documents (read-only: shared by every session)."""
    return _idx.store.list_documents()


@st.cache_resource(max_entries=32)
def figure_rows(_idx: Index, key: int, where: Filter, unit: str | None, sidebar_region: str | None,
                simplified: bool, original: bool) -> tuple[list[dict], bool]:
    """The figures tab's rows (read-only: shared by every session) for a filter and a unit, and
    whether the store's limit cut them."""
    facts = facts_for(_idx, where, unit=unit, limit=DEFAULT.facts_shown)
    cut = len(facts) >= DEFAULT.facts_shown
    if sidebar_region and where.regions and where.regions[0] != sidebar_region:  # the tab's region and the sidebar's
        facts = [x for x in facts if sidebar_region in (x.province, x.city, x.county, x.region)]
    return chart_data.fact_rows(_idx, facts, simplified, original), cut


def index_stamp() -> float:
    """The served generation: a new build is picked up on the next rerun."""
    try:
        return float(published_generation(INDEX) or 0)
    except Exception:  # get_index() reports it
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
        if not exists:
            build_ui(f"No index at {INDEX} yet: building it from {CORPUS} (once).")
        try:
            return load_index(str(INDEX), index_stamp())
        except OutdatedIndex:  # written by an older version: rebuilt from its embedding cache
            build_ui(f"The index at {INDEX} was written by an older version: rebuilding it from {CORPUS} (once).")
            return load_index(str(INDEX), index_stamp())
    except Exception as exc:  # a Milvus server that does not answer, a damaged index, ...
        st.error(md_escape(user_message(exc)))
        return None


# -- the URL and the history: a question with its filters is a link ---------------------------------------


def region_keys(idx: Index, region: str) -> dict[str, str]:
    """The province / city / county selectboxes that pick ``region`` (empty when the index lacks it)."""
    for p, c, x in facets(idx, id(idx)).regions:
        for level, name in (("county", x), ("city", c), ("province", p)):
            if name == region:
                keys = {"province": p, "city": c if level != "province" else "(all)",
                        "county": x if level == "county" else "(all)"}
                return {k: v or "(all)" for k, v in keys.items()}
    return {}


def url_state(idx: Index, params: dict[str, list[str]]) -> dict:
    """Session-state values for the widgets from a link's parameters (unknown values are ignored)."""
    one = {k: v[-1] for k, v in params.items() if v}
    state: dict = {"question": one.get("q", "")}
    if one.get("mode") in MODES:
        state["mode"] = one["mode"]
    if one.get("k", "").isdigit():
        state["k"] = min(30, max(1, int(one["k"])))
    state.update(region_keys(idx, one.get("region", "")))
    docs = {d.doc_id for d in documents(idx, id(idx))}
    state["docs"] = [d for d in params.get("doc", []) if d in docs]
    state["outlets"] = [o for o in params.get("outlet", []) if o in facets(idx, id(idx)).outlets]
    dates = facets(idx, id(idx)).dates
    if dates and dates[0] < dates[1] and ("since" in one or "until" in one):
        first, last = date.fromisoformat(dates[0]), date.fromisoformat(dates[1])
        with contextlib.suppress(ValueError):
            since = date.fromisoformat(one.get("since", dates[0]))
            until = date.fromisoformat(one.get("until", dates[1]))
            state["dates"] = (min(max(since, first), last), max(min(until, last), first))
    return state


def apply_url(idx: Index) -> None:
    """Once per session, before the widgets exist: a shared link's question and filters."""
    if st.session_state.get("_url_applied"):
        return
    st.session_state["_url_applied"] = True
    params = {k: st.query_params.get_all(k) for k in st.query_params}
    if params:
        st.session_state.update(url_state(idx, params))


def link_params(question: str, f: dict) -> dict[str, str | list[str]]:
    """The URL's parameters for a question and the sidebar's filters (defaults left out)."""
    region = next((f[x] for x in ("county", "city", "province") if f[x] != "(all)"), None)
    out: dict[str, str | list[str]] = {"q": question}
    if f["mode"] != "hybrid":
        out["mode"] = f["mode"]
    if f["k"] != DEFAULT.k:
        out["k"] = str(f["k"])
    if region:
        out["region"] = region
    if f["docs"]:
        out["doc"] = list(f["docs"])
    if f["outlets"]:
        out["outlet"] = list(f["outlets"])
    if f["dates"]:
        out["since"], out["until"] = f["dates"][0].isoformat(), f["dates"][1].isoformat()
    return out


def remember(question: str, f: dict) -> None:
    """The URL follows the question; the question goes to the top of the session's history."""
    params = link_params(question, f) if question.strip() else {}
    if {k: st.query_params.get_all(k) for k in st.query_params} != {
            k: v if isinstance(v, list) else [v] for k, v in params.items()}:
        st.query_params.from_dict(params)
    if not question.strip():
        return
    history = [h for h in st.session_state.get("history", []) if h != params]
    st.session_state["history"] = [params, *history][:HISTORY]


def restore(idx: Index, params: dict) -> None:
    """A history entry back into the widgets (a button callback: runs before the next run draws them)."""
    defaults = {"mode": "hybrid", "k": DEFAULT.k, "province": "(all)", "city": "(all)", "county": "(all)",
                "docs": [], "outlets": [], "dates": None}
    state = url_state(idx, {k: v if isinstance(v, list) else [v] for k, v in params.items()})
    st.session_state["tab"] = "Ask"  # where the question is answered
    for key, value in {**defaults, **state}.items():
        if key == "dates" and value is None:
            st.session_state.pop("dates", None)
        else:
            st.session_state[key] = value


def history_ui(idx: Index, box) -> None:
    history = st.session_state.get("history", [])
    if not history:
        return
    box.header("History")
    for n, params in enumerate(history):
        extra = ", ".join(f"{k}={v if isinstance(v, str) else '+'.join(v)}" for k, v in params.items() if k != "q")
        # a label renders Markdown, and a shared link's question is anyone's text: escaped
        box.button(md_escape(params["q"][:40] + (f" ({extra})" if extra else "")), key=f"history_{n}",
                   on_click=restore, args=(idx, params), width="stretch")


# -- sidebar ------------------------------------------------------------------------------------------------


def sidebar_ui(idx: Index) -> dict:
    sb = st.sidebar
    sb.header("Search")
    mode = sb.radio("Mode", MODES, horizontal=True, key="mode")
    st.session_state.setdefault("k", DEFAULT.k)  # a default here, not on the widget: a link may set it
    k = sb.slider("Results", 1, 30, key="k")
    alpha = sb.slider("Fusion weight (dense share)", 0.0, 1.0, float(idx.settings.alpha), 0.05, key="alpha")
    sb.header("Filters")
    fc = facets(idx, id(idx))
    provinces = sorted({p for p, _c, _x in fc.regions if p})
    province = sb.selectbox("Province", ["(all)", *provinces], key="province")
    cities = sorted({c for p, c, _x in fc.regions if c and (province == "(all)" or p == province)})
    city = sb.selectbox("City", ["(all)", *cities], key="city")
    counties = sorted({x for _p, c, x in fc.regions if x and (city == "(all)" or c == city)})
    county = sb.selectbox("County / district / zone", ["(all)", *counties], key="county")
    docs = {d.doc_id: f"{d.title[:24]} ({d.doc_id})" for d in documents(idx, id(idx))}
    chosen_docs = sb.multiselect("Documents", list(docs), format_func=docs.get, key="docs")
    chosen_outlets = sb.multiselect("Outlet", list(fc.outlets), key="outlets")
    date_range = None
    if fc.dates and fc.dates[0] < fc.dates[1]:
        first, last = date.fromisoformat(fc.dates[0]), date.fromisoformat(fc.dates[1])
        picked = sb.slider("Date", first, last, (first, last), key="dates")
        # the slider filters only once the analyst moves it: its full range keeps undated documents too
        date_range = None if tuple(picked) == (first, last) else picked
    sb.header("Text")
    original = sb.toggle("Show the original text (with the source's pinyin notes)", key="original")
    simplified = sb.toggle("Show text in Simplified Chinese", key="simplified")
    return {"mode": mode, "k": k, "alpha": alpha, "province": province, "city": city, "county": county,
            "docs": chosen_docs, "outlets": chosen_outlets, "dates": date_range, "simplified": simplified,
            "original": original, "history": sb.container()}


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


# -- the answer: text, chart, map, exports, passages ----------------------------------------------------------


def quote_html(idx: Index, doc_id: str, span: tuple[int, int], marks, f: dict) -> str:
    text = idx.documents[doc_id]["text"][span[0] : span[1]]
    local = [(a - span[0], b - span[0]) for a, b in marks]
    shown, remap = display_text(text, f["simplified"], f["original"])
    return highlight(shown, remap(local))


def answer_ui(idx: Index, ans: Answer, f: dict) -> None:
    st.html(f'<div class="pq-answer">{highlight(ans.answer, [])}</div>')
    if not ans.items:
        return
    rows = [{"region": it.region, "period": it.period, "value": it.value,
             "quote": display_text(it.quote, f["simplified"], f["original"])[0],
             "date": it.date, "outlet": it.outlet, "source": f"{it.title} ({it.doc_id})"} for it in ans.items]
    st.dataframe(rows, hide_index=True, width="stretch")
    for it in ans.items:
        page = idx.chunks[it.chunk_id].page
        where = " · ".join(x for x in (it.region, it.title, it.outlet, it.date, f"p. {page}" if page else "",
                                       it.doc_id) if x)
        st.html(f'<div class="pq-hit">「{quote_html(idx, it.doc_id, it.span, it.highlights, f)}」'
                f'<div class="pq-meta">{highlight(where, [])}</div></div>')


def axis_title(subject: str, unit: str) -> str:
    return f"{subject} ({unit})" if subject else unit


def tooltip(*first: str) -> list[dict]:
    """Hover: the figure, its quote and its source."""
    return [{"field": f, "type": Q if f == "value" else N} for f in (*first, *TOOLTIP)]


def bar_chart(rows: list[dict], subject: str, unit: str, threshold: float | None = None, title: str = "") -> dict:
    """Regions' values as bars (the answer's highlighted), the asked threshold as a dashed rule."""
    data = pd.DataFrame([dict(r, shown="this answer" if r["listed"] else "other regions") for r in rows])
    layers: list[dict] = [{"data": {"name": "bars"}, "mark": {"type": "bar"}, "encoding": {
        "x": {"field": "region", "type": N, "sort": "-y", "title": "region", "axis": {"labelAngle": 0}},
        "y": {"field": "value", "type": Q, "title": axis_title(subject, unit)},
        "color": {"field": "shown", "type": N, "title": "", "scale": {
            "domain": ["this answer", "other regions"], "range": ["#d9480f", "#adb5bd"]}}
        if not all(r["listed"] for r in rows) else {"value": "#d9480f"},  # no answer to set apart: one colour
        "tooltip": tooltip()}}]
    datasets = {"bars": data}
    if threshold is not None:
        datasets["asked"] = pd.DataFrame([{"threshold": threshold, "label": f"asked: {threshold:g}{unit}"}])
        layers.append({"data": {"name": "asked"},
                       "mark": {"type": "rule", "color": "#1c7ed6", "size": 2, "strokeDash": [6, 4]},
                       "encoding": {"y": {"field": "threshold", "type": Q},
                                    "tooltip": [{"field": "label", "type": N}]}})
    return {"title": title, "layer": layers, "datasets": datasets}


def time_chart(rows: list[dict], region: str, unit: str) -> dict:
    """A region's figures in one unit by document date and period, coloured by subject."""
    return {"title": f"{region}: stated figures by document date and period", "data": {"name": "figures"},
            "mark": {"type": "point", "filled": True, "size": 90},
            "encoding": {"x": {"field": "when", "type": "ordinal", "sort": None, "title": "document date · period"},
                         "y": {"field": "value", "type": Q, "title": unit},
                         "color": {"field": "subject", "type": N, "title": "subject"},
                         "tooltip": tooltip("subject")},
            "datasets": {"figures": pd.DataFrame(rows)}}


def answer_charts_ui(idx: Index, ans: Answer, f: dict) -> bool:
    """The answer's bar chart and map, when it states figures; whether they were drawn."""
    figs = chart_data.answer_figures(idx, ans, f["simplified"], f["original"])
    if figs is None:
        return False
    left, right = st.columns([1, 1])
    left.vega_lite_chart(spec=bar_chart(figs.rows, figs.subject, figs.unit, figs.threshold,
                                        "the answer among the regions stating the same"),
                         width="stretch", key="answer_chart")
    if chart_data.map_rows(figs.rows):
        right.vega_lite_chart(spec=map_chart(figs.rows, figs.subject, figs.unit), width="stretch", key="answer_map")
    return True


def exports_ui(ans: Answer, f: dict) -> None:
    original = f["original"]
    cols = st.columns(4)
    cols[0].download_button("Answer as Markdown", answer_markdown(ans, original).encode("utf-8"),
                            "policyqa-answer.md", "text/markdown", key="export_md", on_click="ignore")
    cols[1].download_button("Answer as CSV", answer_csv(ans, original).encode("utf-8-sig"),
                            "policyqa-answer.csv", "text/csv", key="export_csv", on_click="ignore")
    cols[2].download_button("Answer as JSON", answer_json_text(ans).encode("utf-8"),
                            "policyqa-answer.json", "application/json", key="export_json", on_click="ignore")
    cols[3].download_button("Passages as CSV", passages_csv(ans.evidence, original).encode("utf-8-sig"),
                            "policyqa-passages.csv", "text/csv", key="export_passages", on_click="ignore")


def hit_ui(idx: Index, hit: Hit, query: str, f: dict) -> None:
    c = hit.chunk
    meta = idx.documents[c.doc_id]
    legs = " · ".join(
        f"{name} rank {hit.ranks[name] if hit.ranks.get(name) else '–'}" for name in ("bm25", "dense")
    )
    page = f"p. {c.page}" if c.page else ""

    def show(text: str) -> str:
        return display_text(text, f["simplified"], f["original"])[0]

    where = " · ".join(x for x in (show(c.section), c.region, meta.get("outlet") or "", meta.get("date") or "", page)
                       if x)
    shown, remap = display_text(c.text, f["simplified"], f["original"])
    body = highlight(shown, remap(term_spans(c.text, query)))
    st.html(
        f'<div class="pq-hit"><b>{hit.rank}. {highlight(show(c.title), [])}</b>'
        f'<div class="pq-meta">{highlight(where, [])}</div>{body}'
        f'<div class="pq-meta">fused {hit.score:.3f} · {legs}{" · mojibake" if c.mojibake else ""}</div></div>'
    )


def document_ui(idx: Index, hits: list[Hit] | tuple[Hit, ...], f: dict) -> None:
    """The whole article with the chosen hit's paragraph marked and scrolled to."""
    options = {h.chunk.chunk_id: f"{h.rank}. {h.chunk.doc_id} · {h.chunk.section or h.chunk.title[:20]}"
               for h in hits}
    chosen = st.selectbox("Open the source of", list(options), format_func=options.get, key="open_doc")
    if not chosen:
        return
    c = idx.chunks[idx.by_id[chosen]]
    text = idx.documents[c.doc_id]["text"]
    before, para, after = text[: c.start], text[c.start : c.end], text[c.end :]

    def show(s: str) -> str:
        return highlight(display_text(s, f["simplified"], f["original"])[0], [])

    body = (show(before) + '<mark id="hit">' + show(para) + "</mark>" + show(after)).replace("\n", "<br>")
    # corpus text is escaped above; the only script is ours, to scroll to the paragraph
    st.iframe(
        f'<div style="font-family:sans-serif;line-height:1.7">{body}</div>'
        '<script>document.getElementById("hit").scrollIntoView({block: "center"});</script>',
        height=420,
    )


def ask(idx: Index, question: str, f: dict, where: Filter | None) -> Answer:
    """The answer with ``k`` passages, from one retrieval; kept for the session so that reruns
    (a toggle, a download) do not search again."""
    key = (question, f["mode"], f["alpha"], f["k"], repr(where), id(idx))
    cache = st.session_state.setdefault("_answers", {})
    if key not in cache:
        if len(cache) >= HISTORY:
            cache.pop(next(iter(cache)))
        cache[key] = answer_question(idx, question, mode=f["mode"], alpha=f["alpha"], where=where, k=f["k"])
    return cache[key]


def ask_tab(idx: Index, f: dict, t0: float) -> None:
    question = st.text_input("Question (Chinese in either script, or English)", key="question",
                             placeholder="哪些地区提出了9.5%的增长目标?")
    remember(question, f)
    if not question.strip():
        st.caption("Try: 哪些地区提出了9.5%的增长目标? · 河北哪些城市一季度预期增速低于全年目标 · "
                   "Which regions set 9.5% targets?")
        return
    where = make_filter(f)
    if where is not None:
        st.caption("Filters are on: the answer and the passages come from matching documents only.")
    with shown_errors():
        ans = ask(idx, question, f, where)
        answer_ui(idx, ans, f)
        timings = {"answer_ms": (time.perf_counter() - t0) * 1000}
        timings["charts"] = answer_charts_ui(idx, ans, f)
        timings["charts_ms"] = (time.perf_counter() - t0) * 1000
        st.session_state["_timings"] = timings
        exports_ui(ans, f)
        st.subheader(f"Passages ({f['mode']})")
        if not ans.evidence:
            st.write("No passages match.")
            return
        for h in ans.evidence:
            hit_ui(idx, h, question, f)
        with st.expander("Document view", expanded=False):
            document_ui(idx, ans.evidence, f)


# -- figures ------------------------------------------------------------------------------------------------


def figures_tab(idx: Index, f: dict) -> None:
    c1, c2 = st.columns(2)
    region = c1.text_input("Region (e.g. 广安市, 岳池县)", key="fact_region")
    units = list(facets(idx, id(idx)).units)
    unit = c2.selectbox("Unit", ["(all)", *units], key="fact_unit")
    limit = DEFAULT.facts_shown
    base = make_filter(f) or Filter()
    sidebar_region = base.regions[0] if base.regions else None
    flt = Filter(regions=(region,) if region.strip() else base.regions, doc_ids=base.doc_ids, outlets=base.outlets,
                 date_from=base.date_from, date_to=base.date_to)
    with shown_errors():
        rows, cut = figure_rows(idx, id(idx), flt, None if unit == "(all)" else unit, sidebar_region, f["simplified"],
                           f["original"])
        on = [x for x in ("region" if sidebar_region else "", "documents" if base.doc_ids else "",
                          "outlets" if base.outlets else "", "dates" if base.date_from else "") if x]
        st.caption((f"the first {limit:,} stated figures: narrow by region or unit" if cut
                    else f"{len(rows)} stated figures")
                   + (f" · the sidebar's filters apply: {', '.join(on)}" if on else ""))
        table = [{"region": r["region"], "subject": r["subject"], "value": r["value"], "to": r["high"],
                  "unit": r["unit"], "change": r["direction"], "qualifier": r["qualifier"], "period": r["period"],
                  "year": r["year"], "quote": r["quote"], "date": r["date"], "source": r["doc_id"]} for r in rows]
        st.dataframe(table, hide_index=True, width="stretch")
        st.download_button("Download CSV", to_csv(table).encode("utf-8-sig"), "policyqa-figures.csv", "text/csv",
                           key="figures_csv", on_click="ignore")
        if chart_data.chartable(rows):
            figures_charts_ui(chart_data.chartable(rows))


def figures_charts_ui(rows: list[dict]) -> None:
    left, right = st.columns(2)
    regions = chart_data.region_choices(rows)
    who = left.selectbox("A region's figures over time", regions, key="fig_region")
    mine = chart_data.over_time(rows, who)
    units = sorted({r["unit"] for r in mine}, key=lambda u: -sum(r["unit"] == u for r in mine))
    unit = left.selectbox("Unit of this chart", units, key="fig_region_unit") if len(units) > 1 else units[0]
    mine = [r for r in mine if r["unit"] == unit]
    left.vega_lite_chart(spec=time_chart(mine, who, unit), width="stretch", key="fig_time_chart")
    subjects = chart_data.subject_choices(rows)
    if not subjects:
        right.caption("No subject is stated by two regions under these filters.")
        return
    pick = right.selectbox("One subject across regions", subjects, key="fig_subject",
                           format_func=lambda s: s.replace("|", " · "))
    subject, _, unit = pick.partition("|")
    across = chart_data.across_regions(rows, pick)
    right.vega_lite_chart(spec=bar_chart([dict(r, listed=True) for r in across], subject, unit,
                                         title=f"{subject} by region (each region's newest statement)"),
                          width="stretch", key="fig_subject_chart")
    if chart_data.map_rows(across):
        st.vega_lite_chart(spec=map_chart(across, subject, unit), width="stretch", key="fig_map")


# -- batch --------------------------------------------------------------------------------------------------


def batch_tab(idx: Index, f: dict) -> None:
    st.caption("A text file with one question a line, or a CSV with a `question` column; the sidebar's mode and "
               "filters apply.")
    upload = st.file_uploader("Questions", type=["txt", "csv"], key="batch_file")
    if upload is None:
        return
    data = upload.getvalue()
    key = (hashlib.sha256(data).hexdigest(), f["mode"], f["alpha"], repr(make_filter(f)), f["original"], id(idx))
    if st.session_state.get("_batch_key") != key and st.button("Answer them all", key="batch_run"):
        with shown_errors():
            questions = read_questions(data, upload.name)
            bar = st.progress(0.0, text=f"0 of {len(questions)} answered")
            answers = answer_batch(idx, questions, mode=f["mode"], alpha=f["alpha"], where=make_filter(f),
                                   on_progress=lambda n, total, q: bar.progress(
                                       n / total, text=md_escape(f"{n} of {total} answered: {q[:40]}")))
            st.session_state["_batch_rows"] = batch_rows(answers, f["original"])
            st.session_state["_batch_key"] = key
            st.session_state["_batch_count"] = len(questions)
    if st.session_state.get("_batch_key") != key:
        return
    rows = st.session_state["_batch_rows"]
    st.success(md_escape(f"{st.session_state['_batch_count']} questions answered: {len(rows)} rows"))
    st.dataframe(rows, hide_index=True, width="stretch")
    st.download_button("Download the answers (CSV)", to_csv(rows, ANSWER_COLUMNS).encode("utf-8-sig"),
                       "policyqa-answers.csv", "text/csv", key="batch_csv", on_click="ignore")


# -- index --------------------------------------------------------------------------------------------------


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
        except Exception as exc:  # one line, the page keeps working
            st.error(md_escape(user_message(exc)))
            return
        load_index.clear()
        st.rerun()
    with shown_errors():
        documents_ui(idx, allowed)


def documents_ui(idx: Index, allowed: bool) -> None:
    """The documents in the index; adding (uploads) and removing them when this visitor may change the index."""
    for line in st.session_state.pop("notices", []):
        st.warning(md_escape(line))
    docs = documents(idx, id(idx))
    st.subheader(f"Documents ({len(docs)})")
    st.dataframe([{"document": d.doc_id, "title": d.title, "date": d.date or "", "outlet": d.outlet or "",
                   "format": d.format, "chunks": d.chunks} for d in docs], hide_index=True, width="stretch")
    if not allowed:
        return
    uploads = st.file_uploader("Add documents (web pages, PDF, Word, text)", accept_multiple_files=True,
                               type=[x.lstrip(".") for x in SUFFIXES], key="uploads")
    if uploads and st.button("Add and index", key="add"):
        notices: list[str] = []
        try:
            results = save([(u.name, u.getvalue()) for u in uploads], settings())
            notices = [f"refused {r.name}: {r.reason}" for r in results if not r.ok]
            if any(r.ok for r in results):
                build_ui(f"Adding {sum(r.ok for r in results)} file(s); the current index keeps serving meanwhile.")
        except Exception as exc:  # one line, the page keeps working
            notices.append(user_message(exc))
        load_index.clear()
        st.session_state["notices"] = notices
        st.rerun()
    chosen = st.selectbox("Remove a document", ["", *(d.doc_id for d in docs)], key="remove_doc")
    if chosen and st.button("Remove it from the corpus and the index", key="remove"):
        try:
            remove([chosen], settings())
            build_ui(f"Removing {chosen}.")
        except Exception as exc:  # one line, the page keeps working
            st.session_state["notices"] = [user_message(exc)]
        load_index.clear()
        st.rerun()


def tabs(labels: list[str]) -> list:
    """Tabs of which only the open one runs (switching reruns the page); where this Streamlit has
    no lazy tabs, every tab runs and ``.open`` is None."""
    try:
        return list(st.tabs(labels, key="tab", on_change="rerun"))
    except TypeError:
        return list(st.tabs(labels))


def main() -> None:
    t0 = time.perf_counter()
    st.set_page_config(page_title="policyqa", layout="wide")
    st.html(CSS)
    st.title("policyqa")
    idx = get_index()
    if idx is None:
        return
    apply_url(idx)
    f = sidebar_ui(idx)
    ask_t, figures_t, batch_t, index_t = tabs(["Ask", "Figures", "Batch", "Index"])
    with ask_t:
        if ask_t.open is not False:
            ask_tab(idx, f, t0)
    with figures_t:
        if figures_t.open is not False:
            figures_tab(idx, f)
    with batch_t:
        if batch_t.open is not False:
            batch_tab(idx, f)
    with index_t:
        if index_t.open is not False:
            index_tab(idx)
    history_ui(idx, f["history"])


main()
