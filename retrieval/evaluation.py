"""`policyqa eval`: retrieval metrics (ranx) per mode, kind and language; answer accuracy; latency.

Relevance is stored as (document id prefix, quote): at evaluation time every chunk of that
document whose normalized text contains the normalized quote is relevant, so judgements
survive re-chunking.
"""

from __future__ import annotations

import json
import logging
import statistics
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from retrieval.errors import UserError
from retrieval.evaluation_answers import AnswerReport, answer_correct, evaluate_answers, splits, summary
from retrieval.evaluation_answers import markdown as answer_markdown
from retrieval.index import Index, build_index, open_index
from retrieval.settings import Settings
from retrieval.text.normalize import norm_text

log = logging.getLogger(__name__)

CEILINGS = (0.0, 0.25, 0.5, 0.75)
METRICS = ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10")
K = 10


@dataclass(frozen=True)
class GoldQuery:
    """One gold question with its judgements."""

    qid: str
    query: str
    kind: str
    lang: str
    answer: dict | None
    relevant: tuple[tuple[str, str], ...]  # (doc_id prefix, quote)



@dataclass(frozen=True)
class GoldSet:
    """Gold questions plus the corpus and index they are judged on."""

    name: str
    queries: list[GoldQuery]
    corpus: Path
    index: Path


def load_gold(folder: Path) -> GoldSet:
    """Read ``gold.tsv`` (hand-written) or ``queries.jsonl`` + ``qrels.jsonl`` (generated)."""
    folder = Path(folder)
    meta_path = folder / "meta.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.exists() else {}
    queries: list[GoldQuery] = []
    if (folder / "gold.tsv").exists():
        for line in (folder / "gold.tsv").read_text(encoding="utf-8").splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            qid, kind, lang, query, answer, rel = line.split("\t")
            pairs = tuple(tuple(r.split(":", 1)) for r in rel.split("|"))
            queries.append(GoldQuery(qid, query, kind, lang, json.loads(answer), pairs))  # type: ignore[arg-type]
    elif (folder / "queries.jsonl").exists():
        rels: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for line in (folder / "qrels.jsonl").read_text(encoding="utf-8").splitlines():
            r = json.loads(line)
            rels[r["qid"]].append((r["doc_id"], r.get("quote", "")))
        for line in (folder / "queries.jsonl").read_text(encoding="utf-8").splitlines():
            q = json.loads(line)
            rel = tuple(rels[q["qid"]])
            queries.append(GoldQuery(q["qid"], q["query"], q["kind"], q["lang"], q.get("answer"), rel))
    else:
        raise UserError(f"no gold questions in {folder}: expected gold.tsv or queries.jsonl + qrels.jsonl")
    base = folder.resolve()
    corpus = (base / meta["corpus"]).resolve() if "corpus" in meta else Path("corpus")
    index = (base / meta["index"]).resolve() if "index" in meta else Path("index")
    return GoldSet(meta.get("name", folder.name), queries, corpus, index)


def qrels_for(index: Index, gold: GoldSet) -> dict[str, dict[str, int]]:
    """Map (doc prefix, quote) judgements onto the chunks of this index."""
    qrels: dict[str, dict[str, int]] = {}
    docs = [d.doc_id for d in index.store.list_documents()]
    prefixes = {p for q in gold.queries for p, _ in q.relevant}
    wanted = [d for d in docs if any(d.startswith(p) for p in prefixes)]
    chunks = index.store.chunks_of(wanted)
    for q in gold.queries:
        rel: dict[str, int] = {}
        for prefix, quote in q.relevant:
            nq = norm_text(quote)
            for c in chunks:
                if c.doc_id.startswith(prefix) and (not nq or nq in c.norm):
                    rel[c.chunk_id] = 1
        if not rel:
            raise UserError(f"gold {q.qid}: no chunk matches {q.relevant}: fix the quote in the gold file")
        qrels[q.qid] = rel
    return qrels


