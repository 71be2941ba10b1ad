"""Outbound webhooks against a real receiver on loopback: signed, retried, logged."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from pathlib import Path

import pytest

from rapport.db.database import Database
from rapport.db.tenants import Tenant
from rapport.errors import NotFound, ValidationFailed
from rapport.jobs.outbox import enqueue
from rapport.notify.signing import SIGNATURE_HEADER, verify
from rapport.notify.webhooks import (
    create_subscription,
    delete_subscription,
    list_deliveries,
    list_subscriptions,
)
from tests.jobs.support import WorkerProcess, eventually, free_port
from tests.notify.receiver import Receiver


@pytest.fixture(autouse=True)
async def _no_subscriptions(database: Database, tenant: Tenant) -> None:
    await database.execute("DELETE FROM rapport.webhook_subscriptions")


async def _event(database: Database, tenant: Tenant, entity: str = "training/course") -> str:
    async with database.transaction() as conn:
        return await enqueue(
            conn,
            tenant_id=tenant.id,
            topic="entity.create",
            payload={"entity": entity, "recordId": "r1", "action": "create"},
        )


async def test_a_receiver_down_for_a_while_gets_the_event_later_signed(
    database: Database, database_url: str, tenant: Tenant, clean_redis: str, tmp_path: Path
) -> None:
    # given a subscription whose receiver is not listening yet
    port = free_port()
    subscription, secret = await create_subscription(
        database, tenant_id=tenant.id, url=f"http://127.0.0.1:{port}/hook", events=["entity.*"]
    )
    with WorkerProcess(
        database_url, tmp_path, redis_url=clean_redis, RAPPORT_JOB_RETRY_SECONDS="0.3"
    ):
        # when an event is committed while the receiver is down
        event_id = await _event(database, tenant)
        await eventually(lambda: list_deliveries(database, tenant.id, subscription.id))
        await asyncio.sleep(0.5)
        # and the receiver comes up later
        with Receiver(port=port) as receiver:
            await eventually(
                lambda: _ok(database, tenant, subscription.id), timeout=20, interval=0.1
            )
    # then it got the event once, signed with the subscription's secret
    assert len(receiver.received) == 1
    request = receiver.received[0]
    assert request.path == "/hook"
    assert verify(secret, request.headers[SIGNATURE_HEADER], request.body, now=int(time.time()))
    assert not verify(
        "other", request.headers[SIGNATURE_HEADER], request.body, now=int(time.time())
    )
    assert request.headers["X-Rapport-Event"] == "entity.create"
    body = request.json()
    assert body["id"] == event_id
    assert body["data"]["entity"] == "training/course"
    # and the delivery log shows the failed attempts, then the successful one
    log = sorted(
        await list_deliveries(database, tenant.id, subscription.id), key=lambda d: d.attempt
    )
    assert [d.ok for d in log] == [False] * (len(log) - 1) + [True]
    assert len(log) >= 2
    assert [d.attempt for d in log] == list(range(1, len(log) + 1))
    assert "ConnectError" in (log[0].error or "")
    assert log[-1].status_code == 200


async def test_only_subscribed_events_and_entities_are_delivered(
    database: Database, database_url: str, tenant: Tenant, clean_redis: str, tmp_path: Path
) -> None:
    with Receiver() as receiver:
        # given subscriptions to creates of courses only, and to workflow transitions only
        await create_subscription(
            database,
            tenant_id=tenant.id,
            url=receiver.url + "/courses",
            events=["entity.create"],
            entities=["training/course"],
        )
        await create_subscription(
            database, tenant_id=tenant.id, url=receiver.url + "/flows", events=["workflow.*"]
        )
        with WorkerProcess(database_url, tmp_path, redis_url=clean_redis):
            # when a trainer and a course are created
            await _event(database, tenant, "training/trainer")
            course = await _event(database, tenant, "training/course")
            await eventually(lambda: asyncio.sleep(0, result=len(receiver.received) >= 1))
            await asyncio.sleep(1.0)  # time for a wrong delivery to show up
    # then only the course reached only the course subscription
    assert [(r.path, r.json()["id"]) for r in receiver.received] == [("/courses", course)]


async def test_sigterm_during_a_delivery_finishes_it_and_exits(
    database: Database, database_url: str, tenant: Tenant, clean_redis: str, tmp_path: Path
) -> None:
    # given the real `rapport worker` command posting to a receiver that takes 2 s to answer
    with Receiver(delay=2.0) as receiver:
        subscription, _ = await create_subscription(
            database, tenant_id=tenant.id, url=receiver.url, events=["entity.*"]
        )
        worker = WorkerProcess(
            database_url,
            tmp_path,
            redis_url=clean_redis,
            command=[sys.executable, "-m", "rapport", "worker"],
        ).start()
        try:
            await _event(database, tenant)
            await eventually(lambda: asyncio.sleep(0, result=bool(receiver.received)))
            # when it gets SIGTERM mid-request
            started = time.monotonic()
            worker.signal(signal.SIGTERM)
            status = worker.wait(35)
            elapsed = time.monotonic() - started
        finally:
            worker.stop()
    # then it finished the delivery, then stopped cleanly within 30 s
    assert status == 0, "".join(worker.output)
    assert 1.0 < elapsed < 30
    log = await list_deliveries(database, tenant.id, subscription.id)
    assert [(d.ok, d.status_code) for d in log] == [(True, 200)]


async def test_subscriptions_are_validated_listed_and_deleted(
    database: Database, tenant: Tenant
) -> None:
    # when a subscription is malformed, every problem is listed
    with pytest.raises(ValidationFailed) as caught:
        await create_subscription(
            database, tenant_id=tenant.id, url="ftp://x", events=[], format="slack"
        )
    assert {tuple(e.path) for e in caught.value.errors} == {("url",), ("format",), ("events",)}
    # when one is created, a secret is generated and it is listed
    created, secret = await create_subscription(
        database, tenant_id=tenant.id, url="https://example.com/h", events=["entity.*"]
    )
    assert len(secret) == 64
    assert [s.id for s in await list_subscriptions(database, tenant.id)] == [created.id]
    # when it is deleted, it is gone; deleting it again is NOT_FOUND
    await delete_subscription(database, tenant.id, created.id)
    assert await list_subscriptions(database, tenant.id) == []
    with pytest.raises(NotFound):
        await delete_subscription(database, tenant.id, created.id)


async def _ok(database: Database, tenant: Tenant, subscription_id: str) -> bool:
    return any(d.ok for d in await list_deliveries(database, tenant.id, subscription_id))
