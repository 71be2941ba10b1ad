"""Channel preferences applied by ``notify`` to every notification, over real PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

import pytest

from rapport.auth.users import create_user
from rapport.composition import KERNEL
from rapport.db.database import Database
from rapport.db.tenants import Tenant
from rapport.errors import ValidationFailed
from rapport.notify import notify
from rapport.notify.preferences import (
    get_default,
    get_preference,
    route,
    set_default,
    set_preference,
)
from rapport.settings import IdentitySettings

IDENTITY = IdentitySettings.from_env({})


@pytest.fixture(scope="module")
async def people(database: Database, tenant: Tenant) -> dict[str, str]:
    ids = {}
    for login, roles in (("pref-ann", ["hr"]), ("pref-bob", ["hr"]), ("pref-cy", ["employee"])):
        user = await create_user(
            database, IDENTITY, tenant="acme", login=login, roles=roles, password=None,
            actor="test",
        )  # fmt: skip
        ids[login] = user.id
    return ids


@pytest.fixture(autouse=True)
async def _clean(database: Database, tenant: Tenant) -> None:
    await database.execute("DELETE FROM rapport.channel_preferences")
    await database.execute("DELETE FROM rapport.channel_defaults")
    await database.execute("DELETE FROM rapport.im_apps")
    await database.execute("DELETE FROM rapport.outbox")


async def _jobs(database: Database, topic: str) -> list[dict[str, Any]]:
    rows = await database.fetch(
        "SELECT payload FROM rapport.outbox WHERE topic = $1 ORDER BY created_at", topic
    )
    return [json.loads(r["payload"]) for r in rows]


async def _configure_apps(database: Database, tenant: Tenant) -> None:
    """Both platforms configured (a sealed placeholder: these tests send nothing)."""
    for platform in ("wecom", "dingtalk"):
        await database.execute(
            "INSERT INTO rapport.im_apps (tenant_id, platform, corp_id, agent_id, secret) "
            "VALUES ($1::uuid, $2, 'corp', 1, '\\x00')",
            tenant.id,
            platform,
        )


async def test_without_preferences_or_default_nothing_changes(
    database: Database, tenant: Tenant, people: dict[str, str]
) -> None:
    # given no tenant default and no preference
    ann = people["pref-ann"]
    # when a notification names no channels, and one names in-app and email
    default = await route(database, tenant.id, [ann], None)
    explicit = await route(database, tenant.id, [ann, "x@acme.example"], ["in_app", "email"])
    # then the first is in-app only and the second goes where it asked
    assert default.in_app == (ann,) and default.external == {}
    assert explicit.in_app == (ann, "x@acme.example")
    assert explicit.on("email") == (ann, "x@acme.example")


async def test_tenant_default_and_own_choice_decide_per_employee(
    database: Database, tenant: Tenant, people: dict[str, str]
) -> None:
    # given a tenant default of WeCom, and bob who chose DingTalk and email
    ann, bob, cy = people["pref-ann"], people["pref-bob"], people["pref-cy"]
    await set_default(database, tenant.id, ["wecom"])
    await set_preference(database, tenant.id, bob, ["dingtalk", "email", "in_app"])
    # when the tenant notifies all three without naming channels
    routing = await route(database, tenant.id, [ann, bob, cy], None)
    # then everyone has in-app; ann and cy WeCom (default), bob DingTalk and email (his choice)
    assert routing.in_app == (ann, bob, cy)
    assert routing.on("wecom") == (ann, cy)
    assert routing.on("dingtalk") == (bob,)
    assert routing.on("email") == (bob,)
    # and in-app is implied, never stored
    assert await get_preference(database, tenant.id, bob) == ("dingtalk", "email")
    assert await get_default(database, tenant.id) == ("wecom",)


async def test_explicit_channels_are_a_ceiling_preferences_narrow(
    database: Database, tenant: Tenant, people: dict[str, str]
) -> None:
    # given ann chose nothing beyond in-app (an empty choice), bob chose email
    ann, bob = people["pref-ann"], people["pref-bob"]
    await set_preference(database, tenant.id, ann, [])
    await set_preference(database, tenant.id, bob, ["email"])
    # when a plug-in asks for in-app and WeCom
    routing = await route(database, tenant.id, [ann, bob], ["in_app", "wecom"])
    # then both keep in-app, nobody gets WeCom, and bob's email is not added
    assert routing.in_app == (ann, bob)
    assert routing.external == {}


async def test_roles_expand_to_their_users_for_external_channels(
    database: Database, tenant: Tenant, people: dict[str, str]
) -> None:
    # given a WeCom default
    await set_default(database, tenant.id, ["wecom"])
    # when the hr role is notified
    routing = await route(database, tenant.id, ["role:hr"], None)
    # then in-app keeps one record for the role, WeCom reaches each hr user
    assert routing.in_app == ("role:hr",)
    assert set(routing.on("wecom")) == {people["pref-ann"], people["pref-bob"]}


async def test_notify_enqueues_app_messages_only_for_configured_platforms(
    database: Database, tenant: Tenant, people: dict[str, str]
) -> None:
    # given a default of WeCom and DingTalk, bob choosing DingTalk, and only a WeCom app
    ann, bob = people["pref-ann"], people["pref-bob"]
    await set_default(database, tenant.id, ["wecom", "dingtalk"])
    await set_preference(database, tenant.id, bob, ["dingtalk"])
    await database.execute(
        "INSERT INTO rapport.im_apps (tenant_id, platform, corp_id, agent_id, secret) "
        "VALUES ($1::uuid, 'wecom', 'corp', 1, '\\x00')",
        tenant.id,
    )
    # when a notification is sent without naming channels
    async with database.transaction() as conn:
        await notify(
            conn,
            participants=KERNEL.participants,
            tenant_id=tenant.id,
            recipients=[ann, bob],
            title="公告",
            body="b",
        )
    # then one WeCom job for ann (bob prefers DingTalk, which has no app), no robot job
    jobs = await _jobs(database, "notify.app")
    assert [(j["platform"], j["users"]) for j in jobs] == [("wecom", [ann])]
    assert jobs[0]["title"] == "公告"
    assert await _jobs(database, "notification.created") == []
    # when DingTalk is configured too, bob gets his job
    await database.execute("DELETE FROM rapport.im_apps")
    await database.execute("DELETE FROM rapport.outbox")
    await _configure_apps(database, tenant)
    async with database.transaction() as conn:
        await notify(
            conn,
            participants=KERNEL.participants,
            tenant_id=tenant.id,
            recipients=[ann, bob],
            title="t",
            body="b",
        )
    jobs = await _jobs(database, "notify.app")
    assert sorted((j["platform"], tuple(j["users"])) for j in jobs) == [
        ("dingtalk", (ann, bob)),
        ("wecom", (ann,)),
    ]


async def test_unknown_channels_are_refused_with_the_known_ones(
    database: Database, tenant: Tenant, people: dict[str, str]
) -> None:
    # when a preference names a channel that does not exist
    with pytest.raises(ValidationFailed) as raised:
        await set_preference(database, tenant.id, people["pref-ann"], ["sms"])
    # then the error names it and lists the known channels, and nothing was stored
    assert "sms" in str(raised.value.errors[0].message)
    assert "dingtalk" in raised.value.hint
    assert await get_preference(database, tenant.id, people["pref-ann"]) is None
