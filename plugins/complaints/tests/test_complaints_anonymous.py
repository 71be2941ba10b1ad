"""The anonymous path: nothing a tenant admin can read links a complaint to its submitter."""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
from collections.abc import AsyncIterator

import pytest
from rapport_complaints import anonymous
from rapport_complaints import plugin as complaints_plugin
from rapport_org import plugin as org_plugin
from tests.erm_support import about_record, readable_rows

from rapport.audit.checkpoints import default_signer
from rapport.audit.held import release_held
from rapport.audit.verify import verify_log
from rapport.composition import KERNEL
from rapport.crypto.sealing import KeyRingSealers
from rapport.db.catalog import migrate
from rapport.db.database import Database
from rapport.errors import NotFound, ValidationFailed
from rapport.graphql.executor import build_tenant_api
from rapport.graphql.request import GraphQLRequest
from rapport.metadata.lifecycle import load_published
from rapport.metadata.tenants import create_tenant
from rapport.plugins import build_registry
from rapport.plugins.lifecycle import install
from rapport.plugins.subscriptions import assign_plan, put_plan
from rapport.principal import ADMIN_ROLE, Principal
from rapport.records.writer import RecordWriter

REGISTRY = build_registry([org_plugin, complaints_plugin])
SECRET_USER = "user-7f3a-secret"
# Catalog tables of other capabilities' write participants that still record exact times.
PARTICIPANT_TABLES = {
    "rapport.audit_entries",
    "rapport.outbox",
    "rapport.workflow_history",
    "rapport.workflow_deadlines",
}
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT(\d\d:\d\d:\d\d(?:\.\d+)?)")


@pytest.fixture(scope="module")
async def tenant(database: Database) -> AsyncIterator[tuple[Database, str]]:
    await migrate(database)
    slug = f"anon_{secrets.token_hex(4)}"
    await create_tenant(database, slug, actor="test")
    await put_plan(database, "erm", ["org", "complaints"])
    await assign_plan(database, slug, "erm", actor="test")
    await install(database, slug, "org", actor="test", registry=REGISTRY)
    await install(database, slug, "complaints", actor="test", registry=REGISTRY)
    yield database, slug


async def _writer(db: Database, slug: str) -> RecordWriter:
    tenant, metadata = await load_published(db, slug)
    return RecordWriter(
        tenant, metadata, participants=KERNEL.participants, sealers=KeyRingSealers()
    )


async def test_an_anonymous_complaint_leaves_no_link_to_its_submitter(
    tenant: tuple[Database, str],
) -> None:
    # given an employee linked to a platform user, who is signed in while submitting
    db, slug = tenant
    writer = await _writer(db, slug)
    admin = Principal(tenant=slug, subject="hr-admin", roles=frozenset({ADMIN_ROLE}))
    async with db.transaction() as conn:
        employee_id = await writer.create(
            conn,
            writer.metadata.model.entity("org/employee"),
            {"name": "Wang Fang", "userId": SECRET_USER, "externalId": "E-1"},
            principal=admin,
        )

    # when the complaint is submitted anonymously and information is added with the code
    async with db.transaction() as conn:
        code = await anonymous.submit(
            conn,
            writer,
            {"category": "manager", "title": "Shouting", "description": "In every meeting."},
        )
    async with db.transaction() as conn:
        await anonymous.add_information(conn, writer, code, "It happened again today.")

    # then no readable row names the user, the employee or the code (but the employee's own)
    tenant_id = writer.tenant.id
    rows = await readable_rows(db, slug, tenant_id)
    complaint = [j for t, j in rows if t.endswith("complaints_complaint")]
    assert len(complaint) == 1
    complaint_id = json.loads(complaint[0])["id"]
    for table, text in rows:
        if table.endswith(".org_employee") or about_record(text, employee_id):
            continue  # the employee's own record, its audit entry and its outbox event
        assert SECRET_USER not in text, table
        assert employee_id not in text, table
        assert code not in text, table
    # and every time stored with the complaint is cut to the day: no timing join (the tables of
    # the audit, outbox and workflow participants are checked by the next test)
    exact = _exact_times(rows, complaint_id)
    assert [t for t in exact if t not in PARTICIPANT_TABLES] == []
    stored = json.loads(complaint[0])
    assert stored["created_by"] == "anonymous"
    assert stored["submitter_id"] is None
    assert stored["follow_up_hash"] == anonymous.hash_code(code)

    # and the code gives the status and counts the submitter's notes
    async with db.transaction() as conn:
        status = await anonymous.follow_up(conn, writer, code)
    assert (status.status, status.notes) == ("submitted", 1)


