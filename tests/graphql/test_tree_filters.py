"""`_descendants_of` in client filters: "my whole organisation" over a department tree."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator

import pytest

from rapport.composition import KERNEL
from rapport.db.database import Database
from rapport.db.tenants import Tenant
from rapport.graphql.executor import TenantApi, build_tenant_api
from rapport.graphql.request import GraphQLRequest
from rapport.metadata.bundle import compile_tenant
from rapport.metadata.ddl import create_model_ddl
from rapport.metadata.documents import documents_from_json
from rapport.principal import Principal

SCHEMA = "tenant_trees"
DEPARTMENT = {
    "$id": "org/department",
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "parent": {
            "type": "string",
            "format": "uuid",
            "x-relation": {"entity": "org/department", "inverse": "children"},
        },
    },
}
EMPLOYEE = {
    "$id": "org/employee",
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "department": {
            "type": "string",
            "format": "uuid",
            "x-relation": {"entity": "org/department", "inverse": "staff"},
        },
    },
}
ADMIN = Principal(tenant="trees", subject="admin", roles=frozenset({"admin"}))
IDS = {name: str(uuid.uuid5(uuid.NAMESPACE_URL, name)) for name in ("hq", "sales", "east", "hr")}


@pytest.fixture(scope="module")
async def api(database: Database) -> AsyncIterator[TenantApi]:
    metadata = compile_tenant(documents_from_json([DEPARTMENT, EMPLOYEE]))
    await database.execute(f'CREATE SCHEMA "{SCHEMA}"')
    for statement in create_model_ddl(SCHEMA, metadata.model):
        await database.execute(statement)
    # hq > sales > east; hq > hr
    for name, parent in (("hq", None), ("sales", "hq"), ("east", "sales"), ("hr", "hq")):
        await database.execute(
            f'INSERT INTO "{SCHEMA}".org_department (id, name, parent_id) VALUES ($1, $2, $3)',
            uuid.UUID(IDS[name]),
            name,
            uuid.UUID(IDS[parent]) if parent else None,
        )
    for person, department in (("Ann", "east"), ("Bo", "sales"), ("Cy", "hr"), ("Di", None)):
        await database.execute(
            f'INSERT INTO "{SCHEMA}".org_employee (name, department_id) VALUES ($1, $2)',
            person,
            uuid.UUID(IDS[department]) if department else None,
        )
    tenant = Tenant(
        id=str(uuid.uuid4()),
        slug="trees",
        name="Trees",
        schema=SCHEMA,
        metadata_version=1,
        created_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    )
    yield build_tenant_api(tenant, metadata, kernel=KERNEL)


async def _names(api: TenantApi, database: Database, query: str, **variables: object) -> list[str]:
    outcome = await api.execute(database, GraphQLRequest(query, variables=variables), ADMIN)
    body = json.loads(outcome.body)
    assert "errors" not in body, body
    (connection,) = body["data"].values()
    return sorted(edge["node"]["name"] for edge in connection["edges"])


async def test_employees_of_a_department_and_everything_below_it(
    api: TenantApi, database: Database
) -> None:
    query = """query($ids: [ID!]) {
      employees(where: {departmentId: {_descendants_of: $ids}}) { edges { node { name } } }
    }"""
    assert await _names(api, database, query, ids=[IDS["sales"]]) == ["Ann", "Bo"]
    assert await _names(api, database, query, ids=[IDS["hq"]]) == ["Ann", "Bo", "Cy"]
    assert await _names(api, database, query, ids=[IDS["east"], IDS["hr"]]) == ["Ann", "Cy"]


async def test_departments_below_a_node_through_their_own_id(
    api: TenantApi, database: Database
) -> None:
    query = """query($ids: [ID!]) {
      departments(where: {id: {_descendants_of: $ids}}) { edges { node { name } } }
    }"""
    assert await _names(api, database, query, ids=[IDS["sales"]]) == ["east", "sales"]


def test_only_trees_offer_the_operator(api: TenantApi) -> None:
    employee_where = api.schema.get_type("EmployeeWhere")
    department_where = api.schema.get_type("DepartmentWhere")
    assert employee_where is not None and department_where is not None
    assert "_descendants_of" in employee_where.fields["departmentId"].type.fields  # type: ignore[union-attr]
    assert "_descendants_of" not in employee_where.fields["id"].type.fields  # type: ignore[union-attr]
    assert "_descendants_of" in department_where.fields["id"].type.fields  # type: ignore[union-attr]
