"""API keys over real HTTP: shown once, hashed at rest, scoped, expiring, revocable, last use."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from rapport.auth.api_keys import create_key
from rapport.auth.tokens import issue_token
from rapport.db.database import Database
from rapport.settings import Settings

COUNT = {"query": "{ trainers { totalCount } }"}


def _admin(settings: Settings, *roles: str) -> dict[str, str]:
    token = issue_token(settings, tenant="acme", subject="sec", roles=list(roles) or ["admin"])
    return {"Authorization": f"Bearer {token}"}


async def _admin_api(
    client: httpx.AsyncClient, headers: dict[str, str], query: str, **variables: Any
) -> dict[str, Any]:
    response = await client.post(
        "/graphql/admin", json={"query": query, "variables": variables}, headers=headers
    )
    return dict(response.json())


CREATE = """mutation($name: String!, $roles: [String!]!, $exp: DateTime) {
  createApiKey(name: $name, roles: $roles, expiresAt: $exp) { key apiKey { id roles } } }"""


async def test_a_key_is_shown_once_stored_hashed_and_accepted_both_ways(
    client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    # when: the tenant's admin (only it may put the admin role on a key)
    body = await _admin_api(client, _admin(settings), CREATE, name="payroll", roles=["admin"])
    # then
    created = body["data"]["createApiKey"]
    key = created["key"]
    key_id = created["apiKey"]["id"]
    assert key.startswith(f"rk_{key_id}_")
    stored = await database.fetchrow("SELECT * FROM rapport.api_keys WHERE id = $1", key_id)
    assert stored is not None
    secret = key.split("_", 2)[2]
    assert bytes(stored["secret_hash"]) == hashlib.sha256(secret.encode()).digest()
    assert secret not in str(dict(stored))
    listed = await _admin_api(client, _admin(settings), "{ apiKeys { id name lastUsedAt } }")
    assert "rk_" not in str(listed)
    for headers in ({"Authorization": f"Bearer {key}"}, {"X-API-Key": key}):
        response = await client.post("/graphql", json=COUNT, headers=headers)
        assert response.status_code == 200, response.text
    used = await database.fetchval(
        "SELECT last_used_at FROM rapport.api_keys WHERE id = $1", key_id
    )
    assert used is not None
    audited = await database.fetch(
        "SELECT action FROM rapport.audit_entries WHERE record_id = $1", key_id
    )
    assert [r["action"] for r in audited] == ["apikey.create"]


async def test_revoked_expired_and_forged_keys_are_refused(
    client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    # given
    _, revoked = await create_key(
        database, tenant="acme", name="old", roles=["admin"], expires_at=None, actor="t"
    )
    soon = datetime.now(UTC) + timedelta(seconds=1)
    _, expiring = await create_key(
        database, tenant="acme", name="short", roles=["admin"], expires_at=soon, actor="t"
    )
    key_id = revoked.split("_")[1]
    assert (
        await client.post("/graphql", json=COUNT, headers={"X-API-Key": revoked})
    ).status_code == 200
    # when
    body = await _admin_api(
        client,
        _admin(settings),
        "mutation($id: String!) { revokeApiKey(id: $id) { revokedAt } }",
        id=key_id,
    )
    await asyncio.sleep(1.1)
    # then
    assert body["data"]["revokeApiKey"]["revokedAt"] is not None
    forged = revoked[:-4] + "AAAA"
    for key, message in ((revoked, "revoked"), (expiring, "expired"), (forged, "not valid")):
        response = await client.post("/graphql", json=COUNT, headers={"X-API-Key": key})
        assert response.status_code == 401
        error = response.json()["errors"][0]
        assert error["extensions"]["code"] == "UNAUTHENTICATED"
        assert message in error["message"]


async def test_only_security_administrators_manage_keys_and_roles_follow_duties(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    # when: a system_admin and an audit_admin try; a key may not combine duties
    as_system = await _admin_api(
        client, _admin(settings, "system_admin"), CREATE, name="x", roles=["admin"]
    )
    as_audit = await _admin_api(
        client, _admin(settings, "audit_admin"), CREATE, name="x", roles=["admin"]
    )
    mixed = await _admin_api(
        client, _admin(settings), CREATE, name="x", roles=["admin", "audit_admin"]
    )
    # then
    assert as_system["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert as_audit["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert mixed["errors"][0]["extensions"]["code"] == "DUTIES_CONFLICT"
