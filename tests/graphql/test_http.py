"""GraphQL over HTTP on a real uvicorn: media types, methods, limits, authentication."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from typing import Any

import httpx
import jwt
import pytest

from rapport.auth.tokens import issue_token
from rapport.db.catalog import migrate
from rapport.db.database import Database
from rapport.db.tenants import drop_tenant
from rapport.demo import demo_documents
from rapport.graphql.http import MAX_BODY_BYTES, negotiate
from rapport.metadata.lifecycle import publish
from rapport.metadata.tenants import create_tenant
from rapport.settings import Settings
from tests.live_server import LiveServer, server_settings

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
COUNT = "{ trainers { totalCount } }"
CREATE = "mutation($input: TrainerCreateInput!) { createTrainer(input: $input) { id name } }"


@pytest.fixture(scope="module", autouse=True)
async def catalog(database: Database) -> Database:
    """The module's database with the catalog schema migrated."""
    await migrate(database)
    return database


@pytest.fixture(scope="module")
def settings(database_url: str) -> Settings:
    return server_settings(database_url)


@pytest.fixture(scope="module")
async def tenant(database: Database) -> str:
    await create_tenant(database, "acme", actor="test")
    await publish(database, "acme", demo_documents(), actor="test")
    return "acme"


@pytest.fixture(scope="module")
def server(settings: Settings, tenant: str) -> Iterator[LiveServer]:
    with LiveServer(settings) as live:
        yield live


@pytest.fixture(scope="module")
async def client(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url) as http:
        yield http


@pytest.fixture(scope="module")
def token(settings: Settings, tenant: str) -> str:
    return issue_token(settings, tenant=tenant, subject="tester", roles=["admin"])


def auth(token: str, accept: str | None = GRAPHQL_RESPONSE) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}"}
    if accept is not None:
        headers["Accept"] = accept
    return headers


def error_of(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert "data" not in body
    assert "Traceback" not in response.text
    (error,) = body["errors"]
    assert error["message"]
    return dict(error)


# --- content negotiation (pure) ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, JSON),
        ("", JSON),
        ("*/*", JSON),
        ("application/*", JSON),
        (JSON, JSON),
        (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE}, {JSON};q=0.9", GRAPHQL_RESPONSE),
        (f"{JSON};q=0.5, {GRAPHQL_RESPONSE}", GRAPHQL_RESPONSE),
        (f"{JSON}, {GRAPHQL_RESPONSE}", JSON),
        (f"{JSON}; charset=utf-8", JSON),
        (f"{GRAPHQL_RESPONSE};q=0, {JSON}", JSON),
        ("text/html", None),
        ("text/plain, image/png", None),
        (f"{JSON};q=0", None),
    ],
)
def test_negotiate(accept: str | None, expected: str | None) -> None:
    assert negotiate(accept) == expected


# --- over HTTP ----------------------------------------------------------------------------------


async def test_healthz(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_post_query_in_each_media_type(client: httpx.AsyncClient, token: str) -> None:
    for accept, media_type in [
        (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
        (JSON, JSON),
        (None, JSON),
        ("*/*", JSON),
    ]:
        response = await client.post("/graphql", json={"query": COUNT}, headers=auth(token, accept))
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == f"{media_type}; charset=utf-8"
        assert response.json() == {"data": {"trainers": {"totalCount": 0}}}


async def test_post_mutation_with_variables_and_operation_name(
    client: httpx.AsyncClient, token: str
) -> None:
    document = f"query Count {COUNT} mutation Make($input: TrainerCreateInput!) " + (
        "{ createTrainer(input: $input) { name } }"
    )
    response = await client.post(
        "/graphql",
        json={
            "query": document,
            "operationName": "Make",
            "variables": {"input": {"name": "Ada"}},
            "extensions": {},
        },
        headers=auth(token),
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"data": {"createTrainer": {"name": "Ada"}}}


async def test_request_errors_are_400_only_for_graphql_response_json(
    client: httpx.AsyncClient, token: str
) -> None:
    for query in ["{ trainers { ", "{ noSuchField }"]:
        strict = await client.post("/graphql", json={"query": query}, headers=auth(token))
        assert strict.status_code == 400
        assert strict.headers["content-type"].startswith(GRAPHQL_RESPONSE)
        assert "data" not in strict.json() and strict.json()["errors"]
        legacy = await client.post("/graphql", json={"query": query}, headers=auth(token, JSON))
        assert legacy.status_code == 200
        assert legacy.json()["errors"]


async def test_unacceptable_accept_is_406(client: httpx.AsyncClient, token: str) -> None:
    response = await client.post(
        "/graphql", json={"query": COUNT}, headers=auth(token, "text/plain")
    )
    assert response.status_code == 406
    assert error_of(response)["extensions"]["code"] == "BAD_REQUEST"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b"{}", "no `query`"),
        (b'{"query": 5}', "no `query`"),
        (b'{"query": "{ a }", "variables": [1]}', "`variables`"),
        (b'{"query": "{ a }", "operationName": 3}', "`operationName`"),
        (b'{"query": "{ a }", "extensions": "x"}', "`extensions`"),
    ],
)
async def test_malformed_bodies_are_400_in_both_media_types(
    client: httpx.AsyncClient, token: str, body: bytes, message: str
) -> None:
    for accept in (GRAPHQL_RESPONSE, JSON):
        response = await client.post(
            "/graphql",
            content=body,
            headers={**auth(token, accept), "Content-Type": "application/json"},
        )
        assert response.status_code == 400
        error = error_of(response)
        assert message in error["message"]
        assert error["extensions"]["code"] == "BAD_REQUEST"


