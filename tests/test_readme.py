"""Every example command of the README's "From the terminal" section runs and exits 0.

The fake encoder stands in for the model (patched where the index makes its encoder), so the
commands run as written against a copy of the seed corpus; `model info` needs the real model.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil

import pytest
from conftest import ROOT, SEEDS, FakeEncoder


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## From the terminal", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return [line.split("  #")[0].strip() for line in block.splitlines() if line.startswith("policyqa ")]


def _argv(line: str) -> list[str]:
    return shlex.split(re.sub(r"\s*\[[^\]]*\]", "", line))[1:]  # optional [--flags] left out


COMMANDS = readme_commands()


def test_the_readme_has_examples():
    assert len(COMMANDS) >= 6 and any(c.startswith("policyqa build") for c in COMMANDS)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A folder like a checkout: the seed corpus and gold set, and an index built by `build`."""
    base = tmp_path_factory.mktemp("readme")
    shutil.copytree(SEEDS, base / "corpus")
    shutil.copytree(ROOT / "eval" / "gold" / "seed", base / "eval" / "gold" / "seed")
    # the files `policyqa add` is shown with, made from seed articles (eval/formats.py)
    import sys

    sys.path.insert(0, str(ROOT))
    from eval.formats import figure_rows, load_articles, render_docx, render_html, render_pdf

    (_d1, article), (doc2, article2), (_d3, article3) = load_articles(SEEDS)[:3]
    (base / "notice.pdf").write_bytes(render_pdf(article))
    (base / "report.docx").write_bytes(render_docx(article2, figure_rows(doc2)))
    (base / "page.html").write_bytes(render_html(article3))
    (base / "questions.txt").write_text("哪些地区提出了9.5%的增长目标\nWhich regions set 9.5% targets?\n", encoding="utf-8")
    return base


@pytest.mark.parametrize("line", [
    pytest.param(c, marks=pytest.mark.model) if c.startswith("policyqa model") else c for c in COMMANDS
])
def test_readme_command_runs(line, workdir, monkeypatch, capsys):
    from retrieval.cli import main

    monkeypatch.chdir(workdir)
    if not line.startswith("policyqa model"):
        monkeypatch.setattr("retrieval.index.Embedder", lambda *a, **k: FakeEncoder())
        monkeypatch.setattr("retrieval.build.Embedder", lambda *a, **k: FakeEncoder())
    if not (workdir / "index").exists() and not line.startswith("policyqa build"):
        assert main(["build"]) == 0
    argv = _argv(line)
    assert main(argv) == 0, line
    out = capsys.readouterr().out
    assert out.strip(), line
    if "--json" in argv:
        for row in out.splitlines():
            if row.startswith(("{", "[")):
                json.loads(row)
