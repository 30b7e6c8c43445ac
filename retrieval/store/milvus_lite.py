"""Run milvus-lite as a separate server process on 127.0.0.1 (tests, benchmarks, one-machine trials).

    with LiteServer(Path("/tmp/m/policyqa.db")) as srv:
        open_index(f"{srv.url}/policyqa")      # srv.url == "milvus://127.0.0.1:PORT"
"""

from __future__ import annotations

import logging
import socket
import time
import warnings
from pathlib import Path

from retrieval.errors import UserError

log = logging.getLogger(__name__)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class LiteServer:
    """milvus-lite's server binary on 127.0.0.1 and a free port, its data in one file; a context manager."""

    def __init__(self, db_file: Path, host: str = "127.0.0.1", port: int | None = None,
                 start_timeout_s: float = 60.0) -> None:
        self.db_file = Path(db_file)
        self.host = host
        self.port = port or free_port(host)
        self.start_timeout_s = start_timeout_s
        self.server = None

    @property
    def url(self) -> str:
        return f"milvus://{self.host}:{self.port}"

    def __enter__(self) -> LiteServer:
        try:
            with warnings.catch_warnings():  # milvus-lite 2.5.1 imports the deprecated pkg_resources
                warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
                from milvus_lite.server import Server
        except ImportError as exc:
            raise UserError("milvus-lite is not installed: pip install 'policyqa[milvus]'") from exc
        self.db_file.parent.mkdir(parents=True, exist_ok=True)
        self.server = Server(str(self.db_file), address=f"{self.host}:{self.port}")
        if not self.server.init() or not self.server.start():
            raise UserError(f"milvus-lite did not start on {self.host}:{self.port} (data {self.db_file})")
        self._wait()
        log.info("milvus-lite serving %s on %s:%d", self.db_file, self.host, self.port)
        return self

    def _wait(self) -> None:
        deadline = time.monotonic() + self.start_timeout_s
        while True:
            try:
                with socket.create_connection((self.host, self.port), timeout=1.0):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise UserError(f"milvus-lite did not answer on {self.host}:{self.port} "
                                    f"within {self.start_timeout_s:.0f} s") from None
                time.sleep(0.2)

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()  # waits 2 s, then kills the process
            self.server = None

    def __exit__(self, *exc: object) -> None:
        self.stop()
