"""Login, refresh, logout, lockout and TOTP over real HTTP, with their audit entries."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import jwt
import pyotp

from rapport.auth.users import create_user
from rapport.db.database import Database
from rapport.settings import Settings
from tests.auth.conftest import PASSWORD

COUNT = {"query": "{ trainers { totalCount } }"}


async def _user(database: Database, settings: Settings, login: str, *roles: str) -> str:
    user = await create_user(
        database,
        settings.identity,
        tenant="acme",
        login=login,
        roles=list(roles) or ["admin"],
        password=PASSWORD,
        actor="test",
    )
    return user.id


async def _login(
    client: httpx.AsyncClient, login: str, password: str = PASSWORD, **extra: Any
) -> httpx.Response:
    body = {"tenant": "acme", "login": login, "password": password, **extra}
    return await client.post("/auth/login", json=body)


def _code(response: httpx.Response) -> str:
    return str(response.json()["errors"][0]["extensions"]["code"])


async def _audit_actions(database: Database, record_id: str) -> list[str]:
    rows = await database.fetch(
        "SELECT action FROM rapport.audit_entries WHERE record_id = $1 ORDER BY seq", record_id
    )
    return [r["action"] for r in rows]


async def test_login_answers_a_kernel_token_that_reads_the_tenant(
    client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    # given
    user_id = await _user(database, settings, "ada@acme.test", "admin")
    # when
    response = await _login(client, "ADA@acme.test")
    # then: the kernel's token format, sub = user id
    assert response.status_code == 200, response.text
    session = response.json()
    claims = jwt.decode(session["accessToken"], settings.jwt_secret, algorithms=["HS256"])
    assert (claims["sub"], claims["tenant"], claims["roles"]) == (user_id, "acme", ["admin"])
    assert session["refreshToken"].startswith("rt_")
    assert response.headers["cache-control"] == "no-store"
    data = await client.post(
        "/graphql", json=COUNT, headers={"Authorization": f"Bearer {session['accessToken']}"}
    )
    assert data.json()["data"]["trainers"]["totalCount"] == 0
    assert "auth.login" in await _audit_actions(database, user_id)


async def test_unknown_login_and_wrong_password_fail_alike(
    client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    # given
    await _user(database, settings, "bob@acme.test")
    # when
    started = time.perf_counter()
    unknown = await _login(client, "nobody@acme.test")
    unknown_time = time.perf_counter() - started
    started = time.perf_counter()
    wrong = await _login(client, "bob@acme.test", "Wrong-password-1")
    wrong_time = time.perf_counter() - started
    other_tenant = await client.post(
        "/auth/login", json={"tenant": "nosuch", "login": "bob@acme.test", "password": PASSWORD}
    )
    # then: same status, code and text (no user enumeration), both paid for a hash
    for response in (unknown, wrong, other_tenant):
        assert response.status_code == 401
        assert response.json() == wrong.json()
    assert _code(wrong) == "LOGIN_FAILED"
    assert unknown_time > 0.3 * wrong_time
    probes = await database.fetchval(
        "SELECT count(*) FROM rapport.audit_entries WHERE action = 'auth.login_failed' "
        "AND data->>'tenant' = 'nosuch'"
    )
    assert probes == 1


async def test_brute_force_locks_the_account_until_the_lockout_expires(
    client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    # given: lockout after 3 failures for 2 seconds
    user_id = await _user(database, settings, "carol@acme.test")
    # when
    for attempt in range(3):
        assert _code(await _login(client, "carol@acme.test", f"Guess-{attempt}-xxxxxx")) == (
            "LOGIN_FAILED"
        )
    locked = await _login(client, "carol@acme.test")
    # then: even the right password fails while locked, with the same answer
    assert locked.status_code == 401
    assert _code(locked) == "LOGIN_FAILED"
    actions = await _audit_actions(database, user_id)
    assert actions.count("auth.login_failed") == 4
    assert "auth.lockout" in actions
    # and when the lockout expires, the right password works again
    await asyncio.sleep(2.1)
    assert (await _login(client, "carol@acme.test")).status_code == 200


async def test_refresh_rotates_and_a_replayed_refresh_token_ends_the_session(
    client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    # given
    await _user(database, settings, "dave@acme.test")
    first = (await _login(client, "dave@acme.test")).json()
    # when
    second = await client.post("/auth/refresh", json={"refreshToken": first["refreshToken"]})
    # then
    assert second.status_code == 200
    rotated = second.json()
    assert rotated["refreshToken"] != first["refreshToken"]
    # when the old refresh token is replayed (stolen), the whole family is revoked
    replay = await client.post("/auth/refresh", json={"refreshToken": first["refreshToken"]})
    assert replay.status_code == 401
    after = await client.post("/auth/refresh", json={"refreshToken": rotated["refreshToken"]})
    assert after.status_code == 401
    assert _code(after) == "UNAUTHENTICATED"


async def test_logout_revokes_the_access_token_and_the_refresh_family(
    client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    # given
    user_id = await _user(database, settings, "erin@acme.test")
    session = (await _login(client, "erin@acme.test")).json()
    bearer = {"Authorization": f"Bearer {session['accessToken']}"}
    assert (await client.post("/graphql", json=COUNT, headers=bearer)).status_code == 200
    # when
    out = await client.post(
        "/auth/logout", json={"refreshToken": session["refreshToken"]}, headers=bearer
    )
    # then
    assert out.status_code == 204
    revoked = await client.post("/graphql", json=COUNT, headers=bearer)
    assert revoked.status_code == 401
    assert "revoked" in revoked.json()["errors"][0]["message"]
    refresh = await client.post("/auth/refresh", json={"refreshToken": session["refreshToken"]})
    assert refresh.status_code == 401
    assert "auth.logout" in await _audit_actions(database, user_id)


async def test_a_logout_reaches_other_instances_within_the_cache_period(
    client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    # given: a session, and the revocation written directly (as another instance would)
    await _user(database, settings, "frank@acme.test")
    session = (await _login(client, "frank@acme.test")).json()
    bearer = {"Authorization": f"Bearer {session['accessToken']}"}
    assert (await client.post("/graphql", json=COUNT, headers=bearer)).status_code == 200
    jti = jwt.decode(session["accessToken"], options={"verify_signature": False})["jti"]
    await database.execute(
        "INSERT INTO rapport.revoked_tokens (jti, expires_at) VALUES ($1, now() + interval '1h')",
        jti,
    )
    # when the cache period (0.5 s) has passed
    await asyncio.sleep(0.6)
    # then
    assert (await client.post("/graphql", json=COUNT, headers=bearer)).status_code == 401


async def test_login_requests_must_be_json(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/auth/login", data={"tenant": "acme", "login": "x", "password": "y"}
    )
    assert response.status_code == 415


async def test_a_disabled_or_passwordless_user_cannot_log_in(
    client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    # given
    await _user(database, settings, "gina@acme.test")
    await database.execute(
        "UPDATE rapport.users SET status = 'disabled' WHERE login = 'gina@acme.test'"
    )
    await create_user(
        database,
        settings.identity,
        tenant="acme",
        login="svc",
        roles=["reader"],
        password=None,
        actor="test",
    )
    # when / then
    assert _code(await _login(client, "gina@acme.test")) == "LOGIN_FAILED"
    assert _code(await _login(client, "svc", "anything-at-All-1")) == "LOGIN_FAILED"


async def test_totp_enrol_confirm_then_required_at_login(
    client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    # given: a logged-in user
    user_id = await _user(database, settings, "hank@acme.test")
    session = (await _login(client, "hank@acme.test")).json()
    bearer = {"Authorization": f"Bearer {session['accessToken']}"}
    # when: enrol and confirm
    enrolled = await client.post("/auth/totp/enroll", json={}, headers=bearer)
    uri = enrolled.json()["otpauthUri"]
    secret = pyotp.parse_uri(uri).secret
    wrong = await client.post("/auth/totp/confirm", json={"code": "000000"}, headers=bearer)
    confirmed = await client.post(
        "/auth/totp/confirm", json={"code": pyotp.TOTP(secret).now()}, headers=bearer
    )
    # then
    assert wrong.status_code == 400
    assert confirmed.status_code == 204
    assert _code(await _login(client, "hank@acme.test")) == "TOTP_REQUIRED"
    assert _code(await _login(client, "hank@acme.test", totp="000000")) == "LOGIN_FAILED"
    # the confirming code is used up; the next time step's code (within the drift window) works
    ok = await _login(client, "hank@acme.test", totp=pyotp.TOTP(secret).at(time.time() + 30))
    assert ok.status_code == 200
    assert "user.totp_enable" in await _audit_actions(database, user_id)
    # the secret is never returned again, nor stored in clear
    assert secret not in ok.text
    stored = await database.fetchrow(
        "SELECT totp_secret, totp_sealed FROM rapport.users WHERE id = $1", user_id
    )
    assert stored["totp_secret"] is None
    assert secret.encode() not in bytes(stored["totp_sealed"])


async def test_a_tenant_may_require_totp_for_administrators(
    client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    # given: the tenant requires a second factor for admins; a reader and an admin without one
    await _user(database, settings, "ivy@acme.test", "admin")
    await _user(database, settings, "jack@acme.test", "reader")
    tenant_id = await database.fetchval("SELECT id FROM rapport.tenants WHERE slug = 'acme'")
    await database.execute(
        "INSERT INTO rapport.tenant_security (tenant_id, totp_required_for_admins) "
        "VALUES ($1, true)",
        tenant_id,
    )
    try:
        # when / then
        assert _code(await _login(client, "ivy@acme.test")) == "TOTP_REQUIRED"
        assert (await _login(client, "jack@acme.test")).status_code == 200
    finally:
        await database.execute(
            "DELETE FROM rapport.tenant_security WHERE tenant_id = $1", tenant_id
        )
