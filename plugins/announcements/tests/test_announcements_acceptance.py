"""Acceptance over HTTP with a real worker: an announcement to one department and the
departments below it reaches exactly their employees, receipts and reminders work, an edit
starts a new revision, and an audience of nobody is refused."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import httpx
import pytest
from rapport_announcements import plugin as announcements_plugin
from rapport_org import plugin as org_plugin
from tests.erm_support import ErmTenant, GraphQLFailed, gql, setup_tenant, subscribe_transitions
from tests.jobs.support import WorkerProcess, eventually
from tests.notify.receiver import Receiver

from rapport.composition import KERNEL
from rapport.db.database import Database
from rapport.settings import Settings
from rapport.workflow.sla import sweep_sla

HR = "u-hr"
SALES, EAST, FINANCE = "u-sales-1", "u-east-1", "u-fin-1"
EAST_2 = "u-east-2"

CREATE = """mutation($i: AnnouncementCreateInput!) { createAnnouncement(input: $i) { id } }"""
UPDATE = """mutation($id: ID!, $i: AnnouncementUpdateInput!) {
  updateAnnouncement(id: $id, input: $i) { id revision } }"""
TRANSITION = """mutation($id: ID!, $t: String!) { transitionAnnouncement(id: $id, transition: $t) { state } }"""
RECEIPTS = """query($id: ID!) { announcementReceipts(where: {announcementId: {_eq: $id}}, first: 100) {
  edges { node { id userId revision status readAt acknowledgedAt } } } }"""
MINE = """{ announcementReceipts { edges { node { id status announcement { title translations
  attachments { edges { node { file { name } } } } } } } } }"""
ATTACH = """mutation($i: AnnouncementAttachmentCreateInput!) {
  createAnnouncementAttachment(input: $i) { id } }"""
FILES = "{ announcementAttachments { edges { node { id } } } }"
READ = """mutation($id: ID!, $t: String!) { transitionAnnouncementReceipt(id: $id, transition: $t) { state } }"""
STATS = """query($id: ID!, $r: Int) { announcementStatistics(id: $id, revision: $r) {
  revision departments { department recipients read acknowledged } } }"""


@pytest.fixture(scope="module")
async def erm(database: Database) -> ErmTenant:
    erm = await setup_tenant(database, [org_plugin, announcements_plugin], "ann")
    sales = await erm.create("org/department", {"name": "Sales"})
    east = await erm.create("org/department", {"name": "Sales East", "parentId": sales})
    finance = await erm.create("org/department", {"name": "Finance"})
    for name, user, department in [
        ("Zhao", SALES, sales), ("Qian", EAST, east), ("Sun", EAST_2, east),
        ("Li", FINANCE, finance), ("Zhou", None, sales),  # Zhou cannot sign in: no receipt
    ]:  # fmt: skip
        record = {"name": name, "departmentId": department}
        await erm.create("org/employee", {**record, "userId": user} if user else record)
    return erm


async def _department(erm: ErmTenant, name: str) -> str:
    found: str = await erm.db.fetchval(
        f'SELECT id::text FROM "tenant_{erm.slug}".org_department WHERE name = $1', name
    )
    return found


async def _inbox(erm: ErmTenant, link: str) -> list[tuple[str, str]]:
    rows = await erm.db.fetch(
        f'SELECT recipient, title FROM "tenant_{erm.slug}".core_notification WHERE link = $1 '
        "ORDER BY recipient, created_at",
        link,
    )
    return [(r["recipient"], r["title"]) for r in rows]


async def test_an_audience_of_nobody_is_refused_at_publish(
    erm: ErmTenant, settings: Settings, client: httpx.AsyncClient
) -> None:
    # given a draft to a department whose only employee is excluded
    hr = erm.token(settings, HR, "hr")
    finance = await _department(erm, "Finance")
    fin_employee = await erm.db.fetchval(
        f'SELECT id::text FROM "tenant_{erm.slug}".org_employee WHERE user_id = $1', FINANCE
    )
    audience = {"departments": [finance], "excludeEmployees": [fin_employee]}
    created = await gql(
        client, CREATE, {"i": {"title": "Budget", "body": "…", "audience": audience}}, token=hr
    )
    announcement = created["createAnnouncement"]["id"]

    # when HR publishes it, then it is refused with what to fix, and nothing changed
    with pytest.raises(GraphQLFailed) as refused:
        await gql(client, TRANSITION, {"id": announcement, "t": "publish"}, token=hr)
    assert refused.value.codes == ["VALIDATION_FAILED"]
    assert "the audience resolves to nobody" in str(refused.value)
    status = await erm.db.fetchval(
        f'SELECT status FROM "tenant_{erm.slug}".announcements_announcement WHERE id = $1::uuid',
        announcement,
    )
    assert status == "draft"
    assert await _inbox(erm, f"announcements/{announcement}") == []


async def test_a_department_announcement_reaches_exactly_its_people_with_receipts_and_reminders(
    erm: ErmTenant,
    settings: Settings,
    client: httpx.AsyncClient,
    database_url: str,
    clean_redis: str,
    tmp_path: Path,
) -> None:
    hr = erm.token(settings, HR, "hr")
    sales = await _department(erm, "Sales")
    with Receiver() as hooks, WorkerProcess(database_url, tmp_path, redis_url=clean_redis):
        await subscribe_transitions(erm, hooks.url + "/hook")
        # given a must-acknowledge announcement to Sales (and so Sales East), in two languages
        created = await gql(
            client,
            CREATE,
            {"i": {"title": "新差旅政策", "body": "自六月起生效。", "mustAcknowledge": True,
                   "remindAfterDays": 2, "pinned": True, "audience": {"departments": [sales]},
                   "translations": {"en": {"title": "New travel policy", "body": "From June."}}}},
            token=hr,
        )  # fmt: skip
        announcement = created["createAnnouncement"]["id"]

        # when HR publishes it
        published = await gql(client, TRANSITION, {"id": announcement, "t": "publish"}, token=hr)
        assert published["transitionAnnouncement"]["state"] == "published"

        # then exactly the employees of Sales and Sales East who can sign in got it in-app
        link = f"announcements/{announcement}"
        inbox = await _inbox(erm, link)
        assert sorted(r for r, _ in inbox) == sorted([SALES, EAST, EAST_2])
        assert {t for _, t in inbox} == {"公告 / Announcement: 新差旅政策"}
        # and the worker delivered the publish to the subscribed webhook
        await eventually(lambda: _count(hooks.received, 1), timeout=30)
        assert hooks.received[0].json()["data"]["transition"] == "publish"

        # and an attachment added by HR is readable by recipients only
        file = {"key": "a/policy.pdf", "name": "policy.pdf", "size": 1024,
                "contentType": "application/pdf"}  # fmt: skip
        await gql(client, ATTACH, {"i": {"announcementId": announcement, "file": file}}, token=hr)

        # when one reads and acknowledges, another only reads, and Finance looks for it
        receipts = {}
        for user in (SALES, EAST, FINANCE):
            mine = await gql(client, MINE, token=erm.token(settings, user, "employee"))
            receipts[user] = [e["node"] for e in mine["announcementReceipts"]["edges"]]
        assert receipts[FINANCE] == []
        attachments = receipts[SALES][0]["announcement"]["attachments"]["edges"]
        assert [a["node"]["file"]["name"] for a in attachments] == ["policy.pdf"]
        finance_files = await gql(client, FILES, token=erm.token(settings, FINANCE, "employee"))
        assert finance_files["announcementAttachments"]["edges"] == []
        assert receipts[SALES][0]["announcement"]["translations"]["en"]["title"] == (
            "New travel policy"
        )
        sales_token, east_token = (erm.token(settings, u, "employee") for u in (SALES, EAST))
        for token, receipt, steps in [
            (sales_token, receipts[SALES][0]["id"], ("read", "acknowledge")),
            (east_token, receipts[EAST][0]["id"], ("read",)),
        ]:
            for step in steps:
                await gql(client, READ, {"id": receipt, "t": step}, token=token)
        # and one may not mark someone else's receipt
        with pytest.raises(GraphQLFailed):
            await gql(client, READ, {"id": receipts[SALES][0]["id"], "t": "read"}, token=east_token)

        # then the receipts say who read and acknowledged, and when
        stored = await gql(client, RECEIPTS, {"id": announcement}, token=hr)
        by_user = {e["node"]["userId"]: e["node"] for e in stored["announcementReceipts"]["edges"]}
        assert {u: r["status"] for u, r in by_user.items()} == {
            SALES: "acknowledged",
            EAST: "read",
            EAST_2: "unread",
        }
        assert by_user[SALES]["readAt"] and by_user[SALES]["acknowledgedAt"]
        assert by_user[EAST_2]["readAt"] is None
        stats = await gql(client, STATS, {"id": announcement}, token=hr)
        assert stats["announcementStatistics"]["departments"] == [
            {"department": "Sales", "recipients": 1, "read": 1, "acknowledged": 1},
            {"department": "Sales East", "recipients": 2, "read": 1, "acknowledged": 0},
        ]

        # when the reminder time passes (2 working days; the worker's SLA sweep runs)
        later = dt.datetime.now(dt.UTC) + dt.timedelta(days=20)
        await sweep_sla(erm.db, later, participants=KERNEL.participants)

        # then the one who did not read and the one who did not acknowledge are reminded
        reminded = {
            user: await _inbox(erm, f"announcementReceipt/{by_user[user]['id']}")
            for user in (SALES, EAST, EAST_2)
        }
        assert reminded == {
            SALES: [],
            EAST: [(EAST, "请确认您已阅读的公告 / Please acknowledge the announcement you read")],
            EAST_2: [(EAST_2, "您有一条公告尚未阅读 / You have an unread announcement")],
        }

        # when HR edits the published announcement
        edited = await gql(
            client, UPDATE, {"id": announcement, "i": {"body": "自七月起生效。"}}, token=hr
        )
        assert edited["updateAnnouncement"]["revision"] == 2

    # then the old receipts are kept and the same people have new, unread ones
    stored = await gql(client, RECEIPTS, {"id": announcement}, token=hr)
    nodes = [e["node"] for e in stored["announcementReceipts"]["edges"]]
    first = {n["userId"]: n["status"] for n in nodes if n["revision"] == 1}
    second = {n["userId"]: n["status"] for n in nodes if n["revision"] == 2}
    assert first == {SALES: "acknowledged", EAST: "read", EAST_2: "unread"}
    assert second == {SALES: "unread", EAST: "unread", EAST_2: "unread"}
    old = await erm.db.fetchrow(
        f'SELECT revision, body FROM "tenant_{erm.slug}".announcements_announcement_revision '
        "WHERE announcement_id = $1::uuid",
        announcement,
    )
    assert old is not None and (old["revision"], old["body"]) == (1, "自六月起生效。")
    stats = await gql(client, STATS, {"id": announcement, "r": 1}, token=hr)
    assert stats["announcementStatistics"]["revision"] == 1


async def _count(received: list[object], n: int) -> bool:
    return len(received) >= n
