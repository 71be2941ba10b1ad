"""Write throughput: audited single creates against a hand-written insert, and 4 tenants at once.

On a scratch database, four tenants each publish one entity (``training/course``: title,
level, seats). Then, each figure the median of ``--rounds`` interleaved rounds:

1. ``createCourse`` over HTTP, 16 connections, one ``rapport serve`` process, against
   ``bench/handwritten_insert.py`` (Starlette + asyncpg, 16 connections, one INSERT into the
   same table) — Rapport validates, checks permissions, writes the record, its audit entry
   (hash chain + Merkle frontier), its outbox row and event, and reads the result back;
2. the same mutation from 4 tenants at once (4 connections each) against that one server:
   audited writes/s in total;
3. the same 4-tenant load without HTTP: ``RecordWriter.create`` from 16 tasks in this process,
   each write in its own transaction (``db.transaction``, as before group commit) and grouped
   (``db.grouped``, rapport.db.group) — what the database path itself sustains.

Every round checks that each created record has exactly one audit entry and that the logs
verify. Usage: ``python -m bench.bench_writes [--rounds 3] [--seconds 8]``; PostgreSQL from
RAPPORT_TEST_DATABASE_URL.
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
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import asyncpg
from tests.databases import with_database

from bench.http_load import LoadResult, build_request, fetch_once, run_load
from rapport.audit.checkpoints import default_signer
from rapport.audit.verify import verify_log
from rapport.auth.tokens import issue_token
from rapport.composition import KERNEL
from rapport.crypto.sealing import KeyRingSealers
from rapport.db.catalog import migrate
from rapport.db.database import Connection, Database
from rapport.metadata.documents import read_folder
from rapport.metadata.lifecycle import load_published, publish
from rapport.metadata.tenants import create_tenant
from rapport.principal import Principal
from rapport.records.writer import RecordWriter
from rapport.settings import Settings

HERE = Path(__file__).parent
COURSE = {
    "$id": "training/course",
    "type": "object",
    "properties": {
        "title": {"type": "string"},
        "level": {"type": "string"},
        "seats": {"type": "integer"},
    },
}
CREATE = "mutation($i: CourseCreateInput!) { createCourse(input: $i) { id } }"
TENANTS = ("bw0", "bw1", "bw2", "bw3")
KEYS = {
    "RAPPORT_MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
    "RAPPORT_AUDIT_SIGNING_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
}


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _wait(port: int, request: bytes, proc: subprocess.Popen[bytes]) -> bytes:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {proc.stderr.read().decode() if proc.stderr else ''}")
        try:
            status, body = await fetch_once("127.0.0.1", port, request)
            if status == 200:
                return body
        except OSError:
            pass
        await asyncio.sleep(0.2)
    raise SystemExit(f"server on port {port} did not answer within 60 s")


def _body(n: int = 0) -> bytes:
    variables = {"i": {"title": f"Course {n}", "level": "intermediate", "seats": 12}}
    return json.dumps({"query": CREATE, "variables": variables}).encode()


async def _check_audited(db: Database) -> None:
    """Every course has exactly one record.create entry, and every log verifies."""
    for slug in TENANTS:
        tenant, metadata = await load_published(db, slug)
        table = metadata.model.entity("training/course").table
        rows = await db.fetchval(  # the hand-written endpoint's rows are not audited
            f'SELECT count(*) FROM "{tenant.schema}"."{table}" WHERE created_by <> \'handwritten\''
        )
        entries = await db.fetchval(
            "SELECT count(*) FROM rapport.audit_entries WHERE tenant_id = $1::uuid "
            "AND action = 'record.create'",
            tenant.id,
        )
        if rows != entries:
            raise SystemExit(f"{slug}: {rows} courses but {entries} audit entries")
    async with db.acquire() as conn:
        report = await verify_log(conn, default_signer())
    if not report.intact:
        raise SystemExit(f"audit log damaged: {report.problems[:3]}")


def _line(label: str, runs: list[LoadResult]) -> float:
    rps = statistics.median(r.throughput for r in runs)
    p50 = statistics.median(r.percentile(0.5) for r in runs)
    print(f"{label:>44}: {rps:8.1f} req/s (p50 {p50:6.1f} ms; rounds {_rounds(runs)})")
    return rps


def _rounds(runs: list[LoadResult]) -> str:
    return ", ".join(f"{r.throughput:.0f}" for r in runs)


async def http_section(dsn: str, db: Database, args: argparse.Namespace) -> None:
    settings = Settings.from_env({"RAPPORT_ENV": "test", "RAPPORT_JWT_SECRET": "b" * 64})
    tenant, metadata = await load_published(db, TENANTS[0])
    table = metadata.model.entity("training/course").table
    env = {
        **os.environ,
        **KEYS,
        "RAPPORT_DATABASE_URL": dsn,
        "RAPPORT_JWT_SECRET": settings.jwt_secret,
        "RAPPORT_ENV": "production",
        "RAPPORT_OTEL_EXPORTER": "none",
        "RAPPORT_DATABASE_POOL_SIZE": "17",
    }
    ours, theirs = free_port(), free_port()
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "rapport.cli", "serve", "--port", str(ours)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        ),
        subprocess.Popen(
            [
                sys.executable,
                str(HERE / "handwritten_insert.py"),
                dsn,
                tenant.schema,
                table,
                str(theirs),
                "16",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        ),
    ]
    tokens = {
        slug: issue_token(settings, tenant=slug, subject="bench", roles=["admin"])
        for slug in TENANTS
    }

    def request(port: int, slug: str | None) -> bytes:
        headers = {} if slug is None else {"Authorization": f"Bearer {tokens[slug]}"}
        return build_request("127.0.0.1", port, "/graphql", _body(), headers)

    try:
        for port, slug, proc in ((ours, TENANTS[0], procs[0]), (theirs, None, procs[1])):
            answer = json.loads(await _wait(port, request(port, slug), proc))
            if "errors" in answer or not answer["data"]["createCourse"]["id"]:
                raise SystemExit(f"bad answer: {answer}")
        rapport_runs: list[LoadResult] = []
        baseline_runs: list[LoadResult] = []
        tenant_runs: list[LoadResult] = []
        for _ in range(args.rounds):  # interleaved: machine drift hits all three alike
            for port, slug, runs in (
                (ours, TENANTS[0], rapport_runs),
                (theirs, None, baseline_runs),
            ):
                result = await run_load(
                    "127.0.0.1", port, request(port, slug), connections=16, seconds=args.seconds
                )
                if result.errors:
                    raise SystemExit(f"{result.errors} non-200 answers")
                runs.append(result)
            parts = await asyncio.gather(
                *(
                    run_load(
                        "127.0.0.1", ours, request(ours, s), connections=4, seconds=args.seconds
                    )
                    for s in TENANTS
                )
            )
            if any(p.errors for p in parts):
                raise SystemExit("non-200 answers in the 4-tenant round")
            tenant_runs.append(
                LoadResult(
                    sum(p.requests for p in parts),
                    max(p.seconds for p in parts),
                    0,
                    tuple(x for p in parts for x in p.latencies_ms),
                )
            )
        print("HTTP, one process each, 16 connections:")
        rapport = _line("createCourse (audited), 1 tenant", rapport_runs)
        baseline = _line("hand-written INSERT endpoint", baseline_runs)
        print(f"{'ratio':>44}: {rapport / baseline:8.1%}  (target >= 50 %)")
        total = _line("createCourse, 4 tenants x 4 connections", tenant_runs)
        print(f"{'':>44}  {total:.0f} audited writes/s in total over HTTP")
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=30)
    await _check_audited(db)


async def writer_section(db: Database, args: argparse.Namespace) -> None:
    writers = {}
    for slug in TENANTS:
        tenant, metadata = await load_published(db, slug)
        writer = RecordWriter(
            tenant, metadata, participants=KERNEL.participants, sealers=KeyRingSealers()
        )
        writers[slug] = (tenant, writer, metadata.model.entity("training/course"))

    async def load(
        opener: Callable[[str], AbstractAsyncContextManager[Connection]], tasks_per_tenant: int
    ) -> float:
        deadline = time.perf_counter() + args.seconds
        done = 0

        async def task(slug: str) -> None:
            nonlocal done
            tenant, writer, entity = writers[slug]
            admin = Principal(tenant=slug, subject="bench", roles=frozenset({"admin"}))
            while time.perf_counter() < deadline:
                async with opener(tenant.id) as conn:
                    await writer.create(
                        conn, entity, {"title": "t", "level": "l", "seats": 1}, principal=admin
                    )
                done += 1

        began = time.perf_counter()
        await asyncio.gather(*(task(s) for s in TENANTS for _ in range(tasks_per_tenant)))
        return done / (time.perf_counter() - began)

    def one_each(_key: str) -> AbstractAsyncContextManager[Connection]:
        return db.transaction()

    separate: list[float] = []
    grouped: list[float] = []
    for _ in range(args.rounds):
        separate.append(await load(one_each, 4))
        grouped.append(await load(db.grouped, 4))
    print("RecordWriter.create in-process, 4 tenants x 4 tasks (no HTTP):")
    for label, runs in (("a transaction per write", separate), ("group commit", grouped)):
        rounds = ", ".join(f"{r:.0f}" for r in runs)
        print(f"{label:>44}: {statistics.median(runs):8.1f} writes/s (rounds {rounds})")
    await _check_audited(db)


async def _scratch(dsn: str) -> AsyncIterator[str]:
    name = f"rapport_bench_w_{secrets.token_hex(3)}"
    admin = await asyncpg.connect(dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    try:
        yield with_database(dsn, name)
    finally:
        admin = await asyncpg.connect(dsn)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--skip-http", action="store_true")
    args = parser.parse_args()
    os.environ.update(KEYS)
    server = os.environ["RAPPORT_TEST_DATABASE_URL"]
    async for dsn in _scratch(server):
        db = await Database.connect(dsn, max_size=20)
        try:
            await migrate(db)
            import tempfile

            with tempfile.TemporaryDirectory() as tmp:
                (Path(tmp) / "training").mkdir()
                (Path(tmp) / "training" / "course.json").write_text(json.dumps(COURSE))
                for slug in TENANTS:
                    await create_tenant(db, slug)
                    await publish(db, slug, read_folder(Path(tmp)), actor="bench")
            if not args.skip_http:
                await http_section(dsn, db, args)
            await writer_section(db, args)
        finally:
            await db.close()


if __name__ == "__main__":
    asyncio.run(main())
