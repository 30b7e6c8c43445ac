"""Find corpus files and decode them, whatever their encoding."""

from __future__ import annotations

import errno
import logging
import os
import stat
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

SUFFIXES = (".txt", ".md")
# Chinese news arrives in these; charset-normalizer chooses among them when UTF-8 fails.
CANDIDATES = ("gb18030", "big5", "utf_16", "utf_16_le", "utf_16_be", "big5hkscs")
# Decoded text with more than this share of control characters (other than newline, tab, CR,
# form feed) is binary, not text: real news has none; ANSI-coloured text has well under this.
BINARY_SHARE = 0.3
_TEXT_CONTROLS = frozenset("\n\r\t\f")


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
    (encoding, binary content, size) is judged later, by ``read_text``.

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


def with_unlisted(skipped: list[Skipped], corpus: Path) -> list[Skipped]:
    """A build's skipped list plus what ``scan`` names that the build did not see.

    For builds that list files with ``find_files``: dangling or looping links, unreadable
    folders and the like never reach their reader, so they would go unnamed.
    """
    seen = {s.path for s in skipped}
    return list(skipped) + [s for s in scan(corpus)[1] if s.path not in seen]


def is_binary(text: str) -> bool:
    """True when more than BINARY_SHARE of the characters are control characters."""
    if not text:
        return False
    controls = sum(1 for ch in text if ch not in _TEXT_CONTROLS and unicodedata.category(ch) == "Cc")
    return controls > BINARY_SHARE * len(text)


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


def read_text(path: Path, max_bytes: int = 0) -> tuple[str, str]:
    """Read and decode one file; newlines normalized to \\n. Raises ValueError/OSError.

    ``max_bytes`` (0 = no limit) is checked before reading; text that is mostly control
    characters is refused as binary.
    """
    if max_bytes and (size := path.stat().st_size) > max_bytes:
        raise ValueError(too_large(size, max_bytes))
    data = path.read_bytes()
    if not data.strip():
        raise ValueError("empty file")
    text, enc = decode(data)
    if is_binary(text):
        raise ValueError("binary content, not text (mostly control characters)")
    return text.replace("\r\n", "\n").replace("\r", "\n"), enc


def iter_texts(corpus: Path, max_bytes: int = 0) -> Iterator[tuple[Path, str, str] | Skipped]:
    """Yield (path, text, encoding) for each readable file, or a Skipped record."""
    files, skipped = scan(corpus)
    yield from skipped
    for path in files:
        try:
            text, enc = read_text(path, max_bytes)
        except (OSError, ValueError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            log.warning("skipped %s: %s", path, reason)
            yield Skipped(str(path), reason)
            continue
        yield path, text, enc
