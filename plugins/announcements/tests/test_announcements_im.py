"""Acceptance with the WeCom and DingTalk apps: an announcement to Sales (and Sales East)
reaches exactly its recipients as app messages through a real worker and the local contract
servers, and so does the reminder to whoever has not read it."""

from __future__ import annotations

import base64
import datetime as dt
import os
from pathlib import Path

import httpx
import pytest
from rapport_announcements import plugin as announcements_plugin
from rapport_org import plugin as org_plugin
from tests.erm_support import ErmTenant, gql, setup_tenant
from tests.im import dingtalk_server, wecom_server
from tests.im.conftest import dingtalk, wecom
from tests.im.dingtalk_server import DingTalkServer
from tests.im.wecom_server import WeComServer
from tests.jobs.support import WorkerProcess, eventually

from rapport.auth.users import create_user
from rapport.composition import KERNEL
from rapport.crypto.keys import KeyRing
from rapport.db.database import Database
from rapport.im.apps import set_app
from rapport.im.identities import link
from rapport.notify.preferences import set_default
from rapport.settings import IdentitySettings, Settings
from rapport.workflow.sla import sweep_sla

__all__ = ["dingtalk", "wecom"]  # the contract-server fixtures, used by name below

CREATE = """mutation($i: AnnouncementCreateInput!) { createAnnouncement(input: $i) { id } }"""
PUBLISH = (
    """mutation($id: ID!) { transitionAnnouncement(id: $id, transition: "publish") { state } }"""
)
MINE = "{ announcementReceipts { edges { node { id } } } }"
READ = """mutation($id: ID!) { transitionAnnouncementReceipt(id: $id, transition: "read") { state } }"""


@pytest.fixture(scope="module")
async def erm(database: Database) -> ErmTenant:
    erm = await setup_tenant(database, [org_plugin, announcements_plugin], "annim")
    sales = await erm.create("org/department", {"name": "Sales"})
    east = await erm.create("org/department", {"name": "Sales East", "parentId": sales})
    finance = await erm.create("org/department", {"name": "Finance"})
    for login, department in (("ann", sales), ("bob", east), ("cy", finance)):
        user = await create_user(
            database, IdentitySettings.from_env({}), tenant=erm.slug, login=login,
            roles=["employee"], password=None, actor="test",
        )  # fmt: skip
        await erm.create(
            "org/employee", {"name": login, "userId": user.id, "departmentId": department}
        )
    return erm


async def _user(erm: ErmTenant, login: str) -> str:
    found: str = await erm.db.fetchval(
        "SELECT id::text FROM rapport.users WHERE tenant_id = $1::uuid AND login = $2",
        erm.tenant_id,
        login,
    )
    return found


@pytest.fixture
async def apps(erm: ErmTenant) -> None:
    """Both apps as on the contract servers; ann on both, bob and cy on WeCom; by default
    everyone receives on both platforms."""
    keyring = KeyRing([base64.b64decode(os.environ["RAPPORT_MASTER_KEY"])])
    async with erm.db.transaction() as conn:
        await set_app(conn, keyring, tenant_id=erm.tenant_id, platform="wecom",
                      corp_id=wecom_server.CORP_ID, agent_id=wecom_server.AGENT_ID,
                      secret=wecom_server.SECRET, link_base="https://h5.acme.example")  # fmt: skip
        await set_app(conn, keyring, tenant_id=erm.tenant_id, platform="dingtalk",
                      corp_id=dingtalk_server.CORP_ID, app_key=dingtalk_server.APP_KEY,
                      agent_id=dingtalk_server.AGENT_ID, secret=dingtalk_server.APP_SECRET,
                      message_kind="markdown")  # fmt: skip
    ann, bob, cy = [await _user(erm, u) for u in ("ann", "bob", "cy")]
    await link(erm.db, erm.tenant_id, "wecom", "E001", ann, "admin")
    await link(erm.db, erm.tenant_id, "wecom", "wx-bob", bob, "admin")
    await link(erm.db, erm.tenant_id, "wecom", "wx-cy", cy, "admin")
    await link(erm.db, erm.tenant_id, "dingtalk", "ding-ann", ann, "admin")
    await set_default(erm.db, erm.tenant_id, ["wecom", "dingtalk"])


@pytest.mark.usefixtures("apps")
async def test_the_announcement_and_its_reminder_reach_wecom_and_dingtalk(
    erm: ErmTenant,
    settings: Settings,
    client: httpx.AsyncClient,
    database_url: str,
    clean_redis: str,
    tmp_path: Path,
    wecom: tuple[WeComServer, str],
    dingtalk: tuple[DingTalkServer, str],
) -> None:
    hr = erm.token(settings, "u-hr", "hr")
    sales = await erm.db.fetchval(
        f'SELECT id::text FROM "tenant_{erm.slug}".org_department WHERE name = $1', "Sales"
    )
    worker = WorkerProcess(
        database_url, tmp_path, redis_url=clean_redis,
        RAPPORT_WECOM_API_BASE=wecom[1], RAPPORT_DINGTALK_API_BASE=dingtalk[1],
        RAPPORT_DINGTALK_OAPI_BASE=dingtalk[1],
    )  # fmt: skip
    with worker:
        # when HR publishes an announcement to Sales
        input = {"title": "季度目标", "body": "Q3 targets are out.", "remindAfterDays": 1,
                 "audience": {"departments": [sales]}}  # fmt: skip
        created = await gql(client, CREATE, {"i": input}, token=hr)
        announcement = created["createAnnouncement"]["id"]
        await gql(client, PUBLISH, {"id": announcement}, token=hr)

        # then WeCom got one card for ann and bob (Sales, Sales East) — not cy (Finance) —
        # linking to the announcement's H5 page, and DingTalk a markdown message for ann
        await eventually(lambda: _sent(wecom[0], dingtalk[0], 1), timeout=30)
        card = wecom[0].messages[0]
        assert card["msgtype"] == "textcard" and sorted(card["delivered"]) == ["E001", "wx-bob"]
        assert "季度目标" in card["textcard"]["title"]
        assert card["textcard"]["url"] == f"https://h5.acme.example/announcements/{announcement}"
        ding = dingtalk[0].messages[0]
        assert ding["msg"]["msgtype"] == "markdown" and ding["userid_list"] == "ding-ann"

        # when ann reads it and the reminder time passes
        ann = erm.token(settings, await _user(erm, "ann"), "employee")
        (receipt,) = (await gql(client, MINE, token=ann))["announcementReceipts"]["edges"]
        await gql(client, READ, {"id": receipt["node"]["id"]}, token=ann)
        await sweep_sla(
            erm.db,
            dt.datetime.now(dt.UTC) + dt.timedelta(days=10),
            participants=KERNEL.participants,
        )

        # then only bob, who has not read it, is reminded on WeCom; DingTalk gets nothing more
        await eventually(lambda: _sent(wecom[0], dingtalk[0], 2), timeout=30)
    assert wecom[0].messages[1]["delivered"] == ["wx-bob"]
    assert len(dingtalk[0].messages) == 1


async def _sent(wecom: WeComServer, dingtalk: DingTalkServer, n: int) -> bool:
    return len(wecom.messages) >= n and bool(dingtalk.messages)
