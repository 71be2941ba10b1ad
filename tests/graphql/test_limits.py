"""Operation limits and the persisted-operation allow-list, over real HTTP on loopback."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import build_schema

from rapport.auth.tokens import issue_token
from rapport.db.catalog import migrate
from rapport.db.database import Database
from rapport.demo import demo_documents
from rapport.graphql.limits import sha256_hex
from rapport.graphql.prepared import prepare
from rapport.metadata.lifecycle import publish
from rapport.metadata.tenants import create_tenant
from rapport.settings import Environment, GraphQLLimitSettings, Settings
from tests.live_server import LiveServer, server_settings

LIMITS = GraphQLLimitSettings(
    max_depth=8, max_cost=5_000, max_aliases=3, max_bytes=2_000, max_tokens=300
)
DEEP = (
    "{ trainers(first: 1) { edges { node { courses(first: 1) { edges { node { trainer { "
    "courses(first: 1) { edges { node { id } } } } } } } } } } }"
)
WIDE = (
    "{ trainers(first: 100) { edges { node { courses(first: 100) { edges { node { id title } } }"
    " } } } }"
)
COUNT = "{ trainers { totalCount } }"
CREATE = 'mutation { createTrainer(input: {name: "Limit Tester"}) { id } }'


@pytest.fixture(scope="module", autouse=True)
async def tenant(database: Database) -> str:
    await migrate(database)
    await create_tenant(database, "acme", actor="test")
    await publish(database, "acme", demo_documents(), actor="test")
    return "acme"


@pytest.fixture(scope="module")
def allow_list(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("persisted") / "operations.json"
    path.write_text(json.dumps({sha256_hex(COUNT): COUNT}))
    return path


@pytest.fixture(scope="module")
def settings(database_url: str) -> Settings:
    return server_settings(database_url, graphql_limits=LIMITS)


@pytest.fixture(scope="module")
def server(settings: Settings, tenant: str) -> Iterator[LiveServer]:
    with LiveServer(settings) as live:
        yield live


@pytest.fixture(scope="module")
async def client(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        yield http


@pytest.fixture(scope="module")
def headers(settings: Settings) -> dict[str, str]:
    token = issue_token(settings, tenant="acme", subject="tester", roles=["admin"])
    return {"Authorization": f"Bearer {token}"}


def refused(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert "data" not in body, body
    (error,) = body["errors"]
    return dict(error)


async def test_an_over_deep_query_is_refused_with_its_limit(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    # when
    response = await client.post("/graphql", json={"query": DEEP}, headers=headers)
    # then
    error = refused(response)
    assert error["extensions"]["code"] == "QUERY_TOO_DEEP"
    assert error["extensions"]["limit"] == 8
    assert "limit is 8" in error["message"]


async def test_an_over_wide_query_is_refused_because_page_sizes_multiply(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    # when: 100 trainers x 100 courses x 3 fields
    response = await client.post("/graphql", json={"query": WIDE}, headers=headers)
    # then
    error = refused(response)
    assert error["extensions"]["code"] == "QUERY_TOO_COSTLY"
    assert error["extensions"]["limit"] == 5_000
    assert error["extensions"]["cost"] > 10_000


async def test_a_narrow_page_of_the_same_shape_runs(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    # given: the same selection with small pages
    narrow = WIDE.replace("first: 100", "first: 5")
    # when
    response = await client.post("/graphql", json={"query": narrow}, headers=headers)
    # then
    assert response.status_code == 200
    assert "errors" not in response.json()


async def test_a_variable_page_size_counts_as_the_largest_page(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    # given: the page size comes from a variable (validation cannot know its value)
    query = (
        "query($n: Int) { trainers(first: $n) { edges { cursor node { id name __typename } } } }"
    )
    # when
    response = await client.post(
        "/graphql", json={"query": query, "variables": {"n": 1}}, headers=headers
    )
    # then: 1000 x (edges + cursor + node + 3) exceeds 5000
    assert refused(response)["extensions"]["code"] == "QUERY_TOO_COSTLY"


async def test_alias_batching_is_refused_and_nothing_is_created(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    # given: four aliased creates in one mutation
    batch = (
        "mutation { "
        + " ".join(f'a{i}: createTrainer(input: {{name: "Batch {i}"}}) {{ id }}' for i in range(4))
        + " }"
    )
    # when
    response = await client.post("/graphql", json={"query": batch}, headers=headers)
    # then
    error = refused(response)
    assert error["extensions"]["code"] == "TOO_MANY_ALIASES"
    assert error["extensions"]["limit"] == 3
    count = await client.post("/graphql", json={"query": COUNT}, headers=headers)
    assert count.json()["data"]["trainers"]["totalCount"] == 0


async def test_an_oversized_operation_is_refused_by_bytes_and_by_tokens(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    # given: one text over the byte limit, one short but with too many tokens
    long_text = "{ trainers { totalCount } }" + " " * 2_000
    many_tokens = "{ " + "x " * 400 + "}"
    # when
    by_bytes = await client.post("/graphql", json={"query": long_text}, headers=headers)
    by_tokens = await client.post("/graphql", json={"query": many_tokens}, headers=headers)
    # then
    assert refused(by_bytes)["extensions"] == {
        "code": "QUERY_TOO_LARGE",
        "hint": refused(by_bytes)["extensions"]["hint"],
        "limit": 2_000,
    }
    assert refused(by_tokens)["extensions"]["code"] == "QUERY_TOO_LARGE"
    assert refused(by_tokens)["extensions"]["limit"] == 300


async def test_limit_errors_are_400_under_graphql_response_json(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await client.post(
        "/graphql",
        json={"query": DEEP},
        headers={**headers, "Accept": "application/graphql-response+json"},
    )
    assert response.status_code == 400


def test_introspection_and_suggestions_follow_the_settings() -> None:
    # given
    schema = build_schema("type Query { name: String }")
    closed = GraphQLLimitSettings(introspection=False, suggestions=False)
    # when
    open_introspection = prepare(schema, "{ __schema { queryType { name } } }")
    closed_introspection = prepare(schema, "{ __schema { queryType { name } } }", closed)
    open_typo = prepare(schema, "{ nam }")
    closed_typo = prepare(schema, "{ nam }", closed)
    # then
    assert open_introspection.errors == ()
    assert "introspection" in closed_introspection.errors[0].message.lower()
    assert "Did you mean" in open_typo.errors[0].message
    assert "Did you mean" not in closed_typo.errors[0].message


def test_production_switches_introspection_and_suggestions_off_unless_set() -> None:
    unset = GraphQLLimitSettings.from_env({})
    explicit = GraphQLLimitSettings.from_env({"RAPPORT_GRAPHQL_INTROSPECTION": "on"})
    production = unset.for_environment(production=True)
    development = unset.for_environment(production=False)
    assert (production.introspection, production.suggestions) == (False, False)
    assert (development.introspection, development.suggestions) == (True, True)
    assert explicit.for_environment(production=True).introspection is True


def test_the_limits_are_cached_with_the_document() -> None:
    # given: a query refused by the depth rule
    schema = build_schema("type Query { a: A } type A { a: A, x: Int }")
    limits = GraphQLLimitSettings(max_depth=2)
    # when
    refused_doc = prepare(schema, "{ a { a { x } } }", limits)
    allowed = prepare(schema, "{ a { x } }", limits)
    # then: the verdict is part of the prepared document the executor caches
    assert refused_doc.document is None
    assert refused_doc.errors[0].extensions["code"] == "QUERY_TOO_DEEP"
    assert allowed.document is not None


@pytest.fixture(scope="module")
def listed_server(settings: Settings, allow_list: Path, tenant: str) -> Iterator[LiveServer]:
    limits = replace(LIMITS, persisted_operations=allow_list)
    with LiveServer(replace(settings, graphql_limits=limits)) as live:
        yield live


class TestPersistedOperations:
    def test_a_listed_operation_runs_by_text_or_by_hash(
        self, listed_server: LiveServer, headers: dict[str, str]
    ) -> None:
        # when
        by_text = httpx.post(listed_server.url + "/graphql", json={"query": COUNT}, headers=headers)
        by_hash = httpx.post(
            listed_server.url + "/graphql",
            json={
                "extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha256_hex(COUNT)}}
            },
            headers=headers,
        )
        # then
        assert by_text.json()["data"]["trainers"]["totalCount"] >= 0
        assert by_hash.json() == by_text.json()

    def test_an_unlisted_operation_or_hash_is_refused_and_changes_nothing(
        self, listed_server: LiveServer, headers: dict[str, str]
    ) -> None:
        # when
        unlisted = httpx.post(
            listed_server.url + "/graphql", json={"query": CREATE}, headers=headers
        )
        unknown = httpx.post(
            listed_server.url + "/graphql",
            json={"extensions": {"persistedQuery": {"sha256Hash": "0" * 64}}},
            headers=headers,
        )
        mismatched = httpx.post(
            listed_server.url + "/graphql",
            json={
                "query": CREATE,
                "extensions": {"persistedQuery": {"sha256Hash": sha256_hex(COUNT)}},
            },
            headers=headers,
        )
        # then
        for response in (unlisted, unknown, mismatched):
            assert response.status_code == 400
            assert refused(response)["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
        count = httpx.post(listed_server.url + "/graphql", json={"query": COUNT}, headers=headers)
        assert count.json()["data"]["trainers"]["totalCount"] == 0


async def test_the_admin_endpoint_applies_the_same_limits(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    # given: four aliased copies of one admin field (limit 3)
    query = "{ " + " ".join(f"t{i}: tenant {{ slug }}" for i in range(4)) + " }"
    # when
    response = await client.post("/graphql/admin", json={"query": query}, headers=headers)
    # then
    error = refused(response)
    assert error["extensions"]["code"] == "TOO_MANY_ALIASES"
    assert error["extensions"]["limit"] == 3


def test_production_closes_introspection_on_the_tenant_endpoint(
    settings: Settings, tenant: str, headers: dict[str, str]
) -> None:
    # given
    production = replace(settings, environment=Environment.PRODUCTION, graphiql=False)
    with LiveServer(production) as live:
        # when
        introspection = httpx.post(
            live.url + "/graphql",
            json={"query": "{ __schema { queryType { name } } }"},
            headers=headers,
        )
        typo = httpx.post(
            live.url + "/graphql", json={"query": "{ trainerz { id } }"}, headers=headers
        )
    # then
    messages = [e["message"].lower() for e in introspection.json()["errors"]]
    assert messages and all("introspection" in m for m in messages)
    assert "data" not in introspection.json()
    assert "Did you mean" not in refused(typo)["message"]
