"""The login-free public endpoint: only the installed plug-ins' public fields, no login, a
per-tenant rate limit, and nothing about the caller stored."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest

from rapport.db.catalog import migrate
from rapport.db.database import Database
from rapport.metadata.tenants import create_tenant
from rapport.plugins.lifecycle import install
from rapport.plugins.subscriptions import assign_plan, put_plan
from rapport.ratelimit import TokenBuckets
from rapport.settings import Settings
from tests.live_server import LiveServer, server_settings

SUBMIT = (
    "mutation($i: AnonymousComplaintInput!) { submitAnonymousComplaint(input: $i) "
    "{ followUpCode } }"
)
STATUS = "query($c: String!) { anonymousComplaintStatus(code: $c) { status notes } }"
ADD = "mutation($c: String!) { addAnonymousComplaintInformation(code: $c, text: $t) }"
COMPLAINT = {"category": "workload", "title": "Hours", "description": "Every weekend."}
AGENT = "probe-agent-5b1d"
BURST = 12  # the first tenant uses 8 requests before the rate test


@pytest.fixture(scope="module")
async def slugs(database: Database) -> tuple[str, str, str]:
    """A tenant with the complaints plug-in, one more for the rate limit, one with none."""
    await migrate(database)
    await put_plan(database, "erm", ["org", "complaints"])
    names = tuple(f"pub_{secrets.token_hex(3)}_{i}" for i in range(3))
    for name in names:
        await create_tenant(database, name, actor="test")
    for name in names[:2]:
        await assign_plan(database, name, "erm", actor="test")
        await install(database, name, "org", actor="test")
        await install(database, name, "complaints", actor="test")
    return names[0], names[1], names[2]


@pytest.fixture(scope="module")
def server(database_url: str, slugs: tuple[str, str, str]) -> Iterator[LiveServer]:
    settings: Settings = replace(
        server_settings(database_url), public_rate_per_minute=1, public_burst=BURST
    )
    with LiveServer(settings) as live:
        yield live


@pytest.fixture(scope="module")
async def client(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=server.url, timeout=30, headers={"User-Agent": AGENT}
    ) as http:
        yield http


async def _post(
    client: httpx.AsyncClient, slug: str, query: str, **variables: Any
) -> httpx.Response:
    return await client.post(
        f"/public/{slug}/graphql", json={"query": query, "variables": variables}
    )


def _code(response: httpx.Response) -> str:
    return str(response.json()["errors"][0]["extensions"]["code"])


async def test_a_complaint_is_submitted_and_followed_without_a_login(
    client: httpx.AsyncClient, database: Database, slugs: tuple[str, str, str]
) -> None:
    # given: no Authorization header at all
    slug = slugs[0]

    # when
    submitted = await _post(client, slug, SUBMIT, i=COMPLAINT)
    code = submitted.json()["data"]["submitAnonymousComplaint"]["followUpCode"]
    added = await _post(
        client, slug, ADD.replace("$c: String!)", "$c: String!, $t: String!)"), c=code, t="More"
    )
    status = await _post(client, slug, STATUS, c=code)

    # then
    assert submitted.status_code == 200, submitted.text
    assert added.json() == {"data": {"addAnonymousComplaintInformation": True}}
    assert status.json() == {
        "data": {"anonymousComplaintStatus": {"status": "submitted", "notes": 1}}
    }
    # and nothing about the caller is stored: neither the address nor the user agent
    tenant_id = await database.fetchval(
        "SELECT id::text FROM rapport.tenants WHERE slug = $1", slug
    )
    texts = [
        r["j"]
        for table in await database.fetch(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema = $1 AND table_type = 'BASE TABLE'",
            f"tenant_{slug}",
        )
        for r in await database.fetch(
            f'SELECT row_to_json(t)::text AS j FROM "{table["table_schema"]}".'
            f'"{table["table_name"]}" AS t'
        )
    ]
    for table in await database.fetch(
        "SELECT table_name FROM information_schema.columns "
        "WHERE table_schema = 'rapport' AND column_name = 'tenant_id'"
    ):
        texts.extend(
            r["j"]
            for r in await database.fetch(
                f'SELECT row_to_json(t)::text AS j FROM rapport."{table["table_name"]}" AS t '
                "WHERE t.tenant_id = $1::uuid",
                tenant_id,
            )
        )
    assert any("Every weekend." in t for t in texts)
    assert not [t for t in texts if AGENT in t or "127.0.0.1" in t or code in t]


async def test_any_other_field_and_introspection_are_forbidden(
    client: httpx.AsyncClient, slugs: tuple[str, str, str]
) -> None:
    # given
    slug = slugs[0]

    # when
    records = await _post(client, slug, "{ complaints { edges { node { id title } } } }")
    mixed = await _post(
        client,
        slug,
        '{ anonymousComplaintStatus(code: "X") { status } employees { edges { node { id } } } }',
    )
    schema = await _post(client, slug, "{ __schema { types { name } } }")
    fragment = await _post(
        client, slug, '{ ... on Query { anonymousComplaintStatus(code: "X") { status } } }'
    )
    get = await client.get(f"/public/{slug}/graphql", params={"query": "{ __typename }"})
    none_installed = await _post(client, slugs[2], STATUS, c="X")
    unknown = await _post(client, "no_such_tenant", STATUS, c="X")

    # then
    for response in (records, mixed, schema, fragment, none_installed):
        assert response.status_code == 403, response.text
        assert _code(response) == "FORBIDDEN"
    assert "is not a public field" in records.json()["errors"][0]["message"]
    assert (
        "none (no installed plug-in offers one)"
        in none_installed.json()["errors"][0]["extensions"]["hint"]
    )
    assert get.status_code == 405
    assert unknown.status_code == 404 and _code(unknown) == "TENANT_NOT_FOUND"


async def test_credentials_are_ignored_not_used(
    client: httpx.AsyncClient, slugs: tuple[str, str, str]
) -> None:
    # when: a forged token comes along; it is neither checked nor used
    response = await client.post(
        f"/public/{slugs[0]}/graphql",
        json={"query": "{ complaints { edges { node { id } } } }"},
        headers={"Authorization": "Bearer forged"},
    )
    # then: still the public principal, which may not read records
    assert response.status_code == 403
    assert _code(response) == "FORBIDDEN"


async def test_the_rate_limit_is_per_tenant(
    client: httpx.AsyncClient, slugs: tuple[str, str, str]
) -> None:
    # given a tenant whose bucket holds BURST requests and refills one per minute
    slug = slugs[1]

    # when
    answers = [await _post(client, slug, STATUS, c="NOPE") for _ in range(BURST + 1)]
    other_tenant = await _post(client, slugs[0], STATUS, c="NOPE")

    # then
    assert [a.status_code for a in answers[:BURST]] == [200] * BURST
    assert answers[BURST].status_code == 429
    assert _code(answers[BURST]) == "RATE_LIMITED"
    assert other_tenant.status_code == 200


def test_the_token_bucket_refills_at_its_rate() -> None:
    # given a bucket of two tokens refilled at 6000 a minute (one per 10 ms)
    buckets = TokenBuckets(6000, 2)
    # when / then
    assert buckets.take("t") == 0.0 and buckets.take("t") == 0.0
    wait = buckets.take("t")
    assert 0 < wait <= 0.01
    # and with no refill, a key's bucket stays empty until the bounded table evicts it
    bounded = TokenBuckets(0, 1, max_keys=1)
    assert bounded.take("a") == 0.0
    assert bounded.take("a") == float("inf")
    assert bounded.take("b") == 0.0
    assert bounded.take("a") == 0.0
