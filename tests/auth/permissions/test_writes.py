"""The permission participant on every write: actions, writable fields, row rules before and
after the change, and invisible records that look missing."""

from __future__ import annotations

from typing import Any

from rapport.db.database import Database
from rapport.graphql.executor import TenantApi
from rapport.naming import qualified
from tests.auth.permissions.conftest import ADMIN, ANN, HRBP, MANAGER, SCHEMA, code_of, run, uid

CREATE = """mutation($input: ComplaintCreateInput!) {
  createComplaint(input: $input) { title createdBy submitterId } }"""
UPDATE = """mutation($id: ID!, $input: ComplaintUpdateInput!) {
  updateComplaint(id: $id, input: $input) { title status } }"""
DELETE = "mutation($id: ID!) { deleteComplaint(id: $id) }"
UPDATE_EMPLOYEE = """mutation($id: ID!, $input: EmployeeUpdateInput!) {
  updateEmployee(id: $id, input: $input) { name department { name } } }"""
CREATE_EMPLOYEE = """mutation($input: EmployeeCreateInput!) {
  createEmployee(input: $input) { name note } }"""


async def _complaint(db: Database, n: int) -> dict[str, Any]:
    row = await db.fetchrow(
        f"SELECT title, status, category FROM {qualified(SCHEMA, 'hr_complaint')} WHERE id = $1",
        uid("complaint", n),
    )
    assert row is not None
    return dict(row)


async def _employee_department(db: Database, n: int) -> str | None:
    value = await db.fetchval(
        f"SELECT department_id::text FROM {qualified(SCHEMA, 'hr_employee')} WHERE id = $1",
        uid("employee", n),
    )
    return None if value is None else str(value)


async def test_employee_creates_a_complaint_with_writable_fields(
    api: TenantApi, seeded: Database
) -> None:
    # when
    input = {"title": "Canteen", "category": "workload", "submitterId": uid("employee", 1)}
    result = await run(api, seeded, CREATE, ANN, {"input": input})
    # then: created by Ann, read back through her rules
    assert result == {
        "data": {
            "createComplaint": {
                "title": "Canteen",
                "createdBy": "ann",
                "submitterId": uid("employee", 1),
            }
        }
    }


async def test_a_field_outside_fields_write_is_forbidden(api: TenantApi, seeded: Database) -> None:
    # when
    input = {"title": "Sneaky", "category": "pay", "status": "closed"}
    result = await run(api, seeded, CREATE, ANN, {"input": input})
    # then
    assert code_of(result) == "FORBIDDEN"
    assert result["errors"][0]["extensions"]["path"] == ["input", "status"]
    count = await seeded.fetchval(
        f"SELECT count(*) FROM {qualified(SCHEMA, 'hr_complaint')} WHERE title = 'Sneaky'"
    )
    assert count == 0


async def test_an_action_not_granted_is_forbidden(api: TenantApi, seeded: Database) -> None:
    # when
    create = await run(api, seeded, CREATE, MANAGER, {"input": {"title": "x", "category": "pay"}})
    delete = await run(api, seeded, DELETE, MANAGER, {"id": uid("complaint", 7)})
    # then
    assert code_of(create) == "FORBIDDEN"
    assert code_of(delete) == "FORBIDDEN"
    assert (await _complaint(seeded, 7))["title"] == "Parking"


async def test_update_of_own_complaint_and_of_a_field_not_writable(
    api: TenantApi, seeded: Database
) -> None:
    # when
    ok = await run(api, seeded, UPDATE, ANN, {"id": uid("complaint", 1), "input": {"title": "OT"}})
    refused = await run(
        api, seeded, UPDATE, ANN, {"id": uid("complaint", 1), "input": {"category": "pay"}}
    )
    # then
    assert ok == {"data": {"updateComplaint": {"title": "OT", "status": "open"}}}
    assert code_of(refused) == "FORBIDDEN"
    assert refused["errors"][0]["extensions"]["path"] == ["input", "category"]
    assert (await _complaint(seeded, 1))["category"] == "workload"


