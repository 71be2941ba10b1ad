"""A migrated catalog and a tenant with the workflow world published, per test module."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest

from rapport.composition import KERNEL
from rapport.crypto.sealing import KeyRingSealers
from rapport.db.catalog import migrate
from rapport.db.database import Database
from rapport.db.tenants import Tenant
from rapport.metadata.bundle import TenantMetadata
from rapport.metadata.lifecycle import load_published, publish
from rapport.metadata.tenants import create_tenant
from rapport.principal import Principal
from rapport.records.writer import RecordWriter
from rapport.workflow.context import WorkflowContext
from tests.workflow.world import documents

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)  # a Monday


@pytest.fixture(scope="module")
async def db(database: Database) -> AsyncIterator[Database]:
    await migrate(database)
    yield database


@pytest.fixture(scope="module")
async def world(db: Database) -> tuple[Tenant, TenantMetadata]:
    slug = f"wf{secrets.token_hex(3)}"
    await create_tenant(db, slug)
    await publish(db, slug, documents(), actor="test")
    return await load_published(db, slug)


def principal(tenant: Tenant, subject: str, *roles: str) -> Principal:
    return Principal(tenant=tenant.slug, subject=subject, roles=frozenset(roles))


def context_for(
    world: tuple[Tenant, TenantMetadata], subject: str, *roles: str, now: dt.datetime = NOW
) -> WorkflowContext:
    tenant, metadata = world
    return WorkflowContext(
        tenant,
        metadata,
        RecordWriter(tenant, metadata, participants=KERNEL.participants, sealers=KeyRingSealers()),
        principal(tenant, subject, *roles),
        now,
    )


async def new_case(db: Database, world: tuple[Tenant, TenantMetadata], **values: Any) -> str:
    context = context_for(world, "creator", "admin")
    entity = context.metadata.model.entity("hr/case")
    async with db.transaction() as conn:
        return await context.writer.create(
            conn, entity, {"title": "case", **values}, principal=context.principal
        )


async def new_person(db: Database, world: tuple[Tenant, TenantMetadata], **values: Any) -> str:
    context = context_for(world, "creator", "admin")
    entity = context.metadata.model.entity("org/person")
    async with db.transaction() as conn:
        return await context.writer.create(conn, entity, values, principal=context.principal)
