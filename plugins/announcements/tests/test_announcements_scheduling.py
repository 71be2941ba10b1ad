"""Scheduled announcements publish themselves at publishAt; an audience of nobody stops it."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from rapport_announcements import plugin as announcements_plugin
from rapport_org import plugin as org_plugin
from tests.erm_support import ErmTenant, GraphQLFailed, gql, setup_tenant

from rapport.composition import KERNEL
from rapport.db.database import Database
from rapport.settings import Settings
from rapport.workflow.sla import sweep_sla

HR, STAFF = "u-hr", "u-staff"
CREATE = """mutation($i: AnnouncementCreateInput!) { createAnnouncement(input: $i) { id } }"""
TRANSITION = """mutation($id: ID!, $t: String!) { transitionAnnouncement(id: $id, transition: $t) { state } }"""


@pytest.fixture(scope="module")
async def erm(database: Database) -> ErmTenant:
    erm = await setup_tenant(database, [org_plugin, announcements_plugin], "anns")
    ops = await erm.create("org/department", {"name": "Ops"})
    await erm.create("org/department", {"name": "Empty"})
    await erm.create("org/employee", {"name": "Staff", "userId": STAFF, "departmentId": ops})
    return erm


async def _department(erm: ErmTenant, name: str) -> str:
    found: str = await erm.db.fetchval(
        f'SELECT id::text FROM "tenant_{erm.slug}".org_department WHERE name = $1', name
    )
    return found


async def _state(erm: ErmTenant, announcement: str) -> tuple[str, int]:
    row = await erm.db.fetchrow(
        f'SELECT a.status, (SELECT count(*) FROM "tenant_{erm.slug}".announcements_announcement_receipt '
        f'AS r WHERE r.announcement_id = a.id) AS receipts FROM "tenant_{erm.slug}".announcements_announcement '
        "AS a WHERE a.id = $1::uuid",
        announcement,
    )
    assert row is not None
    return str(row["status"]), int(row["receipts"])


async def test_a_scheduled_announcement_publishes_itself_at_its_time(
    erm: ErmTenant, settings: Settings, client: httpx.AsyncClient
) -> None:
    hr = erm.token(settings, HR, "hr")
    publish_at = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    # given one scheduled announcement to Ops and one to a department with no one in it
    ids = []
    for department in ("Ops", "Empty"):
        audience = {"departments": [await _department(erm, department)]}
        input = {"title": f"To {department}", "body": "…", "audience": audience,
                 "publishAt": publish_at.isoformat()}  # fmt: skip
        ids.append((await gql(client, CREATE, {"i": input}, token=hr))["createAnnouncement"]["id"])
        await gql(client, TRANSITION, {"id": ids[-1], "t": "schedule"}, token=hr)
    ops, empty = ids
    # a schedule needs a time
    bare = await gql(client, CREATE, {"i": {"title": "t", "body": "b"}}, token=hr)
    with pytest.raises(GraphQLFailed, match="field publishAt must have a value"):
        await gql(client, TRANSITION, {"id": bare["createAnnouncement"]["id"], "t": "schedule"},
                  token=hr)  # fmt: skip

    # when the sweep runs before the time, nothing happens
    await sweep_sla(erm.db, publish_at - dt.timedelta(minutes=1), participants=KERNEL.participants)
    assert await _state(erm, ops) == ("scheduled", 0)

    # when it runs after the time
    await sweep_sla(erm.db, publish_at + dt.timedelta(minutes=1), participants=KERNEL.participants)

    # then the Ops announcement is published with its receipt, and the empty one stays
    # scheduled with the reason recorded on its timer
    assert await _state(erm, ops) == ("published", 1)
    assert await _state(erm, empty) == ("scheduled", 0)
    error = await erm.db.fetchval(
        "SELECT error FROM rapport.workflow_deadlines WHERE record_id = $1::uuid AND kind = 'timer'",
        empty,
    )
    assert "the audience resolves to nobody" in error
