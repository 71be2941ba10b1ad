"""Acceptance with the WeCom app: the exit questionnaire reaches the leaver as an app message
through a real worker and the local WeCom contract server, linking to the form."""

from __future__ import annotations

import base64
import datetime as dt
import os
from pathlib import Path

import httpx
import pytest
from rapport_exits import plugin as exits_plugin
from rapport_org import plugin as org_plugin
from tests.erm_support import ErmTenant, gql, setup_tenant
from tests.im import wecom_server
from tests.im.conftest import wecom
from tests.im.wecom_server import WeComServer
from tests.jobs.support import WorkerProcess, eventually

from rapport.auth.users import create_user
from rapport.crypto.keys import KeyRing
from rapport.db.database import Database
from rapport.im.apps import set_app
from rapport.im.identities import link
from rapport.notify.preferences import set_default
from rapport.settings import IdentitySettings, Settings

__all__ = ["wecom"]  # the contract-server fixture, used by name below

CREATE = "mutation($i: SeparationCreateInput!) { createSeparation(input: $i) { id } }"


@pytest.fixture(scope="module")
async def erm(database: Database) -> ErmTenant:
    erm = await setup_tenant(database, [org_plugin, exits_plugin], "exim")
    user = await create_user(
        database,
        IdentitySettings.from_env({}),
        tenant=erm.slug,
        login="fang",
        roles=["employee"],
        password=None,
        actor="test",
    )
    await erm.create("org/employee", {"name": "Wang Fang", "userId": user.id})
    keyring = KeyRing([base64.b64decode(os.environ["RAPPORT_MASTER_KEY"])])
    async with database.transaction() as conn:
        await set_app(
            conn,
            keyring,
            tenant_id=erm.tenant_id,
            platform="wecom",
            corp_id=wecom_server.CORP_ID,
            agent_id=wecom_server.AGENT_ID,
            secret=wecom_server.SECRET,
            link_base="https://h5.acme.example",
        )
    await link(database, erm.tenant_id, "wecom", "E001", user.id, "admin")
    await set_default(database, erm.tenant_id, ["wecom"])
    return erm


async def test_the_questionnaire_reaches_the_leaver_on_wecom(
    erm: ErmTenant,
    settings: Settings,
    client: httpx.AsyncClient,
    database_url: str,
    clean_redis: str,
    tmp_path: Path,
    wecom: tuple[WeComServer, str],
) -> None:
    hr = erm.token(settings, "u-hr", "hr")
    employee = await erm.db.fetchval(f'SELECT id::text FROM "tenant_{erm.slug}".org_employee')
    today = dt.date.today()
    worker = WorkerProcess(
        database_url, tmp_path, redis_url=clean_redis, RAPPORT_WECOM_API_BASE=wecom[1]
    )
    with worker:
        # when HR records her resignation
        input = {
            "employeeId": employee,
            "type": "resignation",
            "noticeGivenOn": today.isoformat(),
            "lastWorkingDay": (today + dt.timedelta(days=30)).isoformat(),
        }
        await gql(client, CREATE, {"i": input}, token=hr)
        # then WeCom delivers the questionnaire (and her handover tasks) to her, linking to the form
        await eventually(lambda: _card(wecom[0], "离职问卷"), timeout=30)
    (card,) = [m for m in wecom[0].messages if "离职问卷" in m["textcard"]["title"]]
    assert card["delivered"] == ["E001"]
    assert card["textcard"]["url"].startswith(
        "https://h5.acme.example/forms/exits/questionnaire?interview="
    )


async def _card(server: WeComServer, text: str) -> bool:
    return any(text in m.get("textcard", {}).get("title", "") for m in server.messages)
