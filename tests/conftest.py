"""Shared fixtures: a real PostgreSQL for the whole session, a fresh database per test module.

With RAPPORT_TEST_DATABASE_URL set (CI sets it to the machine's PostgreSQL 15), tests create
throw-away databases on that server; otherwise they start the embedded PostgreSQL in a temporary
directory, exactly as `rapport serve` would on a bare machine. Likewise the job tests use the
Redis of RAPPORT_TEST_REDIS_URL (a database they may flush), else a private redis-server.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from rapport.db.database import Database
from rapport.db.embedded import EmbeddedPostgres
from tests.databases import scratch_database
from tests.jobs.support import RedisServer

# Fixed keys for code that reads the process settings (the default key ring that seals
# sensitive fields, the audit checkpoint signer), so tests never generate keys into ./.rapport.
os.environ.setdefault("RAPPORT_MASTER_KEY", "dGVzdC1tYXN0ZXIta2V5LTMyLWJ5dGVzLWxvbmchISE=")
os.environ.setdefault("RAPPORT_AUDIT_SIGNING_KEY", "dGVzdC1hdWRpdC1zaWduaW5nLWtleS0zMi1ieXRlcyE=")
os.environ.setdefault("RAPPORT_JWT_SECRET", "t" * 64)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("RAPPORT_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="slow test: set RAPPORT_SLOW=1 (CI does) to run it")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def server_dsn() -> Iterator[str]:
    """DSN of a PostgreSQL server the tests may create databases on."""
    configured = os.environ.get("RAPPORT_TEST_DATABASE_URL")
    if configured:
        yield configured
        return
    with tempfile.TemporaryDirectory(prefix="rapport-test-pg-") as tmp:
        embedded = EmbeddedPostgres(Path(tmp))
        dsn = embedded.start()
        try:
            yield dsn
        finally:
            embedded.stop()


@pytest.fixture(scope="module")
async def database_url(server_dsn: str) -> AsyncIterator[str]:
    """A fresh, empty database for one test module; dropped afterwards."""
    async with scratch_database(server_dsn, "rapport_test") as scratch:
        yield scratch.url


@pytest.fixture(scope="module")
async def database(database_url: str) -> AsyncIterator[Database]:
    db = await Database.connect(database_url, min_size=1, max_size=5)
    try:
        yield db
    finally:
        await db.close()


@pytest.fixture(scope="session")
def redis_server_url() -> Iterator[str]:
    """URL of a Redis database the tests may flush."""
    configured = os.environ.get("RAPPORT_TEST_REDIS_URL")
    if configured:
        yield configured
        return
    server = RedisServer()
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
async def clean_redis(redis_server_url: str) -> AsyncIterator[str]:
    """The test Redis database, emptied before and after the test."""
    client = aioredis.Redis.from_url(redis_server_url)
    await client.flushdb()
    yield redis_server_url
    await client.flushdb()
    await client.aclose()