def evaluate_runs(qrels: dict[str, dict[str, int]], run: dict[str, dict[str, float]]) -> dict[str, float]:
    """ranx metrics of a run (queries without hits count as zeros)."""
    from ranx import Qrels, Run, evaluate

    if not qrels:
        return dict.fromkeys(METRICS, 0.0)
    filled = {q: (run.get(q) or {"__none__": 0.0}) for q in qrels}
    res = evaluate(Qrels(qrels), Run(filled), list(METRICS), make_comparable=True)
    return {m: float(res[m]) for m in METRICS}


def _run_entry(hits) -> dict[str, float]:
    # ranx orders by score; give the fused order as strictly decreasing scores
    return {h.chunk.chunk_id: float(K + 1 - h.rank) for h in hits}


@dataclass
class EvalReport:
    """Everything `policyqa eval` measured."""

    gold: str
    index_hash: str
    n_queries: int
    n_chunks: int
    modes: dict[str, dict[str, float]]
    kinds: dict[str, dict[str, dict[str, float]]]
    langs: dict[str, dict[str, dict[str, float]]]
    latency: dict[str, dict[str, float]]
    answers: dict[str, dict[str, float]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    answer_report: AnswerReport | None = None
    facts_gold: dict | None = None  # a facts gold folder's extraction and which-regions scores

    def summary(self) -> dict:
        return {"gold": self.gold, "index_hash": self.index_hash, "queries": self.n_queries,
                "modes": self.modes, "kinds": self.kinds, "langs": self.langs, "latency": self.latency,
                "answers": self.answers,
                "answer_splits": summary(self.answer_report) if self.answer_report else None,
                "facts_gold": self.facts_gold}

    def markdown(self) -> str:
        out = [f"# Evaluation: {self.gold}", "",
               f"{self.n_queries} questions over {self.n_chunks} chunks; index {self.index_hash[:12]}; "
               f"{date.today().isoformat()}.", "", "## Retrieval by mode", "",
               "| mode | " + " | ".join(METRICS) + " | p50 ms | p95 ms |", "|---" * (len(METRICS) + 3) + "|"]
        for mode, m in self.modes.items():
            lat = self.latency.get(mode, {})
            out.append(f"| {mode} | " + " | ".join(f"{m[k]:.3f}" for k in METRICS)
                       + f" | {lat.get('p50', 0):.1f} | {lat.get('p95', 0):.1f} |")
        for title, table in (("kind", self.kinds), ("language", self.langs)):
            out += ["", f"## MRR@10 / Recall@5 by {title}", "", "| " + title + " | n | "
                    + " | ".join(table) + " |", "|---" * (len(table) + 2) + "|"]
            groups = sorted({g for per in table.values() for g in per})
            for g in groups:
                n = int(next(iter(table.values()))[g]["n"])
                out.append(f"| {g} | {n} | " + " | ".join(
                    f"{table[mode][g]['mrr@10']:.3f} / {table[mode][g]['recall@5']:.3f}" for mode in table) + " |")
        if self.answers:
            out += ["", "## Answer accuracy (questions with an expected answer, hybrid)", "",
                    "| kind | n | correct | share |", "|---|---|---|---|"]
            for kind, a in self.answers.items():
                out.append(f"| {kind} | {int(a['n'])} | {int(a['correct'])} | {a['share']:.2f} |")
        if self.answer_report is not None:
            out += answer_markdown(self.answer_report)
        if self.facts_gold is not None:
            from retrieval.evaluation_facts import markdown as facts_markdown
            from retrieval.evaluation_facts import region_markdown

            out += facts_markdown(self.facts_gold["extraction"]) + region_markdown(self.facts_gold["regions"])
        return "\n".join(out) + "\n"


def _percentile(xs: list[float], p: float) -> float:
    import numpy as np

    return float(np.percentile(xs, p)) if xs else 0.0


def ensure_index(gold: GoldSet, settings: Settings) -> Index:
    """Open the gold set's index, building it when missing or built from another corpus."""
    from retrieval.store import is_milvus

    # a Milvus store named on the command line is used as is; a folder index is the gold set's own
    s = settings.with_(corpus=gold.corpus, index=None if is_milvus(settings.index) else gold.index)
    if not s.corpus.is_dir():
        raise UserError(f"the corpus of gold set {gold.name} is missing ({s.corpus}): "
                        "run `.venv/bin/python eval/build_pd_gold.py` first")
    build_index(s, progress=True)  # incremental: costs only hashing when the corpus did not change
    return open_index(s.index, s)


FACTS_GOLD = Path("eval/gold/facts")


def run_eval(
    gold: Path, settings: Settings, modes: list[str], out_dir: Path | None = None, write: bool = True,
    index: Index | None = None,
) -> EvalReport:
    """Evaluate every mode on a gold set; write the report and plot unless ``write`` is False."""
    gs = load_gold(gold)
    index = index or ensure_index(gs, settings)
    qrels = qrels_for(index, gs)
    runs: dict[str, dict[str, dict[str, float]]] = {m: {} for m in modes}
    lat: dict[str, list[float]] = {m: [] for m in modes}
    index.search("预热", k=1, mode="hybrid")  # load the model outside the timings
    for q in gs.queries:
        for m in modes:
            t0 = time.perf_counter()
            hits = index.search(q.query, k=K, mode=m)
            lat[m].append((time.perf_counter() - t0) * 1000)
            runs[m][q.qid] = _run_entry(hits)
    by_mode = {m: evaluate_runs(qrels, runs[m]) for m in modes}

    def grouped(attr: str) -> dict[str, dict[str, dict[str, float]]]:
        out: dict[str, dict[str, dict[str, float]]] = {}
        for m in modes:
            out[m] = {}
            groups = defaultdict(list)
            for q in gs.queries:
                groups[getattr(q, attr)].append(q.qid)
            for g, ids in groups.items():
                res = evaluate_runs({i: qrels[i] for i in ids}, {i: runs[m][i] for i in ids})
                out[m][g] = {**res, "n": float(len(ids))}
        return out

    report = EvalReport(
        gold=gs.name, index_hash=f"gen-{index.info.generation}", n_queries=len(gs.queries),
        n_chunks=int(index.info.counts["chunks"]), modes=by_mode, kinds=grouped("kind"), langs=grouped("lang"),
        latency={m: {"p50": statistics.median(v), "p95": _percentile(v, 95)} for m, v in lat.items() if v},
    )
    with_answer = [q for q in gs.queries if q.answer]
    if with_answer:
        from retrieval.answer.extractive import answer_question

        per: dict[str, list[bool]] = defaultdict(list)
        ask_ms: list[float] = []
        for q in with_answer:
            t0 = time.perf_counter()
            ans = answer_question(index, q.query)
            ask_ms.append((time.perf_counter() - t0) * 1000)
            ok = answer_correct(ans, q.answer)
            per[q.kind].append(ok)
            per["all"].append(ok)
        report.answers = {k: {"n": len(v), "correct": sum(v), "share": sum(v) / len(v)} for k, v in per.items()}
        report.latency["ask"] = {"p50": statistics.median(ask_ms), "p95": _percentile(ask_ms, 95)}
    if with_answer or (Path(gold) / "regions.tsv").exists():
        facts_gold = FACTS_GOLD / f"{gs.name}.tsv"
        report.answer_report = evaluate_answers(index, gs, Path(gold), facts_gold)
    if (Path(gold) / "facts.tsv").exists() and (Path(gold) / "sentences.tsv").exists():
        report.facts_gold = score_facts_gold(index, Path(gold), gs)
    if write:
        write_report(report, out_dir or Path("eval/reports"))
    return report


def score_facts_gold(index: Index, folder: Path, gs: GoldSet) -> dict:
    """Extraction against a hand-annotated facts gold and its which-regions questions."""
    from retrieval.evaluation_answers import load_paraphrases
    from retrieval.evaluation_facts import load_facts_gold, question_splits, score_extraction, score_region_questions

    gold = load_facts_gold(folder)
    from retrieval.evaluation_facts import gold_doc

    dates = {gold_doc(d): (index.documents[d].get("date") or "") for d in index.documents}
    return {"extraction": score_extraction(index.facts, gold, dates),
            "regions": score_region_questions(index, gs.queries, load_paraphrases(folder),
                                              question_splits(gs.queries, gold))}


def write_report(report: EvalReport, out_dir: Path) -> tuple[Path, Path]:
    """Markdown report and PNG plot named with the date, the gold set and the index hash."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{date.today().isoformat()}-{report.gold}-{report.index_hash[:8]}"
    md = out_dir / f"{stem}.md"
    png = out_dir / f"{stem}.png"
    md.write_text(report.markdown() + f"\n![metrics]({png.name})\n", encoding="utf-8")
    modes = list(report.modes)
    kinds = sorted({k for per in report.kinds.values() for k in per})
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    width = 0.8 / max(1, len(modes))
    for i, m in enumerate(modes):
        axes[0].bar([x + i * width for x in range(len(METRICS))], [report.modes[m][k] for k in METRICS], width, label=m)
        axes[1].bar([x + i * width for x in range(len(kinds))], [report.kinds[m][k]["mrr@10"] for k in kinds],
                    width, label=m)
    axes[0].set_xticks([x + width for x in range(len(METRICS))], METRICS)
    axes[0].set_title(f"{report.gold}: metrics by mode")
    axes[1].set_xticks([x + width for x in range(len(kinds))], kinds, rotation=30)
    axes[1].set_title("MRR@10 by question kind")
    for ax in axes:
        ax.set_ylim(0, 1.05)
        ax.legend()
    fig.tight_layout()
    fig.savefig(png, dpi=90)
    plt.close(fig)
    return md, png


def tune_fusion(gold: Path, settings: Settings, index: Index | None = None) -> dict:
    """Grid over weighted alpha and the RRF constant on the dev split; scores on the held-out test split
    (split by source paragraph, as for answers)."""
    gs = load_gold(gold)
    index = index or ensure_index(gs, settings)
    qrels = qrels_for(index, gs)
    legs = {q.qid: index.legs(q.query, max(settings.depth, K)) for q in gs.queries}
    side_of = splits(index.documents, gs.queries)
    grid = [("weighted", round(a * 0.1, 1), None, c) for c in CEILINGS for a in range(11)]
    grid += [("rrf", None, k, 0.0) for k in (5, 10, 20, 60, 100)]
    rows = []
    for method, alpha, rrf_k, ceiling in grid:
        run = {qid: _run_entry(index.rank(lg, K, "hybrid", method, alpha, rrf_k, ceiling)) for qid, lg in legs.items()}
        row = {"method": method, "alpha": alpha, "rrf_k": rrf_k, "bm25_ceiling": ceiling}
        for split, name in (("dev", "train"), ("test", "test")):
            ids = [q.qid for q in gs.queries if side_of[q.qid] == split]
            res = evaluate_runs({i: qrels[i] for i in ids}, {i: run[i] for i in ids})
            row[name] = res
        rows.append(row)
    best = max(rows, key=lambda r: (r["train"]["mrr@10"], r["train"]["recall@5"]))
    return {"gold": gs.name, "grid": rows, "best": best}


def write_tuning(result: dict, out_dir: Path) -> Path:
    """The fusion grid as a markdown table (train and held-out splits)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{date.today().isoformat()}-{result['gold']}-fusion-grid.md"
    lines = [f"# Fusion grid: {result['gold']}", "",
             "Chosen on the dev split, reported on the held-out test split (split by source paragraph).", "",
             "| method | alpha | rrf_k | bm25_ceiling | train MRR@10 | train R@5 | held-out MRR@10 | held-out R@5 |",
             "|---|---|---|---|---|---|---|---|"]
    for r in result["grid"]:
        mark = " **best**" if r is result["best"] else ""
        lines.append(f"| {r['method']}{mark} | {r['alpha']} | {r['rrf_k']} | {r['bm25_ceiling']} | "
                     f"{r['train']['mrr@10']:.3f} | {r['train']['recall@5']:.3f} | "
                     f"{r['test']['mrr@10']:.3f} | {r['test']['recall@5']:.3f} |")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