async def test_get_runs_queries(client: httpx.AsyncClient, token: str) -> None:
    response = await client.get(
        "/graphql",
        params={
            "query": "query Q($n: Int) { trainers(first: $n) { totalCount } }",
            "operationName": "Q",
            "variables": '{"n": 1}',
        },
        headers=auth(token),
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["trainers"]["totalCount"] >= 0


async def test_get_refuses_mutations_with_405(client: httpx.AsyncClient, token: str) -> None:
    response = await client.get(
        "/graphql",
        params={"query": CREATE, "variables": '{"input": {"name": "X"}}'},
        headers=auth(token),
    )
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert error_of(response)["extensions"]["code"] == "METHOD_NOT_ALLOWED"
    count = await client.post("/graphql", json={"query": COUNT}, headers=auth(token))
    names = await client.post(
        "/graphql", json={"query": "{ trainers { edges { node { name } } } }"}, headers=auth(token)
    )
    assert "X" not in [e["node"]["name"] for e in names.json()["data"]["trainers"]["edges"]]
    assert count.status_code == 200


async def test_get_with_bad_variables_is_400(client: httpx.AsyncClient, token: str) -> None:
    response = await client.get(
        "/graphql", params={"query": COUNT, "variables": "{nope"}, headers=auth(token)
    )
    assert response.status_code == 400
    assert "`variables`" in error_of(response)["message"]


@pytest.mark.parametrize(
    "content_type",
    [
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "text/plain",
        "application/graphql",
        "application/json; charset=latin-1",
        None,
    ],
)
async def test_other_content_types_are_415(
    client: httpx.AsyncClient, token: str, content_type: str | None
) -> None:
    headers = auth(token)
    if content_type is not None:
        headers["Content-Type"] = content_type
    response = await client.post("/graphql", content=b'{"query": "{ a }"}', headers=headers)
    assert response.status_code == 415
    assert error_of(response)["extensions"]["code"] == "BAD_REQUEST"


async def test_json_with_utf8_charset_is_accepted(client: httpx.AsyncClient, token: str) -> None:
    response = await client.post(
        "/graphql",
        content=b'{"query": "{ trainers { totalCount } }"}',
        headers={**auth(token), "Content-Type": "application/json; charset=UTF-8"},
    )
    assert response.status_code == 200


async def test_oversized_bodies_are_413(client: httpx.AsyncClient, token: str) -> None:
    padding = " " * (MAX_BODY_BYTES + 1)
    declared = await client.post(
        "/graphql",
        content=('{"query": "{ a }"' + padding + "}").encode(),
        headers={**auth(token), "Content-Type": "application/json"},
    )
    assert declared.status_code == 413

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted while streaming
        yield b'{"query": "{ a }"'
        for _ in range(MAX_BODY_BYTES // 65536 + 2):
            yield b" " * 65536
        yield b"}"

    streamed = await client.post(
        "/graphql", content=chunks(), headers={**auth(token), "Content-Type": "application/json"}
    )
    assert streamed.status_code == 413
    assert "larger than" in error_of(streamed)["message"]


async def test_missing_token_is_401_with_a_challenge(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json={"query": COUNT})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="rapport"'
    error = error_of(response)
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert "rapport token issue" in error["extensions"]["hint"]


async def test_bad_tokens_are_401(client: httpx.AsyncClient, settings: Settings) -> None:
    now = int(time.time())
    claims = {"iss": "rapport", "sub": "x", "tenant": "acme", "roles": ["admin"], "jti": "j"}
    expired = jwt.encode({**claims, "iat": now - 7200, "exp": now - 3600}, settings.jwt_secret)
    forged = jwt.encode({**claims, "iat": now, "exp": now + 60}, "f" * 64)
    for header, message in [
        (f"Bearer {expired}", "expired"),
        (f"Bearer {forged}", "signature"),
        ("Bearer garbage", "malformed"),
        ("Basic dXNlcjpwYXNz", "Bearer <token>"),
    ]:
        response = await client.post(
            "/graphql", json={"query": COUNT}, headers={"Authorization": header}
        )
        assert response.status_code == 401
        assert "invalid_token" in response.headers["www-authenticate"]
        error = error_of(response)
        assert error["extensions"]["code"] == "UNAUTHENTICATED"
        assert message in error["message"]


async def test_unknown_tenant(client: httpx.AsyncClient, settings: Settings) -> None:
    ghost = issue_token(settings, tenant="ghost", subject="x", roles=["admin"])
    response = await client.post("/graphql", json={"query": COUNT}, headers=auth(ghost))
    assert response.status_code == 404
    assert error_of(response)["extensions"]["code"] == "TENANT_NOT_FOUND"


async def test_dropped_tenant_is_not_found(
    client: httpx.AsyncClient, settings: Settings, database: Database
) -> None:
    # given: a tenant whose API is cached
    await create_tenant(database, "doomed", actor="test")
    token = issue_token(settings, tenant="doomed", subject="x", roles=["admin"])
    query = {"query": "{ __typename }"}
    assert (await client.post("/graphql", json=query, headers=auth(token))).status_code == 200
    # when
    await drop_tenant(database, "doomed")
    # then (the drop's NOTIFY reaches the server asynchronously)
    deadline = time.monotonic() + 5
    while True:
        response = await client.post("/graphql", json=query, headers=auth(token))
        if response.status_code == 404 or time.monotonic() > deadline:
            break
    assert response.status_code == 404
    assert error_of(response)["extensions"]["code"] == "TENANT_NOT_FOUND"


async def test_operator_tokens_are_forbidden(client: httpx.AsyncClient, settings: Settings) -> None:
    operator = issue_token(settings, tenant=None, subject="ops", roles=["operator"])
    response = await client.post("/graphql", json={"query": COUNT}, headers=auth(token=operator))
    assert response.status_code == 403
    assert error_of(response)["extensions"]["code"] == "FORBIDDEN"


async def test_a_role_without_permission_documents_sees_no_records(
    client: httpx.AsyncClient, settings: Settings, token: str
) -> None:
    # given: a trainer, and a role no permission document grants anything
    created = await client.post(
        "/graphql",
        json={"query": CREATE, "variables": {"input": {"name": "Ada"}}},
        headers=auth(token),
    )
    assert created.status_code == 200
    viewer = issue_token(settings, tenant="acme", subject="v", roles=["viewer"])
    # when
    response = await client.post("/graphql", json={"query": COUNT}, headers=auth(viewer))
    # then: the tenant API answers, and the role's rules (none) decide what it sees
    assert response.status_code == 200
    assert response.json() == {"data": {"trainers": {"totalCount": 0}}}


async def test_other_methods_are_405(client: httpx.AsyncClient, token: str) -> None:
    response = await client.put("/graphql", json={"query": COUNT}, headers=auth(token))
    assert response.status_code == 405


async def test_graphiql_is_off_outside_development(client: httpx.AsyncClient) -> None:
    html_only = await client.get("/graphql", headers={"Accept": "text/html"})
    assert html_only.status_code == 406
    browser = await client.get(
        "/graphql", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    )
    assert browser.headers["content-type"].startswith(JSON)
    assert "graphiql" not in browser.text.lower()


def test_graphiql_in_development(settings: Settings, tenant: str) -> None:
    development = replace(settings, graphiql=True)
    with LiveServer(development) as live:
        response = httpx.get(
            live.url + "/graphql", headers={"Accept": "text/html,*/*;q=0.8"}, timeout=10
        )
        admin = httpx.get(live.url + "/graphql/admin", headers={"Accept": "text/html"})
        api = httpx.get(live.url + "/graphql", params={"query": COUNT})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    # the bundled GraphiQL: local assets only, nothing from a CDN
    assert "/console/assets/" in response.text and '"/graphql"' in response.text
    assert "https://" not in response.text
    assert '"/graphql/admin"' in admin.text
    assert api.status_code == 401  # JSON clients still get the API, not the page
