"""Find corpus files, tell their format from their bytes, and decode text whatever its encoding."""

from __future__ import annotations

import errno
import io
import logging
import os
import re
import stat
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path

TEXT_SUFFIXES = (".txt", ".md")
HTML_SUFFIXES = (".html", ".htm", ".shtml")
SUFFIXES = (*TEXT_SUFFIXES, *HTML_SUFFIXES, ".pdf", ".docx")
_HTML_START = re.compile(rb"<(?:!doctype\s+html|html|head|body|meta|title)\b", re.IGNORECASE)
_ANY_TAG = re.compile(rb"<(?:!--|[a-z][a-z0-9]*[\s>/])", re.IGNORECASE)
# Chinese news arrives in these; charset-normalizer chooses among them when UTF-8 fails.
log = logging.getLogger(__name__)

CANDIDATES = ("gb18030", "big5", "utf_16", "utf_16_le", "utf_16_be", "big5hkscs")
# Decoded text with more than this share of control characters (other than newline, tab, CR,
# form feed) is binary, not text: real news has none; ANSI-coloured text has well under this.
BINARY_SHARE = 0.3
_TEXT_CONTROLS = frozenset("\n\r\t\f")


class UnreadableFile(ValueError):
    """A corpus file that no reader can turn into text; the message is the one-line reason."""


@dataclass(frozen=True)
class Skipped:
    """A file that could not be read, and why (one line)."""

    path: str
    reason: str


def _problem(path: Path) -> str | None:
    """Why a listed corpus entry cannot be read as a file, or None when it can."""
    try:
        info = path.stat()  # follows symbolic links
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symbolic link loop"
        if path.is_symlink():
            return f"dangling symbolic link (to {os.readlink(path)})"
        return exc.strerror or str(exc)
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file (a pipe, socket or device)"  # reading a pipe would wait forever
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def scan(corpus: Path) -> tuple[list[Path], list[Skipped]]:
    """Every readable corpus file, and every entry that could not be looked at, each with why.

    Walks the corpus at any depth. A ``.txt``/``.md`` name is a file when it opens; otherwise it
    goes to ``skipped``: unreadable (permissions), a dangling or looping symbolic link, a pipe
    or device. A folder that cannot be listed is skipped and named; a symbolic link to a folder
    is named and not followed (links could loop or leave the corpus). What a file *contains*
    (encoding, binary content, size) is judged later, by ``read_path``.

    Returns:
        (files, skipped): files sorted by path (the order ``find_files`` always had, so corpus
        hashes do not change); skipped sorted by path, one ``Skipped`` per problem.
    """
    files: list[Path] = []
    skipped: list[Skipped] = []

    def unlisted(exc: OSError) -> None:
        skipped.append(Skipped(str(exc.filename), f"folder not readable: {exc.strerror or exc}"))

    for root, dirs, names in os.walk(corpus, onerror=unlisted):
        here = Path(root)
        if here == Path(corpus):  # the corpus's own words and places (retrieval/text/vocabulary.py)
            dirs[:] = [d for d in dirs if d != ".policyqa"]
        for name in [d for d in dirs if (here / d).is_symlink()]:
            dirs.remove(name)
            skipped.append(Skipped(str(here / name), "symbolic link to a folder: not followed"))
        for name in names:
            path = here / name
            if path.suffix.lower() not in SUFFIXES:
                continue
            problem = _problem(path)
            if problem is None:
                files.append(path)
            else:
                skipped.append(Skipped(str(path), problem))
    return sorted(files), sorted(skipped, key=lambda s: s.path)


def find_files(corpus: Path) -> list[Path]:
    """All readable .txt/.md files under the corpus folder, at any depth, in a stable order.

    What cannot be read is left out here and logged at INFO; ``scan`` returns it, named.
    """
    files, skipped = scan(corpus)
    for s in skipped:
        log.info("skipped %s: %s", s.path, s.reason)
    return files


def is_binary(text: str) -> bool:
    """True when more than BINARY_SHARE of the characters are control characters."""
    if not text:
        return False
    controls = sum(1 for ch in text if ch not in _TEXT_CONTROLS and unicodedata.category(ch) == "Cc")
    return controls > BINARY_SHARE * len(text)


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


def too_large(size: int, max_bytes: int) -> str:
    """The one-line reason for a file over the size limit, naming the setting that sets it."""
    return (f"{size / 1e6:.1f} MB is over the {max_bytes / 1e6:.1f} MB limit per file (Settings.max_file_bytes; "
            "set POLICYQA_MAX_FILE_BYTES to a larger number of bytes, or 0 for no limit, and build again)")
