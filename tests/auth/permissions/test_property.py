"""Property: what a role gets equals what the Python evaluator computes over only the rows and
fields it may see.

Hypothesis generates permission documents (a row rule and readable fields per entity, or no
document at all), data (departments, employees, complaints with small value domains so that
comparisons hit) and filters over every operator, logical combinator, a many-to-one relation, a
reverse relation under ``_some``/``_none``/``_every`` and a computed field. Each example runs
for real — compiled tenant API, PostgreSQL — on every read path: the list with ``totalCount``,
the aggregate count, single gets, a reverse connection's count, the computed field's value and
the subscription events. The reference builds the role's view of the data (visible rows only,
unreadable fields null, related records only where both sides are visible) and evaluates the
same filter on it with :func:`rapport.expr.evaluate.evaluate`.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from rapport.composition import KERNEL
from rapport.db.catalog import migrate
from rapport.db.database import Database
from rapport.db.tenants import get_tenant
from rapport.errors import RapportError
from rapport.expr.ast import Compare, Expr, Related
from rapport.expr.evaluate import evaluate
from rapport.expr.parse import parse_where
from rapport.graphql.events import Event
from rapport.graphql.executor import build_tenant_api
from rapport.graphql.request import GraphQLRequest
from rapport.graphql.subscriptions import _Subscription, plan_subscription
from rapport.metadata.bundle import TenantMetadata, compile_tenant
from rapport.metadata.ddl import create_model_ddl
from rapport.metadata.documents import documents_from_json
from rapport.metadata.tenants import create_tenant
from rapport.naming import qualified
from rapport.principal import Principal

TENANT = "prop"
SCHEMA = "tenant_prop"
ROLE = Principal(tenant=TENANT, subject="u1", roles=frozenset({"r"}))
EXAMPLES = int(os.environ.get("RAPPORT_PROPERTY_EXAMPLES", "30"))

ENTITIES: list[dict[str, Any]] = [
    {
        "$id": "hr/department",
        "type": "object",
        "properties": {"name": {"type": "string"}, "size": {"type": "integer"}},
    },
    {
        "$id": "hr/employee",
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "level": {"type": "integer"},
            "active": {"type": "boolean"},
            "department": {
                "type": "string",
                "format": "uuid",
                "x-relation": {"entity": "hr/department", "inverse": "employees"},
            },
            "senior": {"type": "boolean", "x-computed": {"level": {"_gte": 3}}},
        },
    },
    {
        "$id": "hr/complaint",
        "type": "object",
        "properties": {
            "title": {"type": "string"},
            "severity": {"type": "integer"},
            "anonymous": {"type": "boolean"},
            "submitter": {
                "type": "string",
                "format": "uuid",
                "x-relation": {"entity": "hr/employee", "inverse": "complaints"},
            },
        },
    },
]
FIELDS = {
    "hr/department": {"name": "string", "size": "integer"},
    "hr/employee": {"name": "string", "level": "integer", "active": "boolean"},
    "hr/complaint": {"title": "string", "severity": "integer", "anonymous": "boolean"},
}
RELATIONS = {"hr/employee": ["department", "senior"], "hr/complaint": ["submitter"]}
TABLES = {
    "hr/department": "hr_department",
    "hr/employee": "hr_employee",
    "hr/complaint": "hr_complaint",
}

# -- strategies ------------------------------------------------------------------------------------

texts = st.sampled_from(["a", "b", "ab", "B"])
numbers = st.integers(0, 4)


def _comparison(kind: str) -> st.SearchStrategy[dict[str, Any]]:
    if kind == "string":
        return st.one_of(
            st.builds(lambda v: {"_eq": v}, texts),
            st.builds(lambda v: {"_neq": v}, texts),
            st.builds(lambda v: {"_in": v}, st.lists(texts, max_size=2)),
            st.builds(lambda v: {"_nin": v}, st.lists(texts, max_size=2)),
            st.builds(lambda v: {"_is_null": v}, st.booleans()),
            st.builds(lambda v: {"_like": v + "%"}, texts),
            st.builds(lambda v: {"_ilike": v}, texts),
            st.builds(lambda v: {"_starts_with": v}, texts),
            st.builds(lambda v: {"_contains": v}, texts),
            st.builds(lambda v: {"_gt": v}, texts),
        )
    if kind == "integer":
        return st.one_of(
            st.builds(
                lambda op, v: {op: v},
                st.sampled_from(["_eq", "_neq", "_gt", "_gte", "_lt", "_lte"]),
                numbers,
            ),
            st.builds(lambda a, b: {"_between": [min(a, b), max(a, b)]}, numbers, numbers),
            st.builds(lambda v: {"_in": v}, st.lists(numbers, max_size=2)),
            st.builds(lambda v: {"_nin": v}, st.lists(numbers, max_size=2)),
            st.builds(lambda v: {"_is_null": v}, st.booleans()),
        )
    return st.one_of(
        st.builds(lambda v: {"_eq": v}, st.booleans()),
        st.builds(lambda v: {"_neq": v}, st.booleans()),
        st.builds(lambda v: {"_is_null": v}, st.booleans()),
    )


def _leaf(entity: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.sampled_from(sorted(FIELDS[entity].items())).flatmap(
        lambda item: _comparison(item[1]).map(lambda c: {item[0]: c})
    )


def _filter(entity: str, depth: int) -> st.SearchStrategy[dict[str, Any]]:
    options = [_leaf(entity), st.just({})]
    if depth > 0:
        inner = _filter(entity, depth - 1)
        options += [
            st.builds(lambda a, b: {"_and": [a, b]}, inner, inner),
            st.builds(lambda a, b: {"_or": [a, b]}, inner, inner),
            st.builds(lambda a: {"_not": a}, inner),
        ]
        if entity == "hr/employee":
            complaints = st.builds(
                lambda q, f: {"complaints": {q: f}},
                st.sampled_from(["_some", "_none", "_every"]),
                _filter("hr/complaint", depth - 1),
            )
            options += [
                _filter("hr/department", depth - 1).map(lambda f: {"department": f}),
                complaints,
                complaints,
                st.builds(lambda v: {"senior": {"_eq": v}}, st.booleans()),
            ]
        if entity == "hr/department":
            options.append(
                st.builds(
                    lambda q, f: {"employees": {q: f}},
                    st.sampled_from(["_some", "_none", "_every"]),
                    _filter("hr/employee", 0),
                )
            )
    return st.one_of(*options)


def _rule(entity: str) -> st.SearchStrategy[dict[str, Any] | None]:
    names = [*FIELDS[entity], *RELATIONS.get(entity, [])]
    document = st.fixed_dictionaries(
        # Often everything: a filter on a field readable nowhere is only FORBIDDEN.
        {
            "read": st.one_of(*[st.just(names)] * 3, st.lists(st.sampled_from(names), unique=True)),
            "where": st.one_of(_leaf(entity), _leaf(entity), st.just({})),
        }
    )
    # Mostly a document: hidden rows are where the side doors were.
    return st.one_of(st.none(), document, document, document)


def _rows(entity: str) -> st.SearchStrategy[list[dict[str, Any]]]:
    values = {
        "string": st.one_of(st.none(), texts),
        "integer": st.one_of(st.none(), numbers),
        "boolean": st.one_of(st.none(), st.booleans()),
    }
    row = st.fixed_dictionaries({n: values[k] for n, k in FIELDS[entity].items()})
    return st.lists(row, min_size=1, max_size=4)


world = st.fixed_dictionaries(
    {
        "rules": st.fixed_dictionaries({e: _rule(e) for e in FIELDS}),
        "departments": _rows("hr/department"),
        "employees": _rows("hr/employee"),
        "complaints": _rows("hr/complaint"),
        "links": st.lists(st.integers(-1, 3), min_size=8, max_size=8),
        # Relations under quantifiers are where rows are hidden: drawn as often as the rest.
        "filter": st.one_of(
            _filter("hr/employee", 2),
            *[
                st.builds(
                    lambda q, f: {"complaints": {q: f}},
                    st.sampled_from(["_some", "_none", "_every"]),
                    _filter("hr/complaint", 1),
                )
            ]
            * 3,
            _filter("hr/department", 1).map(lambda f: {"department": f}),
        ),
    }
)

# -- the world on the database ---------------------------------------------------------------------


def _id(kind: int, n: int) -> str:
    return str(uuid.UUID(f"{kind:08x}-0000-0000-0000-{n:012x}"))


def _metadata(rules: Mapping[str, Mapping[str, Any] | None]) -> TenantMetadata:
    items: list[Mapping[str, Any]] = [*ENTITIES]
    for n, (entity, rule) in enumerate(sorted(rules.items())):
        if rule is None:
            continue
        body: dict[str, Any] = {
            "$id": f"prop/rule-{n}",
            "role": "r",
            "entity": entity,
            "actions": ["read", "aggregate"],
            "fields": {"read": list(rule["read"])},
        }
        if rule.get("where"):
            body["where"] = rule["where"]
        items.append({"kind": "permission", "body": body})
    return compile_tenant(documents_from_json(items))


def _data(example: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The raw records, with ids and relations (links[i] picks a department / submitter)."""
    links = example["links"]
    departments = [{"id": _id(1, i), **r} for i, r in enumerate(example["departments"])]
    employees = []
    for i, r in enumerate(example["employees"]):
        pick = links[i]
        dept = departments[pick]["id"] if 0 <= pick < len(departments) else None
        employees.append({"id": _id(2, i), **r, "department": dept})
    complaints = []
    for i, r in enumerate(example["complaints"]):
        pick = links[4 + i]
        submitter = employees[pick]["id"] if 0 <= pick < len(employees) else None
        complaints.append({"id": _id(3, i), **r, "submitter": submitter})
    return {"hr/department": departments, "hr/employee": employees, "hr/complaint": complaints}


