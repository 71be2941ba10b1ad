"""Permission documents compile with the tenant's metadata: every problem reported at once."""

from __future__ import annotations

from typing import Any

import pytest

from rapport.auth.permissions import authorize, read_policy
from rapport.auth.permissions.enforcer import build_enforcer
from rapport.errors import Forbidden, MetadataInvalid
from rapport.expr.ast import TRUE
from rapport.metadata.bundle import compile_tenant
from rapport.metadata.documents import documents_from_json
from rapport.principal import Principal
from tests.auth.permissions.conftest import (
    ADMIN,
    ANN,
    ENTITIES,
    HRBP,
    MANAGER,
    PERMISSIONS,
    TENANT,
    documents,
)


def _problems(*permissions: dict[str, Any]) -> list[tuple[str, str, str]]:
    with pytest.raises(MetadataInvalid) as raised:
        compile_tenant(documents(ENTITIES, list(permissions)))
    return [(p.document, p.pointer, p.message) for p in raised.value.problems]


def test_every_problem_of_every_document_is_reported() -> None:
    # given
    bad = [
        {"$id": "p/entity", "role": "r", "entity": "hr/nothing", "actions": ["read"]},
        {"$id": "p/action", "role": "r", "entity": "hr/employee", "actions": ["fly"]},
        {
            "$id": "p/fields",
            "role": "r",
            "entity": "hr/employee",
            "actions": ["read", "update"],
            "fields": {"read": ["name", "wage"], "write": ["createdAt"], "mask": ["nope"]},
        },
        {
            "$id": "p/where",
            "role": "r",
            "entity": "hr/employee",
            "actions": ["read"],
            "where": {"salary": {"_like": "x"}, "login": {"_eq": "$me"}},
        },
        {"$id": "p/admin", "role": "admin", "entity": "hr/employee", "actions": ["read"]},
        {
            "$id": "p/transition",
            "role": "r",
            "entity": "hr/complaint",
            "actions": ["transition:accept"],
        },
        {
            "$id": "p/hide",
            "role": "r",
            "entity": "hr/complaint",
            "actions": ["read"],
            "hide": ["submitter"],
        },
        {
            "$id": "p/write",
            "role": "r",
            "entity": "hr/complaint",
            "actions": ["read"],
            "fields": {"write": ["title"]},
        },
    ]
    # when
    problems = _problems(*bad)
    # then
    by_document: dict[str, list[str]] = {}
    for document, pointer, _ in problems:
        by_document.setdefault(document, []).append(pointer)
    assert by_document == {
        "p/entity": ["/entity"],
        "p/action": ["/actions/0"],
        "p/fields": ["/fields/read/1", "/fields/write/0", "/fields/mask/0"],
        "p/where": ["/where/salary/_like", "/where/login/_eq"],
        "p/admin": ["/role"],
        "p/transition": ["/actions"],
        "p/hide": [""],
        "p/write": ["/fields/write"],
    }


def test_the_fixture_documents_compile() -> None:
    # when
    metadata = compile_tenant(documents())
    # then
    assert len(metadata.permissions.rules) == len(PERMISSIONS)
    assert {r.role for r in metadata.permissions.rules} == {"employee", "hrbp", "manager"}


def test_casbin_decides_role_entity_action_per_tenant() -> None:
    # given
    metadata = compile_tenant(documents())
    enforcer = build_enforcer(metadata.permissions.rules, TENANT)
    # then
    assert enforcer.enforce("hrbp", TENANT, "hr/complaint", "update")
    assert not enforcer.enforce("hrbp", TENANT, "hr/complaint", "delete")
    assert not enforcer.enforce("hrbp", "other", "hr/complaint", "update")
    assert not enforcer.enforce("employee", TENANT, "hr/complaint", "aggregate")


