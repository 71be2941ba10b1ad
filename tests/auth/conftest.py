"""Identity tests: two tenants with the demo metadata and a live server on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import replace

import httpx
import pytest

from rapport.db.catalog import migrate
from rapport.db.database import Database
from rapport.demo import demo_documents
from rapport.metadata.lifecycle import publish
from rapport.metadata.tenants import create_tenant
from rapport.settings import IdentitySettings, Settings
from tests.live_server import LiveServer, server_settings

# Short lockout and sessions, so expiry is testable in seconds.
IDENTITY = IdentitySettings(
    lockout_attempts=3,
    lockout_seconds=2,
    login_access_ttl_seconds=60,
    session_idle_seconds=30,
    session_absolute_seconds=60,
    revocation_cache_seconds=0.5,
    # The shared server is not the subject of throttling tests (test_throttle has its own).
    login_rate_address_per_minute=60_000,
    login_rate_address_burst=10_000,
    login_rate_login_per_minute=60_000,
    login_rate_login_burst=10_000,
)
PASSWORD = "Correct-Horse-42!"


@pytest.fixture(scope="module")
async def tenants(database: Database) -> tuple[str, str]:
    await migrate(database)
    for slug in ("acme", "globex"):
        await create_tenant(database, slug, actor="test")
        await publish(database, slug, demo_documents(), actor="test")
    return ("acme", "globex")


@pytest.fixture(scope="module")
def settings(database_url: str) -> Settings:
    return replace(server_settings(database_url), identity=IDENTITY)


@pytest.fixture(scope="module")
def server(settings: Settings, tenants: tuple[str, str]) -> Iterator[LiveServer]:
    with LiveServer(settings) as live:
        yield live


@pytest.fixture(scope="module")
async def client(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        yield http
