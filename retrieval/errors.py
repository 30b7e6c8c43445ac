"""Errors a user can cause and fix: shown as one line, never as a traceback.

`user_message(exc)` turns any exception into that line; the CLI, the app, the HTTP API and the
MCP server all use it, so a failure reads the same wherever it is met.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


class UserError(Exception):
    """A problem with the user's input or setup; the message says what to do."""


class MissingExtra(UserError):
    """An optional part (an extra) is not installed, or installed but does not import."""

    def __init__(self, extra: str, feature: str, cause: BaseException | None = None) -> None:
        why = f" ({_one_line(cause)})" if cause is not None else ""
        super().__init__(f"{feature} needs the {extra} extra, which does not import{why}: "
                         f"pip install 'policyqa[{extra}]' (or ./run setup)")
        self.extra = extra


class OutdatedIndex(UserError):
    """The index was written by an older version of this tool: a rebuild (from the embedding
    cache, so cheap) makes it current; nothing of the corpus is lost."""


class StaleQuote(UserError):
    """A quote the index holds no longer matches its document's text: the index is out of step."""

    def __init__(self, doc_id: str) -> None:
        super().__init__(f"the index's quote from {doc_id!r} no longer matches that document's text: "
                         "run `policyqa build --full` to rebuild the index")
        self.doc_id = doc_id


def require(modules: list[str], extra: str, feature: str) -> None:
    """Import each module now, raising `MissingExtra` (one line) when one is missing or broken.

    `importlib.util.find_spec` only says a module is present; an installed extra can still fail
    on import (a missing dependency of its own), so this imports for real.
    """
    import importlib

    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as exc:  # ImportError, or any error raised while the module runs
            raise MissingExtra(extra, feature, exc) from exc


def _one_line(exc: BaseException | None) -> str:
    text = " ".join(str(exc or "").split())
    return text[:300] + ("…" if len(text) > 300 else "")


def user_message(exc: BaseException) -> str:
    """One line that says what went wrong and, where we know, what to do.

    Errors we raise on purpose (`UserError`) carry their own advice; for everything else the
    line names the kind of failure, and the traceback goes to the debug log (`-v`).
    """
    if isinstance(exc, UserError):
        return _one_line(exc)
    log.debug("unexpected error", exc_info=exc)
    kind = type(exc).__name__
    module = type(exc).__module__ or ""
    if isinstance(exc, ImportError):
        missing = getattr(exc, "name", None) or "a module"
        return (f"{missing} does not import ({_one_line(exc)}): reinstall with ./run setup "
                "or pip install 'policyqa[app,eval]'")
    if isinstance(exc, MemoryError):
        return "out of memory: close other programs or index fewer files at once"
    if isinstance(exc, PermissionError):
        return f"permission denied: {_one_line(exc)}: check the folder's owner and mode"
    if isinstance(exc, FileNotFoundError):
        return f"file not found: {_one_line(exc)}"
    if isinstance(exc, TimeoutError) or "timeout" in kind.lower() or module.startswith(("pymilvus", "grpc")):
        return (f"the index server did not answer ({kind}: {_one_line(exc)}): check that Milvus is running "
                "and reachable, then try again")
    if isinstance(exc, OSError):
        return f"{kind}: {_one_line(exc)}"
    return f"unexpected error ({kind}: {_one_line(exc)}); run with -v for details and please report it"
