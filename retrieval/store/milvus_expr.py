"""Milvus addresses and boolean filter expressions (pure functions: no pymilvus needed).

A store location ``milvus://HOST:PORT/COLLECTION`` names a Milvus server and the collection
prefix of one index. ``literal`` and ``in_list`` are the pieces of an expression; filters and fact
queries are compiled into expressions by retrieval/store/compile.py.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from retrieval.errors import UserError

SCHEME = "milvus:"
_URL = re.compile(r"^milvus:/{1,2}(?P<host>[A-Za-z0-9.\-]+|\[[0-9A-Fa-f:]+\]):(?P<port>\d{1,5})/(?P<name>[^/]*)/?$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,150}$")  # Milvus collection names; suffixes are added


@dataclass(frozen=True)
class MilvusUrl:
    """Where a Milvus index lives: server address and collection prefix."""

    host: str
    port: int
    name: str

    @property
    def uri(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __str__(self) -> str:
        return f"milvus://{self.host}:{self.port}/{self.name}"


def is_milvus(location: str | Path) -> bool:
    """True for a ``milvus://`` location (also after ``Path`` folded its double slash)."""
    return str(location).startswith(SCHEME)


def parse_url(location: str | Path) -> MilvusUrl:
    """Parse ``milvus://HOST:PORT/COLLECTION``; a malformed one is a one-line UserError."""
    m = _URL.match(str(location))
    if not m:
        raise UserError(f"bad Milvus location {location!r}: write milvus://HOST:PORT/COLLECTION "
                        "(e.g. milvus://127.0.0.1:19530/policyqa)")
    port = int(m["port"])
    if not 0 < port < 65536:
        raise UserError(f"bad Milvus location {location!r}: port {port} is out of range")
    if not _NAME.match(m["name"]):
        raise UserError(f"bad Milvus collection name {m['name']!r} in {location!r}: use letters, digits and _, "
                        "starting with a letter or _")
    return MilvusUrl(m["host"], port, m["name"])


def literal(value: str | int | float) -> str:
    """A Milvus expression literal: strings double-quoted with quotes, backslashes and controls escaped."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)  # \" \\ \n \uXXXX: what Milvus's parser unquotes


def in_list(field: str, values: tuple[str, ...] | list[str]) -> str:
    return f"{field} in [{', '.join(literal(v) for v in values)}]"


def both(*exprs: str) -> str:
    """AND of the non-empty expressions, each parenthesized."""
    parts = [e for e in exprs if e]
    return " and ".join(f"({e})" for e in parts)
