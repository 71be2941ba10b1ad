"""The shared access-token cache against the local WeCom and DingTalk servers."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from rapport.crypto.keys import KeyRing
from rapport.db.database import Database
from rapport.db.tenants import Tenant
from rapport.errors import PlatformError
from rapport.im.apps import credentials, platform_named
from rapport.im.platform import AppCredentials
from rapport.im.tokens import access_token, with_token
from rapport.im.wecom import WECOM
from rapport.settings import Settings
from tests.im.dingtalk_server import DingTalkServer
from tests.im.wecom_server import WeComServer

pytestmark = pytest.mark.usefixtures("apps")


async def _app(
    database: Database, keyring: KeyRing, tenant: Tenant, platform: str
) -> AppCredentials:
    async with database.acquire() as conn:
        found = await credentials(conn, keyring, tenant.id, platform)
    assert found is not None
    return found[1]


async def test_one_fetch_serves_every_caller_and_is_stored_sealed(
    database: Database, tenant: Tenant, keyring: KeyRing, http: httpx.AsyncClient,
    settings: Settings, wecom: tuple[WeComServer, str],
) -> None:  # fmt: skip
    # given the WeCom app and an empty cache
    server, _ = wecom
    app = await _app(database, keyring, tenant, "wecom")
    # when ten jobs ask at once, then another process (its own key ring) asks
    tokens = await asyncio.gather(
        *(access_token(database, keyring, http, settings.im, tenant.id, app) for _ in range(10))
    )
    later = await access_token(database, KeyRing([settings.master_keys[0]]), http, settings.im,
                               tenant.id, app)  # fmt: skip
    # then the platform was asked once, and everyone has that token
    assert server.gettoken_calls == 1
    assert set(tokens) == {later} and later in server.tokens
    # and the catalog holds it sealed, never in clear
    raw = await database.fetchval("SELECT token FROM rapport.im_tokens WHERE platform = 'wecom'")
    assert later.encode() not in bytes(raw)


async def test_an_expired_token_is_refreshed_and_the_call_retried_once(
    database: Database, tenant: Tenant, keyring: KeyRing, http: httpx.AsyncClient,
    settings: Settings, wecom: tuple[WeComServer, str], dingtalk: tuple[DingTalkServer, str],
) -> None:  # fmt: skip
    for server, platform in ((wecom[0], "wecom"), (dingtalk[0], "dingtalk")):
        # given a cached token the platform then expires early (errcode 42001)
        app = await _app(database, keyring, tenant, platform)
        first = await access_token(database, keyring, http, settings.im, tenant.id, app)
        server.expire_tokens()
        seen: list[str] = []

        async def departments(
            token: str, platform: str = platform, seen: list[str] = seen
        ) -> tuple[int, ...]:
            seen.append(token)
            return await platform_named(platform).departments(http, settings.im, token)

        # when a call is made with the cache
        found = await with_token(database, keyring, http, settings.im, tenant.id, app, departments)
        # then it was refused once, a new token fetched, and the retry succeeded
        assert found and seen[0] == first and seen[1] != first
        assert seen[1] == await access_token(database, keyring, http, settings.im, tenant.id, app)


async def test_a_token_near_its_expiry_is_replaced_before_use(
    database: Database, tenant: Tenant, keyring: KeyRing, http: httpx.AsyncClient,
    settings: Settings, wecom: tuple[WeComServer, str],
) -> None:  # fmt: skip
    # given a cached token that expires within the safety margin
    server, _ = wecom
    app = await _app(database, keyring, tenant, "wecom")
    first = await access_token(database, keyring, http, settings.im, tenant.id, app)
    await database.execute("UPDATE rapport.im_tokens SET expires_at = now() + interval '1 minute'")
    server.expire_tokens()
    # when a token is needed
    second = await access_token(database, keyring, http, settings.im, tenant.id, app)
    # then a new one was fetched
    assert second != first and server.gettoken_calls == 2


async def test_a_wrong_secret_or_a_platform_down_says_what_to_fix(
    database: Database, tenant: Tenant, keyring: KeyRing, http: httpx.AsyncClient,
    settings: Settings, wecom: tuple[WeComServer, str], dingtalk: tuple[DingTalkServer, str],
) -> None:  # fmt: skip
    # given apps whose secrets are wrong
    wrong = AppCredentials("wecom", "ww0123456789abcdef", "", 1000002, "not-the-secret")
    bad_key = AppCredentials("dingtalk", "dingcorp0123456789", "dingappkey12345678", 1, "nope")
    # when tokens are fetched
    with pytest.raises(PlatformError) as wecom_refused:
        await WECOM.fetch_token(http, settings.im, wrong)
    with pytest.raises(PlatformError) as dingtalk_refused:
        await access_token(database, keyring, http, settings.im, tenant.id, bad_key)
    # then the errors name the wrong setting, never the platform's raw message
    assert "secret is wrong" in wecom_refused.value.message
    assert wecom_refused.value.details["errcode"] == 40001
    assert "setImApp" in wecom_refused.value.hint
    assert "AppKey or AppSecret is wrong" in dingtalk_refused.value.message
    assert "invalid credential" not in wecom_refused.value.message
    # when the platform is down
    wecom[0].down = True
    app = await _app(database, keyring, tenant, "wecom")
    with pytest.raises(PlatformError) as down:
        await access_token(database, keyring, http, settings.im, tenant.id, app)
    # then it says so, as a retryable unreachability
    assert down.value.details.get("unreachable") is True
