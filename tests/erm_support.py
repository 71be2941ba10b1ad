"""What the ERM plug-ins' acceptance tests share: a tenant with plug-ins installed, an org chart
written through the RecordWriter, tokens, GraphQL over real HTTP, and reading every table a
tenant admin can read (to prove an anonymous write left no link to its author)."""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from rapport.auth.tokens import issue_token
from rapport.composition import KERNEL
from rapport.crypto.sealing import KeyRingSealers
from rapport.db.catalog import migrate
from rapport.db.database import Database
from rapport.metadata.lifecycle import load_published
from rapport.metadata.tenants import create_tenant
from rapport.notify.webhooks import create_subscription
from rapport.plugins import PluginSpec, build_registry
from rapport.plugins.lifecycle import install
from rapport.plugins.subscriptions import assign_plan, put_plan
from rapport.principal import ADMIN_ROLE, Principal
from rapport.records.writer import RecordWriter
from rapport.settings import Settings
from tests.live_server import LiveServer, server_settings

__all__ = [
    "ErmTenant",
    "GraphQLFailed",
    "about_record",
    "client",
    "gql",
    "readable_rows",
    "server",
    "settings",
    "setup_tenant",
    "subscribe_transitions",
]


class GraphQLFailed(AssertionError):
    def __init__(self, errors: Sequence[Mapping[str, Any]]) -> None:
        super().__init__(json.dumps(errors, ensure_ascii=False))
        self.errors = list(errors)

    @property
    def codes(self) -> list[str]:
        return [str(e.get("extensions", {}).get("code")) for e in self.errors]


@dataclass(frozen=True)
class ErmTenant:
    db: Database
    slug: str
    tenant_id: str

    async def writer(self) -> RecordWriter:
        tenant, metadata = await load_published(self.db, self.slug)
        return RecordWriter(
            tenant, metadata, participants=KERNEL.participants, sealers=KeyRingSealers()
        )

    async def create(self, entity: str, input: Mapping[str, Any]) -> str:
        """Write one record as a tenant admin (setting up the org chart, boards …)."""
        writer = await self.writer()
        admin = Principal(tenant=self.slug, subject="setup-admin", roles=frozenset({ADMIN_ROLE}))
        async with self.db.transaction() as conn:
            return await writer.create(
                conn, writer.metadata.model.entity(entity), input, principal=admin
            )

    def token(self, settings: Settings, subject: str, *roles: str) -> str:
        return issue_token(settings, tenant=self.slug, subject=subject, roles=list(roles))


async def setup_tenant(db: Database, plugins: Sequence[PluginSpec], prefix: str) -> ErmTenant:
    await migrate(db)
    slug = f"{prefix}_{secrets.token_hex(3)}"
    tenant = await create_tenant(db, slug, actor="test")
    names = [p.name for p in plugins]
    await put_plan(db, f"plan_{slug}", names)
    await assign_plan(db, slug, f"plan_{slug}", actor="test")
    registry = build_registry(list(plugins))
    for name in names:
        await install(db, slug, name, actor="test", registry=registry)
    return ErmTenant(db, slug, tenant.id)


async def gql(
    client: httpx.AsyncClient,
    query: str,
    variables: Mapping[str, Any] | None = None,
    *,
    token: str | None = None,
    path: str = "/graphql",
) -> dict[str, Any]:
    """POST a GraphQL request; the ``data`` on success, GraphQLFailed with the errors if any."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await client.post(
        path, json={"query": query, "variables": dict(variables or {})}, headers=headers
    )
    body = response.json()
    if body.get("errors"):
        raise GraphQLFailed(body["errors"])
    data: dict[str, Any] = body["data"]
    return data


def about_record(text: str, record_id: str) -> bool:
    """Whether a row (JSON) is an audit entry or outbox event of the record ``record_id``."""
    row = json.loads(text)
    payload = row.get("payload") if isinstance(row.get("payload"), dict) else {}
    return record_id in (row.get("record_id"), payload.get("recordId"))


async def subscribe_transitions(erm: ErmTenant, url: str) -> None:
    """A webhook subscription to every workflow transition of the tenant, at ``url``."""
    await create_subscription(
        erm.db, tenant_id=erm.tenant_id, url=url, events=["workflow.transition"]
    )


async def readable_rows(db: Database, slug: str, tenant_id: str) -> list[tuple[str, str]]:
    """Every row a tenant admin can read: the tenant schema, and catalog rows of the tenant."""
    rows: list[tuple[str, str]] = []
    tables = await db.fetch(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_schema = $1 AND table_type = 'BASE TABLE'",
        f"tenant_{slug}",
    )
    catalog = await db.fetch(
        "SELECT table_schema, table_name FROM information_schema.columns "
        "WHERE table_schema = 'rapport' AND column_name = 'tenant_id'"
    )
    for t in [*tables, *catalog]:
        where = "" if t["table_schema"] != "rapport" else " WHERE t.tenant_id = $1::uuid"
        sql = f'SELECT row_to_json(t)::text AS j FROM "{t["table_schema"]}"."{t["table_name"]}" AS t{where}'
        found = await (db.fetch(sql, tenant_id) if where else db.fetch(sql))
        rows.extend((f"{t['table_schema']}.{t['table_name']}", r["j"]) for r in found)
    return rows


# Fixtures of the acceptance modules (import them; each module defines its own ``erm``).


@pytest.fixture(scope="module")
def settings(database_url: str) -> Settings:
    return server_settings(database_url)


@pytest.fixture(scope="module")
def server(settings: Settings, erm: ErmTenant) -> Iterator[LiveServer]:
    with LiveServer(settings) as live:
        yield live


@pytest.fixture
async def client(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        yield http
