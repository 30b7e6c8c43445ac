"""Reading stage: corpus files -> Documents (one reader per format, same Document out).

The contract the build uses:

- ``find_files(corpus)``: every file a reader accepts, at any depth, in a stable order;
- ``read_path(path, corpus)``: the Document of one file, or ``UnreadableFile`` with a one-line reason;
- ``doc_id_for(path, corpus)``: the path under the corpus with its extension (``a.txt`` and
  ``a.html`` are two documents).
"""

from __future__ import annotations

from pathlib import Path

from retrieval.reading.files import SUFFIXES, Skipped, find_files, read_text
from retrieval.types import Document

__all__ = ["SUFFIXES", "Skipped", "UnreadableFile", "doc_id_for", "find_files", "read_path"]


class UnreadableFile(ValueError):
    """A corpus file that no reader can turn into text; the message is the one-line reason."""


def doc_id_for(path: Path, corpus: Path) -> str:
    """Path relative to the corpus folder, with '/' separators and its extension."""
    return path.relative_to(corpus).as_posix()


def read_path(path: Path, corpus: Path) -> Document:
    """Read one corpus file into a Document; raises UnreadableFile saying why not."""
    from retrieval.reading.plain import read_document

    try:
        text, enc = read_text(path)
    except OSError as exc:
        raise UnreadableFile(exc.strerror or str(exc)) from exc
    except ValueError as exc:
        raise UnreadableFile(str(exc)) from exc
    fmt = path.suffix.lower().lstrip(".") or "txt"
    doc = read_document(doc_id_for(path, corpus), str(path), text, enc)
    return Document(**{**doc.__dict__, "format": fmt})
