"""Reading stage: corpus files -> Documents (one reader per format, same Document out).

The contract the build uses:

- ``scan(corpus)``: ``(files, skipped)``: every file a reader accepts, at any depth, in a stable
  order, and every entry that could not be looked at (unreadable file or folder, dangling or
  looping symbolic link, pipe), each a ``Skipped`` with a one-line reason; a build reports both;
- ``find_files(corpus)``: just the files of ``scan``;
- ``read_path(path, corpus, max_bytes=None)``: the Document of one file, or ``UnreadableFile``
  with a one-line reason (too large for ``Settings.max_file_bytes``, binary, undecodable, empty);
- ``doc_id_for(path, corpus)``: the path under the corpus with its extension (``a.txt`` and
  ``a.html`` are two documents).

The reader is chosen by content as well as by suffix (``files.sniff``): txt/md (``plain``),
HTML (``html``, trafilatura), PDF (``pdf``, pypdf) and DOCX (``docx``, python-docx).
"""

from __future__ import annotations

import logging
from pathlib import Path

from retrieval.reading.files import (
    SUFFIXES,
    Skipped,
    UnreadableFile,
    decode,
    find_files,
    is_binary,
    scan,
    sniff,
    too_large,
)
from retrieval.types import Document

__all__ = ["SUFFIXES", "Skipped", "UnreadableFile", "doc_id_for", "find_files", "read_bytes", "read_path", "scan"]

log = logging.getLogger(__name__)
EXPECTED = {".pdf": ("pdf", "not a PDF (no %PDF header)"), ".docx": ("docx", "not a DOCX (no word/document.xml)")}


def doc_id_for(path: Path, corpus: Path) -> str:
    """Path relative to the corpus folder, with '/' separators and its extension."""
    return path.relative_to(corpus).as_posix()


def read_bytes(data: bytes, doc_id: str, path: str) -> Document:
    """Read one file's bytes with the reader its content calls for; raises UnreadableFile.

    Whatever goes wrong inside a reader (a parser error in lxml, trafilatura, pypdf or
    python-docx, a reader's library that does not import) becomes ``UnreadableFile`` with a
    one-line reason, so the build skips that file, names it, and goes on with the rest.
    """
    if not data.strip():
        raise UnreadableFile("empty file")
    suffix = Path(path).suffix.lower()
    fmt = sniff(data, suffix)
    expected = EXPECTED.get(suffix)
    if expected and fmt != expected[0]:
        raise UnreadableFile(expected[1])
    if fmt == "zip":
        raise UnreadableFile("a zip archive, not a document")
    try:
        return _read(data, doc_id, path, fmt, suffix)
    except (UnreadableFile, MemoryError):
        raise
    except ImportError as exc:
        raise UnreadableFile(f"the {fmt} reader does not import ({' '.join(str(exc).split())[:200]}): "
                             "reinstall with ./run setup or pip install policyqa") from exc
    except Exception as exc:  # a parser's own error on a malformed file
        log.debug("reader %s failed on %s", fmt, path, exc_info=exc)
        raise UnreadableFile(f"could not parse this {fmt} file ({type(exc).__name__}: "
                             f"{' '.join(str(exc).split())[:200]})") from exc


def _read(data: bytes, doc_id: str, path: str, fmt: str, suffix: str) -> Document:
    """The reader for ``fmt``: pdf, docx, html, else plain text."""
    if fmt == "pdf":
        from retrieval.reading.pdf import read_pdf

        return read_pdf(data, doc_id, path)
    if fmt == "docx":
        from retrieval.reading.docx import read_docx

        return read_docx(data, doc_id, path)
    if fmt == "html":
        from retrieval.reading.html import read_html

        return read_html(data, doc_id, path)
    from retrieval.reading.plain import read_document

    try:
        text, enc = decode(data)
    except ValueError as exc:
        raise UnreadableFile(str(exc)) from exc
    if is_binary(text):
        raise UnreadableFile("binary content, not text (mostly control characters)")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    doc = read_document(doc_id, path, text, enc)
    return Document(**{**doc.__dict__, "format": "md" if suffix == ".md" else "txt"})


def read_path(path: Path, corpus: Path, max_bytes: int | None = None) -> Document:
    """Read one corpus file into a Document; raises UnreadableFile saying why not.

    ``max_bytes`` defaults to ``Settings().max_file_bytes`` (env POLICYQA_MAX_FILE_BYTES; 0 = no limit).
    """
    from retrieval.settings import Settings

    limit = Settings().max_file_bytes if max_bytes is None else max_bytes
    try:
        if limit and (size := path.stat().st_size) > limit:
            raise UnreadableFile(too_large(size, limit))
        data = path.read_bytes()
    except OSError as exc:
        raise UnreadableFile(exc.strerror or str(exc)) from exc
    return read_bytes(data, doc_id_for(path, corpus), str(path))
