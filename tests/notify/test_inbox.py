"""In-app notifications over the tenant API, and the outbox events of record writes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from rapport.composition import KERNEL
from rapport.db.database import Database
from rapport.db.tenants import Tenant
from rapport.errors import ValidationFailed
from rapport.notify import notify
from tests.live_server import LiveServer, server_settings

MY = """query($unread: Boolean, $first: Int, $after: String) {
  myNotifications(unreadOnly: $unread, first: $first, after: $after) {
    nodes { id title body link readAt recipient } hasNextPage endCursor unreadCount } }"""
MARK = "mutation($ids: [ID!]!) { markNotificationsRead(ids: $ids) }"


@pytest.fixture(scope="module")
def live(database_url: str, tenant: Tenant) -> Iterator[LiveServer]:
    with LiveServer(server_settings(database_url)) as server:
        yield server


def _call(live: LiveServer, query: str, subject: str, **variables: Any) -> dict[str, Any]:
    from rapport.auth.tokens import issue_token

    token = issue_token(live.settings, tenant="acme", subject=subject, roles=["admin"])
    response = httpx.post(
        live.url + "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    )
    body: dict[str, Any] = response.json()
    return body


async def test_users_see_and_mark_their_own_notifications(
    live: LiveServer, database: Database, tenant: Tenant
) -> None:
    # given three notifications for ann, one for bob, one for the admin role
    sent = [(["ann"], "ann 0"), (["ann"], "ann 1"), (["ann"], "ann 2"), (["bob"], "bob"),
            (["role:admin"], "all")]  # fmt: skip
    for recipients, title in sent:  # one transaction each: they get distinct times
        async with database.transaction() as conn:
            await notify(
                conn,
                participants=KERNEL.participants,
                tenant_id=tenant.id,
                recipients=recipients,
                title=title,
                body="",
            )
    # when ann reads two at a time
    answer = _call(live, MY, "ann", first=2)
    assert "errors" not in answer, answer
    first = answer["data"]["myNotifications"]
    second = _call(live, MY, "ann", first=2, after=first["endCursor"])["data"]["myNotifications"]
    # then she sees hers and her role's, newest first, never bob's
    titles = [n["title"] for n in first["nodes"] + second["nodes"]]
    assert titles == ["all", "ann 2", "ann 1", "ann 0"][: len(titles)]
    assert first["hasNextPage"] and first["unreadCount"] == 4
    # when she marks one of hers and bob's as read
    bob = _call(live, MY, "bob")["data"]["myNotifications"]["nodes"]
    bob_id = next(n["id"] for n in bob if n["title"] == "bob")
    marked = _call(live, MARK, "ann", ids=[first["nodes"][1]["id"], bob_id])
    # then only hers changed
    assert marked == {"data": {"markNotificationsRead": 1}}
    unread = _call(live, MY, "ann", unread=True, first=10)["data"]["myNotifications"]
    assert [n["title"] for n in unread["nodes"]] == ["all", "ann 1", "ann 0"]
    assert _call(live, MY, "bob", unread=True)["data"]["myNotifications"]["unreadCount"] == 2
    # and a bad cursor is a BAD_REQUEST
    bad = _call(live, MY, "ann", after="nope")
    assert bad["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_record_writes_enqueue_entity_events_without_sensitive_fields(
    live: LiveServer, database: Database, tenant: Tenant
) -> None:
    # when a task is created and updated through the tenant API
    created = _call(
        live, 'mutation { createTask(input: {title: "Call Ann", status: open}) { id } }', "hr1"
    )
    assert "data" in created, created
    task_id = created["data"]["createTask"]["id"]
    _call(live, f'mutation {{ updateTask(id: "{task_id}", input: {{status: done}}) {{ id }} }}',
          "hr1")  # fmt: skip
    # then the outbox holds one event per write, in order, with the change
    rows = await database.fetch(
        "SELECT topic, payload FROM rapport.outbox WHERE payload->>'recordId' = $1 "
        "ORDER BY created_at",
        task_id,
    )
    assert [r["topic"] for r in rows] == ["entity.create", "entity.update"]
    import json

    update = json.loads(rows[1]["payload"])
    assert update["entity"] == "core/task" and update["actor"] == "hr1"
    assert update["changedFields"] == ["status"]
    assert update["record"]["status"] == "done"


async def test_notify_refuses_bad_channels_and_empty_recipients(
    database: Database, tenant: Tenant
) -> None:
    async with database.transaction() as conn:
        with pytest.raises(ValidationFailed, match="unknown channel"):
            await notify(conn, participants=KERNEL.participants, tenant_id=tenant.id, recipients=["a"], title="t", body="",
                         channels=("sms",))  # fmt: skip
        with pytest.raises(ValidationFailed, match="no recipient"):
            await notify(
                conn,
                participants=KERNEL.participants,
                tenant_id=tenant.id,
                recipients=[" "],
                title="t",
                body="",
            )


async def test_admins_manage_webhooks_and_failed_jobs_over_graphql(
    live: LiveServer, database: Database, tenant: Tenant
) -> None:
    # when an admin subscribes a webhook
    created = _call(
        live,
        'mutation { createWebhookSubscription(url: "https://hooks.example/x", '
        'events: ["entity.*"], entities: ["core/task"]) { secret subscription { id format } } }',
        "admin1",
    )["data"]["createWebhookSubscription"]
    # then it is listed with a one-time secret
    assert len(created["secret"]) == 64 and created["subscription"]["format"] == "rapport"
    listed = _call(live, "{ webhookSubscriptions { id events entities } }", "admin1")
    assert listed["data"]["webhookSubscriptions"] == [
        {"id": created["subscription"]["id"], "events": ["entity.*"], "entities": ["core/task"]}
    ]
    # when a job of the tenant failed for good
    outbox_id = await database.fetchval(
        "INSERT INTO rapport.outbox (tenant_id, topic, payload, dispatched_at) "
        "VALUES ($1::uuid, 'webhook.deliver', '{}', now()) RETURNING id::text",
        tenant.id,
    )
    await database.execute(
        "INSERT INTO rapport.failed_jobs (outbox_id, tenant_id, topic, attempts, error) "
        "VALUES ($1::uuid, $2::uuid, 'webhook.deliver', 8, 'DeliveryFailed: HTTP 500')",
        outbox_id,
        tenant.id,
    )
    failed = _call(live, "{ failedJobs { id topic attempts error } }", "admin1")
    assert failed["data"]["failedJobs"] == [
        {"id": outbox_id, "topic": "webhook.deliver", "attempts": 8,
         "error": "DeliveryFailed: HTTP 500"}
    ]  # fmt: skip
    # then retryJob sends it again: pending, next generation, no longer failed
    retried = _call(live, f'mutation {{ retryJob(id: "{outbox_id}") }}', "admin1")
    assert retried == {"data": {"retryJob": outbox_id}}
    row = await database.fetchrow(
        "SELECT dispatched_at, generation FROM rapport.outbox WHERE id = $1::uuid", outbox_id
    )
    assert row["dispatched_at"] is None and row["generation"] == 1
    assert _call(live, "{ failedJobs { id } }", "admin1") == {"data": {"failedJobs": []}}
    # and a non-admin may not see any of it
    from rapport.auth.tokens import issue_token

    token = issue_token(live.settings, tenant="acme", subject="e1", roles=["employee"])
    refused = httpx.post(
        live.url + "/graphql",
        json={"query": "{ failedJobs { id } }"},
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