async def test_the_audit_log_gives_no_timing_join(tenant: tuple[Database, str]) -> None:
    # given
    db, slug = tenant
    writer = await _writer(db, slug)
    before = await _log_size(db, writer.tenant.id)

    # when
    async with db.transaction() as conn:
        code = await anonymous.submit(
            conn, writer, {"category": "safety", "title": "Exit", "description": "Blocked."}
        )

    # then no audit entry, outbox event, workflow history or deadline of the complaint carries
    # an exact time or an actor
    rows = await readable_rows(db, slug, writer.tenant.id)
    complaint_id = next(
        json.loads(j)["id"]
        for t, j in rows
        if t.endswith("complaints_complaint") and anonymous.hash_code(code) in j
    )
    assert _exact_times(rows, complaint_id) == []
    mentioning = [(t, json.loads(j)) for t, j in rows if complaint_id in j]
    assert {t for t, _ in mentioning} >= {
        "rapport.audit_held",
        "rapport.outbox",
        "rapport.workflow_history",
        "rapport.workflow_deadlines",
    }
    for table, row in mentioning:
        assert row.get("actor") is None, table
        assert (row.get("payload") or {}).get("actor") is None, table
    # and the entry waits outside the log: the tenant's log did not grow
    assert await _log_size(db, writer.tenant.id) == before
    assert not await db.fetchval(
        "SELECT count(*) FROM rapport.audit_entries WHERE record_id = $1", complaint_id
    )


async def test_held_entries_join_the_log_the_next_day_in_random_order(
    tenant: tuple[Database, str],
) -> None:
    # given several anonymous complaints held today
    db, slug = tenant
    writer = await _writer(db, slug)
    for n in range(6):
        async with db.transaction() as conn:
            await anonymous.submit(
                conn, writer, {"category": "safety", "title": f"T{n}", "description": "x"}
            )
    held = await db.fetch("SELECT record_id FROM rapport.audit_held WHERE day = current_date")
    held_ids = {r["record_id"] for r in held}
    before = await _log_size(db, writer.tenant.id)

    # when the daily job runs today (nothing is due) and tomorrow
    today = dt.datetime.now(dt.UTC).date()
    assert await release_held(db, today=today) == 0
    released = await release_held(db, today=today + dt.timedelta(days=1))

    # then every held entry is in the tenant's log, at the day's midnight, without an actor,
    # right after what it logged before, and the holding table is empty
    assert released >= len(held_ids) >= 6
    entries = await db.fetch(
        "SELECT tenant_seq, at, actor, action, record_id, data FROM rapport.audit_entries "
        "WHERE tenant_id = $1::uuid AND tenant_seq > $2 ORDER BY tenant_seq",
        writer.tenant.id,
        before,
    )
    assert [e["tenant_seq"] for e in entries] == list(range(before + 1, before + released + 1))
    assert len(entries) == released
    assert held_ids <= {e["record_id"] for e in entries}
    midnight = dt.datetime.combine(today, dt.time(), dt.UTC)
    assert {(e["at"], e["actor"]) for e in entries} == {(midnight, None)}
    assert all(json.loads(e["data"])["via"] == "anonymous" for e in entries)
    assert not await db.fetchval("SELECT count(*) FROM rapport.audit_held")
    # and the log still verifies (hash chain and checkpoints)
    async with db.acquire() as conn:
        report = await verify_log(conn, default_signer())
    assert report.intact, report.problems