async def test_an_invisible_record_looks_missing_to_update_and_delete(
    api: TenantApi, seeded: Database
) -> None:
    # given: complaint 3 is Ben's; a random id exists nowhere
    missing = "7f000000-0000-0000-0000-000000000001"
    for mutation, variables in (
        (UPDATE, {"input": {"title": "mine now"}}),
        (DELETE, {}),
    ):
        # when
        invisible = await run(api, seeded, mutation, ANN, {"id": uid("complaint", 3), **variables})
        absent = await run(api, seeded, mutation, ANN, {"id": missing, **variables})
        # then: the same code, and the same message but for the id
        assert code_of(invisible) == code_of(absent) == "NOT_FOUND"
        assert invisible["errors"][0]["message"].replace(uid("complaint", 3), "ID") == absent[
            "errors"
        ][0]["message"].replace(missing, "ID")
    assert (await _complaint(seeded, 3))["title"] == "Team lead"


async def test_visible_but_outside_the_update_rule_is_forbidden(
    api: TenantApi, seeded: Database
) -> None:
    # given: the hrbp moves Ann's complaint 2 to investigating (hrbp may write status)
    moved = await run(
        api, seeded, UPDATE, HRBP, {"id": uid("complaint", 2), "input": {"status": "investigating"}}
    )
    assert moved == {
        "data": {"updateComplaint": {"title": "Pay slip wrong", "status": "investigating"}}
    }
    # when: Ann may edit only her open complaints
    result = await run(
        api, seeded, UPDATE, ANN, {"id": uid("complaint", 2), "input": {"title": "again"}}
    )
    # then
    assert code_of(result) == "FORBIDDEN"
    assert (await _complaint(seeded, 2))["title"] == "Pay slip wrong"


async def test_a_record_cannot_be_moved_out_of_scope(api: TenantApi, seeded: Database) -> None:
    # given: the hrbp of Sales edits Ben (Sales)
    before = await _employee_department(seeded, 2)
    # when: moving Ben to R&D would take him out of the hrbp's departments
    moved = await run(
        api,
        seeded,
        UPDATE_EMPLOYEE,
        HRBP,
        {"id": uid("employee", 2), "input": {"departmentId": uid("department", 2)}},
    )
    renamed = await run(
        api, seeded, UPDATE_EMPLOYEE, HRBP, {"id": uid("employee", 2), "input": {"name": "Benny"}}
    )
    # then: the move is refused and rolled back; an edit inside the scope is fine
    assert code_of(moved) == "FORBIDDEN"
    assert await _employee_department(seeded, 2) == before
    assert renamed == {
        "data": {"updateEmployee": {"name": "Benny", "department": {"name": "Sales"}}}
    }


async def test_a_record_cannot_be_created_out_of_scope(api: TenantApi, seeded: Database) -> None:
    # when
    outside = await run(
        api,
        seeded,
        CREATE_EMPLOYEE,
        HRBP,
        {"input": {"name": "Out", "departmentId": uid("department", 3)}},
    )
    inside = await run(
        api,
        seeded,
        CREATE_EMPLOYEE,
        HRBP,
        {"input": {"name": "In", "departmentId": uid("department", 1), "note": "secret"}},
    )
    # then
    assert code_of(outside) == "FORBIDDEN"
    # the read-back goes through the hrbp's read rules too: note is masked
    assert inside == {"data": {"createEmployee": {"name": "In", "note": "***"}}}
    names = await seeded.fetch(
        f"SELECT name FROM {qualified(SCHEMA, 'hr_employee')} WHERE name IN ('Out', 'In')"
    )
    assert [r["name"] for r in names] == ["In"]


async def test_employee_deletes_only_its_own_open_complaints(
    api: TenantApi, seeded: Database
) -> None:
    # given: a new complaint of Ann's has no status, so it is not "open"
    created = await run(api, seeded, CREATE, ANN, {"input": {"title": "Tmp", "category": "pay"}})
    assert "errors" not in created
    fresh = await seeded.fetchval(
        f"SELECT id::text FROM {qualified(SCHEMA, 'hr_complaint')} WHERE title = 'Tmp'"
    )
    # when
    refused = await run(api, seeded, DELETE, ANN, {"id": fresh})
    deleted = await run(api, seeded, DELETE, ANN, {"id": uid("complaint", 1)})
    # then
    assert code_of(refused) == "FORBIDDEN"
    assert deleted == {"data": {"deleteComplaint": uid("complaint", 1)}}


async def test_admin_writes_anything(api: TenantApi, seeded: Database) -> None:
    # when
    result = await run(
        api, seeded, UPDATE, ADMIN, {"id": uid("complaint", 5), "input": {"category": "pay"}}
    )
    # then
    assert "errors" not in result
    assert (await _complaint(seeded, 5))["category"] == "pay"
