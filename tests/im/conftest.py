"""Fixtures of the WeCom/DingTalk tests: a tenant, its users, both contract servers."""

from __future__ import annotations

import base64
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace

import httpx
import pytest

from rapport.auth.users import create_user
from rapport.crypto.keys import KeyRing
from rapport.db.catalog import migrate
from rapport.db.database import Database
from rapport.db.tenants import Tenant
from rapport.im.apps import set_app
from rapport.metadata.tenants import create_tenant
from rapport.settings import IdentitySettings, ImSettings, Settings
from tests.im import dingtalk_server, wecom_server
from tests.im.dingtalk_server import DingTalkServer
from tests.im.served import Served
from tests.im.wecom_server import WeComServer
from tests.live_server import server_settings

IDENTITY = IdentitySettings.from_env({})
# The process's key ring (tests/conftest.py sets RAPPORT_MASTER_KEY): what the record writer,
# the app and the worker processes all use.
MASTER_KEY = base64.b64decode(os.environ["RAPPORT_MASTER_KEY"])


@pytest.fixture(scope="module")
async def tenant(database: Database) -> Tenant:
    await migrate(database)
    return await create_tenant(database, "acme", "ACME")


@pytest.fixture(scope="module")
async def users(database: Database, tenant: Tenant) -> dict[str, str]:
    """ann: login = employee number E001; bob: mobile in attributes; cy and cy2 share a mobile."""
    made = {}
    for login, attributes in (
        ("E001", {}),
        ("bob@acme.example", {"mobile": "+86 139-0000-0002"}),
        ("cy@acme.example", {"mobile": "13900000003"}),
        ("cy2@acme.example", {"mobile": "13900000003"}),
    ):
        user = await create_user(
            database, IDENTITY, tenant="acme", login=login, roles=["employee"], password=None,
            attributes=attributes, actor="test",
        )  # fmt: skip
        made[login] = user.id
    return made


@pytest.fixture
def wecom() -> Iterator[tuple[WeComServer, str]]:
    server = WeComServer(
        users={
            "E001": {"userid": "E001", "name": "安", "department": [1], "mobile": ""},
            "wx-bob": {
                "userid": "wx-bob",
                "name": "鲍勃",
                "department": [1, 2],
                "mobile": "13900000002",
            },
            "wx-cy": {"userid": "wx-cy", "name": "Cy", "department": [2], "mobile": "13900000003"},
            "wx-dan": {
                "userid": "wx-dan",
                "name": "Dan",
                "department": [2],
                "mobile": "13900000009",
            },
        },
        departments=[
            {"id": 1, "parentid": 0, "name": "总部"},
            {"id": 2, "parentid": 1, "name": "HR"},
        ],
    )
    with Served(server.app()) as served:
        yield server, served.url


@pytest.fixture
def dingtalk() -> Iterator[tuple[DingTalkServer, str]]:
    server = DingTalkServer(
        users={
            "ding-ann": {
                "userid": "ding-ann",
                "unionid": "un-ann",
                "name": "安",
                "job_number": "E001",
                "mobile": "",
                "dept_id_list": [1],
            },
            "ding-bob": {
                "userid": "ding-bob",
                "unionid": "un-bob",
                "name": "Bob",
                "job_number": "",
                "mobile": "13900000002",
                "dept_id_list": [1, 10],
            },
            "ding-eve": {
                "userid": "ding-eve",
                "unionid": "un-eve",
                "name": "Eve",
                "job_number": "X9",
                "mobile": "13900000099",
                "dept_id_list": [11],
            },
        },
        departments=[
            {"dept_id": 10, "parent_id": 1, "name": "HR"},
            {"dept_id": 11, "parent_id": 10, "name": "HRBP"},
        ],
    )
    with Served(server.app()) as served:
        yield server, served.url


def im_settings(wecom_url: str, dingtalk_url: str) -> ImSettings:
    return ImSettings(
        wecom_api=wecom_url, wecom_oauth=wecom_url, dingtalk_api=dingtalk_url,
        dingtalk_oapi=dingtalk_url, dingtalk_login=dingtalk_url,
    )  # fmt: skip


@pytest.fixture
def settings(
    database_url: str, wecom: tuple[WeComServer, str], dingtalk: tuple[DingTalkServer, str]
) -> Settings:
    return replace(
        server_settings(database_url),
        master_keys=(MASTER_KEY,),
        im=im_settings(wecom[1], dingtalk[1]),
    )


@pytest.fixture
def keyring() -> KeyRing:
    return KeyRing([MASTER_KEY])


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
async def apps(database: Database, tenant: Tenant, keyring: KeyRing) -> None:
    """Both apps configured as on the contract servers; a clean token cache and mapping."""
    for table in ("im_tokens", "im_identities", "im_apps", "im_deliveries", "im_sync_runs"):
        await database.execute(f"DELETE FROM rapport.{table}")
    async with database.transaction() as conn:
        await set_app(
            conn, keyring, tenant_id=tenant.id, platform="wecom", corp_id=wecom_server.CORP_ID,
            agent_id=wecom_server.AGENT_ID, secret=wecom_server.SECRET,
            redirect_uris=["https://h5.acme.example/login"], link_base="https://h5.acme.example",
        )  # fmt: skip
        await set_app(
            conn, keyring, tenant_id=tenant.id, platform="dingtalk",
            corp_id=dingtalk_server.CORP_ID, app_key=dingtalk_server.APP_KEY,
            agent_id=dingtalk_server.AGENT_ID, secret=dingtalk_server.APP_SECRET,
            redirect_uris=["https://h5.acme.example/login"], link_base="https://h5.acme.example",
        )  # fmt: skip
