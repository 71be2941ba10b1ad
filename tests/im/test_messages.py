"""Every message kind of both platforms, sent through their APIs to the local servers."""

from __future__ import annotations

import httpx
import pytest

from rapport.crypto.keys import KeyRing
from rapport.db.database import Database
from rapport.db.tenants import Tenant
from rapport.errors import PlatformError
from rapport.im.apps import credentials, platform_named
from rapport.im.platform import MESSAGE_KINDS, SendResult
from rapport.im.tokens import with_token
from rapport.settings import Settings
from tests.im.dingtalk_server import DingTalkServer
from tests.im.wecom_server import WeComServer

pytestmark = pytest.mark.usefixtures("apps")
LINK = "https://h5.acme.example/announcements/7"


async def _send(
    database: Database, keyring: KeyRing, http: httpx.AsyncClient, settings: Settings,
    tenant: Tenant, platform: str, to: list[str], kind: str, link: str | None = LINK,
) -> SendResult:  # fmt: skip
    chosen = platform_named(platform)
    async with database.acquire() as conn:
        found = await credentials(conn, keyring, tenant.id, platform)
    assert found is not None
    app = found[1]
    message = chosen.message(kind, "年度体检通知", "**请于周五前**完成预约。", link)
    return await with_token(
        database, keyring, http, settings.im, tenant.id, app,
        lambda token: chosen.send(http, settings.im, token, app, to, message),
    )  # fmt: skip


@pytest.mark.parametrize("kind", MESSAGE_KINDS)
async def test_wecom_accepts_every_kind(
    kind: str, database: Database, tenant: Tenant, keyring: KeyRing, http: httpx.AsyncClient,
    settings: Settings, wecom: tuple[WeComServer, str],
) -> None:  # fmt: skip
    # when a message of this kind goes to two members
    await _send(database, keyring, http, settings, tenant, "wecom", ["E001", "wx-bob"], kind)
    # then WeCom took it as the documented message type, with the app's agent id
    (message,) = wecom[0].messages
    expected = {"text": "text", "markdown": "markdown", "card": "textcard",
                "template_card": "template_card"}[kind]  # fmt: skip
    assert message["msgtype"] == expected and message["agentid"] == 1000002
    assert message["delivered"] == ["E001", "wx-bob"]
    assert "年度体检通知" in str(message[expected])


@pytest.mark.parametrize("kind", MESSAGE_KINDS)
async def test_dingtalk_accepts_every_kind(
    kind: str, database: Database, tenant: Tenant, keyring: KeyRing, http: httpx.AsyncClient,
    settings: Settings, dingtalk: tuple[DingTalkServer, str],
) -> None:  # fmt: skip
    # when a work notification of this kind goes to two members
    await _send(
        database, keyring, http, settings, tenant, "dingtalk", ["ding-ann", "ding-bob"], kind
    )
    # then DingTalk took it as the documented msgtype
    (message,) = dingtalk[0].messages
    expected = {"text": "text", "markdown": "markdown", "card": "action_card",
                "template_card": "action_card"}[kind]  # fmt: skip
    assert message["msg"]["msgtype"] == expected and message["userid_list"] == "ding-ann,ding-bob"


async def test_a_card_without_a_link_becomes_markdown(
    database: Database, tenant: Tenant, keyring: KeyRing, http: httpx.AsyncClient,
    settings: Settings, wecom: tuple[WeComServer, str],
) -> None:  # fmt: skip
    # when a card is sent with no link (WeCom's textcard requires a url)
    await _send(database, keyring, http, settings, tenant, "wecom", ["E001"], "card", link=None)
    # then it went as markdown
    assert wecom[0].messages[0]["msgtype"] == "markdown"


async def test_accounts_outside_the_visible_range_are_reported(
    database: Database, tenant: Tenant, keyring: KeyRing, http: httpx.AsyncClient,
    settings: Settings, wecom: tuple[WeComServer, str],
) -> None:  # fmt: skip
    # given an app visible to ann only
    wecom[0].visible = {"E001"}
    # when ann and bob are sent a message
    result = await _send(
        database, keyring, http, settings, tenant, "wecom", ["E001", "wx-bob"], "text"
    )
    # then bob is reported as refused
    assert result.rejected == ("wx-bob",)
    # when nobody in the message may receive it
    with pytest.raises(PlatformError) as refused:
        await _send(database, keyring, http, settings, tenant, "wecom", ["wx-bob"], "text")
    # then WeCom's 81013 is named, with what to change
    assert refused.value.details["errcode"] == 81013
    assert "visible range" in refused.value.hint
