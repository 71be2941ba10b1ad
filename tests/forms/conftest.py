"""The forms test world: a tenant with the demo entities and the form fixtures, served live."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from rapport.auth.tokens import issue_token
from rapport.db.catalog import migrate
from rapport.db.database import Database
from rapport.demo import demo_documents
from rapport.metadata.documents import Document, read_folder
from rapport.metadata.lifecycle import publish
from rapport.metadata.tenants import create_tenant
from rapport.settings import Settings
from tests.live_server import LiveServer, server_settings

FIXTURES = Path(__file__).parent / "fixtures"
TENANT = "formco"


def fixture_documents() -> tuple[Document, ...]:
    return (*demo_documents(), *read_folder(FIXTURES))


@pytest.fixture(scope="module")
async def catalog(database: Database) -> Database:
    await migrate(database)
    return database


@pytest.fixture(scope="module")
async def tenant(catalog: Database) -> str:
    await create_tenant(catalog, TENANT, actor="test")
    await publish(catalog, TENANT, fixture_documents(), actor="test")
    return TENANT


@pytest.fixture(scope="module")
def settings(database_url: str) -> Settings:
    return server_settings(database_url)


@pytest.fixture(scope="module")
def server(settings: Settings, tenant: str) -> Iterator[LiveServer]:
    with LiveServer(settings) as live:
        yield live


@pytest.fixture(scope="module")
async def client(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=30.0) as http:
        yield http


@pytest.fixture(scope="module")
def admin_token(settings: Settings, tenant: str) -> str:
    return issue_token(settings, tenant=tenant, subject="hr-admin", roles=["admin"])


@pytest.fixture(scope="module")
def employee_token(settings: Settings, tenant: str) -> str:
    return issue_token(settings, tenant=tenant, subject="emp-7", roles=["employee"])


async def gql(
    client: httpx.AsyncClient, token: str, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    response = await client.post(
        "/graphql",
        json={"query": query, "variables": variables or {}},
        headers={"Authorization": f"Bearer {token}"},
    )
    body: dict[str, Any] = response.json()
    assert "Traceback" not in response.text
    return body
