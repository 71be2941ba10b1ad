"""Tenants: rows of the catalog table ``rapport.tenants`` and their PostgreSQL schemas.

A tenant is a catalog row plus a schema ``tenant_<slug>`` holding its entity tables. Creating
one publishes its first metadata version too, so it lives a layer up, in
:mod:`rapport.metadata.tenants`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import asyncpg

from rapport.db.database import Connection, Database
from rapport.errors import FieldError, TenantNotFound, ValidationFailed
from rapport.naming import SLUG, quote_ident

__all__ = [
    "METADATA_CHANNEL",
    "Queryable",
    "Tenant",
    "drop_tenant",
    "get_tenant",
    "list_tenants",
    "lock_tenant",
    "notify_metadata",
    "validate_slug",
]

METADATA_CHANNEL = "rapport_metadata"


@dataclass(frozen=True, slots=True)
class Tenant:
    id: str  # uuid as text
    slug: str  # matches naming.SLUG; appears in tokens and URLs
    name: str
    schema: str  # PostgreSQL schema with the tenant's tables: naming.tenant_schema(slug)
    metadata_version: int  # 0 until the first publish
    created_at: datetime


class Queryable(Protocol):
    """A :class:`Database` or a :class:`Connection` (then statements join its transaction)."""

    async def execute(self, sql: str, *args: Any) -> str: ...

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]: ...

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None: ...

    async def fetchval(self, sql: str, *args: Any) -> Any: ...


_COLUMNS = "id::text AS id, slug, name, schema_name, metadata_version, created_at"


def _tenant(row: asyncpg.Record) -> Tenant:
    return Tenant(
        id=row["id"],
        slug=row["slug"],
        name=row["name"],
        schema=row["schema_name"],
        metadata_version=row["metadata_version"],
        created_at=row["created_at"],
    )


def validate_slug(slug: str) -> str:
    if not SLUG.match(slug):
        message = f"{slug!r} is not a valid tenant slug."
        raise ValidationFailed(
            [FieldError(("slug",), message)],
            message=message,
            hint="Use 2 to 40 characters: a lowercase letter first, then lowercase letters, "
            "digits or underscores (e.g. 'acme' or 'acme_cn').",
        )
    return slug


async def lock_tenant(conn: Connection, slug: str) -> None:
    """Serialize metadata changes of one tenant until the current transaction ends."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('rapport.publish.' || $1))", slug)


async def notify_metadata(conn: Connection, slug: str, version: int) -> None:
    """Tell every instance (at commit) that ``slug`` now runs ``version`` (0: tenant dropped)."""
    await conn.execute("SELECT pg_notify($1, $2)", METADATA_CHANNEL, f"{slug}:{version}")


async def get_tenant(db: Queryable, slug: str) -> Tenant:
    row = await db.fetchrow(f"SELECT {_COLUMNS} FROM rapport.tenants WHERE slug = $1", slug)
    if row is None:
        raise TenantNotFound(
            f"There is no tenant {slug!r}.",
            hint=f"Create it with `rapport tenant create {slug}`"
            if SLUG.match(slug)
            else "Create it with `rapport tenant create SLUG`.",
        )
    return _tenant(row)


async def list_tenants(db: Queryable) -> list[Tenant]:
    rows = await db.fetch(f"SELECT {_COLUMNS} FROM rapport.tenants ORDER BY slug")
    return [_tenant(row) for row in rows]


async def drop_tenant(db: Database | Connection, slug: str) -> None:
    """Drop the tenant's schema (all its data) and its catalog rows, in one transaction."""
    async with db.transaction() as conn:
        await lock_tenant(conn, slug)
        tenant = await get_tenant(conn, slug)
        await conn.execute(f"DROP SCHEMA IF EXISTS {quote_ident(tenant.schema)} CASCADE")
        await conn.execute("DELETE FROM rapport.tenants WHERE id = $1::uuid", tenant.id)
        await notify_metadata(conn, slug, 0)
