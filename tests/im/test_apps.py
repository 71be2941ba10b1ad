"""App configuration: validation that says what to fix, secrets sealed and never returned."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from rapport.auth.tokens import issue_token
from rapport.crypto.keys import KeyRing
from rapport.db.database import Database
from rapport.db.tenants import Tenant
from rapport.errors import ValidationFailed
from rapport.im.apps import credentials, set_app
from rapport.settings import Settings
from tests.im import dingtalk_server, wecom_server
from tests.live_server import LiveServer

SET_APP = """mutation($secret: String, $agent: String!) {
  setImApp(platform: "wecom", corpId: "ww0123456789abcdef", agentId: $agent, secret: $secret,
           redirectUris: ["https://h5.acme.example/login"], messageKind: "markdown") {
    platform corpId agentId secretSet messageKind redirectUris linkBy } }"""
APPS = "{ imApps { platform corpId appKey agentId secretSet updatedAt } }"


@pytest.fixture
def live(settings: Settings, tenant: Tenant) -> Iterator[LiveServer]:
    with LiveServer(settings) as server:
        yield server


def _graphql(live: LiveServer, query: str, roles: list[str], **variables: Any) -> dict[str, Any]:
    token = issue_token(live.settings, tenant="acme", subject="hr-admin", roles=roles)
    response = httpx.post(
        live.url + "/graphql", json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    )  # fmt: skip
    body: dict[str, Any] = response.json()
    return body


async def test_every_problem_is_reported_at_once_and_nothing_is_stored(
    database: Database, tenant: Tenant, keyring: KeyRing
) -> None:
    await database.execute("DELETE FROM rapport.im_apps")
    # when a DingTalk app is set with a WeCom corp id, no AppKey, a bad agent id and no secret
    with pytest.raises(ValidationFailed) as refused:
        async with database.transaction() as conn:
            await set_app(
                conn, keyring, tenant_id=tenant.id, platform="dingtalk",
                corp_id="ww0123456789abcdef", agent_id=0, secret=None,
                redirect_uris=["http://evil.example/cb"], link_by=["email"], message_kind="sms",
            )  # fmt: skip
    # then each field is named with what it should be
    problems = {e.path: e.message for e in refused.value.errors}
    assert "starts with ding" in problems[("corpId",)]
    assert "AppKey" in problems[("appKey",)]
    assert "positive" in problems[("agentId",)]
    assert "needs its secret" in problems[("secret",)]
    assert "https" in problems[("redirectUris", 0)]
    assert "employee_number" in problems[("linkBy", 0)]
    assert "card" in problems[("messageKind",)]
    # and nothing was stored
    assert await database.fetchval("SELECT count(*) FROM rapport.im_apps") == 0


async def test_secrets_are_sealed_at_rest_and_absent_from_every_answer(
    database: Database, tenant: Tenant, keyring: KeyRing, live: LiveServer
) -> None:
    await database.execute("DELETE FROM rapport.im_apps")
    # when an admin sets the WeCom app over GraphQL
    answer = _graphql(live, SET_APP, ["admin"], secret=wecom_server.SECRET, agent="1000002")
    # then the answer says a secret is set, and does not contain it
    assert "errors" not in answer, answer
    assert answer["data"]["setImApp"]["secretSet"] is True
    assert wecom_server.SECRET not in str(answer)
    # and the catalog holds it sealed (no clear text in any column)
    row = await database.fetchrow("SELECT * FROM rapport.im_apps WHERE platform = 'wecom'")
    assert all(wecom_server.SECRET.encode() not in (v if isinstance(v, bytes) else str(v).encode())
               for v in dict(row).values())  # fmt: skip
    # and it opens with the tenant's key
    async with database.acquire() as conn:
        found = await credentials(conn, keyring, tenant.id, "wecom")
    assert found is not None and found[1].secret == wecom_server.SECRET
    # when the app is changed without a secret, the stored one is kept
    answer = _graphql(live, SET_APP, ["admin"], secret=None, agent="1000003")
    assert answer["data"]["setImApp"]["agentId"] == "1000003"
    async with database.acquire() as conn:
        kept = await credentials(conn, keyring, tenant.id, "wecom")
    assert kept is not None and kept[1].secret == wecom_server.SECRET
    # and listing the apps shows no secret either
    listed = _graphql(live, APPS, ["admin"])
    assert listed["data"]["imApps"][0]["secretSet"] is True
    assert wecom_server.SECRET not in str(listed)


async def test_only_admins_manage_apps_and_bad_agent_ids_are_explained(
    database: Database, tenant: Tenant, live: LiveServer
) -> None:
    # when an employee tries to set an app, or an admin gives a non-numeric agent id
    employee = _graphql(live, SET_APP, ["employee"], secret=dingtalk_server.APP_SECRET, agent="1")
    admin = _graphql(live, SET_APP, ["admin"], secret="s", agent="one")
    # then the first is forbidden and the second says what the agent id is
    assert employee["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert admin["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert "AgentId" in admin["errors"][0]["message"]
