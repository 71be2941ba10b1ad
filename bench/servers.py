"""Starting the servers a benchmark measures, and waiting until they answer."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time

from bench.http_load import fetch_once

__all__ = ["free_port", "start", "wait_until_serving"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(cmd: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


async def wait_until_serving(
    port: int, request: bytes, proc: subprocess.Popen[bytes], timeout: float = 60
) -> bytes:
    """The body of the first 200 answer to ``request``; raises if the server exits or stalls."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"server exited: {proc.stderr.read().decode() if proc.stderr else ''}"
            )
        try:
            status, body = await fetch_once("127.0.0.1", port, request)
            if status == 200:
                return body
            last = f"{status}: {body[:500]!r}"
        except OSError as exc:
            last = str(exc)
        await asyncio.sleep(0.2)
    raise RuntimeError(f"server on port {port} did not answer 200 within {timeout:.0f} s: {last}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
