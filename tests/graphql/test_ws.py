"""Subscriptions over a real websocket: changes arrive, other tenants' and unreadable ones don't."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from rapport.auth.tokens import issue_token
from rapport.composition import KERNEL
from rapport.db.catalog import migrate
from rapport.db.database import Database
from rapport.metadata.tenants import create_tenant
from rapport.notify import notify
from tests.live_server import LiveServer, server_settings

CHANGED = """subscription($w: TaskWhere) {
  changed: taskChanged(where: $w) { action id record { title status } __typename } }"""


@pytest.fixture(scope="module")
async def tenants(database: Database) -> dict[str, str]:
    await migrate(database)
    acme = await create_tenant(database, "wsacme", "ACME")
    other = await create_tenant(database, "wsother", "Other")
    return {"wsacme": acme.id, "wsother": other.id}


@pytest.fixture(scope="module")
def live(database_url: str, tenants: dict[str, str]) -> Iterator[LiveServer]:
    with LiveServer(server_settings(database_url)) as server:
        yield server


def _token(live: LiveServer, tenant: str, subject: str = "admin1", role: str = "admin") -> str:
    return issue_token(live.settings, tenant=tenant, subject=subject, roles=[role])


def _mutate(live: LiveServer, tenant: str, query: str) -> dict[str, Any]:
    response = httpx.post(
        live.url + "/graphql",
        json={"query": query},
        headers={"Authorization": f"Bearer {_token(live, tenant)}"},
    )
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    return body


async def _subscribe(
    live: LiveServer,
    token: str,
    query: str,
    variables: dict[str, Any] | None = None,
    protocol: str = "graphql-transport-ws",
) -> ClientConnection:
    ws = await connect(live.url.replace("http", "ws") + "/graphql", subprotocols=[protocol])  # type: ignore[list-item]
    await ws.send(
        json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
    )
    assert json.loads(await ws.recv()) == {"type": "connection_ack"}
    start = "subscribe" if protocol == "graphql-transport-ws" else "start"
    await ws.send(
        json.dumps(
            {"id": "1", "type": start, "payload": {"query": query, "variables": variables or {}}}
        )
    )
    await asyncio.sleep(0.3)  # the server registers the subscription
    return ws


async def _next(ws: ClientConnection, timeout: float = 5.0) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), timeout))
    return message


async def _nothing(ws: ClientConnection, wait: float = 1.0) -> None:
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(ws.recv(), wait)


@pytest.fixture
async def admin_ws(live: LiveServer) -> AsyncIterator[ClientConnection]:
    ws = await _subscribe(live, _token(live, "wsacme"), CHANGED)
    yield ws
    await ws.close()


async def test_a_change_arrives_and_another_tenants_does_not(
    live: LiveServer, admin_ws: ClientConnection
) -> None:
    # when a task is created in the other tenant, then in the subscriber's
    _mutate(
        live, "wsother", 'mutation { createTask(input: {title: "Elsewhere", status: open}) { id } }'
    )
    created = _mutate(
        live, "wsacme", 'mutation { createTask(input: {title: "Here", status: open}) { id } }'
    )
    task_id = created["data"]["createTask"]["id"]
    # then exactly the subscriber's tenant's change arrives, shaped by the selection
    message = await _next(admin_ws)
    assert message == {
        "type": "next",
        "id": "1",
        "payload": {
            "data": {
                "changed": {
                    "action": "CREATE",
                    "id": task_id,
                    "record": {"title": "Here", "status": "open"},
                    "__typename": "TaskChange",
                }
            }
        },
    }
    await _nothing(admin_ws)


async def test_where_filters_changes(live: LiveServer) -> None:
    # given a subscription to done tasks only
    ws = await _subscribe(live, _token(live, "wsacme"), CHANGED, {"w": {"status": {"_eq": "done"}}})
    try:
        # when an open and a done task are created
        _mutate(
            live, "wsacme", 'mutation { createTask(input: {title: "Open", status: open}) { id } }'
        )
        _mutate(
            live, "wsacme", 'mutation { createTask(input: {title: "Done", status: done}) { id } }'
        )
        # then only the done one arrives
        message = await _next(ws)
        assert message["payload"]["data"]["changed"]["record"] == {
            "title": "Done",
            "status": "done",
        }
        await _nothing(ws)
    finally:
        await ws.close()


async def test_a_role_that_may_not_read_tasks_receives_nothing(live: LiveServer) -> None:
    # given a subscriber whose role has no permission rules (reads no records)
    ws = await _subscribe(live, _token(live, "wsacme", "e1", "employee"), CHANGED)
    try:
        # when a task is created
        _mutate(
            live, "wsacme", 'mutation { createTask(input: {title: "Secret", status: open}) { id } }'
        )
        # then nothing reaches it
        await _nothing(ws, 1.5)
    finally:
        await ws.close()


async def test_my_notifications_over_the_legacy_protocol(
    live: LiveServer, database: Database, tenants: dict[str, str]
) -> None:
    # given ann subscribed with the legacy graphql-ws protocol
    ws = await _subscribe(
        live,
        _token(live, "wsacme", "ann", "staff"),
        "subscription { myNotifications { title body readAt } }",
        protocol="graphql-ws",
    )
    try:
        # when bob, then ann, is notified
        for who in ("bob", "ann"):
            async with database.transaction() as conn:
                await notify(
                    conn,
                    participants=KERNEL.participants,
                    tenant_id=tenants["wsacme"],
                    recipients=[who],
                    title=f"hi {who}",
                    body="b",
                )
        # then ann gets hers only
        message = await _next(ws)
        assert message == {
            "type": "data",
            "id": "1",
            "payload": {
                "data": {"myNotifications": {"title": "hi ann", "body": "b", "readAt": None}}
            },
        }
        await _nothing(ws)
    finally:
        await ws.close()


async def test_bad_tokens_and_bad_subscriptions_are_refused(live: LiveServer) -> None:
    # when the token is forged, the socket closes with 4401
    ws = await connect(
        live.url.replace("http", "ws") + "/graphql", subprotocols=["graphql-transport-ws"]
    )  # type: ignore[list-item]
    await ws.send(
        json.dumps({"type": "connection_init", "payload": {"Authorization": "Bearer x.y.z"}})
    )
    await asyncio.wait_for(ws.wait_closed(), 5)
    assert ws.close_code == 4401
    # when the subscription names an unknown field, an error message answers it
    ws = await _subscribe(live, _token(live, "wsacme"), "subscription { nopeChanged { id } }")
    try:
        message = await _next(ws)
        assert message["type"] == "error" and message["id"] == "1"
        assert message["payload"][0]["extensions"]["code"] == "BAD_REQUEST"
    finally:
        await ws.close()
