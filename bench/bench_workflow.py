"""Workflow throughput: transitions per second over HTTP, and the SLA sweep with open timers.

Starts a real ``rapport serve`` process on a scratch database, publishes the workflow test
world (cases with a 2-day SLA, a reminder and a working-day SLA), creates ``--open`` cases —
each holds an open breach and an open reminder deadline, so ``2 x --open`` timers are pending
while the transitions run — then:

1. runs ``--transitions`` ``transitionCase(accept)`` mutations over HTTP with ``--concurrency``
   raw-socket clients in ``--rounds`` rounds and prints transitions/second (median of the
   rounds) and latency percentiles;
2. times ``sweep_sla`` when nothing is due (the cost a worker pays every minute with all those
   timers open), and when ``--due`` deadlines are due (fire rate, effects included).

Usage: ``python -m bench.bench_workflow [--open 10000] [--transitions 1000]``; PostgreSQL from
RAPPORT_TEST_DATABASE_URL.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import time

import asyncpg
from tests.databases import with_database
from tests.workflow.world import documents

from bench.http_load import _read_response as read_response
from bench.http_load import build_request, fetch_once
from rapport.auth.tokens import issue_token
from rapport.composition import KERNEL
from rapport.crypto.sealing import KeyRingSealers
from rapport.db.catalog import migrate
from rapport.db.database import Database
from rapport.metadata.lifecycle import load_published, publish
from rapport.metadata.tenants import create_tenant
from rapport.principal import Principal
from rapport.records.writer import RecordWriter
from rapport.settings import Settings
from rapport.workflow.sla import sweep_sla

TRANSITION = (
    'mutation($id: ID!) { transitionCase(id: $id, transition: "accept") { state version } }'
)


async def _database(dsn: str, name: str, *, drop: bool) -> None:
    admin = await asyncpg.connect(dsn)
    try:
        if drop:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


async def _seed(db: Database, slug: str, count: int) -> list[str]:
    tenant, metadata = await load_published(db, slug)
    writer = RecordWriter(
        tenant, metadata, participants=KERNEL.participants, sealers=KeyRingSealers()
    )
    entity = metadata.model.entity("hr/case")
    admin = Principal(tenant=slug, subject="bench", roles=frozenset({"admin"}))
    ids: list[str] = []
    for start in range(0, count, 500):
        size = min(500, count - start)
        inputs = [{"title": f"case {start + i}", "assignee": "hr1"} for i in range(size)]
        async with db.transaction() as conn:
            ids += await writer.create_many(
                conn, entity, inputs, principal=admin, paths=[("input", i) for i in range(size)]
            )
    return ids


async def _transitions(port: int, token: str, ids: list[str], concurrency: int) -> float:
    """Transitions/s over keep-alive HTTP/1.1 from ``concurrency`` raw-socket clients (the
    server is its own process: the client costs it no CPU and no GIL)."""
    latencies: list[float] = []
    errors = 0
    queue = list(ids)
    headers = {"Authorization": f"Bearer {token}"}

    async def client() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while queue:
                record_id = queue.pop()
                body = json.dumps({"query": TRANSITION, "variables": {"id": record_id}}).encode()
                began = time.perf_counter()
                writer.write(build_request("127.0.0.1", port, "/graphql", body, headers))
                await writer.drain()
                status, answer = await read_response(reader)
                latencies.append((time.perf_counter() - began) * 1000)
                if status != 200 or b'"errors"' in answer:
                    errors += 1
        finally:
            writer.close()
            await writer.wait_closed()

    began = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    seconds = time.perf_counter() - began
    ordered = sorted(latencies)
    print(
        f"transitions: {len(ids)} in {seconds:.2f} s = {len(ids) / seconds:.0f}/s "
        f"({concurrency} clients), errors {errors}, "
        f"p50 {statistics.median(ordered):.1f} ms, p95 {ordered[int(len(ordered) * 0.95)]:.1f} ms"
    )
    return len(ids) / seconds


def _serve(url: str, secret: str) -> tuple[subprocess.Popen[bytes], int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    env = {
        **os.environ,
        "RAPPORT_ENV": "production",
        "RAPPORT_DATABASE_URL": url,
        "RAPPORT_JWT_SECRET": secret,
        "RAPPORT_OTEL_EXPORTER": "none",
        "RAPPORT_DATABASE_POOL_SIZE": "17",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "rapport.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    return proc, port


async def _until_serving(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(proc.stderr.read().decode() if proc.stderr else "server exited")
        try:
            await fetch_once(
                "127.0.0.1", port, build_request("127.0.0.1", port, "/graphql", b"{}", {})
            )
            return
        except OSError:
            await asyncio.sleep(0.2)
    raise SystemExit("server did not start")


async def _bench(
    dsn: str, open_count: int, transitions: int, concurrency: int, due: int, rounds: int
) -> None:
    name = f"rapport_bench_wf_{secrets.token_hex(3)}"
    await _database(dsn, name, drop=False)
    url = with_database(dsn, name)
    db = await Database.connect(url, min_size=1, max_size=4)
    try:
        await migrate(db)
        slug = "benchwf"
        await create_tenant(db, slug)
        await publish(db, slug, documents(), actor="bench")
        began = time.perf_counter()
        ids = await _seed(db, slug, max(open_count, transitions))
        pending = await db.fetchval(
            "SELECT count(*) FROM rapport.workflow_deadlines "
            "WHERE fired_at IS NULL AND cancelled_at IS NULL"
        )
        print(
            f"seeded {len(ids)} cases in {time.perf_counter() - began:.1f} s; open timers: {pending}"
        )
        settings = Settings.from_env({"RAPPORT_ENV": "test", "RAPPORT_JWT_SECRET": "f" * 64})
        token = issue_token(settings, tenant=slug, subject="hr1", roles=["hr"])
        proc, port = _serve(url, settings.jwt_secret)
        try:
            await _until_serving(port, proc)
            rates = []
            per_round = transitions // rounds
            for r in range(rounds):
                chunk = ids[r * per_round : (r + 1) * per_round]
                rates.append(await _transitions(port, token, chunk, concurrency))
            print(
                f"transitions, median of {rounds} rounds: {statistics.median(rates):.0f}/s "
                f"with {pending} open timers (target >= 200/s)"
            )
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        now = dt.datetime.now(dt.UTC)
        began = time.perf_counter()
        idle = await sweep_sla(db, now, participants=KERNEL.participants)
        idle_ms = (time.perf_counter() - began) * 1000
        pending = await db.fetchval(
            "SELECT count(*) FROM rapport.workflow_deadlines "
            "WHERE fired_at IS NULL AND cancelled_at IS NULL"
        )
        print(f"sweep, nothing due, {pending} open timers: {idle_ms:.2f} ms (fired {idle.fired})")
        await db.execute(
            "UPDATE rapport.workflow_deadlines SET due_at = $1 WHERE id IN ("
            "SELECT id FROM rapport.workflow_deadlines WHERE kind = 'remind' "
            "AND fired_at IS NULL AND cancelled_at IS NULL LIMIT $2)",
            now - dt.timedelta(minutes=1),
            due,
        )
        began = time.perf_counter()
        result = await sweep_sla(db, now, participants=KERNEL.participants)
        seconds = time.perf_counter() - began
        print(
            f"sweep, {result.fired} due (set-field effect each): {seconds * 1000:.0f} ms = "
            f"{result.fired / seconds:.0f} deadlines/s, failed {result.failed}"
        )
    finally:
        await db.close()
        await _database(dsn, name, drop=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--open", type=int, default=10_000, help="cases with open SLA timers")
    parser.add_argument("--transitions", type=int, default=1_000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--due", type=int, default=1_000, help="deadlines due in the 2nd sweep")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    # One key set for this process (it seeds sealed fields) and the server it starts.
    os.environ.setdefault("RAPPORT_MASTER_KEY", "YmVuY2gtbWFzdGVyLWtleS0zMi1ieXRlcy1sb25nISE=")
    os.environ.setdefault(
        "RAPPORT_AUDIT_SIGNING_KEY", "YmVuY2gtc2lnbmluZy1rZXktMzItYnl0ZXMtbG9uZyE="
    )
    dsn = os.environ.get(
        "RAPPORT_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    asyncio.run(_bench(dsn, args.open, args.transitions, args.concurrency, args.due, args.rounds))


if __name__ == "__main__":
    main()
