"""Count what a hostile corpus and fuzzed strings do to policyqa; prints figures, asserts nothing.

    .venv/bin/python scripts/hostile.py [--fuzz 100000] [--seed 13]

Part 1 writes tests/hostile_corpus.py's corpus to a temporary folder and runs each file alone
through reading, chunking, regions and facts, then the whole corpus through build_index (fake
encoder, no model) and `policyqa search/ask/facts --json`: files tried, indexed, named as
skipped, crashed (an exception, or neither indexed nor named). Part 2 calls every text function
of tests/hostile_corpus.py:fuzz_targets() on random hostile strings and counts exceptions.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from conftest import FakeEncoder  # noqa: E402
from hostile_corpus import fuzz_targets, make_hostile_corpus, random_string, unlock  # noqa: E402

log = logging.getLogger("hostile")


def _alone(path: Path, corpus: Path) -> str:
    """'indexed' or 'skipped' for one file through the reading and text stages; raises on a crash."""
    from retrieval.reading import UnreadableFile, read_path
    from retrieval.text.chunking import chunk_document
    from retrieval.text.facts import extract_facts
    from retrieval.text.regions import attribute_regions

    try:
        doc = read_path(path, corpus)
    except UnreadableFile:
        return "skipped"
    chunks = attribute_regions([doc], chunk_document(doc))
    extract_facts([doc], chunks)
    return "indexed"


def corpus_part(base: Path) -> dict[str, int]:
    from retrieval.cli import main
    from retrieval.index import build_index, open_index
    from retrieval.reading.files import scan
    from retrieval.settings import Settings

    corpus = base / "corpus"
    expected = make_hostile_corpus(corpus, big_bytes=2_000_000)
    counts = Counter(tried=len(expected))
    files, skipped = scan(corpus)
    named = {Path(s.path).relative_to(corpus).as_posix() for s in skipped}
    for path in files:
        try:
            outcome = _alone(path, corpus)
        except Exception as exc:  # a crash is what we count
            counts["crashed"] += 1
            log.error("crashed on %r: %s: %s", path.name, type(exc).__name__, exc)
            continue
        if outcome == "skipped":
            named.add(path.relative_to(corpus).as_posix())
    settings = Settings(corpus=corpus, index=base / "index")
    try:
        report = build_index(settings, encoder=FakeEncoder(), progress=False)
        index = open_index(settings.index, settings, encoder=FakeEncoder())
    except Exception as exc:
        log.error("the build crashed: %s: %s", type(exc).__name__, exc)
        counts["crashed"] = counts["tried"]
        return dict(counts)
    named |= {Path(s.path).relative_to(corpus).as_posix() for s in report.skipped}
    for rel in expected:
        if rel in index.documents:
            counts["indexed"] += 1
        elif rel in named:
            counts["named as skipped"] += 1
        else:
            counts["crashed"] += 1
            log.error("neither indexed nor named: %r", rel)
    import retrieval.cli as cli

    cli._open = lambda args: open_index(settings.index, settings, encoder=FakeEncoder())
    for argv in (["search", "--json", "增长", "\x1b[31m"], ["ask", "--json", "哪些地区提出了9.5%的增长目标?"],
                 ["facts", "--json"], ["search", "红色 结束"]):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            rc = main(argv)
        counts["cli commands"] += 1
        bad = rc != 0
        for line in out.getvalue().splitlines() if "--json" in argv else []:
            try:
                json.loads(line, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
            except ValueError:
                bad = True
        counts["cli failures"] += bad
    unlock(corpus)
    return dict(counts)


def fuzz_part(n: int, seed: int) -> tuple[dict[str, int], dict[str, int], float]:
    rng = random.Random(seed)
    targets = fuzz_targets()
    tried: Counter = Counter()
    errors: Counter = Counter()
    t0 = time.perf_counter()
    for i in range(n):
        name = list(targets)[i % len(targets)]
        text = random_string(rng)
        tried[name] += 1
        try:
            targets[name](text)
        except Exception as exc:
            errors[name] += 1
            if errors[name] <= 3:
                log.error("%s raised %s: %s on %r", name, type(exc).__name__, exc, text)
    return dict(tried), dict(errors), time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fuzz", type=int, default=100_000, help="fuzzed strings in all (default: 100000)")
    ap.add_argument("--seed", type=int, default=13, help="random seed (default: 13)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    logging.getLogger("retrieval").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        counts = corpus_part(Path(tmp))
        took = time.perf_counter() - t0
    print(f"hostile corpus ({took:.1f} s): {counts.get('tried', 0)} files tried, {counts.get('indexed', 0)} indexed, "
          f"{counts.get('named as skipped', 0)} named as skipped, {counts.get('crashed', 0)} crashed; "
          f"{counts.get('cli commands', 0)} CLI commands, {counts.get('cli failures', 0)} failed")
    tried, errors, took = fuzz_part(args.fuzz, args.seed)
    print(f"fuzzing ({took:.1f} s, seed {args.seed}): {sum(tried.values())} strings, "
          f"{sum(errors.values())} exceptions")
    for name in tried:
        print(f"  {name:16} {tried[name]:>7} strings  {errors.get(name, 0)} exceptions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
