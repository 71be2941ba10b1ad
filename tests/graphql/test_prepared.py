"""Variables coerced on the fast path (types resolved once per document) come out exactly as
graphql-core's ``get_variable_values`` makes them, errors included."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import OperationDefinitionNode, build_schema, get_variable_values

from rapport.graphql.prepared import coerce_variables, prepare

SCHEMA = build_schema(
    """
    enum Level { junior senior }
    input Filter { level: Level, min: Int! }
    type Query { items(first: Int, after: String, level: Level, filter: Filter): [String] }
    """
)
QUERY = """
query Items($first: Int!, $after: String, $level: Level, $filter: Filter) {
  items(first: $first, after: $after, level: $level, filter: $filter)
}
query WithDefault($first: Int = 20) { items(first: $first) }
"""


def _plain(values: Any) -> Any:
    """Errors as their formatted dicts; values as coerced values and (type, value) sources
    (graphql-core makes new wrapper types and signatures per call: they compare by identity)."""
    if isinstance(values, list):
        return [e.formatted for e in values]
    sources = {
        n: (s.signature.name, str(s.signature.type), s.signature.default, s.value)
        for n, s in values.sources.items()
    }
    return values.coerced, sources


def _both(name: str, raw: dict[str, Any]) -> tuple[Any, Any]:
    prepared = prepare(SCHEMA, QUERY)
    operation = prepared.operation(name)
    assert isinstance(operation, OperationDefinitionNode)
    expected = get_variable_values(SCHEMA, operation.variable_definitions or (), raw)
    # twice: the second call uses the signatures cached on the document
    coerce_variables(SCHEMA, prepared, operation, raw)
    return _plain(coerce_variables(SCHEMA, prepared, operation, raw)), _plain(expected)


@pytest.mark.parametrize(
    "raw",
    [
        {"first": 20},
        {"first": 20, "after": "abc", "level": "senior", "filter": {"level": "junior", "min": 1}},
        {"first": 20, "after": None, "level": None},
    ],
)
def test_valid_values_are_coerced_as_graphql_core_does(raw: dict[str, Any]) -> None:
    ours, theirs = _both("Items", raw)
    assert ours == theirs


@pytest.mark.parametrize(
    "raw",
    [
        {},  # a required variable missing
        {"first": None},
        {"first": "twenty"},
        {"first": 1, "level": "boss"},
        {"first": 1, "filter": {"level": "junior"}},  # a required input field missing
    ],
)
def test_invalid_values_give_graphql_cores_errors(raw: dict[str, Any]) -> None:
    ours, theirs = _both("Items", raw)
    assert isinstance(theirs, list) and theirs
    assert ours == theirs


@pytest.mark.parametrize("raw", [{}, {"first": 5}, {"first": "x"}])
def test_default_values_take_graphql_cores_path(raw: dict[str, Any]) -> None:
    ours, theirs = _both("WithDefault", raw)
    assert ours == theirs
