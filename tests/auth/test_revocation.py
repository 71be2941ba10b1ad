"""Revocation on two live instances sharing one database: a change on one ends access on both.

Role changes, password resets, disabling, logout and key revocation made through instance B
must stop the user's (or key's) access tokens, refresh tokens and open subscriptions on
instance A within RAPPORT_REVOCATION_CACHE_SECONDS (0.5 s here, tests/auth/conftest.py).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from rapport.auth.api_keys import create_key
from rapport.auth.tokens import issue_token
from rapport.auth.users import create_user
from rapport.db.database import Database
from rapport.settings import Settings
from tests.auth.conftest import PASSWORD
from tests.live_server import LiveServer

COUNT = {"query": "{ trainers { totalCount } }"}
# How long a change may take to reach the other instance: the cache period and a margin.
SLACK = 0.4


@pytest.fixture(scope="module")
def second(settings: Settings, server: LiveServer) -> Iterator[LiveServer]:
    with LiveServer(settings) as live:
        yield live


@pytest.fixture(scope="module")
async def b(second: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=second.url, timeout=30) as http:
        yield http


def _admin(settings: Settings) -> dict[str, str]:
    token = issue_token(settings, tenant="acme", subject="root", roles=["admin"])
    return {"Authorization": f"Bearer {token}"}


async def _session(
    client: httpx.AsyncClient, database: Database, settings: Settings, login: str
) -> dict[str, Any]:
    await create_user(
        database,
        settings.identity,
        tenant="acme",
        login=login,
        roles=["reader"],
        password=PASSWORD,
        actor="test",
    )
    response = await client.post(
        "/auth/login", json={"tenant": "acme", "login": login, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def _status(client: httpx.AsyncClient, headers: dict[str, str]) -> int:
    return (await client.post("/graphql", json=COUNT, headers=headers)).status_code


async def _refused_within(
    client: httpx.AsyncClient, headers: dict[str, str], limit: float
) -> float:
    """Seconds until ``headers`` are refused (401) on ``client``'s instance; fails after limit."""
    start = time.monotonic()
    while time.monotonic() - start < limit:
        if await _status(client, headers) == 401:
            return time.monotonic() - start
        await asyncio.sleep(0.05)
    raise AssertionError(f"still accepted after {limit}s")


CHANGES = {
    "assignRoles": 'mutation { assignRoles(login: "%s", roles: ["hr"]) { id } }',
    "resetPassword": 'mutation { resetPassword(login: "%s", password: "Fresh-Pass-2024!") { id } }',
    "setUserActive": 'mutation { setUserActive(login: "%s", active: false) { id } }',
}


@pytest.mark.parametrize("change", sorted(CHANGES))
async def test_an_account_change_on_one_instance_ends_the_tokens_on_the_other(
    client: httpx.AsyncClient,
    b: httpx.AsyncClient,
    database: Database,
    settings: Settings,
    change: str,
) -> None:
    # given: a session opened on instance A, working there
    login = f"rev-{change}@acme.test"
    session = await _session(client, database, settings, login)
    bearer = {"Authorization": f"Bearer {session['accessToken']}"}
    assert await _status(client, bearer) == 200
    # when: an administrator changes the account through instance B
    body = (
        await b.post(
            "/graphql/admin", json={"query": CHANGES[change] % login}, headers=_admin(settings)
        )
    ).json()
    assert "errors" not in body, body
    # then: A refuses the access token within the cache period, and the refresh token at once
    took = await _refused_within(client, bearer, settings.identity.revocation_cache_seconds + SLACK)
    assert took <= settings.identity.revocation_cache_seconds + SLACK
    refreshed = await client.post("/auth/refresh", json={"refreshToken": session["refreshToken"]})
    assert refreshed.status_code == 401


async def test_a_new_login_after_a_password_reset_works_at_once(
    client: httpx.AsyncClient, b: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    # given
    login = "fresh@acme.test"
    await _session(client, database, settings, login)
    await b.post(
        "/graphql/admin", json={"query": CHANGES["resetPassword"] % login}, headers=_admin(settings)
    )
    # when: the user logs in with the new password right after the reset
    response = await client.post(
        "/auth/login", json={"tenant": "acme", "login": login, "password": "Fresh-Pass-2024!"}
    )
    # then: its new token is not caught by the reset's cut-off, on either instance
    bearer = {"Authorization": f"Bearer {response.json()['accessToken']}"}
    await asyncio.sleep(settings.identity.revocation_cache_seconds + 0.1)
    assert await _status(client, bearer) == 200
    assert await _status(b, bearer) == 200


async def test_a_key_revoked_on_one_instance_stops_on_the_other(
    client: httpx.AsyncClient, b: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    # given: a key in use on A
    key, text = await create_key(
        database, tenant="acme", name="sync", roles=["reader"], expires_at=None, actor="test"
    )
    headers = {"X-API-Key": text}
    assert await _status(client, headers) == 200
    # when: revoked through B
    await b.post(
        "/graphql/admin",
        json={"query": f'mutation {{ revokeApiKey(id: "{key.id}") {{ id }} }}'},
        headers=_admin(settings),
    )
    # then
    await _refused_within(client, headers, settings.identity.revocation_cache_seconds + SLACK)


SUBSCRIBE = "subscription { taskChanged { action id } }"


async def _subscription(server: LiveServer, token: str) -> Any:
    ws = await connect(
        server.url.replace("http", "ws") + "/graphql", subprotocols=["graphql-transport-ws"]
    )  # type: ignore[list-item]
    await ws.send(
        json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
    )
    assert json.loads(await ws.recv()) == {"type": "connection_ack"}
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE}}))
    return ws


async def _closed_within(ws: Any, limit: float) -> int:
    """The close code once the server closes ``ws``; fails when it stays open past limit."""
    try:
        async with asyncio.timeout(limit):
            while True:
                await ws.recv()
    except ConnectionClosed as closed:
        assert closed.rcvd is not None
        return int(closed.rcvd.code)
    raise AssertionError("unreachable")


@pytest.mark.parametrize("how", ["logout", "assignRoles"])
async def test_an_open_subscription_ends_with_the_session_on_another_instance(
    server: LiveServer,
    client: httpx.AsyncClient,
    b: httpx.AsyncClient,
    database: Database,
    settings: Settings,
    how: str,
) -> None:
    # given: a subscription opened on A with the user's access token
    login = f"ws-{how}@acme.test"
    session = await _session(client, database, settings, login)
    ws = await _subscription(server, session["accessToken"])
    bearer = {"Authorization": f"Bearer {session['accessToken']}"}
    try:
        # when: the session ends through B
        if how == "logout":
            response = await b.post(
                "/auth/logout", json={"refreshToken": session["refreshToken"]}, headers=bearer
            )
            assert response.status_code == 204
        else:
            await b.post(
                "/graphql/admin",
                json={"query": CHANGES["assignRoles"] % login},
                headers=_admin(settings),
            )
        # then: A closes the subscription (4401) within two cache periods (reload + re-check)
        code = await _closed_within(ws, 2 * settings.identity.revocation_cache_seconds + SLACK)
        assert code == 4401
    finally:
        await ws.close()
