"""Rapport's kernel benchmark: prints figures and ratios against a baseline measured in the same run.

1. List throughput over HTTP on loopback, one worker each: Rapport's compiled GraphQL versus a
   hand-written asyncpg + Starlette endpoint (bench/handwritten.py) returning the same JSON for
   the same rows — 1,000 rows × 8 fields with a many-to-one relation and a reverse-relation count,
   and a 20-row page of the same. Responses are checked equal before anything is timed. Then the
   1,000-row list as a non-admin role (row rule, row-conditional field, mask) as a ratio to the
   same list as admin.
2. Publish time for adding a field to a table with 100,000 rows.
3. Schema build time (compile documents → IR → GraphQL schema) for a tenant with 200 entities.

Usage: ``python -m bench.bench_graphql [--seconds S] [--rounds R] [--connections C]``.
PostgreSQL comes from RAPPORT_BENCH_DATABASE_URL, else RAPPORT_TEST_DATABASE_URL, else the
embedded server in a temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
from tests.databases import with_database

from bench.compare import Comparison, run_comparison
from bench.http_load import build_request, run_load
from bench.servers import free_port, start, wait_until_serving
from bench.training import seed_training
from rapport.auth.tokens import issue_token
from rapport.composition import KERNEL
from rapport.db.catalog import migrate
from rapport.db.database import Database
from rapport.db.embedded import EmbeddedPostgres
from rapport.db.tenants import Tenant, get_tenant
from rapport.graphql.executor import build_tenant_api
from rapport.metadata import lifecycle
from rapport.metadata.builder import compile_model
from rapport.metadata.bundle import TenantMetadata
from rapport.metadata.documents import documents_from_json, kernel_documents, read_folder
from rapport.metadata.tenants import create_tenant
from rapport.settings import Settings

HERE = Path(__file__).resolve().parent
# Production settings require their keys explicitly; the benchmark makes throw-away ones.
PRODUCTION_KEYS = {
    "RAPPORT_MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
    "RAPPORT_AUDIT_SIGNING_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
}
TENANT = "bench"
LIST_QUERY = """
query List($first: Int!) {
  employees(first: $first, orderBy: [{name: ASC}]) {
    edges { node {
      id name email level salary hiredAt active rating
      department { id name }
      reviews { totalCount }
    } }
  }
}
"""


@contextmanager
def postgres_server() -> Iterator[str]:
    configured = os.environ.get("RAPPORT_BENCH_DATABASE_URL") or os.environ.get(
        "RAPPORT_TEST_DATABASE_URL"
    )
    if configured:
        yield configured
        return
    with tempfile.TemporaryDirectory(prefix="rapport-bench-pg-") as tmp:
        embedded = EmbeddedPostgres(Path(tmp))
        try:
            yield embedded.start()
        finally:
            embedded.stop()


async def create_database(server_dsn: str) -> str:
    name = f"rapport_bench_{secrets.token_hex(4)}"
    conn = await asyncpg.connect(server_dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return with_database(server_dsn, name)


async def drop_database(server_dsn: str, dsn: str) -> None:
    name = urlsplit(dsn).path.lstrip("/")
    conn = await asyncpg.connect(server_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def seed(db: Database, schema: str, employees: int = 1000) -> None:
    rng = random.Random(7)
    async with db.transaction() as conn:
        departments = [
            await conn.fetchval(
                f'INSERT INTO "{schema}".bench_department (name) VALUES ($1) RETURNING id',
                f"部门 {i:02d}",
            )
            for i in range(20)
        ]
        rows = [
            (
                f"员工 {i:04d} Employee",
                f"employee{i}@example.com",
                rng.choice(["junior", "senior", "lead"]),
                Decimal(rng.randrange(500000, 5000000)) / 100,
                date(2015, 1, 1) + timedelta(days=rng.randrange(3000)),
                rng.random() > 0.1,
                rng.randrange(1, 6),
                "A short biography." * 3,
                rng.choice(departments) if i % 17 else None,
            )
            for i in range(employees)
        ]
        await conn.executemany(
            f'INSERT INTO "{schema}".bench_employee (name, email, level, salary, hired_at, active,'
            " rating, bio, department_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            rows,
        )
        ids = [r["id"] for r in await conn.fetch(f'SELECT id FROM "{schema}".bench_employee')]
        await conn.executemany(
            f'INSERT INTO "{schema}".bench_review (employee_id, score) VALUES ($1, $2)',
            [(rng.choice(ids), rng.randrange(1, 6)) for _ in range(3 * employees)],
        )


async def throughput_section(dsn: str, args: argparse.Namespace, settings: Settings) -> None:
    tenant = await _tenant(dsn)
    token = issue_token(settings, tenant=TENANT, subject="bench", roles=["admin"])
    env = {
        **os.environ,
        "RAPPORT_DATABASE_URL": dsn,
        "RAPPORT_JWT_SECRET": settings.jwt_secret,
        **PRODUCTION_KEYS,
        "RAPPORT_ENV": "production",
        "RAPPORT_OTEL_EXPORTER": "none",
    }
    rapport_port, baseline_port = free_port(), free_port()
    procs = [
        start([sys.executable, "-m", "rapport.cli", "serve", "--port", str(rapport_port)], env),
        start(
            [sys.executable, str(HERE / "handwritten.py"), dsn, tenant.schema, str(baseline_port)],
            env,
        ),
    ]
    try:
        for label, first in (("list of 1,000 rows", 1000), ("page of 20 rows", 20)):
            body = json.dumps({"query": LIST_QUERY, "variables": {"first": first}}).encode()
            rapport_req = build_request(
                "127.0.0.1", rapport_port, "/graphql", body, {"Authorization": f"Bearer {token}"}
            )
            baseline_req = build_request("127.0.0.1", baseline_port, "/graphql", body, {})
            ours = json.loads(await wait_until_serving(rapport_port, rapport_req, procs[0]))
            theirs = json.loads(await wait_until_serving(baseline_port, baseline_req, procs[1]))
            if ours != theirs:
                raise SystemExit(f"{label}: Rapport's response differs from the baseline's")
            rapport_runs, baseline_runs = [], []
            for _ in range(args.rounds):  # interleaved, so drift hits both alike
                for port, req, runs in (
                    (rapport_port, rapport_req, rapport_runs),
                    (baseline_port, baseline_req, baseline_runs),
                ):
                    result = await run_load(
                        "127.0.0.1", port, req, connections=args.connections, seconds=args.seconds
                    )
                    if result.errors:
                        raise SystemExit(f"{label}: {result.errors} non-200 answers")
                    runs.append(result)
            ours_rps = statistics.median(r.throughput for r in rapport_runs)
            base_rps = statistics.median(r.throughput for r in baseline_runs)
            print(
                f"{label:>20}: Rapport {ours_rps:8.1f} req/s (p50 "
                f"{statistics.median(r.percentile(0.5) for r in rapport_runs):6.1f} ms) | "
                f"hand-written {base_rps:8.1f} req/s (p50 "
                f"{statistics.median(r.percentile(0.5) for r in baseline_runs):6.1f} ms) | "
                f"ratio {ours_rps / base_rps:5.1%}"
            )
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=30)


async def permissions_section(dsn: str, args: argparse.Namespace, settings: Settings) -> None:
    """The 1,000-row list as role hrbp (a row rule, a row-conditional field and a mask, from
    bench/metadata/bench/*.permission.json) against the same list as admin, same server."""
    env = {
        **os.environ,
        "RAPPORT_DATABASE_URL": dsn,
        "RAPPORT_JWT_SECRET": settings.jwt_secret,
        **PRODUCTION_KEYS,
        "RAPPORT_ENV": "production",
        "RAPPORT_OTEL_EXPORTER": "none",
    }
    port = free_port()
    proc = start([sys.executable, "-m", "rapport.cli", "serve", "--port", str(port)], env)
    try:
        body = json.dumps({"query": LIST_QUERY, "variables": {"first": 1000}}).encode()
        requests = {
            role: build_request(
                "127.0.0.1",
                port,
                "/graphql",
                body,
                {
                    "Authorization": "Bearer "
                    + issue_token(settings, tenant=TENANT, subject="bench", roles=[role])
                },
            )
            for role in ("admin", "hrbp")
        }
        for role, req in requests.items():
            answer = json.loads(await wait_until_serving(port, req, proc))
            if "errors" in answer or len(answer["data"]["employees"]["edges"]) != 1000:
                raise SystemExit(f"list as {role}: unexpected answer {str(answer)[:300]}")
        runs: dict[str, list[Any]] = {role: [] for role in requests}
        for _ in range(args.rounds):  # interleaved, so drift hits both alike
            for role, req in requests.items():
                result = await run_load(
                    "127.0.0.1", port, req, connections=args.connections, seconds=args.seconds
                )
                if result.errors:
                    raise SystemExit(f"list as {role}: {result.errors} non-200 answers")
                runs[role].append(result)
        admin_rps = statistics.median(r.throughput for r in runs["admin"])
        role_rps = statistics.median(r.throughput for r in runs["hrbp"])
        print(
            f"{'list 1,000 as hrbp':>20}: {role_rps:8.1f} req/s (p50 "
            f"{statistics.median(r.percentile(0.5) for r in runs['hrbp']):6.1f} ms) | as admin "
            f"{admin_rps:8.1f} req/s (p50 "
            f"{statistics.median(r.percentile(0.5) for r in runs['admin']):6.1f} ms) | "
            f"ratio {role_rps / admin_rps:5.1%} (target >= 85%)"
        )
    finally:
        proc.terminate()
        proc.wait(timeout=30)


async def _tenant(dsn: str) -> Tenant:
    db = await Database.connect(dsn)
    try:
        return await get_tenant(db, TENANT)
    finally:
        await db.close()


async def publish_section(dsn: str, rows: int = 100_000) -> None:
    db = await Database.connect(dsn)
    try:
        await create_tenant(db, "bigtable")
        doc = {
            "$id": "big/record",
            "type": "object",
            "properties": {"title": {"type": "string"}, "amount": {"type": "integer"}},
        }
        await lifecycle.publish(db, "bigtable", documents_from_json([doc]), actor="bench")
        tenant = await get_tenant(db, "bigtable")
        await db.execute(
            f'INSERT INTO "{tenant.schema}".big_record (title, amount) '
            "SELECT 'row ' || g, g FROM generate_series(1, $1) g",
            rows,
        )
        doc["properties"]["note"] = {"type": "string", "default": "none"}  # type: ignore[index]
        started = time.perf_counter()
        result = await lifecycle.publish(db, "bigtable", documents_from_json([doc]), actor="bench")
        elapsed = time.perf_counter() - started
        print(
            f"publish add-field on {rows:,} rows: {elapsed * 1000:8.1f} ms "
            f"({len(result.plan.steps)} step(s), version {result.version})"
        )
    finally:
        await db.close()


def schema_build_section(entities: int = 200) -> None:
    docs = []
    for i in range(entities):
        props: dict[str, object] = {
            "name": {"type": "string", "maxLength": 100},
            "code": {"type": "string", "x-unique": True},
            "amount": {"type": "number"},
            "startsOn": {"type": "string", "format": "date"},
            "status": {"enum": ["open", "closed"]},
            "active": {"type": "boolean"},
        }
        if i:
            props["parent"] = {
                "type": "string",
                "format": "uuid",
                "x-relation": {"entity": f"gen/entity{i - 1:03d}", "inverse": f"children{i:03d}"},
            }
        docs.append({"$id": f"gen/entity{i:03d}", "type": "object", "properties": props})
    documents = (*kernel_documents(), *documents_from_json(docs))
    # Schema building needs only names from the tenant; no database row is involved.
    tenant = Tenant(
        id=str(uuid.uuid4()),
        slug="gen",
        name="gen",
        schema="tenant_gen",
        metadata_version=1,
        created_at=datetime.now(UTC),
    )
    timings_ir, timings_schema = [], []
    for _ in range(3):
        started = time.perf_counter()
        model = compile_model(documents)
        compiled = time.perf_counter()
        api = build_tenant_api(tenant, TenantMetadata.of(model), kernel=KERNEL)
        timings_ir.append(compiled - started)
        timings_schema.append(time.perf_counter() - compiled)
        api.close()
    print(
        f"schema build, {entities} entities: documents→IR {min(timings_ir) * 1000:7.1f} ms, "
        f"IR→GraphQL schema {min(timings_schema) * 1000:7.1f} ms "
        f"({len(api.schema.type_map)} GraphQL types)"
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5, help="length of one timed round")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per server")
    parser.add_argument("--connections", type=int, default=16, help="concurrent connections")
    parser.add_argument("--courses", type=int, default=20_000, help="courses in the comparison")
    parser.add_argument("--enrollments", type=int, default=100_000, help="their enrolments")
    parser.add_argument("--pages", type=int, nargs="+", default=[20, 1000], help="page sizes")
    parser.add_argument(
        "--curve", type=int, nargs="*", default=[1, 4, 16, 64], help="connections of the curve"
    )
    parser.add_argument(
        "--no-postgraphile",
        dest="postgraphile",
        action="store_false",
        help="leave PostGraphile out (it is installed from npm on first use)",
    )
    parser.add_argument(
        "--only-comparison", action="store_true", help="skip the kernel's older scenarios"
    )
    parser.add_argument(
        "--break-limit",
        action="store_true",
        help="self-test: the limit answers in reverse order, so verification must fail",
    )
    args = parser.parse_args(argv)
    args.intermediate = len([g for g in range(1, args.courses + 1) if g % 3 == 1])
    return args


def rapport_env(dsn: str, settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        "RAPPORT_DATABASE_URL": dsn,
        "RAPPORT_JWT_SECRET": settings.jwt_secret,
        **PRODUCTION_KEYS,
        "RAPPORT_ENV": "production",
        "RAPPORT_OTEL_EXPORTER": "none",
    }


async def main(argv: list[str] | None = None) -> Comparison:
    args = parse_args(argv)
    settings = Settings.from_env({"RAPPORT_JWT_SECRET": secrets.token_hex(32)})
    with postgres_server() as server_dsn:
        dsn = await create_database(server_dsn)
        try:
            db = await Database.connect(dsn)
            try:
                await migrate(db)
                tenant = await create_tenant(db, TENANT)
                await lifecycle.publish(db, TENANT, read_folder(HERE / "metadata"), actor="bench")
                await seed(db, tenant.schema)
                await seed_training(
                    db, tenant.schema, courses=args.courses, enrollments=args.enrollments
                )
            finally:
                await db.close()
            print(
                f"PostgreSQL: {server_dsn.split('@')[-1]}; {os.cpu_count()} CPU cores; "
                f"{args.courses:,} courses, {args.enrollments:,} enrolments; "
                f"median of {args.rounds} interleaved rounds of {args.seconds} s"
            )
            tokens = {
                role: issue_token(settings, tenant=TENANT, subject="bench", roles=[role])
                for role in ("admin", "coordinator")
            }
            result = await run_comparison(
                dsn, tenant.schema, rapport_env(dsn, settings), tokens, args
            )
            if not args.only_comparison:
                await throughput_section(dsn, args, settings)
                await permissions_section(dsn, args, settings)
                await publish_section(dsn)
                schema_build_section()
            return result
        finally:
            await drop_database(server_dsn, dsn)


if __name__ == "__main__":
    asyncio.run(main())
