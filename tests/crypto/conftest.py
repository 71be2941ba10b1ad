"""A tenant whose `hr/employee` entity has sensitive fields, served by its compiled API."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from rapport.composition import KERNEL
from rapport.db.catalog import migrate
from rapport.db.database import Database
from rapport.db.tenants import Tenant
from rapport.graphql.executor import TenantApi, build_tenant_api
from rapport.graphql.request import GraphQLRequest
from rapport.metadata.documents import read_folder
from rapport.metadata.lifecycle import load_published, publish
from rapport.metadata.tenants import create_tenant
from rapport.principal import Principal

EMPLOYEE = {
    "$id": "hr/employee",
    "title": "Employee",
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 100},
        "salary": {"type": "number", "x-kind": "money", "x-sensitive": True},
        "healthNote": {"type": "string", "x-sensitive": True, "maxLength": 500},
        "grade": {"type": "integer"},
    },
    "required": ["name"],
}
ADMIN = Principal(tenant="secrets", subject="alice", roles=frozenset({"admin"}))


@dataclass
class World:
    db: Database
    tenant: Tenant
    api: TenantApi

    async def run(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        outcome = await self.api.execute(self.db, GraphQLRequest(query, None, variables), ADMIN)
        decoded: dict[str, Any] = json.loads(outcome.body)
        return decoded

    async def create(self, name: str, salary: str | None, note: str | None = None) -> str:
        result = await self.run(
            "mutation($i: EmployeeCreateInput!) { createEmployee(input: $i) { id } }",
            {"i": {"name": name, "salary": salary, "healthNote": note, "grade": 3}},
        )
        assert "errors" not in result, result
        return str(result["data"]["createEmployee"]["id"])


@pytest.fixture(scope="module")
async def world(
    database: Database, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[World]:
    folder = tmp_path_factory.mktemp("secrets-metadata")
    (folder / "hr").mkdir()
    Path(folder / "hr" / "employee.json").write_text(json.dumps(EMPLOYEE))
    await migrate(database)
    await create_tenant(database, "secrets")
    await publish(database, "secrets", read_folder(folder), actor="test")
    tenant, metadata = await load_published(database, "secrets")
    api = build_tenant_api(tenant, metadata, kernel=KERNEL)
    yield World(database, tenant, api)
    api.close()
