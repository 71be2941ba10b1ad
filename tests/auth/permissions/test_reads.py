"""Row and field rules on every read path: lists, single gets, nested relations both ways,
many-to-many, aggregates, filters, ordering and cursors — for each role of the HR tenant."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from rapport import telemetry
from rapport.db.database import Database
from rapport.graphql.executor import TenantApi
from rapport.principal import Principal
from tests.auth.permissions.conftest import (
    ADMIN,
    ANN,
    HRBP,
    MANAGER,
    code_of,
    run,
    uid,
)
from tests.live_server import server_settings

EMPLOYEES = "{ employees { totalCount edges { node { name salary note login } } } }"


def nodes(result: dict[str, object], field: str) -> list[dict[str, object]]:
    data = result["data"]
    assert isinstance(data, dict), result
    return [edge["node"] for edge in data[field]["edges"]]


# -- lists and field rules -----------------------------------------------------------------------


async def test_admin_reads_everything(api: TenantApi, seeded: Database) -> None:
    # when
    result = await run(api, seeded, EMPLOYEES, ADMIN)
    # then
    assert result["data"]["employees"]["totalCount"] == 5
    assert nodes(result, "employees")[0] == {
        "name": "Ann",
        "salary": "9000.00",
        "note": "top performer",
        "login": "ann",
    }


async def test_employee_sees_salary_only_on_its_own_record(
    api: TenantApi, seeded: Database
) -> None:
    # when
    result = await run(api, seeded, EMPLOYEES, ANN)
    # then: every employee in the directory, but salary, note and login only for Ann
    assert result["data"]["employees"]["totalCount"] == 5
    assert nodes(result, "employees") == [
        {"name": "Ann", "salary": "9000.00", "note": "top performer", "login": "ann"},
        {"name": "Ben", "salary": None, "note": None, "login": None},
        {"name": "Cai", "salary": None, "note": None, "login": None},
        {"name": "Dee", "salary": None, "note": None, "login": None},
        {"name": "Eli", "salary": None, "note": None, "login": None},
    ]


async def test_hrbp_sees_its_departments_with_masks(api: TenantApi, seeded: Database) -> None:
    # when
    result = await run(api, seeded, EMPLOYEES, HRBP)
    # then: Sales only; masked text is "***" where a value exists, masked numbers are null
    assert result["data"]["employees"]["totalCount"] == 2
    assert nodes(result, "employees") == [
        {"name": "Ann", "salary": None, "note": "***", "login": "ann"},
        {"name": "Ben", "salary": None, "note": None, "login": "ben"},
    ]


async def test_a_role_without_read_sees_no_records(api: TenantApi, seeded: Database) -> None:
    # when
    result = await run(api, seeded, EMPLOYEES, MANAGER)
    # then
    assert result == {"data": {"employees": {"totalCount": 0, "edges": []}}}


async def test_a_missing_user_attribute_is_null_and_matches_nothing(
    api: TenantApi, seeded: Database
) -> None:
    # given: an hrbp without the departments attribute
    bare = Principal(tenant=HRBP.tenant, subject="hrbp-2", roles=HRBP.roles)
    # when
    result = await run(api, seeded, EMPLOYEES, bare)
    # then: no error, no records
    assert result == {"data": {"employees": {"totalCount": 0, "edges": []}}}


async def test_conditional_visibility_hides_the_submitter_of_anonymous_complaints(
    api: TenantApi, seeded: Database
) -> None:
    # when
    query = (
        "{ complaints { edges { node { title body createdBy submitterId submitter { name } } } } }"
    )
    result = await run(api, seeded, query, HRBP)
    # then: Sales complaints; anonymous ones show no submitter (nor its id, nor createdBy)
    assert nodes(result, "complaints") == [
        {
            "title": "Overtime",
            "body": "***",
            "createdBy": "ann",
            "submitterId": uid("employee", 1),
            "submitter": {"name": "Ann"},
        },
        {
            "title": "Pay slip wrong",
            "body": "***",
            "createdBy": None,
            "submitterId": None,
            "submitter": None,
        },
        {
            "title": "Team lead",
            "body": "***",
            "createdBy": None,
            "submitterId": None,
            "submitter": None,
        },
    ]


# -- single gets ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("principal", "employee", "expected"),
    [
        (ANN, 2, {"name": "Ben", "salary": None}),
        (ANN, 1, {"name": "Ann", "salary": "9000.00"}),
        (HRBP, 3, None),  # R&D: outside the row rule, looks missing
        (MANAGER, 1, None),
    ],
)
async def test_single_get(
    api: TenantApi, seeded: Database, principal: object, employee: int, expected: object
) -> None:
    # when
    query = f'{{ employee(id: "{uid("employee", employee)}") {{ name salary }} }}'
    result = await run(api, seeded, query, principal)  # type: ignore[arg-type]
    # then
    assert result == {"data": {"employee": expected}}


async def test_a_complaint_of_someone_else_looks_missing(api: TenantApi, seeded: Database) -> None:
    # when
    query = f'{{ complaint(id: "{uid("complaint", 3)}") {{ title }} }}'
    result = await run(api, seeded, query, ANN)
    # then
    assert result == {"data": {"complaint": None}}


# -- nested relations ----------------------------------------------------------------------------


async def test_to_one_outside_the_target_row_rule_is_null(api: TenantApi, seeded: Database) -> None:
    # when: employees see departments other than Legal
    query = "{ employees { edges { node { name department { name } } } } }"
    result = await run(api, seeded, query, ANN)
    # then
    departments = {n["name"]: n["department"] for n in nodes(result, "employees")}
    assert departments == {
        "Ann": {"name": "Sales"},
        "Ben": {"name": "Sales"},
        "Cai": {"name": "R&D"},
        "Dee": None,
        "Eli": None,
    }


async def test_reverse_relation_lists_only_visible_children(
    api: TenantApi, seeded: Database
) -> None:
    # when
    query = "{ employees { edges { node { name complaints { totalCount edges { node { title } } } } } } }"
    by_role = {
        p.subject: {
            n["name"]: n["complaints"] for n in nodes(await run(api, seeded, query, p), "employees")
        }
        for p in (ANN, HRBP)
    }
    # then: Ann sees her own non-anonymous complaint under her record (the anonymous one's
    # submitter is hidden, so it is not listed under anybody); the hrbp likewise in Sales
    assert by_role["ann"]["Ann"] == {"totalCount": 1, "edges": [{"node": {"title": "Overtime"}}]}
    assert by_role["ann"]["Ben"] == {"totalCount": 0, "edges": []}
    assert by_role["hrbp-1"]["Ann"] == {
        "totalCount": 1,
        "edges": [{"node": {"title": "Overtime"}}],
    }
    assert by_role["hrbp-1"]["Ben"] == {"totalCount": 0, "edges": []}


async def test_reverse_relation_from_departments(api: TenantApi, seeded: Database) -> None:
    # when
    query = "{ departments { edges { node { name employees { totalCount } } } } }"
    result = await run(api, seeded, query, HRBP)
    # then: the hrbp reads every department but only Sales employees
    assert nodes(result, "departments") == [
        {"name": "Sales", "employees": {"totalCount": 2}},
        {"name": "R&D", "employees": {"totalCount": 0}},
        {"name": "Legal", "employees": {"totalCount": 0}},
    ]


async def test_many_to_many_through_readable_links_only(api: TenantApi, seeded: Database) -> None:
    # given
    query = (
        "{ employees { edges { node { name projects { totalCount edges { node { name } } } } } } }"
    )
    # when
    employee_view = nodes(await run(api, seeded, query, ANN), "employees")
    hrbp_view = nodes(await run(api, seeded, query, HRBP), "employees")
    # then: employees may read assignments and projects; the hrbp may read neither
    assert {n["name"]: n["projects"]["totalCount"] for n in employee_view} == {
        "Ann": 1,
        "Ben": 0,
        "Cai": 2,
        "Dee": 1,
        "Eli": 0,
    }
    assert all(n["projects"] == {"totalCount": 0, "edges": []} for n in hrbp_view)


# -- aggregates ----------------------------------------------------------------------------------


async def test_aggregates_apply_the_row_rule(api: TenantApi, seeded: Database) -> None:
    # given
    query = (
        "{ complaintsAggregate(groupBy: [category]) { count sum { severity } "
        "groups { key { category } count } } }"
    )
    # when
    hrbp = await run(api, seeded, query, HRBP)
    manager = await run(api, seeded, query, MANAGER)
    # then: the hrbp counts Sales complaints; the manager (aggregate only) counts all
    assert hrbp["data"]["complaintsAggregate"]["count"] == 3
    assert hrbp["data"]["complaintsAggregate"]["sum"] == {"severity": 12}
    assert manager["data"]["complaintsAggregate"] == {
        "count": 7,
        "sum": {"severity": 20},
        "groups": [
            {"key": {"category": "harassment"}, "count": 1},
            {"key": {"category": "manager"}, "count": 1},
            {"key": {"category": "pay"}, "count": 2},
            {"key": {"category": "workload"}, "count": 3},
        ],
    }


@pytest.mark.parametrize(
    ("principal", "query", "field"),
    [
        (ANN, "{ complaintsAggregate { count } }", None),  # no aggregate action
        (MANAGER, "{ complaintsAggregate(groupBy: [status]) { count } }", "status"),
        (MANAGER, "{ complaintsAggregate { max { createdAt } } }", "createdAt"),
        (MANAGER, '{ complaintsAggregate(where: {status: {_eq: "open"}}) { count } }', "status"),
        (HRBP, '{ complaintsAggregate(where: {body: {_eq: "x"}}) { count } }', "body"),
    ],
)
async def test_hidden_fields_cannot_be_aggregated(
    api: TenantApi, seeded: Database, principal: object, query: str, field: str | None
) -> None:
    # when
    result = await run(api, seeded, query, principal)  # type: ignore[arg-type]
    # then
    assert code_of(result) == "FORBIDDEN"
    if field is not None:
        assert result["errors"][0]["extensions"]["field"] == field


# -- filters, ordering, cursors ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("principal", "query", "field"),
    [
        (HRBP, '{ employees(where: {note: {_eq: "relocating"}}) { totalCount } }', "note"),
        (HRBP, "{ employees(where: {salary: {_gt: 1}}) { totalCount } }", "salary"),
        (HRBP, "{ employees(orderBy: [{note: ASC}]) { edges { cursor } } }", "note"),
        (ANN, '{ complaints(where: {status: {_eq: "x"}}) { totalCount } }', None),
        (
            HRBP,
            '{ departments(where: {employees: {_some: {note: {_eq: "x"}}}}) { totalCount } }',
            "note",
        ),
    ],
)
async def test_filters_and_order_on_unreadable_fields_are_forbidden(
    api: TenantApi, seeded: Database, principal: object, query: str, field: str | None
) -> None:
    # when
    result = await run(api, seeded, query, principal)  # type: ignore[arg-type]
    # then
    if field is None:  # status is readable for the employee: allowed
        assert "errors" not in result
        return
    assert code_of(result) == "FORBIDDEN"
    assert result["errors"][0]["extensions"]["field"] == field


async def test_filter_on_a_conditionally_visible_field_sees_only_visible_values(
    api: TenantApi, seeded: Database
) -> None:
    # when: salaries above 8000 — Cai earns 12000, but Ann may only see her own
    query = "{ employees(where: {salary: {_gt: 8000}}) { edges { node { name } } } }"
    above = nodes(await run(api, seeded, query, ANN), "employees")
    query = "{ employees(where: {salary: {_is_null: true}}) { edges { node { name } } } }"
    null = nodes(await run(api, seeded, query, ANN), "employees")
    # then: the filter matches what Ann sees, never a hidden value
    assert above == [{"name": "Ann"}]
    assert null == [{"name": "Ben"}, {"name": "Cai"}, {"name": "Dee"}, {"name": "Eli"}]


async def test_relation_filters_reach_only_readable_records(
    api: TenantApi, seeded: Database
) -> None:
    # when: employees whose department is Legal (which employees may not read)
    query = '{ employees(where: {department: {name: {_eq: "Legal"}}}) { totalCount } }'
    as_employee = await run(api, seeded, query, ANN)
    as_admin = await run(api, seeded, query, ADMIN)
    # then
    assert as_admin["data"]["employees"]["totalCount"] == 1
    assert as_employee["data"]["employees"]["totalCount"] == 0


async def test_cursors_hold_only_readable_order_values(api: TenantApi, seeded: Database) -> None:
    # given
    query = (
        "query($after: String) { employees(first: 2, after: $after, orderBy: [{name: ASC}]) "
        "{ pageInfo { hasNextPage endCursor } edges { cursor node { name } } } }"
    )
    # when
    first = await run(api, seeded, query, ANN)
    cursor = first["data"]["employees"]["pageInfo"]["endCursor"]
    second = await run(api, seeded, query, ANN, {"after": cursor})
    # then
    decoded = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    assert decoded == f'["Ben", "{uid("employee", 2)}"]'
    assert [n["name"] for n in nodes(second, "employees")] == ["Cai", "Dee"]


async def test_order_by_a_conditionally_visible_field_sorts_the_shown_values(
    api: TenantApi, seeded: Database
) -> None:
    # given: Ann sees only her own salary (Cai's 12000 is the largest)
    query = (
        "query($after: String) { employees(first: 2, after: $after, orderBy: [{salary: DESC}]) "
        "{ pageInfo { endCursor } edges { node { name salary } } } }"
    )
    # when
    first = await run(api, seeded, query, ANN)
    cursor = first["data"]["employees"]["pageInfo"]["endCursor"]
    rest = await run(api, seeded, query, ANN, {"after": cursor})
    last = await run(
        api, seeded, query, ANN, {"after": rest["data"]["employees"]["pageInfo"]["endCursor"]}
    )
    # then: hidden salaries sort as null (first, descending), the cursor holds null for them
    names = [n["name"] for r in (first, rest, last) for n in nodes(r, "employees")]
    assert names == ["Ben", "Cai", "Dee", "Eli", "Ann"]
    decoded = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    assert decoded == f'[null, "{uid("employee", 3)}"]'


# -- one statement per root field ----------------------------------------------------------------


@pytest.fixture(scope="module")
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    telemetry.setup(server_settings(None), exporter=exporter)
    yield exporter
    exporter.shutdown()


async def test_one_statement_per_root_field_with_permissions(
    api: TenantApi, seeded: Database, spans: InMemorySpanExporter
) -> None:
    # given a deep query over rule-guarded entities
    employee = uid("employee", 1)
    query = (
        """{
      employees(first: 10) { totalCount edges { cursor node { name salary note department {
        name employees(first: 5) { totalCount edges { node { name
          complaints(first: 5) { edges { node { title submitter { name } } } } } } } }
        projects(first: 5) { edges { node { name } } } } } }
      complaintsAggregate(groupBy: [category]) { count groups { key { category } count } }
      employee(id: "EMPLOYEE") { name salary }
    }"""
    ).replace("EMPLOYEE", employee)
    for principal in (ANN, HRBP):
        spans.clear()
        # when
        result = await run(api, seeded, query, principal)
        # then
        statements = [s for s in spans.get_finished_spans() if s.name.startswith("db ")]
        if principal is ANN:  # employees may not aggregate complaints: that field fails
            assert code_of(result) == "FORBIDDEN"
            assert len(statements) == 2
        else:
            assert "errors" not in result
            assert len(statements) == 3
