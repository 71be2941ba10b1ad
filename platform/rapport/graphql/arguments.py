"""Reading a root field's arguments against the operation's variables and the principal's access.

:class:`FieldArguments` holds what one operation's planning reads from (the entity index, the
coerced and the raw variables with their defaults, the principal's permissions) and turns
``where``, ``orderBy`` and the value arguments into plan parts; the
:class:`~rapport.graphql.planner.Planner` assembles the plan from them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from graphql import (
    EnumValueNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLField,
    GraphQLInputType,
    ListValueNode,
    NullValueNode,
    ObjectValueNode,
    ValueNode,
    VariableDefinitionNode,
    VariableNode,
    value_from_ast,
)

from rapport.auth.permissions.access import Access
from rapport.auth.permissions.policy import ReadPolicy
from rapport.errors import PathSegment
from rapport.expr.ast import Expr
from rapport.expr.parse import parse_where
from rapport.graphql.entity_index import EntityIndex
from rapport.metadata.ir import EntityDef, FieldKind
from rapport.sql import plan
from rapport.sql.params import VariableValue

__all__ = ["VALUE_ARGUMENTS", "FieldArguments", "Path"]

# Arguments whose variables become statement parameters instead of shaping the plan.
VALUE_ARGUMENTS = frozenset({"first", "last", "after", "before", "id"})
_NOT_NULL_COLUMNS = frozenset({"id", "created_at", "updated_at", "version"})

Path = tuple[PathSegment, ...]


class FieldArguments:
    """The operation's variables and access, and its fields' arguments read into plan parts."""

    def __init__(
        self,
        index: EntityIndex,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
        raw_variables: Mapping[str, Any],
        variable_definitions: Sequence[VariableDefinitionNode],
        access: Access | None = None,
    ) -> None:
        self.index = index
        # The principal's permissions; None for admins (nothing is added to the plan).
        self.access = access
        self.model = index.model
        self.fragments = fragments
        self.variables = variables  # coerced
        self.raw_variables = raw_variables  # as sent: keeps the key order of orderBy objects
        self.defaults = {
            d.variable.name.value: d.default_value
            for d in variable_definitions
            if d.default_value is not None
        }

    def _policy(self, entity: EntityDef, action: str = "read") -> ReadPolicy | None:
        return None if self.access is None else self.access.policy(entity, action)

    # -- arguments --------------------------------------------------------------------------

    def _argument_node(self, node: FieldNode, name: str) -> ValueNode | None:
        for argument in node.arguments or ():
            if argument.name.value == name:
                return argument.value
        return None

    def _argument(self, field: GraphQLField, node: FieldNode, name: str) -> Any:
        """A shape argument's coerced value (None when absent or null)."""
        value_node = self._argument_node(node, name)
        if value_node is None:
            return None
        type_: GraphQLInputType = field.args[name].type
        return value_from_ast(value_node, type_, dict(self.variables))

    def _value_argument(self, field: GraphQLField, node: FieldNode, name: str) -> plan.Param | None:
        """A value argument: a constant, a deferred variable, or None when absent or null."""
        value_node = self._argument_node(node, name)
        if value_node is None or isinstance(value_node, NullValueNode):
            return None
        if isinstance(value_node, VariableNode):
            variable = value_node.name.value
            if self.variables.get(variable) is None:
                return None
            return VariableValue(variable)
        return value_from_ast(value_node, field.args[name].type, {})

    def _where(
        self,
        field: GraphQLField,
        node: FieldNode,
        entity: EntityDef,
        path: Path,
        *,
        action: str = "read",
    ) -> Expr | None:
        doc = self._argument(field, node, "where")
        if not doc:
            return None
        expr = parse_where(doc, entity, self.model, path=(*path, "where"))
        if self.access is None:
            return expr
        return self.access.secure_filter(expr, entity, (*path, "where"), action)

    def _order(
        self, field: GraphQLField, node: FieldNode, entity: EntityDef, path: Path
    ) -> tuple[plan.OrderKey, ...]:
        sortable = self.index.sortable(entity)
        policy = self._policy(entity)
        keys: list[plan.OrderKey] = []
        seen: set[str] = set()
        value_node = self._argument_node(node, "orderBy")
        items = self._order_items(value_node) if value_node is not None else []
        for name, direction in items:
            if name in seen or name not in sortable:
                continue
            seen.add(name)
            found = sortable[name]
            visible = None
            if self.access is not None and policy is not None:
                # A field shown nowhere cannot be ordered by; one shown on some rows sorts by
                # the shown value (null elsewhere), so its order and cursors reveal nothing.
                at = (*path, "orderBy", name)
                visible = self.access.sortable(policy, policy.field_of(found.column), at)
            keys.append(
                plan.OrderKey(
                    found.column,
                    found.kind,
                    descending=direction == "DESC",
                    nullable=visible is not None or found.column not in _NOT_NULL_COLUMNS,
                    visible=visible,
                )
            )
            if name == "id":
                break  # ids are unique: later keys never decide anything
        if "id" not in seen:
            keys.append(plan.OrderKey("id", FieldKind.UUID, descending=False, nullable=False))
        return tuple(keys)

    def _order_items(self, node: ValueNode | None) -> list[tuple[str, str]]:
        """``(field, ASC|DESC)`` in the order written (literals) or sent (variables)."""
        if node is None or isinstance(node, NullValueNode):
            return []
        if isinstance(node, VariableNode):
            name = node.name.value
            if name in self.raw_variables:
                return _raw_order_items(self.raw_variables[name])
            return self._order_items(self.defaults.get(name))
        if isinstance(node, ListValueNode):
            return [item for element in node.values for item in self._order_items(element)]
        if isinstance(node, ObjectValueNode):
            items: list[tuple[str, str]] = []
            for object_field in node.fields:
                value = object_field.value
                if isinstance(value, EnumValueNode):
                    items.append((object_field.name.value, value.value))
                elif isinstance(value, VariableNode):
                    direction = self.variables.get(value.name.value)
                    if isinstance(direction, str):
                        items.append((object_field.name.value, direction))
            return items
        return []


def _raw_order_items(raw: Any) -> list[tuple[str, str]]:
    if raw is None:
        return []
    elements = raw if isinstance(raw, list) else [raw]
    return [
        (name, direction)
        for element in elements
        if isinstance(element, Mapping)
        for name, direction in element.items()
        if isinstance(direction, str)
    ]
