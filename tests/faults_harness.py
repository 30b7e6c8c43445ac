"""Fault injection for the local store: shared by tests/test_faults.py and scripts/faults.py.

Two corpus states: A is the seed corpus, B is A with three generated articles added and one
seed file removed. One corpus folder is switched between them in place, so builds see real
adds and removes.

- ``kill_test``: builds run in a child process, slowed by sleeps in reading, embedding, SQLite
  writes and the generation commit, and are SIGKILLed at a random moment while another process
  opens the index and searches in a loop. After each kill the index must answer exactly as state
  before or after the build, and a normal build must then succeed and leave no temp files.
- ``snapshot_test``: threads open the index and search in a loop while another process rebuilds
  it, alternating A and B; every opened snapshot must belong to one build.

Children come from a fork server, not a fork of this process: a fork of a process whose FAISS
has started OpenMP threads hangs in its first search (libgomp is not fork-safe), and pytest's
process may have. The server preloads the text stages (tests/faults_warm.py), so a build child
starts warm; it reports ready and the kill's clock starts then.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import random
import shutil
import signal
import sqlite3
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conftest import SEEDS, FakeEncoder

from retrieval.settings import Settings

if TYPE_CHECKING:
    from retrieval.search.searcher import Searcher

QUERIES = ("规上工业增加值增长", "四川 新入规工业企业", "数字经济产业园 算力", "新能源汽车 零部件", "乡村振兴 特色产业")
REMOVED = "003_902afef8673d79be.txt"  # the seed file state B lacks
ADDED = {
    "gen_a_digital.txt": (
        "成都市加快建设数字经济产业园\n\n"
        "今年以来，成都市数字经济产业园新落地项目12个，总投资86亿元，算力中心一期建成投用。\n\n"
        "园区力争全年数字经济核心产业增加值增长15%，新增规上企业20家。\n\n"
        "下一步，园区将围绕算力、软件和信息服务，完善产业链配套，提升招商引资质效。"
    ),
    "gen_b_auto.txt": (
        "宜宾市新能源汽车零部件产业集群加速成形\n\n"
        "宜宾市三江新区引进动力电池和汽车零部件企业8家，全年产值有望突破300亿元。\n\n"
        "新能源汽车整车项目带动上下游配套，零部件本地配套率提高到45%。\n\n"
        "宜宾将持续优化营商环境，推动新能源汽车产业链补链强链。"
    ),
    "gen_c_rural.txt": (
        "南充市以特色产业推动乡村振兴\n\n"
        "南充市各县区因地制宜发展柑橘、生猪等特色产业，带动农民人均增收1200元。\n\n"
        "嘉陵区建成现代农业园区3个，农产品加工业产值增长11.2%。\n\n"
        "全市将继续壮大乡村特色产业，促进一二三产业融合发展。"
    ),
}
PHASES = ("starting", "reading", "embedding", "sqlite writes", "commit: files", "commit: publish", "commit: published",
          "finished")
DWELL = (5, 1, 10, 1, 5, 10, 10)  # how long a kill waits once its build is in a phase, in pauses


def corpus_docs(state: str) -> frozenset[str]:
    """The document ids (paths relative to the corpus) of state A or B."""
    seeds = {p.name for p in SEEDS.iterdir() if p.is_file()}
    return frozenset(seeds if state == "A" else (seeds - {REMOVED}) | set(ADDED))


def set_corpus(corpus: Path, state: str) -> None:
    """Switch the corpus folder to state A or B in place (files added and removed, not renamed)."""
    corpus.mkdir(parents=True, exist_ok=True)
    want = corpus_docs(state)
    for p in corpus.iterdir():
        if p.name not in want:
            p.unlink()
    for name in want:
        if not (corpus / name).exists():
            src = SEEDS / name
            if src.exists():
                shutil.copyfile(src, corpus / name)
            else:
                (corpus / name).write_text(ADDED[name], encoding="utf-8")


def answers(index: Path, settings: Settings, encoder: FakeEncoder) -> tuple[tuple[str, ...], ...]:
    """Chunk ids of the top 5 hits of every fixed query, from a fresh open of the index."""
    from retrieval.index import open_index

    idx = open_index(index, settings, encoder=encoder)
    try:
        return tuple(tuple(h.chunk.chunk_id for h in idx.search(q, k=5)) for q in QUERIES)
    finally:
        idx.store.close()


def reference_answers(work: Path, encoder: FakeEncoder) -> dict[str, tuple[tuple[str, ...], ...]]:
    """Answers of clean full builds of states A and B (each in its own folder)."""
    from retrieval.build import build_index

    out = {}
    for state in "AB":
        corpus, index = work / f"ref-corpus-{state}", work / f"ref-index-{state}"
        set_corpus(corpus, state)
        s = Settings(corpus=corpus, index=index)
        build_index(s, encoder=encoder, progress=False, full=True)
        out[state] = answers(index, s, encoder)
    if out["A"] == out["B"]:
        raise RuntimeError("states A and B answer the fixed queries alike: the test could not tell them apart")
    return out


def temp_files(index: Path) -> list[str]:
    """What only a running build has: .gen-*, .CURRENT-*, .probe-*, and generation folders not yet served."""
    from retrieval.store.local import read_current

    cur = read_current(index) or 0
    return sorted(p.name for p in index.iterdir() if p.name.startswith((".gen-", ".CURRENT-", ".probe-"))
                  or (p.name.startswith("gen-") and p.name[4:].isdigit() and int(p.name[4:]) > cur))


def _context() -> multiprocessing.context.BaseContext:
    """Processes forked from a clean, warm server (see the module's docstring)."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["faults_harness", "faults_warm"])
    return ctx


# -- the kill test

class _SlowDB:
    """A writer's SQLite connection that pauses after each statement, so kills land inside transactions."""

    def __init__(self, conn: sqlite3.Connection, pause: float) -> None:
        self._conn, self._pause = conn, pause

    def execute(self, *args: Any) -> sqlite3.Cursor:
        out = self._conn.execute(*args)
        time.sleep(self._pause)
        return out

    def executemany(self, *args: Any) -> sqlite3.Cursor:
        out = self._conn.executemany(*args)
        time.sleep(self._pause)
        return out

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


def _slow_build(settings: Settings, full: bool, phase: Any, ready: Any, pause: float) -> None:
    """Child process: one build with pauses in every stage, naming the stage it is in via ``phase``."""
    import retrieval.build as build
    import retrieval.store.local as local

    def mark(i: int, fn: Callable, wait: float = pause) -> Callable:
        def wrapped(*a: Any, **kw: Any) -> Any:
            phase.value = i
            time.sleep(wait)
            return fn(*a, **kw)
        return wrapped

    def within(i: int, fn: Callable) -> Callable:
        def wrapped(*a: Any, **kw: Any) -> Any:
            before = phase.value
            phase.value = i
            try:
                return fn(*a, **kw)
            finally:
                phase.value = before
        return wrapped

    build.read_path = mark(1, build.read_path)
    enc = FakeEncoder()
    enc.encode_passages = mark(2, enc.encode_passages, 10 * pause)
    connect = local._connect
    local._connect = lambda path, readonly=False: _SlowDB(connect(path, readonly), pause)
    for name in ("delete_documents", "add", "cache_vectors"):
        setattr(local.LocalWriter, name, within(3, getattr(local.LocalWriter, name)))
    local.LocalWriter.commit = mark(4, local.LocalWriter.commit, 0.0)
    local._file_digest = mark(4, local._file_digest, 5 * pause)  # the generation's files are written by now
    local.os.rename = mark(5, os.rename, 10 * pause)  # the generation folder's rename
    replace = mark(5, os.replace, 10 * pause)  # CURRENT's

    def published(*a: Any, **kw: Any) -> None:
        replace(*a, **kw)
        phase.value = 6  # the new generation is served; the build has yet to let go of the lock
        time.sleep(10 * pause)

    local.os.replace = published
    phase.value = 0
    ready.set()
    build.build_index(settings, encoder=enc, progress=False, full=full)
    phase.value = 7


def _search_loop(index: Path, settings: Settings, refs: dict, stop: Any, out: Any, searching: Any) -> None:
    """Searcher process: open the index and search, again and again, until told to stop.

    ``searching`` is set after the first search, so the kills start only once searches run.
    """
    encoder, rng = FakeEncoder(), random.Random(7)
    n = failed = foreign = 0
    errors: list[str] = []
    from retrieval.index import open_index

    while not stop.is_set():
        i = rng.randrange(len(QUERIES))
        n += 1
        try:
            idx = open_index(index, settings, encoder=encoder)
            got = tuple(h.chunk.chunk_id for h in idx.search(QUERIES[i], k=5))
            idx.store.close()
        except Exception:
            failed += 1
            if len(errors) < 3:
                errors.append(traceback.format_exc())
            continue
        searching.set()
        if got not in (refs["A"][i], refs["B"][i]):
            foreign += 1
    out.put((n, failed, foreign, errors))


@dataclass
class KillReport:
    """What the kill test counted."""

    kills: int = 0
    full: int = 0
    searches: int = 0
    failed: int = 0
    foreign: int = 0  # searches answering as neither state
    as_before: int = 0
    as_after: int = 0
    left: int = 0  # temp files and unserved generation folders the killed builds left
    stray: int = 0  # what of those the recovery build did not remove
    recovered: int = 0  # recovery builds that succeeded and answer as the target state
    completed: int = 0  # builds that finished before their kill came (not counted as kills)
    phases: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    @property
    def consistent(self) -> int:
        return self.as_before + self.as_after

    def line(self) -> str:
        return (f"kill test: {self.kills} kills ({self.full} full, {self.kills - self.full} incremental), "
                f"{self.searches} searches, {self.failed} failed, {self.consistent}/{self.kills} states as before "
                f"or after ({self.as_before} before, {self.as_after} after), {self.stray} stray temp files "
                f"({self.left} left by the kills), "
                f"{self.recovered}/{self.kills} recovery builds")


def _clear_embed_cache(index: Path) -> None:
    """Forget cached vectors, so the next build embeds again (a cache hit would skip embedding)."""
    with contextlib.closing(sqlite3.connect(index / "store.sqlite", timeout=30)) as conn:
        conn.execute("DELETE FROM embed_cache")
        conn.commit()


def kill_test(work: Path, kills: int = 20, seed: int = 13, pause: float = 0.01,
              aims: tuple[int, ...] = tuple(range(len(PHASES) - 1))) -> KillReport:
    """SIGKILL ``kills`` builds (full and incremental alternating) at random moments; count what breaks.

    The n-th build is killed at a random moment after it enters phase ``aims[n % len(aims)]`` (by
    default all in turn: starting, reading, embedding, SQLite writes, writing the generation's
    files, publishing it, published), so kills land in every phase however loaded the machine is;
    the phase it was really in when killed is what is counted.
    """
    from retrieval.build import build_index

    ctx = _context()
    rng = random.Random(seed)
    encoder = FakeEncoder()
    refs = reference_answers(work, encoder)
    corpus, index = work / "corpus", work / "index"
    settings = Settings(corpus=corpus, index=index)
    set_corpus(corpus, "A")
    build_index(settings, encoder=encoder, progress=False, full=True)
    state = "A"
    phase, ready = ctx.Value("i", 0), ctx.Event()

    def child(full: bool, aim: int) -> int | None:
        """Run a slowed build; once it reaches phase ``aim``, kill it a random moment later."""
        phase.value = 0
        ready.clear()
        proc = ctx.Process(target=_slow_build, args=(settings, full, phase, ready, pause))
        proc.start()
        # the first child of a fresh checkout compiles and loads every stage cold; on a busy machine
        # (CI beside other work) that took over two minutes once: start-up is not what is tested
        if not ready.wait(600):
            raise RuntimeError(f"the build child did not start (exit {proc.exitcode})")
        while proc.is_alive() and phase.value != aim:
            time.sleep(0.002)
        time.sleep(rng.uniform(0, DWELL[aim] * pause))
        if proc.is_alive():
            os.kill(proc.pid, signal.SIGKILL)
        proc.join()
        return proc.exitcode

    stop, out, searching = ctx.Event(), ctx.Queue(), ctx.Event()
    searcher = ctx.Process(target=_search_loop, args=(index, settings, refs, stop, out, searching))
    searcher.start()
    rep = KillReport()
    try:
        # on a loaded machine the searcher's cold start can outlast a few kills: kill only once it searches
        if not searching.wait(600):
            raise RuntimeError(f"the searcher did not start (exit {searcher.exitcode})")
        i = 0
        while rep.kills < kills and i < 3 * kills:
            full = rep.kills % 2 == 0
            target = "B" if state == "A" else "A"
            _clear_embed_cache(index)
            set_corpus(corpus, target)
            code = child(full, aims[i % len(aims)])
            i += 1
            if code == 0:  # finished before the kill came: a build, not a kill
                rep.completed += 1
                state = target
                continue
            rep.kills += 1
            rep.full += full
            rep.phases[PHASES[phase.value]] += 1
            if code != -signal.SIGKILL:
                rep.errors.append(f"build {i}: exit {code}, not the kill")
            try:
                got = answers(index, settings, encoder)
            except Exception:
                rep.errors.append(f"build {i}: opening after the kill failed\n{traceback.format_exc()}")
                got = None
            rep.left += len(temp_files(index))
            rep.as_before += got == refs[state]
            rep.as_after += got == refs[target]
            try:
                build_index(settings, encoder=encoder, progress=False)
                ok = answers(index, settings, encoder) == refs[target]
            except Exception:
                rep.errors.append(f"build {i}: the recovery build failed\n{traceback.format_exc()}")
                ok = False
            rep.recovered += ok
            stray = temp_files(index)
            rep.stray += len(stray)
            if stray:
                rep.errors.append(f"build {i}: left {stray}")
            state = target
    finally:
        stop.set()
        n, failed, foreign, errors = out.get(timeout=60)
        searcher.join()
    rep.searches, rep.failed, rep.foreign = n, failed, foreign
    rep.errors += errors
    return rep


# -- the snapshot test

def _rebuild_loop(settings: Settings, rebuilds: int, done: Any) -> None:
    """Rebuilder process: alternate the corpus between A and B, ``rebuilds`` builds, all kinds."""
    from retrieval.build import build_index

    encoder = FakeEncoder()
    try:
        for i in range(rebuilds):
            set_corpus(settings.corpus, "B" if i % 2 == 0 else "A")
            build_index(settings, encoder=encoder, progress=False, full=(i // 2) % 2 == 1)
    finally:
        done.set()


@dataclass
class SnapshotReport:
    """What the snapshot test counted."""

    rebuilds: int = 0
    opens: int = 0
    errors: int = 0
    mixed: int = 0
    generations: int = 0  # distinct generations the readers saw
    messages: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (f"snapshot test: {self.rebuilds} rebuilds, {self.opens} opens, {self.errors} errors, "
                f"{self.mixed} mixed ({self.generations} generations seen)")


def check_snapshot(idx: Searcher, states: dict[str, frozenset[str]], refs: dict, query: int) -> str | None:
    """Why an opened index mixes builds, or None when all it serves is one build's."""
    store = idx.store
    gen, man = store.generation, store.manifest
    if man.get("generation") != gen:
        return f"opened generation {gen} with the manifest of generation {man.get('generation')}"
    docs = [d.doc_id for d in store.list_documents()]
    state = next((s for s, ids in states.items() if set(docs) == ids), None)
    if state is None or len(docs) != len(set(docs)):
        return f"generation {gen} lists documents of neither state: {sorted(docs)}"
    if man["counts"]["documents"] != len(docs):
        return f"generation {gen}: manifest {man['counts']['documents']} documents, database {len(docs)}"
    chunks = store.chunks_of(docs)
    if man["counts"]["chunks"] != len(chunks):
        return f"generation {gen}: manifest {man['counts']['chunks']} chunks, database {len(chunks)}"
    hits = idx.search(QUERIES[query], k=5)
    if not {h.chunk.doc_id for h in hits} <= states[state]:
        return f"generation {gen} (state {state}) found chunks of other documents"
    if tuple(h.chunk.chunk_id for h in hits) != refs[state][query]:
        return f"generation {gen} (state {state}) answers {QUERIES[query]!r} unlike a clean build of {state}"
    return None


def snapshot_test(work: Path, rebuilds: int = 200, readers: int = 2, seed: int = 13) -> SnapshotReport:
    """Readers open and check snapshots while another process rebuilds; count errors and mixed opens."""
    from retrieval.build import build_index
    from retrieval.index import open_index

    encoder = FakeEncoder()
    refs = reference_answers(work, encoder)
    states = {s: corpus_docs(s) for s in "AB"}
    corpus, index = work / "corpus", work / "index"
    settings = Settings(corpus=corpus, index=index)
    set_corpus(corpus, "A")
    build_index(settings, encoder=encoder, progress=False, full=True)
    ctx = _context()
    done = ctx.Event()
    builder = ctx.Process(target=_rebuild_loop, args=(settings, rebuilds, done))
    builder.start()
    rep = SnapshotReport(rebuilds=rebuilds)
    seen: set[int] = set()
    lock = threading.Lock()

    def read(n: int) -> None:
        rng = random.Random(seed + n)
        while not done.is_set():
            q = rng.randrange(len(QUERIES))
            why, err = None, None
            try:
                idx = open_index(index, settings, encoder=encoder)
                why = check_snapshot(idx, states, refs, q)
                gen = idx.store.generation
                idx.store.close()
            except Exception:
                err, gen = traceback.format_exc(), None
            with lock:
                rep.opens += 1
                rep.errors += err is not None
                rep.mixed += why is not None
                if gen is not None:
                    seen.add(gen)
                if (err or why) and len(rep.messages) < 5:
                    rep.messages.append(err or why)

    threads = [threading.Thread(target=read, args=(n,)) for n in range(readers)]
    for t in threads:
        t.start()
    builder.join()
    for t in threads:
        t.join()
    if builder.exitcode != 0:
        rep.messages.append(f"the rebuilding process failed (exit {builder.exitcode})")
    rep.generations = len(seen)
    return rep
