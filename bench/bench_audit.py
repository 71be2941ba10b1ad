"""Audit append throughput and the cost of reading a sensitive field.

1. ``append_entry`` in its own transaction: sequentially, then from 16 concurrent connections
   all appending to one tenant's log, then to 4 tenants' logs at once (4 connections each).
   Appends to one log serialize on its head row until commit; different logs share no lock,
   so the 4-tenant figure shows what per-tenant logs buy;
2. a 1,000-row list through the compiled executor, as admin, without and with one sensitive
   field (decrypt + audit entry), mean of N runs.

Usage: ``python -m bench.bench_audit``; PostgreSQL from RAPPORT_TEST_DATABASE_URL.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
from tests.databases import with_database

from rapport.audit.log import append_entry
from rapport.composition import KERNEL
from rapport.db.catalog import migrate
from rapport.db.database import Database
from rapport.graphql.executor import build_tenant_api
from rapport.graphql.request import GraphQLRequest
from rapport.metadata.documents import read_folder
from rapport.metadata.lifecycle import load_published, publish
from rapport.metadata.tenants import create_tenant
from rapport.principal import Principal

EMPLOYEE = {
    "$id": "hr/employee",
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "grade": {"type": "integer"},
        "salary": {"type": "number", "x-kind": "money", "x-sensitive": True},
    },
}
ADMIN = Principal(tenant="bench", subject="bench", roles=frozenset({"admin"}))


async def appends(db: Database, count: int, workers: int, tenants: int) -> float:
    """Entries/s in total: ``workers`` connections spread over ``tenants`` fresh tenant logs."""
    logs = [str(uuid.uuid4()) for _ in range(tenants)]

    async def worker(tenant_id: str, n: int) -> None:
        for i in range(n):
            async with db.transaction() as conn:
                await append_entry(
                    conn, tenant_id=tenant_id, actor="bench", action="bench.append", data={"i": i}
                )

    start = time.perf_counter()
    await asyncio.gather(*(worker(logs[w % tenants], count // workers) for w in range(workers)))
    return count / (time.perf_counter() - start)


async def main() -> None:
    os.environ.setdefault("RAPPORT_MASTER_KEY", "YmVuY2gtbWFzdGVyLWtleS0zMi1ieXRlcy1sb25nISE=")
    os.environ.setdefault(
        "RAPPORT_AUDIT_SIGNING_KEY", "YmVuY2gtc2lnbmluZy1rZXktMzItYnl0ZXMtbG9uZyE="
    )
    dsn = os.environ["RAPPORT_TEST_DATABASE_URL"]
    name = f"rapport_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    db = await Database.connect(with_database(dsn, name), max_size=17)
    try:
        await migrate(db)
        for workers, tenants in ((1, 1), (16, 1), (16, 4)):
            rate = await appends(db, 4000, workers, tenants)
            print(
                f"append_entry, {workers} connection(s), {tenants} tenant log(s): "
                f"{rate:,.0f} entries/s in total"
            )
        await create_tenant(db, "bench")
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "hr").mkdir()
            (Path(tmp) / "hr" / "employee.json").write_text(json.dumps(EMPLOYEE))
            await publish(db, "bench", read_folder(Path(tmp)), actor="bench")
        tenant, metadata = await load_published(db, "bench")
        api = build_tenant_api(tenant, metadata, kernel=KERNEL)

        async def run(query: str, variables: dict[str, object] | None = None) -> bytes:
            outcome = await api.execute(db, GraphQLRequest(query, None, variables), ADMIN)
            return outcome.body

        inputs = [
            {"name": f"E{i}", "grade": i % 9, "salary": f"{1000 + i}.00"} for i in range(1000)
        ]
        await run(
            "mutation($i: [EmployeeCreateInput!]!) { createEmployees(inputs: $i) { id } }",
            {"i": inputs},
        )
        for label, fields in (
            ("no sensitive field", "name grade"),
            ("with salary", "name grade salary"),
        ):
            query = f"{{ employees(first: 1000) {{ edges {{ node {{ {fields} }} }} }} }}"
            body = await run(query)
            assert b'"errors"' not in body, body[:300]
            runs = 30
            start = time.perf_counter()
            for _ in range(runs):
                await run(query)
            print(f"1,000-row list, {label}: {(time.perf_counter() - start) / runs * 1000:.1f} ms")
        api.close()
    finally:
        await db.close()
        admin = await asyncpg.connect(dsn)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
