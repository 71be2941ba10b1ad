"""The compiled read path against a reference: the same rules evaluated in Python
(``rapport.expr.evaluate``) over every row, for every role, must give the same records and the
same field values as the one SQL statement does."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from rapport.auth.permissions.policy import MASK_TEXT
from rapport.auth.permissions.rules import Rule
from rapport.db.database import Database
from rapport.expr.evaluate import evaluate
from rapport.expr.variables import variables_for
from rapport.graphql.executor import TenantApi
from rapport.metadata.bundle import TenantMetadata
from rapport.principal import Principal
from tests.auth.permissions.conftest import ADMIN, ANN, CAI, HRBP, MANAGER, run

# entity, list field, fields compared, text fields (masked as "***"), relation context loaded
CASES = [
    (
        "hr/employee",
        "employees",
        ("id", "name", "email", "login", "salary", "note", "departmentId"),
        {"name", "email", "login", "note"},
        "department { name }",
    ),
    (
        "hr/complaint",
        "complaints",
        (
            "id",
            "title",
            "body",
            "category",
            "severity",
            "anonymous",
            "status",
            "createdBy",
            "submitterId",
        ),
        {"title", "body", "status", "createdBy"},
        "submitter { department { name } }",
    ),
]
_RELATION_IDS = {"departmentId": "department", "submitterId": "submitter"}


def _visible(rule: Rule, record: dict[str, Any], variables: dict[str, Any]) -> bool:
    return rule.where is None or evaluate(rule.where, record, variables)


def _shown(rule: Rule, name: str, record: dict[str, Any], variables: dict[str, Any]) -> bool:
    if not _visible(rule, record, variables):
        return False
    return not (
        name in rule.hide and rule.when is not None and evaluate(rule.when, record, variables)
    )


def reference(
    metadata: TenantMetadata,
    principal: Principal,
    entity: str,
    rows: list[dict[str, Any]],
    fields: tuple[str, ...],
    text: set[str],
) -> list[dict[str, Any]]:
    variables = variables_for(principal, now=dt.datetime.now(dt.UTC))
    rules = [
        r
        for r in metadata.permissions.rules
        if r.entity == entity and r.role in principal.roles and r.allows("read")
    ]
    expected = []
    for record in rows:
        if not any(_visible(r, record, variables) for r in rules):
            continue
        shaped: dict[str, Any] = {}
        for key in fields:
            name = _RELATION_IDS.get(key, key)
            value = record[key]
            if name == "id" or any(
                name in r.read and _shown(r, name, record, variables) for r in rules
            ):
                shaped[key] = value
            elif any(name in r.mask and _shown(r, name, record, variables) for r in rules):
                shaped[key] = MASK_TEXT if key in text and value is not None else None
            else:
                shaped[key] = None
        expected.append(shaped)
    return expected


@pytest.mark.parametrize("principal", [ANN, CAI, HRBP, MANAGER], ids=lambda p: p.subject)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c[1])
async def test_compiled_reads_equal_the_python_reference(
    api: TenantApi,
    seeded: Database,
    metadata: TenantMetadata,
    principal: Principal,
    case: tuple[str, str, tuple[str, ...], set[str], str],
) -> None:
    # given every row as the admin reads it, with what the rules look at
    entity, field, fields, text, context = case
    query = f"{{ {field}(first: 1000) {{ edges {{ node {{ {' '.join(fields)} {context} }} }} }} }}"
    everything = await run(api, seeded, query, ADMIN)
    rows = [e["node"] for e in everything["data"][field]["edges"]]
    assert rows, "the fixture has rows"
    # when
    compiled = await run(
        api,
        seeded,
        f"{{ {field}(first: 1000) {{ edges {{ node {{ {' '.join(fields)} }} }} }} }}",
        principal,
    )
    # then
    assert "errors" not in compiled
    got = [e["node"] for e in compiled["data"][field]["edges"]]
    assert got == reference(metadata, principal, entity, rows, fields, text)
