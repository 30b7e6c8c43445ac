"""Find corpus files, tell their format from their bytes, and decode text whatever its encoding."""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

TEXT_SUFFIXES = (".txt", ".md")
HTML_SUFFIXES = (".html", ".htm", ".shtml")
SUFFIXES = (*TEXT_SUFFIXES, *HTML_SUFFIXES, ".pdf", ".docx")
_HTML_START = re.compile(rb"<(?:!doctype\s+html|html|head|body|meta|title)\b", re.IGNORECASE)
_ANY_TAG = re.compile(rb"<(?:!--|[a-z][a-z0-9]*[\s>/])", re.IGNORECASE)
# Chinese news arrives in these; charset-normalizer chooses among them when UTF-8 fails.
CANDIDATES = ("gb18030", "big5", "utf_16", "utf_16_le", "utf_16_be", "big5hkscs")


class UnreadableFile(ValueError):
    """A corpus file that no reader can turn into text; the message is the one-line reason."""


@dataclass(frozen=True)
class Skipped:
    """A file that could not be read, and why (one line)."""

    path: str
    reason: str


def find_files(corpus: Path) -> list[Path]:
    """All files with a readable suffix (SUFFIXES) under the corpus folder, at any depth, in a stable order."""
    return sorted(p for p in corpus.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)


def sniff(data: bytes, suffix: str = "") -> str | None:
    """The format the bytes are in: 'pdf', 'docx', 'zip', 'html', or None for plain text.

    Content wins over the suffix: a .txt that holds a web page is 'html'. A file named .html
    is 'html' as soon as it has a tag; any other file needs an HTML start tag near its top.
    """
    if data.startswith(b"%PDF"):
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                return "docx" if "word/document.xml" in z.namelist() else "zip"
        except zipfile.BadZipFile:
            return "zip"
    head = data[:4096]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        head = head.decode("utf-16", errors="ignore").encode("utf-8")
    head = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if _HTML_START.search(head) or (suffix.lower() in HTML_SUFFIXES and _ANY_TAG.search(head)):
        return "html"
    return None


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
