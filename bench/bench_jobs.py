"""Commit-to-webhook delay with 10,000 SLA timers and 10,000 future outbox jobs pending.

Starts a real ``rapport worker`` process (Redis from RAPPORT_BENCH_REDIS_URL, default
redis://127.0.0.1:6379/14, flushed) on a scratch database, fills it with ``--pending`` open
workflow deadlines (rapport.workflow_deadlines: reminders/breaches due in the coming weeks,
swept every minute by the SLA cron) and as many future-dated outbox rows, subscribes a webhook
receiver on loopback to ``entity.create``, then creates ``--events`` tasks one after the other
through the RecordWriter. For each, the delay is from the commit returning to the receiver
timestamping the request's arrival; the script prints p50 / p95 / max.

Usage: ``python -m bench.bench_jobs [--pending 10000] [--events 300]``; PostgreSQL from
RAPPORT_TEST_DATABASE_URL.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import asyncpg
import redis
from tests.databases import with_database

from rapport.composition import KERNEL
from rapport.crypto.sealing import KeyRingSealers
from rapport.db.catalog import migrate
from rapport.db.database import Database
from rapport.metadata.lifecycle import load_published
from rapport.metadata.tenants import create_tenant
from rapport.notify.webhooks import create_subscription
from rapport.principal import Principal
from rapport.records.writer import RecordWriter

ROOT = Path(__file__).resolve().parents[1]


class _Receiver:
    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}
        self.event = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                at = time.time()
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                record_id = json.loads(body)["data"]["recordId"]
                with receiver.event:
                    receiver.arrivals[record_id] = at
                    receiver.event.notify_all()
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, record_id: str, timeout: float = 30.0) -> float:
        with self.event:
            if not self.event.wait_for(lambda: record_id in self.arrivals, timeout):
                raise TimeoutError(f"no webhook for {record_id} within {timeout}s")
            return self.arrivals[record_id]


async def main(pending: int, events: int) -> None:
    base = os.environ.get(
        "RAPPORT_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    redis_url = os.environ.get("RAPPORT_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
    redis.Redis.from_url(redis_url).flushdb()
    name = f"rapport_bench_jobs_{secrets.token_hex(3)}"
    admin = await asyncpg.connect(base)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    dsn = with_database(base, name)
    db = await Database.connect(dsn, max_size=4)
    worker: subprocess.Popen[str] | None = None
    receiver = _Receiver()
    try:
        await migrate(db)
        tenant = await create_tenant(db, "bench")
        # given pending SLA timers and future jobs
        await db.execute(
            """
            INSERT INTO rapport.workflow_deadlines
                   (tenant_id, entity, record_id, workflow, state, kind, name, due_at, effects)
            SELECT $1::uuid, 'core/task', gen_random_uuid(), 'bench/flow', 'open',
                   CASE WHEN i % 2 = 0 THEN 'breach' ELSE 'remind' END, 'sla',
                   now() + (i % 30 + 1) * interval '1 day', '[]'::jsonb
              FROM generate_series(1, $2) AS i
            """,
            tenant.id,
            pending,
        )
        await db.execute(
            """
            INSERT INTO rapport.outbox (tenant_id, topic, payload, not_before)
            SELECT $1::uuid, 'entity.update', '{}'::jsonb,
                   now() + (i % 30 + 1) * interval '1 day'
              FROM generate_series(1, $2) AS i
            """,
            tenant.id,
            pending,
        )
        await create_subscription(
            db, tenant_id=tenant.id, url=receiver.url, events=["entity.create"]
        )
        with tempfile.TemporaryDirectory() as data_dir:
            worker = subprocess.Popen(
                [sys.executable, "-m", "rapport", "worker"],
                env={**os.environ, "RAPPORT_DATABASE_URL": dsn, "RAPPORT_REDIS_URL": redis_url,
                     "RAPPORT_DATA_DIR": data_dir, "PYTHONPATH": str(ROOT / "platform")},
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            )  # fmt: skip
            assert worker.stdout is not None
            for line in worker.stdout:
                if "is ready" in line:
                    break
            threading.Thread(
                target=lambda: [None for _ in worker.stdout or ()], daemon=True
            ).start()
            tenant_, metadata = await load_published(db, "bench")
            writer = RecordWriter(
                tenant_, metadata, participants=KERNEL.participants, sealers=KeyRingSealers()
            )
            task = metadata.model.entity("core/task")
            principal = Principal(tenant="bench", subject="bench", roles=frozenset({"admin"}))
            delays: list[float] = []
            for i in range(events):
                async with db.transaction() as conn:
                    record_id = await writer.create(
                        conn, task, {"title": f"t{i}", "status": "open"}, principal=principal
                    )
                committed = time.time()
                arrived = await asyncio.to_thread(receiver.wait, record_id)
                delays.append((arrived - committed) * 1000)
            open_timers = await db.fetchval(
                "SELECT count(*) FROM rapport.workflow_deadlines WHERE fired_at IS NULL "
                "AND cancelled_at IS NULL"
            )
            future_jobs = await db.fetchval(
                "SELECT count(*) FROM rapport.outbox WHERE dispatched_at IS NULL"
            )
        delays.sort()
        p50 = statistics.median(delays)
        p95 = delays[int(len(delays) * 0.95) - 1]
        print(f"pending: {open_timers} open SLA timers, {future_jobs} future outbox jobs")
        print(f"commit -> webhook leaving (arrival on loopback), {events} events, sequential:")
        print(
            f"  p50 {p50:.1f} ms   p95 {p95:.1f} ms   max {delays[-1]:.1f} ms   min {delays[0]:.1f} ms"
        )
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(35)
        receiver.server.shutdown()
        await db.close()
        admin = await asyncpg.connect(base)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pending", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=300)
    args = parser.parse_args()
    asyncio.run(main(args.pending, args.events))