async def _log_size(db: Database, tenant_id: str) -> int:
    size = await db.fetchval(
        "SELECT seq FROM rapport.audit_tenant_heads WHERE tenant_id = $1::uuid", tenant_id
    )
    return int(size or 0)


def _exact_times(rows: list[tuple[str, str]], record_id: str) -> list[str]:
    """Tables of the rows mentioning ``record_id`` that hold a time finer than a day."""
    return sorted(
        {
            table
            for table, text in rows
            if record_id in text
            and any(not re.fullmatch(r"00:00:00(\.0+)?", t) for t in TIMESTAMP.findall(text))
        }
    )


async def test_a_wrong_code_finds_nothing_and_rating_waits_for_the_resolution(
    tenant: tuple[Database, str],
) -> None:
    db, slug = tenant
    writer = await _writer(db, slug)
    async with db.transaction() as conn:
        code = await anonymous.submit(
            conn, writer, {"category": "pay", "title": "Overtime", "description": "Unpaid."}
        )
    async with db.transaction() as conn:
        with pytest.raises(NotFound):
            await anonymous.follow_up(conn, writer, "A" * 32)
    async with db.transaction() as conn:
        with pytest.raises(ValidationFailed, match="not resolved"):
            await anonymous.rate(conn, writer, code, 4)
    async with db.transaction() as conn:
        with pytest.raises(ValidationFailed):
            await anonymous.submit(
                conn,
                writer,
                {"category": "pay", "title": "x", "description": "y", "submitter": "z"},
            )


async def test_the_graphql_fields_ignore_who_is_signed_in(tenant: tuple[Database, str]) -> None:
    # given the tenant's GraphQL API and a signed-in employee
    db, slug = tenant
    loaded, metadata = await load_published(db, slug)
    api = build_tenant_api(loaded, metadata, kernel=KERNEL)
    employee = Principal(tenant=slug, subject=SECRET_USER, roles=frozenset({"employee"}))

    # when the employee submits anonymously, adds information and asks for the status
    submitted = await api.execute(
        db,
        GraphQLRequest(
            "mutation($i: AnonymousComplaintInput!) "
            "{ submitAnonymousComplaint(input: $i) { followUpCode } }",
            variables={"i": {"category": "workload", "title": "Hours", "description": "Long."}},
        ),
        employee,
    )
    code = json.loads(submitted.body)["data"]["submitAnonymousComplaint"]["followUpCode"]
    added = await api.execute(
        db,
        GraphQLRequest(
            'mutation($c: String!) { addAnonymousComplaintInformation(code: $c, text: "More") }',
            variables={"c": code},
        ),
        employee,
    )
    status = await api.execute(
        db,
        GraphQLRequest(
            "query($c: String!) { anonymousComplaintStatus(code: $c) { status notes } }",
            variables={"c": code},
        ),
        employee,
    )

    # then
    assert json.loads(added.body) == {"data": {"addAnonymousComplaintInformation": True}}
    assert json.loads(status.body) == {
        "data": {"anonymousComplaintStatus": {"status": "submitted", "notes": 1}}
    }
    stored = await db.fetchrow(
        f'SELECT created_by, submitter_id FROM "tenant_{slug}".complaints_complaint '
        "WHERE follow_up_hash = $1",
        anonymous.hash_code(code),
    )
    assert stored is not None
    assert (stored["created_by"], stored["submitter_id"]) == ("anonymous", None)
    wrong = await api.execute(
        db,
        GraphQLRequest('{ anonymousComplaintStatus(code: "WRONG") { status } }'),
        employee,
    )
    # (the executor reports errors of contributed query fields as BAD_REQUEST for now)
    assert json.loads(wrong.body)["errors"][0]["message"] == "No complaint has this follow-up code."
