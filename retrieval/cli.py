"""The `policyqa` console command: one subcommand per use, each calling one library function."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import re
import sys
import time
from pathlib import Path

from retrieval.errors import UserError

log = logging.getLogger("policyqa")
# Valid JSON either way, but these stay escaped (\uXXXX) so that no terminal acts on them and
# lone surrogates cannot make the write fail: DEL, C1 controls, surrogates, line separators.
_JSON_UNSAFE = re.compile("[\x7f-\x9f\ud800-\udfff\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _say(text: str, file=None) -> None:
    """Print one line of output that may hold corpus text: control characters removed."""
    from retrieval.render import terminal_text

    print(terminal_text(text), file=file or sys.stdout)


def _positive(value: str) -> int:
    n = int(value)
    if n <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, not {value}")
    return n


def _iso_date(value: str) -> str:
    import datetime

    try:
        return datetime.date.fromisoformat(value).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a date as YYYY-MM-DD, not {value!r}") from None


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("policyqa")
    except metadata.PackageNotFoundError:
        return "0+unknown (source checkout, not installed)"


def _clean_argv(argv: list[str]) -> list[str]:
    """Arguments as text: undecodable bytes (surrogate-escaped by Python) and lone surrogates -> U+FFFD."""
    from retrieval.text.normalize import replace_surrogates

    out = []
    for a in argv:
        with contextlib.suppress(UnicodeError):  # a lone surrogate from the API: replaced below
            a = os.fsencode(a).decode("utf-8", "replace")
        out.append(replace_surrogates(a))
    return out


DEVICE_HELP = ("where the encoder runs: auto (a GPU when torch sees one, else the CPU), cpu, cuda or cuda:N "
               "(default: env POLICYQA_DEVICE, else auto)")


def _settings(args: argparse.Namespace):
    from retrieval.settings import Settings

    return Settings().with_(
        corpus=Path(args.corpus) if getattr(args, "corpus", None) else None,
        index=Path(getattr(args, "store", None) or args.index) if getattr(args, "index", None) else None,
        model=getattr(args, "model", None),
        query_prefix=getattr(args, "query_prefix", None),
        passage_prefix=getattr(args, "passage_prefix", None),
        encoder_int8=getattr(args, "int8", None) or None,
        device=getattr(args, "device", None),
    )


def _emit(obj: object) -> None:
    """One line of strict JSON (no NaN or Infinity: that would be a bug, not output)."""
    line = json.dumps(obj, ensure_ascii=False, allow_nan=False)
    sys.stdout.write(_JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", line) + "\n")
    sys.stdout.flush()


def _open(args: argparse.Namespace):
    from retrieval.index import open_index

    settings = _settings(args)
    return open_index(settings.index, settings)


def cmd_build(args: argparse.Namespace) -> int:
    from retrieval.index import build_index
    from retrieval.payload import build_payload

    report = build_index(_settings(args), progress=not args.json, full=args.full, optimize=args.optimize)
    skipped = report.skipped
    if args.json:
        _emit(build_payload(report))
    else:
        for s in skipped:
            _say(f"skipped {s.path!r}: {s.reason}")
        _say(report.line())
    return 0


def cmd_add(args: argparse.Namespace) -> int:
    from retrieval.index import build_index
    from retrieval.ingest import add_paths

    settings = _settings(args)
    results = add_paths([Path(p) for p in args.files], settings)
    for r in results:
        if r.ok:
            _say(f"added {r.name!r} as {r.path!r}")
        else:
            _say(f"refused {r.name!r}: {r.reason}", file=sys.stderr)
    if any(r.ok for r in results):
        _say(build_index(settings, progress=not args.quiet).line())
    return 0 if all(r.ok for r in results) else 1


def cmd_remove(args: argparse.Namespace) -> int:
    from retrieval.index import build_index
    from retrieval.ingest import remove

    settings = _settings(args)
    for doc_id in remove(list(args.doc_ids), settings):
        _say(f"removed {doc_id!r} from {settings.corpus}")
    _say(build_index(settings, progress=not args.quiet).line())
    return 0


def _filter(args: argparse.Namespace, index=None):
    """The search filter the arguments ask for (None when they ask for none).

    An outlet matches the index's outlets in either script ("福建日报" finds "福建日報").
    """
    from retrieval.store import Filter
    from retrieval.text.normalize import norm_text

    outlets = tuple(args.outlet or ())
    if outlets and index is not None:
        wanted = {norm_text(o) for o in outlets}
        outlets = tuple(dict.fromkeys([*outlets, *(o for o in index.store.facets().outlets if norm_text(o) in wanted)]))
    flt = Filter(regions=tuple(args.region or ()), doc_ids=tuple(args.doc or ()), outlets=outlets,
                 date_from=args.since, date_to=args.until)
    return None if flt.is_empty() else flt


def cmd_search(args: argparse.Namespace) -> int:
    from retrieval.payload import search_payload
    from retrieval.render import readable

    index = _open(args)
    for query in args.query:
        t0 = time.perf_counter()
        hits = index.search(query, k=args.k, mode=args.mode, where=_filter(args, index))
        took = (time.perf_counter() - t0) * 1000
        if args.json:
            _emit(search_payload(query, args.mode, hits, took))
            continue
        _say(f"# {query}  ({args.mode}, {len(hits)} hits, {took:.0f} ms)")
        if not hits:
            _say("  no hits")
        for h in hits:
            c = h.chunk
            doc = index.documents[c.doc_id]
            where = " / ".join(x for x in (c.doc_id, c.section, c.region, doc.get("outlet"), doc.get("date"),
                                           f"p. {c.page}" if c.page else "") if x)
            legs = ", ".join(f"{k} {v:.3f}" for k, v in h.scores.items() if v is not None)
            text = readable(c.text, original=args.original)
            _say(f"{h.rank:>3}. [{where}] score {h.score:.3f} ({legs})\n     {text[:160]}")
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    from retrieval.answer.extractive import answer_question
    from retrieval.payload import answer_payload
    from retrieval.render import readable

    questions = _questions(args)
    index = _open(args)
    table = _AnswerTable(args.original) if args.csv else None
    where = _filter(args, index)
    progress = len(questions) > 1 and sys.stderr.isatty()  # a batch: "answered 12/50" on the terminal
    for n, question in enumerate(questions, start=1):
        ans = answer_question(index, question, mode=args.mode, where=where, k=args.k)
        if progress:
            print(f"\ranswered {n}/{len(questions)}", end="\n" if n == len(questions) else "", file=sys.stderr,
                  flush=True)
        if table is not None:
            table.write(ans)
            continue
        if args.json:
            _emit(answer_payload(ans))
            continue
        _say(f"# {question}  [{ans.kind}]\n{ans.answer}")
        for i in ans.items:
            source = ", ".join(x for x in (i.doc_id, i.outlet, i.date) if x)
            quote = readable(i.quote, original=args.original)
            _say(f"  - {i.region or '?'} {i.period} {i.value}: 「{quote}」 ({source})")
    return 0


def _questions(args: argparse.Namespace) -> list[str]:
    """The questions of `ask`: its arguments, then those of ``-f FILE`` (``-`` reads stdin)."""
    from retrieval.answer.batch import read_questions

    questions = list(args.question)
    if args.file:
        if args.file == "-":
            data: bytes = sys.stdin.buffer.read()
        else:
            try:
                data = Path(args.file).read_bytes()
            except OSError as exc:
                raise UserError(f"cannot read {args.file!r} ({exc.strerror}): "
                                "name a text or CSV file of questions") from exc
        questions += read_questions(data, args.file)
    if not questions:  # a usage error, as argparse reports one: exit status 2
        _say("policyqa ask: error: no question: give one or more, or -f FILE with one question a line",
             file=sys.stderr)
        raise SystemExit(2)
    return questions


class _AnswerTable:
    """`ask --csv`: one header, then a row per answer item (a row with the answer alone when it has none)."""

    def __init__(self, original: bool) -> None:
        import csv

        from retrieval.answer.export import ANSWER_COLUMNS

        self.columns, self.original = ANSWER_COLUMNS, original
        self.writer = csv.writer(sys.stdout)
        self.writer.writerow(self.columns)

    def write(self, ans) -> None:
        from retrieval.answer.export import answer_rows
        from retrieval.render import terminal_text

        for row in answer_rows(ans, self.original):
            cells = (row[c] for c in self.columns)
            self.writer.writerow([terminal_text(v) if isinstance(v, str) else v for v in cells])
        sys.stdout.flush()


def cmd_facts(args: argparse.Namespace) -> int:
    from retrieval.answer.extractive import facts_for
    from retrieval.payload import fact_payload
    from retrieval.text.facts import fact_year
    from retrieval.text.figures import format_value
    from retrieval.text.normalize import norm_text
    from retrieval.text.regions import mentions

    index = _open(args)
    units = list(index.store.facets().units)
    if args.unit and norm_text(args.unit) not in units:
        raise UserError(f"unknown unit {args.unit!r}: the index has {', '.join(units) or 'no facts'}")
    facts = facts_for(index, _filter(args, index), unit=args.unit)
    for region in args.region or ():
        if not facts and not mentions(norm_text(region)):
            raise UserError(f"unknown region {region!r}: name a province, city or county (e.g. 广安市)")
    def year(f) -> str:
        return fact_year(f, index.documents[f.doc_id].get("date") or "")

    if args.json:
        for f in facts:
            _emit({**fact_payload(f), "year": year(f)})
    elif args.csv:
        import csv

        cols = ["region", "province", "city", "county", "subject", "value", "value_high", "unit", "raw", "direction",
                "qualifier", "period", "year", "sentence", "doc_id", "chunk_id", "start", "end"]
        from retrieval.render import terminal_text

        w = csv.writer(sys.stdout)
        w.writerow(cols)
        for f in facts:
            d = {**f.to_json(), "year": year(f)}
            w.writerow([terminal_text(d[c]) if isinstance(d[c], str) else d[c] for c in cols])
    else:
        arrow = {"up": "↑", "down": "↓"}
        for f in facts:
            _say(f"{f.region or '?'}\t{f.period}\t{year(f)}\t{f.subject}\t{arrow.get(f.direction, '')}"
                 f"{format_value(f.value, f.unit, f.value_high) if f.unit != '日期' else f.raw}"
                 f"\t{f.qualifier}\t{f.doc_id}")
        _say(f"{len(facts)} facts")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from retrieval.errors import require

    require(["ranx", "matplotlib.pyplot"], "eval", "`policyqa eval`")
    from retrieval.evaluation import run_eval, tune_fusion, write_tuning

    if args.tune:
        result = tune_fusion(Path(args.gold), _settings(args))
        path = None if args.no_report else write_tuning(result, Path(args.out))
        if args.json:
            _emit({"best": result["best"], "grid": result["grid"], "report": str(path) if path else None})
        else:
            b = result["best"]
            print(f"best on the train split: {b['method']} alpha={b['alpha']} rrf_k={b['rrf_k']} "
                  f"bm25_ceiling={b['bm25_ceiling']}: held-out MRR@10 {b['test']['mrr@10']:.3f}, "
                  f"Recall@5 {b['test']['recall@5']:.3f}" + (f" (report {path})" if path else ""))
        return 0
    report = run_eval(
        gold=Path(args.gold), settings=_settings(args), modes=args.modes.split(","),
        out_dir=Path(args.out), write=not args.no_report,
    )
    if args.json:
        _emit(report.summary())
    else:
        print(report.markdown())
    return 0


def cmd_model(args: argparse.Namespace) -> int:
    from retrieval.embedding import model

    cache = Path(args.cache_dir) if args.cache_dir else None
    if args.action == "install":
        path = model.install(cache, force=args.force)
        if args.json:
            _emit({"path": str(path), "ready": True})
        else:
            print(f"model ready at {path}")
        return 0
    info = model.info(cache)
    if args.json:
        _emit(info.__dict__)
    else:
        for k, v in info.__dict__.items():
            print(f"{k}: {v}")
    return 0


def cmd_app(args: argparse.Namespace) -> int:
    import subprocess

    from retrieval.errors import require

    app = Path(__file__).resolve().parent.parent / "app.py"
    if not app.exists():  # an installed wheel carries the library, not the page
        raise UserError(f"`policyqa app` needs a source checkout (app.py is not next to the package: {app}); "
                        "clone the repository and run ./run app")
    require(["streamlit"], "app", "`policyqa app`")
    env = dict(os.environ, POLICYQA_INDEX=args.store or args.index or "index", POLICYQA_CORPUS=args.corpus or "corpus")
    if args.device:
        env["POLICYQA_DEVICE"] = args.device
    # loopback unless --host says otherwise: elsewhere the app asks for POLICYQA_ADMIN_TOKEN to rebuild
    cmd = [sys.executable, "-m", "streamlit", "run", str(app), "--server.address", args.host,
           "--server.port", str(args.port),
           "--server.headless", "true" if args.headless else "false", "--browser.gatherUsageStats", "false"]
    return subprocess.call(cmd, env=env)


def _serve_settings(args: argparse.Namespace):
    return _settings(args).with_(serve_workers=args.workers, serve_queue=args.queue)


def cmd_serve(args: argparse.Namespace) -> int:
    from retrieval.errors import require

    require(["fastapi", "uvicorn", "multipart"], "api", "`policyqa serve`")
    from retrieval.serve.http import serve

    serve(_serve_settings(args), host=args.host, port=args.port, access_log=args.verbose)
    return 0


def cmd_mcp(args: argparse.Namespace) -> int:
    from retrieval.errors import require

    require(["mcp", "uvicorn"] if args.http else ["mcp"], "mcp", "`policyqa mcp`")
    from retrieval.serve.mcp_server import run

    run(_serve_settings(args), http=args.http, host=args.host, port=args.port)
    return 0


def build_parser() -> argparse.ArgumentParser:
    from retrieval.settings import DEFAULT

    p = argparse.ArgumentParser(prog="policyqa", description=__doc__,
                                epilog="exit status: 0 success, 1 an error you can fix (one line on stderr), "
                                       "2 a usage error, 130 interrupted")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    p.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = p.add_subparsers(dest="command", required=True, help="what to do (`policyqa COMMAND -h` for its options)")

    store_help = ("the index in a Milvus server instead of a folder: milvus://HOST:PORT/COLLECTION "
                  "(default: env POLICYQA_STORE; needs the milvus extra)")

    def common(sp, corpus: bool = False) -> None:
        sp.add_argument("--index", default="index", help="index folder (default: index)")
        sp.add_argument("--store", default=os.environ.get("POLICYQA_STORE") or None, help=store_help)
        sp.add_argument("--model", default=None, help="sentence-transformers name or path (default: bundled e5)")
        if corpus:
            sp.add_argument("--corpus", default="corpus", help="corpus folder (default: corpus)")

    def filters(sp) -> None:
        """The same declarative filter on search and ask."""
        sp.add_argument("--region", action="append", help="only this region (any level; repeatable)")
        sp.add_argument("--doc", action="append", help="only this document id (repeatable)")
        sp.add_argument("--outlet", action="append", help="only documents from this outlet (repeatable)")
        sp.add_argument("--since", type=_iso_date, default=None, help="only documents dated on or after YYYY-MM-DD")
        sp.add_argument("--until", type=_iso_date, default=None, help="only documents dated on or before YYYY-MM-DD")

    b = sub.add_parser("build", help="build the index from the corpus")
    common(b, corpus=True)
    b.add_argument("--query-prefix", default=None, help="text put before questions (default: the model's own)")
    b.add_argument("--passage-prefix", default=None, help="text put before paragraphs (default: the model's own)")
    b.add_argument("--full", action="store_true",
                   help="rebuild everything (default: only new, changed and removed files)")
    b.add_argument("--optimize", action="store_true",
                   help="also fold the index's segments into one (searches read one set of files again)")
    b.add_argument("--int8", action="store_true",
                   help="embed with the int8-quantized encoder (faster on CPU, slightly different vectors: "
                        "README, 'Measured'); questions to the index then use it too")
    b.add_argument("--json", action="store_true", help="print one JSON summary object, no progress bar")
    b.add_argument("--device", default=None, help=DEVICE_HELP)
    b.set_defaults(func=cmd_build)

    ad = sub.add_parser("add", help="check files, save them under the corpus (uploads/) and update the index")
    common(ad, corpus=True)
    ad.add_argument("--quiet", action="store_true", help="no progress bar")
    ad.add_argument("files", nargs="+", help="files to add (.txt .md .html .htm .shtml .pdf .docx)")
    ad.set_defaults(func=cmd_add)

    rm = sub.add_parser("remove", help="delete documents' files from the corpus and update the index")
    common(rm, corpus=True)
    rm.add_argument("--quiet", action="store_true", help="no progress bar")
    rm.add_argument("doc_ids", nargs="+", help="document ids as `search --json` shows them (paths under the corpus)")
    rm.set_defaults(func=cmd_remove)

    s = sub.add_parser("search", help="ranked paragraphs for one or more queries")
    common(s)
    s.add_argument("--k", type=_positive, default=DEFAULT.k, help=f"hits per query (default: {DEFAULT.k})")
    s.add_argument("--mode", choices=["hybrid", "dense", "bm25"], default="hybrid",
                   help="hybrid fuses keyword (bm25) and embedding (dense) ranks (default: hybrid)")
    s.add_argument("--json", action="store_true", help="one JSON line per query")
    s.add_argument("--original", action="store_true",
                   help="print passages as the source writes them, pinyin notes included (default: without them)")
    filters(s)
    s.add_argument("query", nargs="+", help="one or more queries (Chinese in either script, or English)")
    s.set_defaults(func=cmd_search)

    a = sub.add_parser("ask", help="cited answers to one or more questions")
    common(a)
    a.add_argument("--mode", choices=["hybrid", "dense", "bm25"], default="hybrid",
                   help="how the evidence is retrieved (default: hybrid)")
    a.add_argument("--k", type=_positive, default=None,
                   help="evidence passages per answer in --json (default: the ones the answer read, 10 or 20)")
    out = a.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="one JSON line per question")
    out.add_argument("--csv", action="store_true",
                     help="one CSV table for all questions: a row per answer item (region, value, quote, source)")
    a.add_argument("-f", "--file", default=None,
                   help="questions from a file, one a line (or a CSV with a 'question' column; - for stdin)")
    a.add_argument("--original", action="store_true",
                   help="print quotes as the source writes them, pinyin notes included (default: without them)")
    filters(a)
    a.add_argument("question", nargs="*", help="one or more questions (Chinese in either script, or English)")
    a.set_defaults(func=cmd_ask)

    f = sub.add_parser("facts", help="the table of stated figures and targets")
    common(f)
    filters(f)
    f.add_argument("--unit", default=None, help="only facts with this unit (e.g. %%, 亿元, 家)")
    g = f.add_mutually_exclusive_group()
    g.add_argument("--csv", action="store_true", help="CSV with a header row")
    g.add_argument("--json", action="store_true", help="one JSON line per fact")
    f.set_defaults(func=cmd_facts)

    e = sub.add_parser("eval", help="metrics per mode and question kind on gold questions")
    common(e, corpus=True)
    e.add_argument("--gold", default="eval/gold/seed", help="gold folder (default: eval/gold/seed)")
    e.add_argument("--modes", default="bm25,dense,hybrid", help="comma-separated modes (default: bm25,dense,hybrid)")
    e.add_argument("--out", default="eval/reports", help="report folder (default: eval/reports)")
    e.add_argument("--no-report", action="store_true", help="print only; write no report files")
    e.add_argument("--tune", action="store_true", help="grid over fusion settings: train split, held-out split")
    e.add_argument("--json", action="store_true", help="last line: one JSON summary object")
    e.set_defaults(func=cmd_eval)

    m = sub.add_parser("model", help="the bundled embedding model")
    m.add_argument("action", choices=["install", "info"], help="install: build it into the cache; info: describe it")
    m.add_argument("--cache-dir", default=None, help="cache folder (default: per-user; env POLICYQA_CACHE)")
    m.add_argument("--force", action="store_true", help="rebuild even if up to date")
    m.add_argument("--json", action="store_true", help="print one JSON object")
    m.set_defaults(func=cmd_model)

    ap = sub.add_parser("app", help="open the browser app")
    ap.add_argument("--index", default="index", help="index folder (default: index)")
    ap.add_argument("--store", default=os.environ.get("POLICYQA_STORE") or None, help=store_help)
    ap.add_argument("--corpus", default="corpus", help="corpus folder for builds (default: corpus)")
    ap.add_argument("--host", default=DEFAULT.app_host,
                    help=f"address to listen on (default: {DEFAULT.app_host}, this machine only); on any other "
                         "address rebuilding asks for the token in env POLICYQA_ADMIN_TOKEN")
    ap.add_argument("--port", type=_positive, default=8501, help="port (default: 8501)")
    ap.add_argument("--headless", action="store_true", help="do not open a browser window")
    ap.add_argument("--device", default=None, help=DEVICE_HELP)
    ap.set_defaults(func=cmd_app)

    def server(sp, default_port: int) -> None:
        common(sp, corpus=True)
        sp.add_argument("--host", default=DEFAULT.serve_host,
                        help=f"address to listen on (default: {DEFAULT.serve_host}, this machine only)")
        sp.add_argument("--port", type=_positive, default=default_port, help=f"port (default: {default_port})")
        sp.add_argument("--workers", type=_positive, default=None,
                        help=f"index calls run at once (default: {DEFAULT.serve_workers})")
        sp.add_argument("--queue", type=int, default=None,
                        help=f"calls waiting beyond those; more get 503 + Retry-After (default: {DEFAULT.serve_queue})")

    sv = sub.add_parser("serve", help="the HTTP JSON API (schema at /docs; needs the api extra)")
    server(sv, DEFAULT.serve_port)
    sv.add_argument("--device", default=None, help=DEVICE_HELP)
    sv.set_defaults(func=cmd_serve)

    mc = sub.add_parser("mcp", help="the MCP server: search, ask and facts as tools (needs the mcp extra)")
    server(mc, DEFAULT.mcp_port)
    mc.add_argument("--http", action="store_true", help="streamable HTTP at /mcp on --host:--port (default: stdio)")
    mc.set_defaults(func=cmd_mcp)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(_clean_argv(sys.argv[1:] if argv is None else argv))
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s" if args.verbose else "%(message)s")
    for handler in logging.getLogger().handlers:  # log lines may name corpus files: no escapes
        handler.addFilter(_clean_record)
    try:
        return args.func(args)
    except UserError as exc:
        _say(f"policyqa: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        _say("policyqa: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `policyqa facts | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # anything else: one line, the traceback only with -v
        from retrieval.errors import user_message

        if args.verbose:
            log.exception("policyqa failed")
        _say(f"policyqa: {user_message(exc)}", file=sys.stderr)
        return 1


def _clean_record(record: logging.LogRecord) -> bool:
    from retrieval.render import terminal_text

    record.msg = terminal_text(record.getMessage())
    record.args = None
    return True


if __name__ == "__main__":
    sys.exit(main())
