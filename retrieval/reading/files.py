"""Find corpus files and decode them, whatever their encoding."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

SUFFIXES = (".txt", ".md")
# Chinese news arrives in these; charset-normalizer chooses among them when UTF-8 fails.
CANDIDATES = ("gb18030", "big5", "utf_16", "utf_16_le", "utf_16_be", "big5hkscs")


@dataclass(frozen=True)
class Skipped:
    """A file that could not be read, and why (one line)."""

    path: str
    reason: str


def find_files(corpus: Path) -> list[Path]:
    """All .txt/.md files under the corpus folder, at any depth, in a stable order."""
    return sorted(p for p in corpus.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)


def decode(data: bytes) -> tuple[str, str]:
    """Decode bytes to text; return (text, encoding). Raises ValueError when unreadable."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data, cp_isolation=list(CANDIDATES)).best()
    if best is None:
        raise ValueError("not text in UTF-8, GB18030/GBK, Big5 or UTF-16")
    text = str(best)
    if "\x00" in text:
        raise ValueError("binary content")
    return text, best.encoding


def read_text(path: Path) -> tuple[str, str]:
    """Read and decode one file; newlines normalized to \\n. Raises ValueError/OSError."""
    data = path.read_bytes()
    if not data.strip():
        raise ValueError("empty file")
    text, enc = decode(data)
    return text.replace("\r\n", "\n").replace("\r", "\n"), enc


def iter_texts(corpus: Path) -> Iterator[tuple[Path, str, str] | Skipped]:
    """Yield (path, text, encoding) for each readable file, or a Skipped record."""
    for path in find_files(corpus):
        try:
            text, enc = read_text(path)
        except (OSError, ValueError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            log.warning("skipped %s: %s", path, reason)
            yield Skipped(str(path), reason)
            continue
        yield path, text, enc
