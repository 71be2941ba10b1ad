"""Webhook latency: from a record write's commit to the delivery arriving at a local receiver.

A real ``rapport worker`` process (PostgreSQL from RAPPORT_TEST_DATABASE_URL, Redis from
RAPPORT_TEST_REDIS_URL) and a real HTTP receiver on loopback. Each sample writes one record in
its own transaction, notes the time right after COMMIT, and waits for the signed delivery. The
path has two job hops — the event's outbox row (fan-out to subscriptions) and the delivery's —
each: NOTIFY at commit → dispatcher → arq enqueue → a worker poll picks it up. Run once with
the old poll interval (50 ms) and once with the current default (RAPPORT_JOB_POLL_SECONDS),
in the same run.

Usage: ``python -m bench.bench_webhooks [--samples 60]``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
from tests.databases import with_database
from tests.notify.receiver import Receiver

from rapport.composition import KERNEL
from rapport.crypto.sealing import KeyRingSealers
from rapport.db.catalog import migrate
from rapport.db.database import Database
from rapport.metadata.documents import read_folder
from rapport.metadata.lifecycle import load_published, publish
from rapport.metadata.tenants import create_tenant
from rapport.notify.webhooks import create_subscription
from rapport.principal import Principal
from rapport.records.writer import RecordWriter
from rapport.settings import Settings

NOTE = {"$id": "hr/note", "type": "object", "properties": {"text": {"type": "string"}}}
KEYS = {
    "RAPPORT_MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
    "RAPPORT_AUDIT_SIGNING_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
    "RAPPORT_JWT_SECRET": "w" * 64,
}


async def _samples(db: Database, receiver: Receiver, count: int) -> list[float]:
    tenant, metadata = await load_published(db, "hooks")
    writer = RecordWriter(
        tenant, metadata, participants=KERNEL.participants, sealers=KeyRingSealers()
    )
    entity = metadata.model.entity("hr/note")
    admin = Principal(tenant="hooks", subject="bench", roles=frozenset({"admin"}))
    latencies: list[float] = []
    for i in range(count + 5):  # the first five warm the worker up
        seen = len(receiver.received)
        async with db.transaction() as conn:
            await writer.create(conn, entity, {"text": f"n{i}"}, principal=admin)
        committed = time.time()
        deadline = time.monotonic() + 10
        while len(receiver.received) == seen:
            if time.monotonic() > deadline:
                raise SystemExit("no delivery within 10 s: is the worker running?")
            await asyncio.sleep(0.0005)
        if i >= 5:
            latencies.append((receiver.received[seen].at - committed) * 1000)
        await asyncio.sleep(0.05)
    return latencies


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=60)
    args = parser.parse_args()
    os.environ.update(KEYS)
    server = os.environ["RAPPORT_TEST_DATABASE_URL"]
    redis_url = os.environ["RAPPORT_TEST_REDIS_URL"]
    name = f"rapport_bench_hook_{secrets.token_hex(3)}"
    admin = await asyncpg.connect(server)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    url = with_database(server, name)
    db = await Database.connect(url, max_size=4)
    receiver = Receiver()
    receiver.__enter__()
    try:
        await migrate(db)
        await create_tenant(db, "hooks")
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "hr").mkdir()
            (Path(tmp) / "hr" / "note.json").write_text(json.dumps(NOTE))
            await publish(db, "hooks", read_folder(Path(tmp)), actor="bench")
        tenant, _ = await load_published(db, "hooks")
        await create_subscription(
            db,
            tenant_id=tenant.id,
            url=f"http://127.0.0.1:{receiver.port}/hook",
            events=["entity.*"],
        )
        default = Settings.from_env({"RAPPORT_ENV": "test"}).job_poll_seconds
        for label, poll in (
            ("poll 50 ms (before)", 0.05),
            (f"poll {default * 1000:g} ms", default),
        ):
            env = {
                **os.environ,
                "RAPPORT_ENV": "production",
                "RAPPORT_DATABASE_URL": url,
                "RAPPORT_REDIS_URL": redis_url,
                "RAPPORT_JOB_POLL_SECONDS": str(poll),
                "RAPPORT_OTEL_EXPORTER": "none",
            }
            worker = subprocess.Popen(
                [sys.executable, "-m", "rapport.cli", "worker"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            try:
                await asyncio.sleep(2)
                if worker.poll() is not None:
                    raise SystemExit(worker.stderr.read().decode() if worker.stderr else "")
                latencies = sorted(await _samples(db, receiver, args.samples))
            finally:
                worker.terminate()
                worker.wait(timeout=30)
            p95 = latencies[int(len(latencies) * 0.95)]
            print(
                f"webhook, commit -> receiver, {label:>20}: p50 {statistics.median(latencies):6.1f}"
                f" ms, p95 {p95:6.1f} ms ({len(latencies)} samples; target p50 <= 30 ms)"
            )
    finally:
        receiver.__exit__(None, None, None)
        await db.close()
        admin = await asyncpg.connect(server)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
