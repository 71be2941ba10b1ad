"""WeCom and DingTalk app messages end to end: notify → outbox → a real worker → local servers."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from rapport.auth.users import create_user
from rapport.composition import KERNEL
from rapport.crypto.keys import KeyRing
from rapport.db.database import Database
from rapport.db.tenants import Tenant
from rapport.im.apps import set_app
from rapport.im.directory import SYNC_TOPIC
from rapport.im.identities import link
from rapport.jobs.outbox import enqueue
from rapport.notify import notify
from rapport.notify.preferences import set_default, set_preference
from rapport.settings import IdentitySettings
from tests.im import dingtalk_server, wecom_server
from tests.im.conftest import dingtalk, wecom
from tests.im.dingtalk_server import DingTalkServer
from tests.im.wecom_server import WeComServer
from tests.jobs.support import WorkerProcess, eventually

__all__ = ["dingtalk", "wecom"]  # the contract-server fixtures, used by name below

BODY = "请在周五前完成年度体检预约 — 私密内容"


@pytest.fixture(scope="module")
async def people(database: Database, tenant: Tenant) -> dict[str, str]:
    made = {}
    for login in ("ann", "bob", "cy"):
        user = await create_user(
            database, IdentitySettings.from_env({}), tenant="acme", login=f"{login}@acme.example",
            roles=["employee"], password=None, actor="test",
        )  # fmt: skip
        made[login] = user.id
    return made


@pytest.fixture
async def configured(database: Database, tenant: Tenant, people: dict[str, str]) -> None:
    keyring = KeyRing([base64.b64decode(os.environ["RAPPORT_MASTER_KEY"])])
    for table in ("im_tokens", "im_identities", "im_apps", "im_deliveries", "channel_preferences",
                  "channel_defaults", "webhook_subscriptions"):  # fmt: skip
        await database.execute(f"DELETE FROM rapport.{table}")
    async with database.transaction() as conn:
        await set_app(conn, keyring, tenant_id=tenant.id, platform="wecom",
                      corp_id=wecom_server.CORP_ID, agent_id=wecom_server.AGENT_ID,
                      secret=wecom_server.SECRET, link_base="https://h5.acme.example")  # fmt: skip
        await set_app(conn, keyring, tenant_id=tenant.id, platform="dingtalk",
                      corp_id=dingtalk_server.CORP_ID, app_key=dingtalk_server.APP_KEY,
                      agent_id=dingtalk_server.AGENT_ID, secret=dingtalk_server.APP_SECRET,
                      message_kind="markdown")  # fmt: skip
    # ann is on both platforms, bob on WeCom only, cy on neither
    await link(database, tenant.id, "wecom", "E001", people["ann"], "admin")
    await link(database, tenant.id, "wecom", "wx-bob", people["bob"], "admin")
    await link(database, tenant.id, "dingtalk", "ding-ann", people["ann"], "admin")
    await set_default(database, tenant.id, ["wecom", "dingtalk"])


def _worker(
    database_url: str,
    tmp_path: Path,
    redis_url: str,
    wecom_url: str,
    dingtalk_url: str,
    **env: str,
) -> WorkerProcess:
    return WorkerProcess(
        database_url, tmp_path, redis_url=redis_url,
        RAPPORT_WECOM_API_BASE=wecom_url, RAPPORT_DINGTALK_API_BASE=dingtalk_url,
        RAPPORT_DINGTALK_OAPI_BASE=dingtalk_url, **env,
    )  # fmt: skip


async def _deliveries(database: Database, platform: str) -> list[dict[str, object]]:
    rows = await database.fetch(
        "SELECT * FROM rapport.im_deliveries WHERE platform = $1 ORDER BY id", platform
    )
    return [dict(r) for r in rows]


@pytest.mark.usefixtures("configured")
async def test_a_notification_reaches_each_employee_where_they_receive(
    database: Database, database_url: str, tenant: Tenant, people: dict[str, str],
    clean_redis: str, tmp_path: Path,
    wecom: tuple[WeComServer, str], dingtalk: tuple[DingTalkServer, str],
) -> None:  # fmt: skip
    # given cy prefers email only (in-app kept)
    await set_preference(database, tenant.id, people["cy"], ["email"])
    ann, bob, cy = people["ann"], people["bob"], people["cy"]
    with _worker(database_url, tmp_path, clean_redis, wecom[1], dingtalk[1]):
        # when HR notifies the three without naming channels
        async with database.transaction() as conn:
            await notify(conn, participants=KERNEL.participants, tenant_id=tenant.id, recipients=[ann, bob, cy], title="年度体检",
                         body=BODY, link="/announcements/7")  # fmt: skip
        await eventually(lambda: _both(wecom[0], dingtalk[0]))
        # and, after WeCom expired its tokens early, once more
        wecom[0].expire_tokens()
        async with database.transaction() as conn:
            await notify(
                conn,
                participants=KERNEL.participants,
                tenant_id=tenant.id,
                recipients=[bob],
                title="提醒",
                body="b",
            )
        await eventually(lambda: _count(wecom[0], 2))
    # then WeCom got a card for ann and bob, linking to the H5 page; DingTalk markdown for ann
    card = wecom[0].messages[0]
    assert card["msgtype"] == "textcard" and card["delivered"] == ["E001", "wx-bob"]
    assert card["textcard"]["url"] == "https://h5.acme.example/announcements/7"
    ding = dingtalk[0].messages[0]
    assert ding["msg"]["msgtype"] == "markdown" and ding["userid_list"] == "ding-ann"
    # and the expired token was replaced once, the second message delivered
    assert wecom[0].gettoken_calls == 2 and wecom[0].messages[1]["delivered"] == ["wx-bob"]
    # and everyone has the in-app record
    assert (
        await database.fetchval(
            f'SELECT count(*) FROM "{tenant.schema}".core_notification WHERE title = $1', "年度体检"
        )
        == 3
    )
    # and the log counts and names who had no account, without the body
    logged = await _deliveries(database, "dingtalk")
    assert logged[0]["sent"] == 1 and logged[0]["unmapped_users"] == [bob] and logged[0]["ok"]
    rows = await database.fetch("SELECT * FROM rapport.im_deliveries")
    assert all(BODY not in str(dict(r)) and "年度体检" not in str(dict(r)) for r in rows)


async def _both(wecom: WeComServer, dingtalk: DingTalkServer) -> bool:
    return bool(wecom.messages and dingtalk.messages)


async def _count(server: WeComServer, n: int) -> bool:
    return len(server.messages) >= n


@pytest.mark.usefixtures("configured")
async def test_a_platform_that_is_down_gets_the_message_when_it_is_back(
    database: Database, database_url: str, tenant: Tenant, people: dict[str, str],
    clean_redis: str, tmp_path: Path,
    wecom: tuple[WeComServer, str], dingtalk: tuple[DingTalkServer, str],
) -> None:  # fmt: skip
    # given WeCom down
    wecom[0].down = True
    with _worker(
        database_url, tmp_path, clean_redis, wecom[1], dingtalk[1], RAPPORT_JOB_MAX_TRIES="20"
    ):
        async with database.transaction() as conn:
            await notify(
                conn,
                participants=KERNEL.participants,
                tenant_id=tenant.id,
                recipients=[people["bob"]],
                title="t",
                body="b",
            )
        # when two attempts have failed and WeCom comes back
        await eventually(lambda: _attempts(database, 2), timeout=30)
        wecom[0].down = False
        await eventually(lambda: _count(wecom[0], 1), timeout=30)
    # then failed attempts were logged with the reason, and a later one delivered
    logged = await _deliveries(database, "wecom")
    assert not logged[0]["ok"] and "unavailable" in str(logged[0]["error"])
    assert logged[-1]["ok"] and logged[-1]["sent"] == 1


async def _attempts(database: Database, n: int) -> bool:
    return int(await database.fetchval("SELECT count(*) FROM rapport.im_deliveries")) >= n


@pytest.mark.usefixtures("configured")
async def test_a_wrong_secret_fails_the_job_and_says_what_to_fix(
    database: Database, database_url: str, tenant: Tenant, people: dict[str, str],
    clean_redis: str, tmp_path: Path,
    wecom: tuple[WeComServer, str], dingtalk: tuple[DingTalkServer, str],
) -> None:  # fmt: skip
    # given the WeCom secret was changed on the platform (ours is now wrong)
    keyring = KeyRing([base64.b64decode(os.environ["RAPPORT_MASTER_KEY"])])
    async with database.transaction() as conn:
        await set_app(conn, keyring, tenant_id=tenant.id, platform="wecom",
                      corp_id=wecom_server.CORP_ID, agent_id=wecom_server.AGENT_ID,
                      secret="an-old-secret")  # fmt: skip
    with _worker(
        database_url, tmp_path, clean_redis, wecom[1], dingtalk[1], RAPPORT_JOB_MAX_TRIES="2"
    ):
        async with database.transaction() as conn:
            await notify(conn, participants=KERNEL.participants, tenant_id=tenant.id, recipients=[people["ann"]], title="t",
                         body="b", channels=["in_app", "wecom"])  # fmt: skip
        failed = await eventually(
            lambda: database.fetchval(
                "SELECT error FROM rapport.failed_jobs WHERE topic = 'notify.app'"
            )
        )
    # then the job failed for good, naming the secret; nothing reached WeCom
    assert "secret is wrong" in failed and wecom[0].messages == []
    logged = await _deliveries(database, "wecom")
    assert len(logged) == 2 and logged[0]["errcode"] == 40001


@pytest.mark.usefixtures("configured")
async def test_a_directory_sync_requested_as_a_job_is_run_by_the_worker(
    database: Database, database_url: str, tenant: Tenant, clean_redis: str, tmp_path: Path,
    wecom: tuple[WeComServer, str], dingtalk: tuple[DingTalkServer, str],
) -> None:  # fmt: skip
    with _worker(database_url, tmp_path, clean_redis, wecom[1], dingtalk[1]):
        # when an admin's sync request is in the outbox
        async with database.transaction() as conn:
            await enqueue(
                conn, tenant_id=tenant.id, topic=SYNC_TOPIC, payload={"platform": "wecom"}
            )
        report = await eventually(
            lambda: database.fetchval("SELECT report FROM rapport.im_sync_runs WHERE ok")
        )
    # then the worker read WeCom's directory and kept the report
    assert '"accounts": 4' in report
