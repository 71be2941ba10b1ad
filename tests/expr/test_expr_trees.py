"""``_descendants_of``: parse errors, and SQL (recursive CTE) and Python agree on a small tree
that holds a cycle."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from rapport.db.database import Database
from rapport.errors import ValidationFailed
from rapport.expr import Descendants, ParamList, SqlContext, compile_sql, evaluate, parse_where
from rapport.expr.evaluate import tree_variable
from rapport.metadata.builder import compile_model
from rapport.metadata.ddl import create_model_ddl
from rapport.metadata.documents import documents_from_json
from rapport.metadata.ir import Model
from rapport.naming import qualified, quote_ident

SCHEMA = "tenant_exprtrees"


def _relation(entity: str, inverse: str) -> dict[str, Any]:
    return {
        "type": "string",
        "format": "uuid",
        "x-relation": {"entity": entity, "onDelete": "setNull", "inverse": inverse},
    }


DOCUMENTS = [
    {
        "$id": "lab/unit",
        "title": "Unit",
        "type": "object",
        "properties": {"name": {"type": "string"}, "parent": _relation("lab/unit", "children")},
    },
    {
        "$id": "lab/item",
        "title": "Item",
        "type": "object",
        "properties": {"name": {"type": "string"}, "node": _relation("lab/unit", "items")},
    },
    {
        "$id": "lab/graph",
        "title": "Graph",
        "type": "object",
        "properties": {
            "left": _relation("lab/graph", "leftOf"),
            "right": _relation("lab/graph", "rightOf"),
        },
    },
]
# name -> parent name: R > A > B, R > C; D alone; X <-> Y a cycle, Z below X.
TREE = {"R": None, "A": "R", "B": "A", "C": "R", "D": None, "X": "Y", "Y": "X", "Z": "X"}
IDS = {name: str(uuid.uuid5(uuid.NAMESPACE_URL, f"unit/{name}")) for name in TREE}
ITEMS = {f"item-{name}": name for name in TREE} | {"item-none": None}


def model() -> Model:
    return compile_model(documents_from_json(DOCUMENTS))


@pytest.fixture(scope="module")
async def db(database: Database) -> Database:
    await database.execute(f"CREATE SCHEMA {quote_ident(SCHEMA)}")
    for statement in create_model_ddl(SCHEMA, model()):
        await database.execute(statement)
    nodes = qualified(SCHEMA, "lab_unit")
    for name in TREE:  # parents afterwards: the cycle cannot be inserted in one go
        await database.execute(
            f"INSERT INTO {nodes} (id, name) VALUES ($1::uuid, $2)", IDS[name], name
        )
    for name, parent in TREE.items():
        await database.execute(
            f"UPDATE {nodes} SET parent_id = $2::uuid WHERE id = $1::uuid",
            IDS[name],
            None if parent is None else IDS[parent],
        )
    for item, node in ITEMS.items():
        await database.execute(
            f"INSERT INTO {qualified(SCHEMA, 'lab_item')} (id, name, node_id) "
            "VALUES (gen_random_uuid(), $1, $2::uuid)",
            item,
            None if node is None else IDS[node],
        )
    return database


VARIABLES: dict[str, Any] = {
    "user.id": "u-1",
    "user.roles": [],
    "user.departments": [IDS["C"], None],
    "user.departmentId": None,
    "user.home": IDS["A"],
    tree_variable("lab/unit"): {IDS[n]: (None if p is None else IDS[p]) for n, p in TREE.items()},
}


async def _agreed(db: Database, entity_id: str, doc: dict[str, Any]) -> list[str]:
    """The names both back ends select; fails when they differ."""
    m = model()
    entity = m.entity(entity_id)
    expr = parse_where(doc, entity, m)
    params = ParamList()
    where = compile_sql(expr, SqlContext(SCHEMA, "r", params, VARIABLES, m))
    rows = await db.fetch(
        f"SELECT r.id::text AS id, r.name, r.{'node_id' if entity.id == 'lab/item' else 'id'}"
        f"::text AS node FROM {qualified(SCHEMA, entity.table)} AS r",
    )
    in_sql = {
        r["name"]
        for r in await db.fetch(
            f"SELECT r.name FROM {qualified(SCHEMA, entity.table)} AS r WHERE {where}",
            *params.values,
        )
    }
    key = "nodeId" if entity.id == "lab/item" else "id"
    in_python = {
        r["name"] for r in rows if evaluate(expr, {key: r["node"], "name": r["name"]}, VARIABLES)
    }
    assert in_sql == in_python, doc
    return sorted(in_sql)


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ({"node": {"_descendants_of": IDS["R"]}}, ["item-A", "item-B", "item-C", "item-R"]),
        ({"nodeId": {"_descendants_of": IDS["A"]}}, ["item-A", "item-B"]),
        ({"node": {"_descendants_of": [IDS["A"], IDS["D"]]}}, ["item-A", "item-B", "item-D"]),
        ({"node": {"_descendants_of": IDS["B"]}}, ["item-B"]),
        ({"node": {"_descendants_of": IDS["X"]}}, ["item-X", "item-Y", "item-Z"]),  # cycle
        ({"node": {"_descendants_of": IDS["Y"]}}, ["item-X", "item-Y", "item-Z"]),
        ({"node": {"_descendants_of": []}}, []),
        ({"node": {"_descendants_of": "$user.departments"}}, ["item-C"]),
        ({"node": {"_descendants_of": "$user.home", "_via": "parent"}}, ["item-A", "item-B"]),
        ({"node": {"_descendants_of": "$user.departmentId"}}, []),
        (
            {"_not": {"node": {"_descendants_of": IDS["R"]}}},
            ["item-D", "item-X", "item-Y", "item-Z", "item-none"],
        ),
        (
            {"_or": [{"node": {"_descendants_of": IDS["D"]}}, {"name": {"_eq": "item-none"}}]},
            ["item-D", "item-none"],
        ),
    ],
)
async def test_sql_and_python_agree_on_items_in_a_subtree(
    db: Database, doc: dict[str, Any], expected: list[str]
) -> None:
    assert await _agreed(db, "lab/item", doc) == expected


async def test_the_tree_entity_filters_its_own_ids(db: Database) -> None:
    assert await _agreed(db, "lab/unit", {"id": {"_descendants_of": IDS["A"]}}) == ["A", "B"]
    assert await _agreed(db, "lab/unit", {"id": {"_descendants_of": IDS["Z"]}}) == ["Z"]


def test_the_parsed_node_names_the_tree_edge() -> None:
    m = model()
    expr = parse_where({"node": {"_descendants_of": IDS["R"]}}, m.entity("lab/item"), m)
    assert isinstance(expr, Descendants)
    assert (expr.field, expr.column, expr.tree, expr.edge, expr.edge_column) == (
        "nodeId",
        "node_id",
        "lab/unit",
        "parent",
        "parent_id",
    )


@pytest.mark.parametrize(
    ("entity", "doc", "path", "code"),
    [
        (
            "lab/item",
            {"id": {"_descendants_of": IDS["R"]}},
            "id/_descendants_of",
            "OPERATOR_NOT_ALLOWED",
        ),
        (
            "lab/graph",
            {"id": {"_descendants_of": IDS["R"]}},
            "id/_descendants_of",
            "AMBIGUOUS_TREE",
        ),
        (
            "lab/graph",
            {"id": {"_descendants_of": IDS["R"], "_via": "up"}},
            "id/_via",
            "INVALID_VALUE",
        ),
        ("lab/item", {"node": {"_descendants_of": "R"}}, "node/_descendants_of", "INVALID_VALUE"),
        (
            "lab/item",
            {"node": {"_descendants_of": [IDS["R"], 3]}},
            "node/_descendants_of/1",
            "INVALID_VALUE",
        ),
        ("lab/item", {"node": {"_descendants_of": None}}, "node/_descendants_of", "NULL_VALUE"),
        (
            "lab/item",
            {"node": {"_descendants_of": "$nope"}},
            "node/_descendants_of",
            "UNKNOWN_VARIABLE",
        ),
        (
            "lab/item",
            {"node": {"_descendants_of": IDS["R"], "_eq": IDS["R"]}},
            "node/_eq",
            "UNKNOWN_OPERATOR",
        ),
    ],
)
def test_bad_tree_filters_are_refused_at_their_path(
    entity: str, doc: dict[str, Any], path: str, code: str
) -> None:
    m = model()
    with pytest.raises(ValidationFailed) as failed:
        parse_where(doc, m.entity(entity), m)
    errors = [("/".join(map(str, e.path)), e.code) for e in failed.value.errors]
    assert errors == [(path, code)]


def test_the_graph_tree_edge_is_chosen_with_via() -> None:
    m = model()
    expr = parse_where(
        {"id": {"_descendants_of": IDS["R"], "_via": "right"}}, m.entity("lab/graph"), m
    )
    assert isinstance(expr, Descendants) and expr.edge_column == "right_id"


def test_python_evaluation_without_the_parent_links_is_an_error() -> None:
    m = model()
    expr = parse_where({"node": {"_descendants_of": IDS["R"]}}, m.entity("lab/item"), m)
    with pytest.raises(ValidationFailed, match="parent links of lab/unit"):
        evaluate(expr, {"nodeId": IDS["B"]}, {})
