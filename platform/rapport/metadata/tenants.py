"""Creating a tenant: its catalog row, its schema and its first metadata version, together.

One transaction publishes the kernel's documents as version 1 with the row and the schema, so a
tenant either exists with its kernel tables or not at all. The rows themselves are
:mod:`rapport.db.tenants`.
"""

from __future__ import annotations

import asyncpg

from rapport.db.database import Connection, Database
from rapport.db.tenants import Tenant, get_tenant, lock_tenant, validate_slug
from rapport.errors import ConstraintViolation
from rapport.metadata.lifecycle import publish_on
from rapport.naming import quote_ident, tenant_schema

__all__ = ["create_tenant"]


async def create_tenant(
    db: Database | Connection, slug: str, name: str | None = None, *, actor: str = "system"
) -> Tenant:
    """Create the tenant row and schema and publish the kernel documents as version 1.

    One transaction: a failure at any point leaves no row, no schema and no version.
    """
    validate_slug(slug)
    schema = tenant_schema(slug)
    async with db.transaction() as conn:
        await lock_tenant(conn, slug)
        exists = await conn.fetchval("SELECT 1 FROM rapport.tenants WHERE slug = $1", slug)
        if exists:
            raise ConstraintViolation(
                f"A tenant {slug!r} already exists.",
                hint="Choose another slug, or use the existing tenant.",
            )
        try:
            await conn.execute(
                "INSERT INTO rapport.tenants (slug, name, schema_name) VALUES ($1, $2, $3)",
                slug,
                name if name else slug,
                schema,
            )
            await conn.execute(f"CREATE SCHEMA {quote_ident(schema)}")
        except asyncpg.UniqueViolationError:
            raise ConstraintViolation(
                f"A tenant {slug!r} already exists.",
                hint="Choose another slug, or use the existing tenant.",
            ) from None
        except asyncpg.DuplicateSchemaError:
            raise ConstraintViolation(
                f"The schema {schema} already exists but belongs to no tenant.",
                hint=f"It was left behind outside Rapport: back it up if needed, then "
                f'DROP SCHEMA "{schema}" CASCADE, or choose another slug.',
            ) from None
        await publish_on(conn, slug, (), actor=actor, note="tenant created")
        return await get_tenant(conn, slug)
