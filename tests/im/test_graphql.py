"""The tenant API of preferences, accounts, sync requests and the delivery log, over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from rapport.auth.tokens import issue_token
from rapport.db.database import Database
from rapport.db.tenants import Tenant
from rapport.settings import Settings
from tests.live_server import LiveServer

pytestmark = pytest.mark.usefixtures("apps")

MINE = "{ myChannelPreferences { channels followsDefault available } }"
SET_MINE = (
    "mutation($c: [String!]) { setMyChannelPreferences(channels: $c) { channels followsDefault } }"
)
DEFAULTS = "mutation($c: [String!]) { setChannelDefaults(channels: $c) }"
LINK = """mutation($u: ID!) { linkImIdentity(platform: "wecom", platformUserId: "wx-x", userId: $u) }"""
IDENTITIES = (
    """{ imIdentities(platform: "wecom", linked: true) { platformUserId userId linkedBy } }"""
)
UNLINK = """mutation { unlinkImIdentity(platform: "wecom", platformUserId: "wx-x") }"""
SYNC = """mutation { requestImDirectorySync(platform: "dingtalk") }"""
DELIVERIES = "{ imDeliveries { platform recipients sent unmappedUsers errcode error ok } }"


@pytest.fixture
def live(settings: Settings, tenant: Tenant) -> Iterator[LiveServer]:
    with LiveServer(settings) as server:
        yield server


def _call(
    live: LiveServer, query: str, subject: str, roles: list[str], **variables: Any
) -> dict[str, Any]:
    token = issue_token(live.settings, tenant="acme", subject=subject, roles=roles)
    response = httpx.post(live.url + "/graphql", json={"query": query, "variables": variables},
                          headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    body: dict[str, Any] = response.json()
    return body


async def test_employees_choose_their_channels_over_the_tenant_default(
    live: LiveServer, database: Database, users: dict[str, str]
) -> None:
    await database.execute("DELETE FROM rapport.channel_preferences")
    ann = users["E001"]
    # given an admin's default of WeCom (an employee may not set it)
    assert _call(live, DEFAULTS, "boss", ["admin"], c=["wecom"])["data"]["setChannelDefaults"] == [
        "wecom"
    ]
    refused = _call(live, DEFAULTS, ann, ["employee"], c=[])
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # then ann follows it
    assert _call(live, MINE, ann, ["employee"])["data"]["myChannelPreferences"] == {
        "channels": ["wecom"], "followsDefault": True, "available": ["email", "wecom", "dingtalk"],
    }  # fmt: skip
    # when she chooses DingTalk, then an unknown channel, then the default again
    chosen = _call(live, SET_MINE, ann, ["employee"], c=["dingtalk"])["data"][
        "setMyChannelPreferences"
    ]
    unknown = _call(live, SET_MINE, ann, ["employee"], c=["pager"])
    back = _call(live, SET_MINE, ann, ["employee"], c=None)["data"]["setMyChannelPreferences"]
    # then each answer says where she stands, and the unknown one is refused with the choices
    assert chosen == {"channels": ["dingtalk"], "followsDefault": False}
    assert unknown["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"
    assert "dingtalk" in unknown["errors"][0]["extensions"]["hint"]
    assert back == {"channels": ["wecom"], "followsDefault": True}


async def test_admins_link_accounts_request_syncs_and_read_the_log(
    live: LiveServer, database: Database, tenant: Tenant, users: dict[str, str]
) -> None:
    bob = users["bob@acme.example"]
    # when an admin links a WeCom account to bob by hand
    assert _call(live, LINK, "boss", ["admin"], u=bob)["data"]["linkImIdentity"] is True
    # then it is listed as linked by an admin
    listed = _call(live, IDENTITIES, "boss", ["admin"])["data"]["imIdentities"]
    assert {"platformUserId": "wx-x", "userId": bob, "linkedBy": "admin"} in listed
    # when it is unlinked, and a sync is requested
    assert _call(live, UNLINK, "boss", ["admin"])["data"]["unlinkImIdentity"] is True
    job = _call(live, SYNC, "boss", ["admin"])["data"]["requestImDirectorySync"]
    # then the sync is a job in the outbox
    assert (
        await database.fetchval("SELECT topic FROM rapport.outbox WHERE id = $1::uuid", job)
        == "im.sync"
    )
    # and the delivery log shows counts and codes, for admins only
    await database.execute(
        "INSERT INTO rapport.im_deliveries (tenant_id, outbox_id, platform, attempt, recipients, "
        "sent, unmapped_users, errcode, error, ok, duration_ms) VALUES ($1::uuid, $2::uuid, "
        "'wecom', 1, 2, 1, $3, NULL, NULL, true, 5)",
        tenant.id, job, [bob],
    )  # fmt: skip
    log = _call(live, DELIVERIES, "boss", ["admin"])["data"]["imDeliveries"]
    assert log[0] == {"platform": "wecom", "recipients": 2, "sent": 1, "unmappedUsers": [bob],
                      "errcode": None, "error": None, "ok": True}  # fmt: skip
    assert (
        _call(live, DELIVERIES, bob, ["employee"])["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    )
    # and linking to a user that does not exist says so
    missing = _call(live, LINK, "boss", ["admin"], u="00000000-0000-0000-0000-000000000000")
    assert missing["errors"][0]["extensions"]["code"] == "NOT_FOUND"
