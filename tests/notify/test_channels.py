"""Email, WeCom and DingTalk channels against real local receivers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Iterator
from email import message_from_bytes
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from aiosmtpd.controller import Controller

from rapport.composition import KERNEL
from rapport.db.database import Database
from rapport.db.tenants import Tenant
from rapport.notify import notify
from rapport.notify.dingtalk import signed_url
from rapport.notify.signing import dingtalk_sign
from rapport.notify.webhooks import create_subscription, list_deliveries
from tests.jobs.support import WorkerProcess, eventually, free_port
from tests.notify.receiver import Receiver


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Controller, _Inbox]]:
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


@pytest.fixture(autouse=True)
async def _no_subscriptions(database: Database, tenant: Tenant) -> None:
    await database.execute("DELETE FROM rapport.webhook_subscriptions")


async def test_email_reaches_a_local_smtp_server(
    database: Database,
    database_url: str,
    tenant: Tenant,
    clean_redis: str,
    tmp_path: Path,
    smtp: tuple[Controller, _Inbox],
) -> None:
    controller, inbox = smtp
    env = {"RAPPORT_SMTP_HOST": "127.0.0.1", "RAPPORT_SMTP_PORT": str(controller.port),
           "RAPPORT_SMTP_FROM": "hr@acme.example"}  # fmt: skip
    with WorkerProcess(database_url, tmp_path, redis_url=clean_redis, **env):
        # when a notification goes to an address and to a user without a known address
        async with database.transaction() as conn:
            await notify(
                conn,
                participants=KERNEL.participants,
                tenant_id=tenant.id,
                recipients=["ann@acme.example", "u-42"],
                title="合同续签提醒",
                body="Your contract ends in 30 days.",
                link="/contracts/7",
                channels=("in_app", "email"),
            )
        await eventually(lambda: _count(inbox.messages))
    # then one email reached the SMTP server, with the notification's content
    ((recipients, message),) = inbox.messages
    assert recipients == ["ann@acme.example"]
    assert message["From"] == "hr@acme.example"
    assert str(message["Subject"]) == "合同续签提醒" or "=?utf-8?" in message["Subject"]
    assert message["Message-ID"].endswith("@rapport>")
    assert "Your contract ends in 30 days." in message.get_payload(decode=True).decode()
    # and the in-app notifications exist for both recipients
    rows = await database.fetch(
        "SELECT recipient FROM tenant_acme.core_notification WHERE link = '/contracts/7'"
    )
    assert sorted(r["recipient"] for r in rows) == ["ann@acme.example", "u-42"]


async def test_wecom_and_dingtalk_robots_get_their_formats_and_dingtalk_is_signed(
    database: Database, database_url: str, tenant: Tenant, clean_redis: str, tmp_path: Path
) -> None:
    secret = "SEC0123456789abcdef"
    with Receiver(answer={"errcode": 0, "errmsg": "ok"}) as robots:
        # given a WeCom robot and a signed DingTalk robot subscribed to notifications
        await create_subscription(
            database,
            tenant_id=tenant.id,
            url=robots.url + "/cgi-bin/webhook/send?key=K1",
            events=["notification.created"],
            format="wecom",
        )
        await create_subscription(
            database,
            tenant_id=tenant.id,
            url=robots.url + "/robot/send?access_token=T1",
            events=["notification.created"],
            format="dingtalk",
            secret=secret,
        )
        with WorkerProcess(database_url, tmp_path, redis_url=clean_redis):
            # when a notification is sent on both robot channels
            async with database.transaction() as conn:
                await notify(
                    conn,
                    participants=KERNEL.participants,
                    tenant_id=tenant.id,
                    recipients=["role:hr"],
                    title="投诉超时",
                    body="Complaint C-9 breached its SLA.",
                    link="/complaints/9",
                    channels=("wecom", "dingtalk"),
                )
            await eventually(lambda: _count(robots.received, 2))
    by_path = {urlsplit(r.path).path: r for r in robots.received}
    # then WeCom got a markdown message
    wecom = by_path["/cgi-bin/webhook/send"]
    assert parse_qs(urlsplit(wecom.path).query) == {"key": ["K1"]}
    assert wecom.json()["msgtype"] == "markdown"
    assert wecom.json()["markdown"]["content"].startswith("**投诉超时**\nComplaint C-9")
    # and DingTalk got a markdown message with a valid timestamp + sign
    ding = by_path["/robot/send"]
    query = parse_qs(urlsplit(ding.path).query)
    timestamp = query["timestamp"][0]
    expected = base64.b64encode(
        hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    ).decode()
    assert query["sign"] == [expected]
    assert abs(int(timestamp) - time.time() * 1000) < 60_000
    assert query["access_token"] == ["T1"]
    assert ding.json()["markdown"]["title"] == "投诉超时"


async def test_a_robot_error_code_is_a_failed_attempt_and_retried(
    database: Database, database_url: str, tenant: Tenant, clean_redis: str, tmp_path: Path
) -> None:
    # given a DingTalk robot that refuses the signature (HTTP 200 with errcode 310000)
    with Receiver(answer={"errcode": 310000, "errmsg": "sign not match"}) as robot:
        subscription, _ = await create_subscription(
            database,
            tenant_id=tenant.id,
            url=robot.url + "/robot/send?access_token=T",
            events=["notification.created"],
            format="dingtalk",
            secret="wrong",
        )
        with WorkerProcess(
            database_url, tmp_path, redis_url=clean_redis, RAPPORT_JOB_MAX_TRIES="2"
        ):
            async with database.transaction() as conn:
                await notify(
                    conn, participants=KERNEL.participants, tenant_id=tenant.id, recipients=["u1"], title="t", body="b",
                    channels=("dingtalk",),
                )  # fmt: skip
            deliveries = await eventually(
                lambda: _at_least(list_deliveries(database, tenant.id, subscription.id), 2)
            )
    # then both attempts are logged as failures with the robot's answer
    assert all(not d.ok and "sign not match" in (d.error or "") for d in deliveries)


def test_dingtalk_signing_matches_the_documented_algorithm() -> None:
    # given DingTalk's documented example inputs
    secret, timestamp = "this is secret", 1577808000000
    # then the sign is base64(HMAC-SHA256(secret, "timestamp\nsecret")), URL-encoded in the URL
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256)
    assert dingtalk_sign(secret, timestamp) == base64.b64encode(digest.digest()).decode()
    url = signed_url("https://oapi.dingtalk.com/robot/send?access_token=x", secret, timestamp)
    assert parse_qs(urlsplit(url).query)["sign"] == [dingtalk_sign(secret, timestamp)]
    assert signed_url("https://x/robot", "", timestamp) == "https://x/robot"


async def _count(items: list[Any], n: int = 1) -> bool:
    return len(items) >= n


async def _at_least(pending: Any, n: int) -> Any:
    found = await pending
    return found if len(found) >= n else None