async def _load(db: Database, data: Mapping[str, list[dict[str, Any]]]) -> None:
    tables = ", ".join(qualified(SCHEMA, t) for t in TABLES.values())
    await db.execute(f"TRUNCATE {tables}")
    for entity in ("hr/department", "hr/employee", "hr/complaint"):
        for row in data[entity]:
            columns = {k: v for k, v in row.items() if k not in ("department", "submitter")}
            for relation in ("department", "submitter"):
                if relation in row:
                    columns[f"{relation}_id"] = (
                        None if row[relation] is None else uuid.UUID(row[relation])
                    )
            columns["id"] = uuid.UUID(row["id"])
            names = ", ".join(f'"{c}"' for c in columns)
            values = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
            await db.execute(
                f"INSERT INTO {qualified(SCHEMA, TABLES[entity])} ({names}) VALUES ({values})",
                *columns.values(),
            )


# -- the reference ---------------------------------------------------------------------------------


class Reference:
    """The role's view of the data, and the answers computed over it in Python."""

    def __init__(self, metadata: TenantMetadata, rules: Mapping[str, Any], data: Mapping[str, Any]):
        self.model = metadata.model
        self.rules = rules
        self.data = data
        self.visible = {e: [r for r in rows if self._row_visible(e, r)] for e, rows in data.items()}
        self.ids = {e: {r["id"] for r in rows} for e, rows in self.visible.items()}

    def readable(self, entity: str, name: str) -> bool:
        rule = self.rules[entity]
        if name == "id":
            return rule is not None
        if rule is None or name not in rule["read"]:
            return False
        if name == "senior":  # computed: only where what it reads is readable
            return "level" in rule["read"]
        return True

    def _row_visible(self, entity: str, row: Mapping[str, Any]) -> bool:
        rule = self.rules[entity]
        if rule is None:
            return False
        where = rule.get("where") or {}
        return evaluate(parse_where(where, self.model.entity(entity), self.model), row, {})

    def _department(self, row: Mapping[str, Any]) -> dict[str, Any]:
        view: dict[str, Any] = {"id": row["id"]}
        for name in FIELDS["hr/department"]:
            view[name] = row[name] if self.readable("hr/department", name) else None
        view["employees"] = [
            self.employee(e, nested=True)
            for e in self.visible["hr/employee"]
            if self.readable("hr/employee", "department") and e["department"] == row["id"]
        ]
        return view

    def _complaint(self, row: Mapping[str, Any]) -> dict[str, Any]:
        view = {"id": row["id"]}
        for name in FIELDS["hr/complaint"]:
            view[name] = row[name] if self.readable("hr/complaint", name) else None
        view["submitter"] = None
        return view

    def employee(self, row: Mapping[str, Any], *, nested: bool = False) -> dict[str, Any]:
        view: dict[str, Any] = {"id": row["id"]}
        for name in FIELDS["hr/employee"]:
            view[name] = row[name] if self.readable("hr/employee", name) else None
        department = next(
            (d for d in self.visible["hr/department"] if d["id"] == row["department"]), None
        )
        show = department is not None and self.readable("hr/employee", "department")
        view["department"] = None if nested or not show else self._department(department)
        view["complaints"] = [
            self._complaint(c)
            for c in self.visible["hr/complaint"]
            if self.readable("hr/complaint", "submitter") and c["submitter"] == row["id"]
        ]
        return view

    def forbidden(self, expr: Expr, entity: str) -> bool:
        """Whether the filter reads a field the role can read nowhere (answered FORBIDDEN)."""
        from rapport.expr.ast import And, Not, Or

        if isinstance(expr, And | Or):
            return any(self.forbidden(i, entity) for i in expr.items)
        if isinstance(expr, Not):
            return self.forbidden(expr.item, entity)
        if isinstance(expr, Compare):
            return not self.readable(entity, expr.field)
        assert isinstance(expr, Related)
        if expr.relation == "many_to_one":
            reach = self.readable(entity, expr.field)
        else:
            source_field = "submitter" if expr.target == "hr/complaint" else "department"
            reach = self.readable(expr.target, source_field)
        return not reach or self.forbidden(expr.inner, expr.target)

    def employees(self, where: Mapping[str, Any]) -> list[str] | None:
        """The ids the filter selects (id order), or None when it must be FORBIDDEN."""
        expr = parse_where(where, self.model.entity("hr/employee"), self.model)
        if self.forbidden(expr, "hr/employee"):
            return None
        return sorted(
            e["id"] for e in self.visible["hr/employee"] if evaluate(expr, self.employee(e), {})
        )


