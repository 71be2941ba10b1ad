"""The app as a whole on real uvicorn: start-up, readiness, two instances kept in step."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from rapport.auth.tokens import issue_token
from rapport.db.catalog import migrate
from rapport.db.database import Database
from rapport.demo import demo_documents
from rapport.errors import DatabaseUnavailable
from rapport.metadata.tenants import create_tenant
from tests.databases import ScratchDatabase, scratch_database
from tests.live_server import LiveServer, server_settings

COURSES = {"query": "{ courses { totalCount } }"}


@pytest.fixture(scope="module", autouse=True)
async def catalog(database: Database) -> Database:
    """The module's database with the catalog schema migrated."""
    await migrate(database)
    return database


def _post(server: LiveServer, token: str, body: dict[str, object]) -> httpx.Response:
    return httpx.post(
        server.url + "/graphql",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )


def test_start_up_fails_clearly_when_the_database_is_unreachable() -> None:
    settings = server_settings("postgresql://postgres@127.0.0.1:1/none")
    with pytest.raises(DatabaseUnavailable) as caught:
        LiveServer(settings).start()
    assert caught.value.message == "The database cannot be reached."
    assert "RAPPORT_DATABASE_URL" in caught.value.hint


@pytest.fixture
async def scratch(server_dsn: str) -> AsyncIterator[ScratchDatabase]:
    """A database this test may drop while a server uses it."""
    async with scratch_database(server_dsn, "rapport_scratch") as database:
        yield database


async def test_healthz_is_503_when_the_database_goes_away(
    server_dsn: str, scratch: ScratchDatabase
) -> None:
    # given: a ready server
    server = LiveServer(server_settings(scratch.url)).start()
    try:
        assert httpx.get(server.url + "/healthz").status_code == 200
        # when: its database disappears
        admin = await asyncpg.connect(server_dsn)
        try:
            await admin.execute(f'DROP DATABASE "{scratch.name}" WITH (FORCE)')
        finally:
            await admin.close()
        # then
        response = httpx.get(server.url + "/healthz", timeout=10)
        assert response.status_code == 503
        assert response.json()["code"] == "DATABASE_UNAVAILABLE"
        assert "Traceback" not in response.text
    finally:
        server.stop()  # shutdown completes even with the database gone


async def test_migrations_ran_before_ready(database_url: str, database: Database) -> None:
    with LiveServer(server_settings(database_url)):
        tables = await database.fetchval(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'rapport'"
        )
    assert tables >= 3


async def test_two_instances_serve_the_new_schema_after_one_publish(
    database_url: str, database: Database
) -> None:
    # given: two app instances on the same database, both serving tenant "twin"
    settings = server_settings(database_url)
    await create_tenant(database, "twin", actor="test")
    token = issue_token(settings, tenant="twin", subject="t", roles=["admin"])
    with LiveServer(settings) as first, LiveServer(settings) as second:
        for server in (first, second):
            before = _post(server, token, COURSES)
            assert before.status_code == 200
            assert "errors" in before.json()  # no `courses` field yet
        # when: the first publishes through its admin API
        published = httpx.post(
            first.url + "/graphql/admin",
            json={
                "query": "mutation($d: JSON) { publish(documents: $d) { version } }",
                "variables": {"d": [d.as_json() for d in demo_documents()]},
            },
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        assert published.json() == {"data": {"publish": {"version": 2}}}
        # then: the publishing instance serves it on the very next request …
        assert _post(first, token, COURSES).json() == {"data": {"courses": {"totalCount": 0}}}
        # … and the other one as soon as the NOTIFY arrives, without a restart
        deadline = time.monotonic() + 5
        while True:
            answer = _post(second, token, COURSES).json()
            if answer.get("data") or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        assert answer == {"data": {"courses": {"totalCount": 0}}}


def test_docker_files_use_only_the_settings_rapport_reads() -> None:
    # given: the variables settings.py looks up
    root = Path(__file__).resolve().parents[1]
    settings_code = (root / "platform" / "rapport" / "settings.py").read_text()
    read = set(re.findall(r'"(RAPPORT_[A-Z_]+)"', settings_code))
    # when: the docker files set variables
    used: set[str] = set()
    for name in ("compose.yaml", "Dockerfile"):
        text = (root / "docker" / name).read_text()
        used |= set(re.findall(r"\b(RAPPORT_[A-Z_]+)\s*[:=]", text))
    # then
    assert used, "the docker files set no RAPPORT_* variable"
    assert used <= read, f"not read by settings.py: {sorted(used - read)}"
    compose = (root / "docker" / "compose.yaml").read_text()
    assert "RAPPORT_ENV: production" in compose
    assert "${RAPPORT_JWT_SECRET:?set it}" in compose
