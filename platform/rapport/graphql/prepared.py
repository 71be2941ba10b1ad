"""Parsed and validated documents, cached per tenant API, and what their variables shape.

A document is parsed and validated once per query text (bounded LRU). For each operation the
executor also needs to know which variables change the *shape* of the compiled SQL (used in
``where``, ``orderBy``, ``groupBy`` or a directive: their values key the plan cache) and which
are mere statement parameters (``first last after before id``: only their null-ness matters).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    get_variable_values,
    is_non_null_type,
    parse,
    validate,
)
from graphql.execution.get_variable_signature import (
    GraphQLVariableSignature,
    get_variable_signature,
)
from graphql.execution.values import (
    VariableValues,
    VariableValueSource,
    input_is_nested_too_deeply,
)
from graphql.pyutils import Undefined
from graphql.utilities import coerce_input_value

from rapport.graphql.arguments import VALUE_ARGUMENTS
from rapport.graphql.limits import check_size, too_many_tokens, validation_rules
from rapport.settings import GraphQLLimitSettings

__all__ = ["Lru", "PreparedDocument", "VariableUsage", "coerce_variables", "prepare"]

K = TypeVar("K")
V = TypeVar("V")


class Lru(Generic[K, V]):
    """A bounded least-recently-used map (single event loop: no locking needed)."""

    __slots__ = ("_items", "maxsize")

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.maxsize:
            self._items.popitem(last=False)

    def clear(self) -> None:
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


@dataclass(frozen=True, slots=True)
class VariableUsage:
    shape: tuple[str, ...]  # values key the plan
    values: tuple[str, ...]  # only null-ness keys the plan


@dataclass(slots=True)
class PreparedDocument:
    document: DocumentNode | None
    errors: tuple[GraphQLError, ...]
    operations: dict[str | None, OperationDefinitionNode] = field(default_factory=dict)
    fragments: dict[str, FragmentDefinitionNode] = field(default_factory=dict)
    _usage: dict[str | None, VariableUsage] = field(default_factory=dict)
    # Per operation: its variables' signatures (types resolved once), None when one has a
    # default value or no input type (graphql-core's full path handles those).
    _signatures: dict[str | None, tuple[GraphQLVariableSignature, ...] | None] = field(
        default_factory=dict
    )

    def operation(self, name: str | None) -> OperationDefinitionNode | str:
        """The operation to run, or the message saying why there is none."""
        if name is None:
            if len(self.operations) == 1:
                return next(iter(self.operations.values()))
            return "Must provide operation name if query contains multiple operations."
        found = self.operations.get(name)
        if found is None:
            return f"Unknown operation named '{name}'."
        return found

    def usage(self, operation: OperationDefinitionNode) -> VariableUsage:
        key = operation.name.value if operation.name else None
        found = self._usage.get(key)
        if found is None:
            found = _usage(operation, self.fragments)
            self._usage[key] = found
        return found


def coerce_variables(
    schema: GraphQLSchema,
    prepared: PreparedDocument,
    operation: OperationDefinitionNode,
    raw: dict[str, Any],
) -> VariableValues | list[GraphQLError]:
    """``get_variable_values`` with the variables' types resolved once per document.

    graphql-core resolves every variable's type from its AST on every request. The fast path
    does only the per-value work (coercing each value given); anything unusual — a default
    value, a missing or invalid value, a value nested too deeply — goes through graphql-core's
    own function, so its errors and messages stay exactly graphql-core's.
    """
    definitions = operation.variable_definitions or ()
    key = operation.name.value if operation.name else None
    if key not in prepared._signatures:
        found = [get_variable_signature(schema, d) for d in definitions]
        prepared._signatures[key] = (
            tuple(s for s in found if isinstance(s, GraphQLVariableSignature))
            if all(isinstance(s, GraphQLVariableSignature) and s.default is None for s in found)
            else None
        )
    signatures = prepared._signatures[key]
    if signatures is None:
        return get_variable_values(schema, definitions, raw)
    sources: dict[str, VariableValueSource] = {}
    coerced: dict[str, Any] = {}
    for signature in signatures:
        value = raw.get(signature.name, Undefined)
        if value is Undefined:
            if is_non_null_type(signature.type):
                return get_variable_values(schema, definitions, raw)
            sources[signature.name] = VariableValueSource(signature)
            continue
        if input_is_nested_too_deeply(value, signature.type):
            return get_variable_values(schema, definitions, raw)
        coerced_value = coerce_input_value(value, signature.type)
        if coerced_value is Undefined:
            return get_variable_values(schema, definitions, raw)
        sources[signature.name] = VariableValueSource(signature, value)
        coerced[signature.name] = coerced_value
    return VariableValues(sources, coerced)


def prepare(
    schema: GraphQLSchema, query: str, limits: GraphQLLimitSettings | None = None
) -> PreparedDocument:
    """Parse and validate ``query``; errors are kept, not raised (they are cached too).

    With ``limits`` (the app always passes the settings' limits), the operation must also stay
    within its size, depth, cost and alias limits (:mod:`rapport.graphql.limits`), and
    introspection and suggestions follow them; without, only the standard rules apply (an API
    built directly, e.g. by tests and benchmarks).
    """
    if limits is None:
        return _prepared(schema, query)
    oversized = check_size(query, limits)
    if oversized is not None:
        return PreparedDocument(None, (oversized,))
    try:
        document = parse(query, max_tokens=limits.max_tokens)
    except GraphQLError as error:
        return PreparedDocument(None, (too_many_tokens(error, limits) or error,))
    errors = validate(
        schema,
        document,
        validation_rules(limits),
        hide_suggestions=limits.suggestions is False,
    )
    return _validated(document, errors)


def _prepared(schema: GraphQLSchema, query: str) -> PreparedDocument:
    try:
        document = parse(query)
    except GraphQLError as error:
        return PreparedDocument(None, (error,))
    return _validated(document, validate(schema, document))


def _validated(document: DocumentNode, errors: list[GraphQLError]) -> PreparedDocument:
    if errors:
        return PreparedDocument(None, tuple(errors))
    prepared = PreparedDocument(document, ())
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            name = definition.name.value if definition.name else None
            prepared.operations[name] = definition
        elif isinstance(definition, FragmentDefinitionNode):
            prepared.fragments[definition.name.value] = definition
    return prepared


def _variables_in(node: ValueNode | None) -> Iterable[str]:
    if isinstance(node, VariableNode):
        yield node.name.value
    elif isinstance(node, ListValueNode):
        for item in node.values:
            yield from _variables_in(item)
    elif isinstance(node, ObjectValueNode):
        for object_field in node.fields:
            yield from _variables_in(object_field.value)


def _usage(
    operation: OperationDefinitionNode, fragments: Mapping[str, FragmentDefinitionNode]
) -> VariableUsage:
    shape: dict[str, None] = {}
    values: dict[str, None] = {}
    visited: set[tuple[str, bool]] = set()

    def walk(selection_set: SelectionSetNode, mutation_root: bool) -> None:
        for selection in selection_set.selections:
            for directive in selection.directives or ():
                for argument in directive.arguments or ():
                    shape.update(dict.fromkeys(_variables_in(argument.value)))
            if isinstance(selection, FieldNode):
                for argument in selection.arguments or ():
                    if mutation_root:
                        continue  # mutation arguments are read per request, never compiled
                    if argument.name.value in VALUE_ARGUMENTS and isinstance(
                        argument.value, VariableNode
                    ):
                        values[argument.value.name.value] = None
                    else:
                        shape.update(dict.fromkeys(_variables_in(argument.value)))
                if selection.selection_set is not None:
                    walk(selection.selection_set, False)
            elif isinstance(selection, InlineFragmentNode):
                walk(selection.selection_set, mutation_root)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if (name, mutation_root) in visited or name not in fragments:
                    continue
                visited.add((name, mutation_root))
                walk(fragments[name].selection_set, mutation_root)

    walk(operation.selection_set, operation.operation is OperationType.MUTATION)
    return VariableUsage(shape=tuple(shape), values=tuple(v for v in values if v not in shape))
