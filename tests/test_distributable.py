"""Nothing Rapport does stops a tenant schema from being distributed by Citus schema-based
sharding (``citus.enable_schema_based_sharding``, docs/scaling.md).

Citus is not installed here, so the properties it relies on are checked on PostgreSQL itself:

1. no foreign key crosses a tenant schema's boundary — from a tenant table to the catalog or
   another schema, or from anywhere else into a tenant table (pg_constraint);
2. no statement Rapport sends mentions two tenant schemas, or a tenant schema together with a
   catalog table (Citus cannot join a distributed schema's tables with coordinator-local
   tables); the statements are captured from every connection while two tenants are published,
   read, written, transitioned and audited;
3. every statement that reads or writes a per-tenant catalog table names its tenant id (a
   catalog read by tenant id stays on the coordinator and never scans other tenants' rows).
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from rapport.composition import KERNEL
from rapport.db.catalog import migrate
from rapport.db.database import Database
from rapport.demo import demo_documents
from rapport.graphql.executor import build_tenant_api
from rapport.graphql.request import GraphQLRequest
from rapport.metadata.lifecycle import load_published, publish
from rapport.metadata.tenants import create_tenant
from rapport.principal import Principal
from tests.workflow.world import documents as workflow_documents

SLUGS = ("dista", "distb")
# Catalog tables that hold rows of many tenants: every statement on them names a tenant.
PER_TENANT = (
    "audit_entries",
    "audit_tenant_heads",
    "outbox",
    "workflow_deadlines",
    "workflow_history",
)
CREATE = (
    """mutation($i: CourseCreateInput!) { createCourse(input: $i) { id title trainer { name } } }"""
)
UPDATE = """mutation($id: ID!) { updateCourse(id: $id, input: {capacity: 20}) { id capacity } }"""
READ = """{ courses(first: 20, where: {level: {_eq: intermediate}}) {
  edges { node { title trainer { name } enrollments { totalCount } } } } }"""
TRAINER = """mutation { createTrainer(input: {name: "Ada"}) { id } }"""


@pytest.fixture(scope="module")
async def captured(database_url: str) -> AsyncIterator[tuple[Database, list[str]]]:
    statements: list[str] = []

    def log(record: Any) -> None:
        statements.append(record.query)

    async def init(conn: asyncpg.Connection) -> None:
        conn.add_query_logger(log)

    pool = await asyncpg.create_pool(
        database_url, min_size=1, max_size=4, init=init, server_settings={"timezone": "UTC"}
    )
    db = Database(pool, database_url)
    try:
        await _workload(db)
        yield db, statements
    finally:
        await db.close()


async def _workload(db: Database) -> None:
    """Publish, write, read, transition in two tenants."""
    await migrate(db)
    for slug in SLUGS:
        await create_tenant(db, slug)
        await publish(db, slug, [*demo_documents(), *workflow_documents()], actor="t")
        tenant, metadata = await load_published(db, slug)
        api = build_tenant_api(tenant, metadata, kernel=KERNEL)
        admin = Principal(tenant=slug, subject="t", roles=frozenset({"admin"}))

        async def run(query: str, variables: dict[str, Any] | None = None) -> Any:
            outcome = await api.execute(db, GraphQLRequest(query, None, variables), admin)  # noqa: B023
            assert b'"errors"' not in outcome.body, outcome.body[:400]
            return outcome.body

        await run(TRAINER)
        body = json.loads(await run(CREATE, {"i": {"title": "Safety", "level": "intermediate"}}))
        course = body["data"]["createCourse"]["id"]
        await run(UPDATE, {"id": course})
        await run(READ)
        case = json.loads(
            await run('mutation { createCase(input: {title: "c", assignee: "hr1"}) { id } }')
        )["data"]["createCase"]["id"]
        await run(
            'mutation($id: ID!) { transitionCase(id: $id, transition: "accept") { state } }',
            {"id": case},
        )
        api.close()


async def test_no_foreign_key_crosses_a_tenant_schema(
    captured: tuple[Database, list[str]],
) -> None:
    # given
    db, _ = captured
    schemas = [r["schema_name"] for r in await db.fetch("SELECT schema_name FROM rapport.tenants")]

    # when
    keys = await db.fetch(
        "SELECT c.conname, src.nspname AS from_schema, dst.nspname AS to_schema "
        "FROM pg_constraint c "
        "JOIN pg_class sc ON sc.oid = c.conrelid JOIN pg_namespace src ON src.oid = sc.relnamespace "
        "JOIN pg_class dc ON dc.oid = c.confrelid "
        "JOIN pg_namespace dst ON dst.oid = dc.relnamespace "
        "WHERE c.contype = 'f'"
    )

    # then: the demo's relations are there, each inside its own schema
    inside = [k for k in keys if k["from_schema"] in schemas]
    assert len(inside) >= 2 * 3
    crossing = [
        dict(k)
        for k in keys
        if (k["from_schema"] in schemas or k["to_schema"] in schemas)
        and k["from_schema"] != k["to_schema"]
    ]
    assert crossing == []


async def test_no_statement_joins_tenants_or_a_tenant_with_the_catalog(
    captured: tuple[Database, list[str]],
) -> None:
    # given: the workload of the first test ran
    db, statements = captured
    schemas = [r["schema_name"] for r in await db.fetch("SELECT schema_name FROM rapport.tenants")]
    assert len(schemas) == 2 and statements

    # when
    mixed = []
    touching = 0
    for sql in statements:
        named = {s for s in schemas if re.search(rf'"?{re.escape(s)}"?\.', sql)}
        if named:
            touching += 1
        catalog = re.search(r'(?<![\w"])"?rapport"?\."?[a-z_]', sql) is not None
        if len(named) > 1 or (named and catalog):
            mixed.append(sql)

    # then
    assert touching > 10  # the workload did reach the tenant schemas
    assert mixed == []


async def test_catalog_statements_on_per_tenant_tables_name_their_tenant(
    captured: tuple[Database, list[str]],
) -> None:
    # given
    _, statements = captured

    # when
    unscoped = [
        sql
        for sql in statements
        for table in PER_TENANT
        if re.search(rf'(?<![\w"])"?rapport"?\."?{table}\b', sql)
        and "tenant_id" not in sql
        and not re.search(r"\bWHERE\s+(?:\w+\.)?id\s*=", sql)  # one row by its own key
    ]

    # then
    assert unscoped == []
