"""Plug-in attribute providers reach requests: ``$user.departments`` over HTTP."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from rapport_org.importer import import_org

from rapport.auth.users import create_user
from rapport.db.catalog import migrate
from rapport.db.database import Database
from rapport.db.tenants import get_tenant
from rapport.metadata.documents import Document, DocumentKind
from rapport.metadata.lifecycle import load_published, publish
from rapport.plugins import build_registry
from rapport.plugins.attributes import PluginAttributes
from rapport.plugins.lifecycle import install
from rapport.plugins.subscriptions import assign_plan, put_plan
from rapport.principal import Principal
from rapport.settings import Settings
from tests.live_server import LiveServer, server_settings

PASSWORD = "Correct-Horse-42!"
STAFF_RULE = Document(
    "acme/staff-my-organisation",
    {
        "$id": "acme/staff-my-organisation",
        "title": "Staff read the employees of their whole organisation",
        "role": "staff",
        "entity": "org/employee",
        "actions": ["read"],
        "where": {"departmentId": {"_in": "$user.departments"}},
        "fields": {"read": ["*"]},
    },
    kind=DocumentKind.PERMISSION,
)
LEAD_RULE = Document(
    "acme/lead-subtree",
    {
        "$id": "acme/lead-subtree",
        "title": "Leads read the employees of their department tree, through _descendants_of",
        "role": "lead",
        "entity": "org/employee",
        "actions": ["read"],
        "where": {"department": {"_descendants_of": "$user.departments"}},
        "fields": {"read": ["*"]},
    },
    kind=DocumentKind.PERMISSION,
)
EMPLOYEES = "{ employees(orderBy: {name: ASC}) { edges { node { name } } } }"


def _org(user_id: str, lead_id: str = "u-lead") -> dict[str, Any]:
    return {
        "departments": [
            {"externalId": "D-1", "name": "Sales"},
            {"externalId": "D-2", "name": "Sales East", "parent": "D-1"},
            {"externalId": "D-3", "name": "Sales East Key Accounts", "parent": "D-2"},
            {"externalId": "D-9", "name": "Finance"},
        ],
        "employees": [
            {"externalId": "E-1", "name": "Han Meimei", "department": "D-2", "userId": user_id},
            {"externalId": "E-2", "name": "Li Lei", "department": "D-1", "userId": lead_id},
            {"externalId": "E-3", "name": "Zhang Wei", "department": "D-3"},
            {"externalId": "E-4", "name": "Wang Fang", "department": "D-9"},
        ],
    }


@pytest.fixture(scope="module")
def settings(database_url: str) -> Settings:
    return server_settings(database_url)


@pytest.fixture(scope="module")
async def slug(database: Database) -> str:
    await migrate(database)
    await put_plan(database, "org-only", ["org"])
    name = f"attr_{secrets.token_hex(4)}"
    from rapport.metadata.tenants import create_tenant

    await create_tenant(database, name, actor="test")
    await assign_plan(database, name, "org-only", actor="test")
    await install(database, name, "org", actor="test")
    await publish(database, name, [STAFF_RULE, LEAD_RULE], actor="test")
    return name


@pytest.fixture(scope="module")
def server(settings: Settings, slug: str) -> Iterator[LiveServer]:
    with LiveServer(settings) as live:
        yield live


@pytest.fixture(scope="module")
async def client(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        yield http


async def _staff_user(
    database: Database, settings: Settings, slug: str, login: str, role: str = "staff"
) -> str:
    user = await create_user(
        database,
        settings.identity,
        tenant=slug,
        login=login,
        roles=[role],
        password=PASSWORD,
        actor="test",
    )
    return user.id


async def _login(client: httpx.AsyncClient, slug: str, login: str) -> str:
    response = await client.post(
        "/auth/login", json={"tenant": slug, "login": login, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    return str(response.json()["accessToken"])


async def test_a_login_user_linked_to_an_employee_reads_its_whole_organisation(
    client: httpx.AsyncClient, database: Database, settings: Settings, slug: str
) -> None:
    # given: a staff user linked to Han (Sales East), and one linked to nobody
    han = await _staff_user(database, settings, slug, "han@acme.test")
    await _staff_user(database, settings, slug, "nobody@acme.test")
    li = await _staff_user(database, settings, slug, "li@acme.test", role="lead")
    await import_org(database, slug, _org(han, li), actor="hr-sync")

    # when
    results = {}
    for login in ("han@acme.test", "nobody@acme.test", "li@acme.test"):
        token = await _login(client, slug, login)
        response = await client.post(
            "/graphql", json={"query": EMPLOYEES}, headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 200, response.text
        assert "errors" not in response.json(), response.text
        edges = response.json()["data"]["employees"]["edges"]
        results[login] = [e["node"]["name"] for e in edges]

    # then: Sales East and below, not Sales above nor Finance beside; nothing for nobody
    assert results["han@acme.test"] == ["Han Meimei", "Zhang Wei"]
    assert results["nobody@acme.test"] == []
    # and a rule with _descendants_of on the department tree: Li heads Sales (D-1)
    assert results["li@acme.test"] == ["Han Meimei", "Li Lei", "Zhang Wei"]


async def test_attributes_are_cached_per_tenant_subject_and_version(
    database: Database, slug: str
) -> None:
    # given: a provider with a long cache, and a principal of an employee
    tenant, metadata = await load_published(database, slug)
    department = await database.fetchval(
        f"SELECT id::text FROM \"tenant_{slug}\".org_department WHERE external_id = 'D-9'"
    )
    await database.execute(
        f'INSERT INTO "tenant_{slug}".org_employee (id, name, user_id, department_id) '
        "VALUES (gen_random_uuid(), 'Cache Probe', 'u-cache', $1::uuid)",
        department,
    )
    provider = PluginAttributes(database, ttl=60.0)
    probe = Principal(tenant=slug, subject="u-cache", roles=frozenset({"staff"}))
    first = await provider.enrich(tenant, metadata, probe)

    # when: the org chart changes within the cache period
    await database.execute(
        f"UPDATE \"tenant_{slug}\".org_employee SET department_id = NULL WHERE user_id = 'u-cache'"
    )
    cached = await provider.enrich(tenant, metadata, probe)
    fresh = await PluginAttributes(database, ttl=0.0).enrich(tenant, metadata, probe)

    # then
    assert first.attributes["departments"] == [department]
    assert cached.attributes == first.attributes
    assert fresh.attributes["departments"] == []
    assert fresh.attributes["employee"] == first.attributes["employee"]


async def test_stored_attributes_stay_and_tenants_without_plugins_cost_nothing(
    database: Database, slug: str
) -> None:
    # given: a principal with a stored attribute, and a provider with no plug-ins
    tenant, metadata = await load_published(database, slug)
    principal = Principal(
        tenant=slug, subject="u-none", roles=frozenset({"staff"}), attributes={"level": 3}
    )
    empty = PluginAttributes(database, ttl=60.0, registry=build_registry([]))

    # when
    enriched = await PluginAttributes(database, ttl=60.0).enrich(tenant, metadata, principal)
    unchanged = await empty.enrich(tenant, metadata, principal)
    foreign = await PluginAttributes(database, ttl=60.0).enrich(
        await get_tenant(database, slug), metadata, Principal("other", "u-none", frozenset())
    )

    # then
    assert dict(enriched.attributes) == {
        "level": 3,
        "employee": None,
        "departments": [],
        "managedEmployees": [],
    }
    assert unchanged is principal
    assert foreign.attributes == {}