# The issue's probe: an always-true predicate under _every over partly hidden complaints.
ISSUE_EXAMPLE: dict[str, Any] = {
    "rules": {
        "hr/department": None,
        "hr/employee": {"read": ["name"]},
        "hr/complaint": {"read": ["submitter", "title"], "where": {"severity": {"_eq": 1}}},
    },
    "departments": [{"name": "a", "size": 1}],
    "employees": [
        {"name": "a", "level": 1, "active": True},
        {"name": "b", "level": 4, "active": None},
    ],
    "complaints": [
        {"title": "a", "severity": 1, "anonymous": False},
        {"title": "b", "severity": 2, "anonymous": True},
        {"title": "ab", "severity": 2, "anonymous": True},
    ],
    "links": [0, 0, 0, 0, 0, 0, 1, 0],
    "filter": {"complaints": {"_every": {}}},
}

# -- the property ----------------------------------------------------------------------------------

LIST = """query($w: EmployeeWhere) {
  employees(where: $w, first: 100) { totalCount edges { node { id name level senior } } } }"""
AGGREGATE = "query($w: EmployeeWhere) { employeesAggregate(where: $w) { count } }"
DEPARTMENTS = "{ departments(first: 100) { edges { node { id employees { totalCount } } } } }"
GET = "query($id: ID!) { employee(id: $id) { id name } }"


