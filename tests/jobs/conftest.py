"""Fixtures of the job tests: a migrated catalog with one tenant, a clean Redis database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from rapport.db.catalog import migrate
from rapport.db.database import Database
from rapport.db.tenants import Tenant
from rapport.metadata.tenants import create_tenant
from tests.jobs.support import TEST_REDIS_URL


@pytest.fixture(scope="module")
async def tenant(database: Database) -> Tenant:
    await migrate(database)
    return await create_tenant(database, "acme", "ACME")


@pytest.fixture
async def clean_redis() -> AsyncIterator[str]:
    client = aioredis.Redis.from_url(TEST_REDIS_URL)
    await client.flushdb()
    yield TEST_REDIS_URL
    await client.flushdb()
    await client.aclose()
