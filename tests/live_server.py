"""A real uvicorn serving Rapport on 127.0.0.1, for acceptance tests over real HTTP.

    with LiveServer(settings) as server:
        httpx.get(server.url + "/healthz")

The server runs in a background thread with its own event loop, on a socket bound to a free
port before start (no race for the port). ``start`` returns once ``/healthz`` answers 200, and
raises the app's start-up error (a RapportError) when start-up fails. ``stop`` shuts uvicorn
down cleanly (lifespan shutdown included) and joins the thread.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from dataclasses import replace
from types import TracebackType
from typing import Any

import httpx
import uvicorn

from rapport.app import RapportApp, create_app
from rapport.settings import Environment, Settings

__all__ = ["LiveServer", "server_settings"]


def server_settings(database_url: str | None, **overrides: Any) -> Settings:
    """Settings for a test server: the given database, a fixed secret, no GraphiQL."""
    base = Settings.from_env(
        {
            "RAPPORT_ENV": "test",
            "RAPPORT_JWT_SECRET": "t" * 64,
            "RAPPORT_DATA_DIR": "/nonexistent-rapport-test-data-dir",
            "RAPPORT_DATABASE_POOL_SIZE": "4",
        }
    )
    return replace(base, database_url=database_url, environment=Environment.TEST, **overrides)


class LiveServer:
    def __init__(self, settings: Settings, *, app: RapportApp | None = None) -> None:
        self.settings = settings
        self.app = app if app is not None else create_app(settings)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            self.app,
            lifespan="on",
            log_level="warning",
            access_log=False,
            workers=1,
            proxy_headers=False,  # as rapport.server: the peer is the client address
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._serve, name=f"uvicorn-{self.port}")
        self._failure: BaseException | None = None

    def _serve(self) -> None:
        try:
            asyncio.run(self._server.serve(sockets=[self._sock]))
        except SystemExit:
            pass  # uvicorn exits this way when start-up fails; start() reports why
        except BaseException as exc:
            self._failure = exc

    def start(self, timeout: float = 30.0) -> LiveServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self._thread.is_alive():
                self._sock.close()
                if self.app.startup_error is not None:
                    raise self.app.startup_error
                raise RuntimeError(f"the live server died before it was ready: {self._failure!r}")
            if self._server.started:
                try:
                    if httpx.get(self.url + "/healthz", timeout=2.0).status_code == 200:
                        return self
                except httpx.TransportError:
                    pass
            time.sleep(0.02)
        self.stop()
        raise TimeoutError(f"the live server on {self.url} was not ready after {timeout}s")

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=30)
        self._sock.close()
        if self._thread.is_alive():
            raise RuntimeError(f"the live server on {self.url} did not stop")

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