@pytest.fixture(scope="module")
async def prop_db(database: Database) -> Database:
    await migrate(database)
    await create_tenant(database, TENANT, actor="test")
    for statement in create_model_ddl(SCHEMA, _metadata({e: None for e in FIELDS}).model):
        await database.execute(statement)
    return database


async def _check(db: Database, example: Mapping[str, Any]) -> None:
    metadata = _metadata(example["rules"])
    data = _data(example)
    await _load(db, data)
    reference = Reference(metadata, example["rules"], data)
    api = build_tenant_api(await get_tenant(db, TENANT), metadata, kernel=KERNEL)
    try:

        async def ask(query: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
            outcome = await api.execute(db, GraphQLRequest(query, None, variables), ROLE)
            decoded: dict[str, Any] = json.loads(outcome.body)
            return decoded

        where = example["filter"]
        expected = reference.employees(where)
        got = await ask(LIST, {"w": where})
        if expected is None:
            assert got["errors"][0]["extensions"]["code"] == "FORBIDDEN", got
        else:
            assert "errors" not in got, got
            nodes = [e["node"] for e in got["data"]["employees"]["edges"]]
            assert [n["id"] for n in nodes] == expected, (where, got)
            assert got["data"]["employees"]["totalCount"] == len(expected)
            counted = await ask(AGGREGATE, {"w": where})
            if example["rules"]["hr/employee"] is None:
                assert counted["errors"][0]["extensions"]["code"] == "FORBIDDEN", counted
            else:
                assert counted["data"]["employeesAggregate"]["count"] == len(expected), counted
            raw = {e["id"]: e for e in data["hr/employee"]}
            for node in nodes:
                row = raw[node["id"]]
                name = row["name"] if reference.readable("hr/employee", "name") else None
                assert node["name"] == name
                senior = None
                if reference.readable("hr/employee", "senior"):
                    senior = row["level"] is not None and row["level"] >= 3
                assert node["senior"] == senior, (node, example["rules"])
        # single gets and change events: exactly the visible records
        for row in data["hr/employee"]:
            single = await ask(GET, {"id": row["id"]})
            assert (single["data"]["employee"] is not None) == (
                row["id"] in reference.ids["hr/employee"]
            ), single
            plan, document = plan_subscription(
                api, "subscription { employeeChanged { id } }", None, None
            )
            event = await _Subscription(api, db, ROLE, plan, document).result(
                Event(TENANT, "hr/employee", row["id"], "update")
            )
            assert (event is not None) == (row["id"] in reference.ids["hr/employee"])
        # a reverse connection counts visible children only
        departments = await ask(DEPARTMENTS)
        assert "errors" not in departments, departments
        by_id = {d["id"]: d for d in reference.visible["hr/department"]}
        for edge in departments["data"]["departments"]["edges"]:
            view = reference._department(by_id[edge["node"]["id"]])
            assert edge["node"]["employees"]["totalCount"] == len(view["employees"])
    finally:
        api.close()


async def test_answers_equal_the_evaluator_over_the_visible_data(prop_db: Database) -> None:
    loop = asyncio.get_running_loop()

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(world)
    @example(ISSUE_EXAMPLE)
    def property_holds(example: dict[str, Any]) -> None:
        try:
            metadata_ok = _metadata(example["rules"])
        except RapportError:  # pragma: no cover - every generated document is valid
            raise
        del metadata_ok
        asyncio.run_coroutine_threadsafe(_check(prop_db, example), loop).result(60)

    # Hypothesis drives the examples from a thread; each runs on this test's event loop.
    await asyncio.to_thread(property_holds)
