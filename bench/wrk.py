"""Load from wrk (HTTP/1.1 keep-alive, closed loop): one POST body, N connections, S seconds.

wrk is C and uses little CPU per request, which matters on a 2-core machine where the load
generator shares the cores with the server it measures. When wrk is missing the benchmark
installs it (Debian package ``wrk``, as root); without it, :mod:`bench.http_load` is used and
the report says so.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.http_load import build_request, run_load

__all__ = ["Load", "Target", "ensure_wrk", "measure"]

_LUA = """\
wrk.method = "POST"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
{headers}
"""
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


@dataclass(frozen=True, slots=True)
class Target:
    """One server's endpoint and the request it is sent."""

    port: int
    path: str
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Load:
    throughput: float  # requests per second
    p50_ms: float
    errors: int  # non-2xx answers and socket errors


def ensure_wrk() -> str | None:
    """wrk's path, installing the Debian package when it is missing and we may (root)."""
    found = shutil.which("wrk")
    if found or os.environ.get("RAPPORT_BENCH_NO_INSTALL"):
        return found
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        if subprocess.run(["apt-get", "install", "-y", "wrk"], check=False, **quiet).returncode:
            subprocess.run(["apt-get", "update"], check=False, **quiet)
            subprocess.run(["apt-get", "install", "-y", "wrk"], check=False, **quiet)
    return shutil.which("wrk")


def _lua(target: Target) -> str:
    def literal(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    headers = "\n".join(f"wrk.headers[{literal(k)}] = {literal(v)}" for k, v in target.headers)
    return _LUA.format(body=literal(target.body.decode()), headers=headers)


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def parse(output: str) -> Load:
    """wrk's report (run with ``--latency``) as figures."""
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.MULTILINE)
    if rps is None or p50 is None:
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    errors = 0
    if found := re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        errors += int(found.group(1))
    if found := re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    ):
        errors += sum(int(g) for g in found.groups())
    return Load(float(rps.group(1)), _ms(p50.group(1)), errors)


async def measure(wrk: str | None, target: Target, *, connections: int, seconds: float) -> Load:
    if wrk is None:
        request = build_request(
            "127.0.0.1", target.port, target.path, target.body, dict(target.headers)
        )
        result = await run_load(
            "127.0.0.1", target.port, request, connections=connections, seconds=seconds
        )
        return Load(result.throughput, result.percentile(0.5), result.errors)
    with tempfile.TemporaryDirectory(prefix="rapport-wrk-") as tmp:
        script = Path(tmp) / "post.lua"
        script.write_text(_lua(target))
        proc = await asyncio.create_subprocess_exec(
            wrk,
            f"-t{min(2, connections)}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(script),
            f"http://127.0.0.1:{target.port}{target.path}",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await proc.communicate()
    return parse(out.decode())