def test_authorize() -> None:
    # given
    metadata = compile_tenant(documents())
    # then
    authorize(ADMIN, metadata, "hr/complaint", "delete")
    authorize(MANAGER, metadata, "hr/complaint", "aggregate")
    with pytest.raises(Forbidden):
        authorize(MANAGER, metadata, "hr/complaint", "read")
    with pytest.raises(Forbidden):
        authorize(Principal(None, "ops", frozenset({"operator"})), metadata, "hr/complaint", "read")
    other_tenant = Principal("other", "x", frozenset({"hrbp"}))
    authorize(other_tenant, metadata, "hr/complaint", "update")  # its own domain's rules


def test_read_policy_is_the_reusable_compiled_form() -> None:
    # given
    metadata = compile_tenant(documents())
    # when
    admin = read_policy(ADMIN, metadata, "hr/employee")
    employee = read_policy(ANN, metadata, "hr/employee")
    hrbp = read_policy(HRBP, metadata, "hr/employee", "export")
    # then: admins read everything; the employee all rows, salary only on its own row
    assert admin is None
    assert employee is not None and employee.row == TRUE
    assert employee.access("name").always
    assert not employee.access("salary").always and not employee.access("salary").never
    stats = read_policy(MANAGER, metadata, "hr/complaint", "aggregate")
    assert stats is not None and stats.access("severity").always and stats.access("title").never
    # no rule grants export to the hrbp
    assert hrbp is not None and hrbp.fields.keys() == {"id"} and hrbp.row != TRUE
    assert read_policy(ANN, metadata, "hr/employee") is employee  # cached per role set


def test_transition_actions_name_transitions_of_the_entity_workflow() -> None:
    # given: a ticket entity whose workflow has one transition, "close"
    ticket = {
        "$id": "hr/ticket",
        "type": "object",
        "properties": {"status": {"enum": ["open", "done"]}},
        "x-workflow": "hr/ticket-flow",
    }
    flow = {
        "$id": "hr/ticket-flow",
        "entity": "hr/ticket",
        "field": "status",
        "initial": "open",
        "states": {"open": {}, "done": {"final": True}},
        "transitions": [{"name": "close", "from": ["open"], "to": "done"}],
    }
    rule = {
        "$id": "p/ticket",
        "role": "agent",
        "entity": "hr/ticket",
        "actions": ["read", "transition:close", "transition:reopen", "transition:*"],
    }
    items = [
        *ENTITIES,
        ticket,
        {"kind": "workflow", "body": flow},
        {"kind": "permission", "body": rule},
    ]
    # when
    with pytest.raises(MetadataInvalid) as raised:
        compile_tenant(documents_from_json(items))
    # then: only the unknown transition is a problem
    assert [(p.document, p.pointer) for p in raised.value.problems] == [("p/ticket", "/actions/2")]
    assert "reopen" in raised.value.problems[0].message


def test_star_never_grants_a_sensitive_field_naming_it_does() -> None:
    # given an entity with an x-sensitive field and two rules: "*" and one naming the field
    payroll = {
        "$id": "pay/slip",
        "type": "object",
        "properties": {
            "month": {"type": "string"},
            "amount": {"type": "number", "x-sensitive": True},
        },
    }
    star = {"$id": "pay/star", "role": "clerk", "entity": "pay/slip", "actions": ["read"]}
    named = {
        "$id": "pay/named",
        "role": "payroll",
        "entity": "pay/slip",
        "actions": ["read"],
        "fields": {"read": ["month", "amount"]},
    }
    metadata = compile_tenant(
        documents_from_json([payroll, *({"kind": "permission", "body": p} for p in (star, named))])
    )
    clerk = Principal(tenant=TENANT, subject="c", roles=frozenset({"clerk"}))
    payroll_officer = Principal(tenant=TENANT, subject="p", roles=frozenset({"payroll"}))
    # when
    clerk_policy = read_policy(clerk, metadata, "pay/slip")
    officer_policy = read_policy(payroll_officer, metadata, "pay/slip")
    # then
    assert clerk_policy is not None and officer_policy is not None
    assert clerk_policy.access("month").always and clerk_policy.access("amount").never
    assert officer_policy.access("amount").always
