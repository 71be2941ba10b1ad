"""No side doors: a row outside the role's rule and a field it cannot read have no observable
effect — through `_every`/`_some`/`_none`, upsert and unique conflicts, computed fields and
subscription events (issue 21's leak probes, each reproduced here)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from graphql import GraphQLNonNull

from rapport.db.database import Database
from rapport.graphql.events import Event
from rapport.graphql.executor import TenantApi
from rapport.graphql.subscriptions import _Subscription, plan_subscription
from rapport.metadata.bundle import TenantMetadata, compile_tenant
from rapport.principal import Principal
from tests.auth.permissions import conftest as world
from tests.auth.permissions.conftest import ADMIN, ANN, HRBP, MANAGER, TENANT, code_of, run, uid

# The HR world plus a unique login, a bonus hidden from the hrbp, a masked ssn and computed
# booleans over both.
_ENTITIES = copy.deepcopy(world.ENTITIES)
_EMPLOYEE = next(e for e in _ENTITIES if e["$id"] == "hr/employee")
_EMPLOYEE["properties"]["login"]["x-unique"] = True
_EMPLOYEE["properties"]["bonus"] = {"type": "integer"}
_EMPLOYEE["properties"]["ssn"] = {"type": "string"}
_EMPLOYEE["properties"]["hasBigBonus"] = {"type": "boolean", "x-computed": {"bonus": {"_gt": 1000}}}
_EMPLOYEE["properties"]["ssnEndsIn1"] = {"type": "boolean", "x-computed": {"ssn": {"_like": "%1"}}}
_EMPLOYEE["properties"]["named"] = {"type": "boolean", "x-computed": {"name": {"_is_null": False}}}

_PERMISSIONS = copy.deepcopy(world.PERMISSIONS)
for _rule in _PERMISSIONS:
    if _rule["$id"] == "perm/hrbp-employees":
        _rule["fields"] = {
            "read": [
                *("id", "name", "department", "login", "note", "salary", "ssn"),
                *("hasBigBonus", "ssnEndsIn1", "named", "createdAt"),
            ],
            "mask": ["salary", "note", "ssn"],
        }
    if _rule["$id"] == "perm/employee-assignments":
        _rule["where"] = {"employee": {"login": {"_eq": "$user.id"}}}  # one's own links only
    if _rule["$id"] == "perm/hrbp-employee-edit":
        _rule["fields"] = {"write": ["name", "department", "note", "login"]}


@pytest.fixture(scope="module")
def metadata() -> TenantMetadata:
    return compile_tenant(world.documents(_ENTITIES, _PERMISSIONS))


@pytest.fixture(scope="module")
async def bonuses(seeded: Database) -> Database:
    table = world.qualified(world.SCHEMA, "hr_employee")
    for n, bonus, ssn in [(1, 5000, "111-01"), (2, 10, "222-02"), (3, 9000, "333-01")]:
        await seeded.execute(
            f"UPDATE {table} SET bonus = $1, ssn = $2 WHERE id = $3", bonus, ssn, uid("employee", n)
        )
    return seeded


def _names(result: dict[str, Any], field: str) -> list[str]:
    assert "errors" not in result, result
    return [edge["node"]["name"] for edge in result["data"][field]["edges"]]


# -- _every / _some / _none range over visible rows only ------------------------------------------


EMPLOYEES_WHERE = "query($w: EmployeeWhere) { employees(where: $w) { edges { node { name } } } }"
DEPARTMENTS_WHERE = (
    "query($w: DepartmentWhere) { departments(where: $w) { edges { node { name } } } }"
)


@pytest.mark.parametrize(
    "inner", [{"anonymous": {"_eq": False}}, {}, {"title": {"_is_null": False}}]
)
async def test_every_ignores_complaints_whose_submitter_the_role_cannot_see(
    api: TenantApi, seeded: Database, inner: dict[str, Any]
) -> None:
    # given: the hrbp sees Ann and Ben; Ann's complaint 2 and Ben's only complaint 3 are
    # anonymous, so their submitter is hidden and they are nobody's complaints for the hrbp
    # when
    where = {"complaints": {"_every": inner}}
    result = await run(api, seeded, EMPLOYEES_WHERE, HRBP, {"w": where})
    # then: an always-true predicate under _every keeps everybody: nobody is singled out
    assert _names(result, "employees") == ["Ann", "Ben"]


async def test_every_over_employees_outside_the_row_rule_is_vacuous(
    api: TenantApi, seeded: Database
) -> None:
    # given: the hrbp sees only Sales's employees; R&D has Cai and Legal has Dee
    # when
    where = {"employees": {"_every": {"name": {"_eq": "nobody"}}}}
    result = await run(api, seeded, DEPARTMENTS_WHERE, HRBP, {"w": where})
    # then: R&D and Legal have no employee the hrbp may see, exactly like an empty department
    assert _names(result, "departments") == ["R&D", "Legal"]


@pytest.mark.parametrize(
    ("quantifier", "expected"), [("_some", ["Sales"]), ("_none", ["R&D", "Legal"])]
)
async def test_some_and_none_count_visible_employees_only(
    api: TenantApi, seeded: Database, quantifier: str, expected: list[str]
) -> None:
    # when
    where = {"employees": {quantifier: {}}}
    result = await run(api, seeded, DEPARTMENTS_WHERE, HRBP, {"w": where})
    # then
    assert _names(result, "departments") == expected


@pytest.mark.parametrize(
    "where",
    [
        {"projects": {"_every": {"name": {"_eq": "Apollo"}}}},
        {"projects": {"_none": {"name": {"_eq": "Borealis"}}}},
    ],
)
async def test_many_to_many_quantifiers_range_over_visible_links(
    api: TenantApi, seeded: Database, where: dict[str, Any]
) -> None:
    # given: an employee sees its own assignments only; Cai and Dee work on Borealis
    # when
    result = await run(api, seeded, EMPLOYEES_WHERE, ANN, {"w": where})
    admin = await run(api, seeded, EMPLOYEES_WHERE, ADMIN, {"w": where})
    # then: for Ann nobody else has a project, so nobody is singled out
    assert _names(result, "employees") == ["Ann", "Ben", "Cai", "Dee", "Eli"]
    assert _names(admin, "employees") == ["Ann", "Ben", "Eli"]
    some = await run(api, seeded, EMPLOYEES_WHERE, ANN, {"w": {"projects": {"_some": {}}}})
    assert _names(some, "employees") == ["Ann"]


# -- upsert and unique conflicts on hidden rows ---------------------------------------------------


UPSERT = """mutation($input: EmployeeCreateInput!) {
  upsertEmployee(input: $input, onConflict: login) { id name } }"""
CREATE = "mutation($input: EmployeeCreateInput!) { createEmployee(input: $input) { id name } }"


async def test_upsert_on_the_key_of_a_hidden_row_answers_a_conflict_without_its_id(
    api: TenantApi, seeded: Database
) -> None:
    # given: Cai (login cai) is in R&D, outside the hrbp's rule
    sales = uid("department", 1)
    # when
    input = {"name": "Intruder", "login": "cai", "departmentId": sales}
    result = await run(api, seeded, UPSERT, HRBP, {"input": input})
    # then: a conflict, as a create would get; neither Cai's id nor anything of Cai
    assert code_of(result) == "CONSTRAINT_VIOLATION", result
    text = json.dumps(result)
    assert uid("employee", 3) not in text and "Cai" not in text
    created = await run(api, seeded, CREATE, HRBP, {"input": input})
    assert code_of(created) == "CONSTRAINT_VIOLATION"
    assert result["errors"][0]["message"] == created["errors"][0]["message"]
    # and nothing changed
    assert (
        await seeded.fetchval(
            f"SELECT name FROM {world.qualified(world.SCHEMA, 'hr_employee')} WHERE login = 'cai'"
        )
        == "Cai"
    )


async def test_upsert_on_a_visible_row_still_updates_it(api: TenantApi, seeded: Database) -> None:
    # when: Ben is in Sales
    input = {"name": "Ben", "login": "ben", "departmentId": uid("department", 1), "note": "ok"}
    result = await run(api, seeded, UPSERT, HRBP, {"input": input})
    # then
    assert result == {"data": {"upsertEmployee": {"id": uid("employee", 2), "name": "Ben"}}}


async def test_unique_violation_on_a_hidden_row_reveals_only_the_clash(
    api: TenantApi, seeded: Database
) -> None:
    # when
    input = {"name": "Twin", "login": "cai", "departmentId": uid("department", 1)}
    result = await run(api, seeded, CREATE, HRBP, {"input": input})
    # then: which of the role's own inputs clashes, nothing of the other record
    error = result["errors"][0]
    assert error["extensions"]["code"] == "CONSTRAINT_VIOLATION"
    assert error["extensions"]["fields"] == ["login"]
    assert error["extensions"]["paths"] == [["input", "login"]]
    assert uid("employee", 3) not in json.dumps(result) and "R&D" not in json.dumps(result)


# -- computed fields ------------------------------------------------------------------------------


COMPUTED = "{ employees { edges { node { name hasBigBonus ssnEndsIn1 named } } } }"


async def test_computed_fields_over_hidden_or_masked_fields_are_not_readable(
    api: TenantApi, bonuses: Database
) -> None:
    # when: the hrbp cannot read bonus and sees ssn masked
    result = await run(api, bonuses, COMPUTED, HRBP)
    # then: the booleans over them read null; one over a readable field reads as usual
    assert "errors" not in result, result
    rows = [edge["node"] for edge in result["data"]["employees"]["edges"]]
    assert rows == [
        {"name": "Ann", "hasBigBonus": None, "ssnEndsIn1": None, "named": True},
        {"name": "Ben", "hasBigBonus": None, "ssnEndsIn1": None, "named": True},
    ]


async def test_computed_fields_follow_row_dependent_field_rules(
    api: TenantApi, bonuses: Database
) -> None:
    # when: an employee reads bonus and ssn on its own record only
    result = await run(api, bonuses, COMPUTED, ANN)
    rows = {e["node"]["name"]: e["node"] for e in result["data"]["employees"]["edges"]}
    # then
    assert rows["Ann"] == {"name": "Ann", "hasBigBonus": True, "ssnEndsIn1": True, "named": True}
    assert rows["Cai"]["hasBigBonus"] is None and rows["Cai"]["ssnEndsIn1"] is None
    # and the admin reads them all
    admin = await run(api, bonuses, COMPUTED, ADMIN)
    cai = next(e["node"] for e in admin["data"]["employees"]["edges"] if e["node"]["name"] == "Cai")
    assert cai == {"name": "Cai", "hasBigBonus": True, "ssnEndsIn1": True, "named": True}


async def test_filtering_on_a_computed_field_over_a_hidden_field_is_forbidden(
    api: TenantApi, bonuses: Database
) -> None:
    # when
    where = {"hasBigBonus": {"_eq": True}}
    result = await run(api, bonuses, EMPLOYEES_WHERE, HRBP, {"w": where})
    # then
    assert code_of(result) == "FORBIDDEN"


def test_the_schema_says_what_a_computed_field_reads(api: TenantApi) -> None:
    # when
    field = api.schema.get_type("Employee").fields["hasBigBonus"]  # type: ignore[union-attr]
    # then: nullable (null where not readable) and the reason in its description
    assert not isinstance(field.type, GraphQLNonNull)
    assert "bonus" in (field.description or "")
    assert "Readable only where" in (field.description or "")


# -- subscription events --------------------------------------------------------------------------


async def _event(
    api: TenantApi, db: Database, principal: Principal, query: str, n: int
) -> dict[str, Any] | None:
    plan, document = plan_subscription(api, query, None, None)
    subscription = _Subscription(api, db, principal, plan, document)
    return await subscription.result(Event(TENANT, "hr/employee", uid("employee", n), "update"))


@pytest.mark.parametrize(
    "query",
    [
        "subscription { employeeChanged { action id } }",
        "subscription { employeeChanged { id record { name } } }",
        "subscription { employeeChanged { __typename } }",
    ],
)
async def test_change_events_are_filtered_by_the_row_rule(
    api: TenantApi, seeded: Database, query: str
) -> None:
    # when: Cai (R&D) changes; the hrbp sees Sales only, the manager no employee at all
    hidden_to_hrbp = await _event(api, seeded, HRBP, query, 3)
    hidden_to_manager = await _event(api, seeded, MANAGER, query, 1)
    shown_to_hrbp = await _event(api, seeded, HRBP, query, 1)
    shown_to_admin = await _event(api, seeded, ADMIN, query, 3)
    # then
    assert hidden_to_hrbp is None
    assert hidden_to_manager is None
    assert shown_to_hrbp is not None and shown_to_admin is not None
