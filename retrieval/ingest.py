"""Adding and removing corpus files: checked before anything is written, then an incremental build.

A file is accepted only if a reader turns it into text (so a wrong type, an empty file, a
scanned PDF or undecodable bytes are refused with their one-line reason and never reach the
corpus); accepted files are saved under the corpus folder without replacing a file already
there. The index is brought up to date by the incremental build, so nothing already indexed
is lost when a file is refused or a build fails.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

from retrieval.errors import UserError
from retrieval.reading import SUFFIXES, UnreadableFile, read_bytes
from retrieval.reading.files import too_large
from retrieval.settings import Settings

log = logging.getLogger(__name__)

UPLOADS = "uploads"  # where files added from the browser or `policyqa add` are saved, under the corpus


@dataclass(frozen=True)
class Added:
    """What became of one offered file: saved at ``path``, or refused with ``reason``."""

    name: str
    path: str | None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.path is not None


def safe_name(name: str) -> str:
    """A file name without folders, control characters or a leading dot; keeps CJK characters."""
    base = Path(name.replace("\\", "/")).name
    base = re.sub(r"[\x00-\x1f\x7f/]", "_", base).strip().lstrip(".")
    return base or "document"


def check(name: str, data: bytes, settings: Settings) -> str | None:
    """None when a reader can read the file, else the one-line reason it is refused."""
    suffix = Path(name).suffix.lower()
    if suffix not in SUFFIXES:
        return f"unsupported type {suffix or '(none)'}: use one of {', '.join(SUFFIXES)}"
    if settings.max_file_bytes and len(data) > settings.max_file_bytes:
        return too_large(len(data), settings.max_file_bytes)
    from retrieval.text.chunking import chunk_document

    try:
        doc = read_bytes(data, name, name)
    except UnreadableFile as exc:
        return str(exc)
    if not chunk_document(doc, settings.max_chunk_chars):
        return "no readable text (no paragraph found)"
    return None


def save(files: list[tuple[str, bytes]], settings: Settings) -> list[Added]:
    """Check each (name, bytes) and save the readable ones under ``corpus/uploads/``."""
    dest = settings.corpus / UPLOADS
    out: list[Added] = []
    for name, data in files:
        clean = safe_name(name)
        reason = check(clean, data, settings)
        if reason is not None:
            out.append(Added(name, None, reason))
            continue
        dest.mkdir(parents=True, exist_ok=True)
        target = dest / clean
        n = 1
        while target.exists():
            if target.read_bytes() == data:
                break  # the same file again: nothing to add
            target = dest / f"{Path(clean).stem}-{n}{Path(clean).suffix}"
            n += 1
        if not target.exists():
            target.write_bytes(data)
        out.append(Added(name, str(target)))
    return out


def add_paths(paths: list[Path], settings: Settings) -> list[Added]:
    """``policyqa add``: read files from disk and save them as uploads."""
    files: list[tuple[str, bytes]] = []
    refused: list[Added] = []
    for p in paths:
        try:
            files.append((p.name, p.read_bytes()))
        except OSError as exc:
            refused.append(Added(str(p), None, exc.strerror or str(exc)))
    return refused + save(files, settings)


def remove(doc_ids: list[str], settings: Settings) -> list[str]:
    """Delete the corpus files of these documents (ids are paths under the corpus); the build drops them."""
    removed = []
    root = settings.corpus.resolve()
    for doc_id in doc_ids:
        path = (settings.corpus / doc_id).resolve()
        if root not in path.parents or not path.is_file():
            raise UserError(f"no document {doc_id!r} in {settings.corpus}")
        path.unlink()
        removed.append(doc_id)
    return removed
