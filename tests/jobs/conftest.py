"""Fixtures of the job tests: a migrated catalog with one tenant (Redis: tests/conftest.py)."""

from __future__ import annotations

import pytest

from rapport.db.catalog import migrate
from rapport.db.database import Database
from rapport.db.tenants import Tenant
from rapport.metadata.tenants import create_tenant


@pytest.fixture(scope="module")
async def tenant(database: Database) -> Tenant:
    await migrate(database)
    return await create_tenant(database, "acme", "ACME")
