"""Two tenants with the same model, the same logins and the same departments: a user of one can
never reach the other's records — by id, by relation, by aggregate, or by using the other API."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from rapport.composition import KERNEL
from rapport.db.database import Database
from rapport.db.tenants import get_tenant
from rapport.errors import Forbidden
from rapport.graphql.executor import TenantApi, build_tenant_api
from rapport.metadata.bundle import TenantMetadata
from rapport.metadata.ddl import create_model_ddl
from rapport.metadata.tenants import create_tenant
from rapport.naming import qualified
from rapport.principal import Principal
from tests.auth.permissions.conftest import ADMIN, ANN, HRBP, run

OTHER = "permb"
B_EMPLOYEE = "0000b002-0000-0000-0000-000000000001"
B_DEPARTMENT = "0000b001-0000-0000-0000-000000000001"
B_COMPLAINT = "0000b003-0000-0000-0000-000000000001"


@pytest.fixture(scope="module")
async def other_api(seeded: Database, metadata: TenantMetadata) -> AsyncIterator[TenantApi]:
    """Tenant B: a Sales department, an employee with login "ann", her complaint."""
    await create_tenant(seeded, OTHER, actor="test")
    tenant = await get_tenant(seeded, OTHER)
    for statement in create_model_ddl(tenant.schema, metadata.model):
        await seeded.execute(statement)
    schema = tenant.schema
    await seeded.execute(
        f"INSERT INTO {qualified(schema, 'hr_department')} (id, name) VALUES ($1, 'Sales')",
        uuid.UUID(B_DEPARTMENT),
    )
    await seeded.execute(
        f"INSERT INTO {qualified(schema, 'hr_employee')} (id, name, login, salary, department_id)"
        " VALUES ($1, 'Ann of B', 'ann', 1, $2)",
        uuid.UUID(B_EMPLOYEE),
        uuid.UUID(B_DEPARTMENT),
    )
    await seeded.execute(
        f"INSERT INTO {qualified(schema, 'hr_complaint')} (id, title, category, submitter_id, "
        "created_by, status) VALUES ($1, 'B secret', 'pay', $2, 'ann', 'open')",
        uuid.UUID(B_COMPLAINT),
        uuid.UUID(B_EMPLOYEE),
    )
    api = build_tenant_api(tenant, metadata, kernel=KERNEL)
    yield api
    api.close()


async def test_ids_of_the_other_tenant_are_missing(
    api: TenantApi, other_api: TenantApi, seeded: Database
) -> None:
    # when
    query = (
        f'{{ complaint(id: "{B_COMPLAINT}") {{ title }} employee(id: "{B_EMPLOYEE}") {{ name }} }}'
    )
    results = [await run(api, seeded, query, p) for p in (ANN, HRBP, ADMIN)]
    # then: even tenant A's admin sees nothing of B
    assert all(r == {"data": {"complaint": None, "employee": None}} for r in results)


async def test_relations_and_aggregates_stay_in_the_tenant(
    api: TenantApi, other_api: TenantApi, seeded: Database
) -> None:
    # when
    mine = await run(api, seeded, "{ complaints { edges { node { title } } } }", ANN)
    sales = await run(
        api,
        seeded,
        '{ departments(where: {name: {_eq: "Sales"}}) { edges { node { employees '
        "{ totalCount } } } } complaintsAggregate { count } }",
        HRBP,
    )
    # then
    titles = [e["node"]["title"] for e in mine["data"]["complaints"]["edges"]]
    assert "B secret" not in titles and titles
    assert sales["data"]["departments"]["edges"] == [{"node": {"employees": {"totalCount": 2}}}]
    assert sales["data"]["complaintsAggregate"] == {"count": 3}


async def test_a_principal_of_another_tenant_cannot_use_the_api(
    api: TenantApi, other_api: TenantApi, seeded: Database
) -> None:
    # given: B's ann, with the same login and role as A's
    b_ann = Principal(tenant=OTHER, subject="ann", roles=frozenset({"employee"}))
    b_admin = Principal(tenant=OTHER, subject="root", roles=frozenset({"admin"}))
    # when / then: refused before anything runs (the HTTP layer answers 403)
    for principal in (b_ann, b_admin):
        with pytest.raises(Forbidden):
            await run(api, seeded, "{ complaints { totalCount } }", principal)
    own = await run(other_api, seeded, "{ complaints { edges { node { title } } } }", b_ann)
    assert own == {"data": {"complaints": {"edges": [{"node": {"title": "B secret"}}]}}}
