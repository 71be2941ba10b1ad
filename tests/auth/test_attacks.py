"""Attacks on authentication over real HTTP: forged, expired, revoked and cross-tenant tokens.

Each must fail with a clear code and change nothing.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import jwt
import pytest

from rapport.auth.api_keys import create_key
from rapport.auth.tokens import issue_token
from rapport.db.database import Database
from rapport.settings import Settings

COUNT = {"query": "{ trainers { totalCount } }"}
CREATE = {"query": 'mutation { createTrainer(input: {name: "Mallory"}) { id } }'}


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _count(client: httpx.AsyncClient, settings: Settings, tenant: str) -> int:
    token = issue_token(settings, tenant=tenant, subject="checker", roles=["admin"])
    response = await client.post("/graphql", json=COUNT, headers=_bearer(token))
    return int(response.json()["data"]["trainers"]["totalCount"])


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": "rapport",
        "sub": "mallory",
        "tenant": "globex",
        "roles": ["admin"],
        "iat": now,
        "exp": now + 600,
        "jti": "x1",
    }
    claims.update(overrides)
    return claims


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda s: jwt.encode(_claims(), "k" * 64, algorithm="HS256"), "signature"),
        (
            lambda s: jwt.encode(_claims(exp=int(time.time()) - 120), s.jwt_secret, "HS256"),
            "expired",
        ),
        (lambda s: jwt.encode(_claims(), None, algorithm="none"), "only HS256"),
        (lambda s: issue_token(s, tenant="acme", subject="a", roles=["admin"])[:-3] + "abc", ""),
    ],
    ids=["forged", "expired", "alg-none", "tampered"],
)
async def test_bad_tokens_are_401_and_write_nothing(
    client: httpx.AsyncClient, settings: Settings, make: Any, message: str
) -> None:
    # given
    before = await _count(client, settings, "globex")
    # when
    response = await client.post("/graphql", json=CREATE, headers=_bearer(make(settings)))
    # then
    assert response.status_code == 401
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert message in error["message"]
    assert await _count(client, settings, "globex") == before


async def test_the_token_tenant_is_authoritative_over_headers_and_variables(
    client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    # given: a trainer in globex; a token (and an API key) of acme
    globex = issue_token(settings, tenant="globex", subject="g", roles=["admin"])
    created = await client.post("/graphql", json=CREATE, headers=_bearer(globex))
    trainer_id = created.json()["data"]["createTrainer"]["id"]
    acme = issue_token(settings, tenant="acme", subject="a", roles=["admin"])
    _, acme_key = await create_key(
        database, tenant="acme", name="k", roles=["admin"], expires_at=None, actor="t"
    )
    by_id = {
        "query": "query($id: ID!) { trainer(id: $id) { id name } }",
        "variables": {"id": trainer_id, "tenant": "globex"},
        "extensions": {"tenant": "globex"},
    }
    update = {
        "query": 'mutation($id: ID!) { updateTrainer(id: $id, input: {name: "Owned"}) { id } }',
        "variables": {"id": trainer_id},
    }
    for headers in (
        {**_bearer(acme), "X-Tenant": "globex", "X-Rapport-Tenant": "globex"},
        {"X-API-Key": acme_key, "X-Tenant": "globex"},
    ):
        # when
        read = await client.post("/graphql?tenant=globex", json=by_id, headers=headers)
        write = await client.post("/graphql", json=update, headers=headers)
        # then: acme's API answers; the globex record is as missing as any unknown id
        assert read.status_code == 200
        assert read.json()["data"]["trainer"] is None
        assert write.json()["data"] is None or write.json()["data"]["updateTrainer"] is None
        assert write.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    check = await client.post(
        "/graphql", json={**by_id, "extensions": None}, headers=_bearer(globex)
    )
    assert check.json()["data"]["trainer"]["name"] == "Mallory"


async def test_a_token_for_one_tenant_cannot_use_another_tenants_login_session(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    # given: a token whose tenant claim was edited without re-signing
    token = issue_token(settings, tenant="acme", subject="a", roles=["admin"])
    header, _, rest = token.partition(".")
    forged_claims = jwt.utils.base64url_encode(
        json.dumps(_claims(tenant="globex")).encode()
    ).decode()
    forged = f"{header}.{forged_claims}.{rest.partition('.')[2]}"
    # when
    response = await client.post("/graphql", json=CREATE, headers=_bearer(forged))
    # then
    assert response.status_code == 401
    assert "signature" in response.json()["errors"][0]["message"]
