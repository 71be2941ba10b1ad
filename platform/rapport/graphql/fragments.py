"""The fields a selection asks for: fragments spread and ``@include``/``@skip`` applied."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from graphql import (
    BooleanValueNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    SelectionSetNode,
    VariableNode,
)

__all__ = ["collect_fields"]


def collect_fields(
    type_name: str,
    selection_sets: Iterable[SelectionSetNode],
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
) -> dict[str, list[FieldNode]]:
    """Fields by response key, in order, with fragments expanded and directives applied."""
    fields: dict[str, list[FieldNode]] = {}
    visited: set[str] = set()

    def walk(selection_set: SelectionSetNode) -> None:
        for selection in selection_set.selections:
            if not _included(selection.directives or (), variables):
                continue
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                fields.setdefault(key, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                if condition is None or condition.name.value == type_name:
                    walk(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = fragments.get(name)
                if name in visited or fragment is None:
                    continue
                visited.add(name)
                if fragment.type_condition.name.value == type_name:
                    walk(fragment.selection_set)

    for selection_set in selection_sets:
        walk(selection_set)
    return fields


def _included(directives: Iterable[Any], variables: Mapping[str, Any]) -> bool:
    for directive in directives:
        name = directive.name.value
        if name not in ("skip", "include"):
            continue
        condition = next((a.value for a in directive.arguments if a.name.value == "if"), None)
        if isinstance(condition, BooleanValueNode):
            value = condition.value
        elif isinstance(condition, VariableNode):
            value = bool(variables.get(condition.name.value))
        else:
            continue
        if (name == "skip") == value:
            return False
    return True
