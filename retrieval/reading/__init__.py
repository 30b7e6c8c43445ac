"""Reading stage: corpus files -> Documents (one reader per format, same Document out).

The contract the build uses:

- ``scan(corpus)``: ``(files, skipped)``: every file a reader accepts, at any depth, in a stable
  order, and every entry that could not be looked at (unreadable file or folder, dangling or
  looping symbolic link, pipe), each a ``Skipped`` with a one-line reason; a build reports both;
- ``find_files(corpus)``: just the files of ``scan`` (kept for callers that need no reasons);
- ``read_path(path, corpus, max_bytes=None)``: the Document of one file, or ``UnreadableFile``
  with a one-line reason (too large for ``Settings.max_file_bytes``, binary, undecodable, empty);
- ``doc_id_for(path, corpus)``: the path under the corpus with its extension (``a.txt`` and
  ``a.html`` are two documents).
"""

from __future__ import annotations

from pathlib import Path

from retrieval.reading.files import SUFFIXES, Skipped, find_files, read_text, scan
from retrieval.types import Document

__all__ = ["SUFFIXES", "Skipped", "UnreadableFile", "doc_id_for", "find_files", "read_path", "scan"]


class UnreadableFile(ValueError):
    """A corpus file that no reader can turn into text; the message is the one-line reason."""


def doc_id_for(path: Path, corpus: Path) -> str:
    """Path relative to the corpus folder, with '/' separators and its extension."""
    return path.relative_to(corpus).as_posix()


def read_path(path: Path, corpus: Path, max_bytes: int | None = None) -> Document:
    """Read one corpus file into a Document; raises UnreadableFile saying why not.

    ``max_bytes`` defaults to ``Settings().max_file_bytes`` (env POLICYQA_MAX_FILE_BYTES).
    """
    from retrieval.reading.plain import read_document
    from retrieval.settings import Settings

    try:
        text, enc = read_text(path, Settings().max_file_bytes if max_bytes is None else max_bytes)
    except OSError as exc:
        raise UnreadableFile(exc.strerror or str(exc)) from exc
    except ValueError as exc:
        raise UnreadableFile(str(exc)) from exc
    fmt = path.suffix.lower().lstrip(".") or "txt"
    doc = read_document(doc_id_for(path, corpus), str(path), text, enc)
    return Document(**{**doc.__dict__, "format": fmt})
