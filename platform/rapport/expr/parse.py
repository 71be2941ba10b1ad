"""``where`` documents (JSON) → the expression AST, checked against the entity.

Every key, operator and value is checked, and every problem is reported at once in one
:class:`~rapport.errors.ValidationFailed`, each :class:`~rapport.errors.FieldError` located by
its path inside the document (prefixed by the caller's ``path``, e.g. ``("where",)``).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import Any

from rapport.errors import ValidationFailed
from rapport.expr.ast import (
    OPERATORS,
    TRUE,
    And,
    Descendants,
    Expr,
    Literal,
    Not,
    Or,
    Quantifier,
    Related,
    RelationKind,
    Value,
)
from rapport.expr.comparisons import ComparisonParser, PathSegment, conjunction
from rapport.expr.operands import CoercionError, coerce_operand, describe
from rapport.metadata.ir import SYSTEM_FIELDS, EntityDef, FieldDef, FieldKind, Model

__all__ = ["parse_where"]


_LOGICAL = ("_and", "_or", "_not")
_QUANTIFIERS: dict[str, Quantifier] = {"_some": "some", "_none": "none", "_every": "every"}
_SYSTEM = {f.name: f for f in SYSTEM_FIELDS}
# The tree filter and its optional edge name (see "Trees" in rapport.expr).
_DESCENDANTS_OF = "_descendants_of"
_VIA = "_via"


def parse_where(
    doc: Mapping[str, Any],
    entity: EntityDef,
    model: Model,
    *,
    path: tuple[str | int, ...] = (),
) -> Expr:
    """Parse a ``where`` document on ``entity``; raise ValidationFailed listing every problem."""
    parser = _Parser(model, ())
    expr = parser.where(doc, entity, tuple(path))
    if parser.errors:
        raise ValidationFailed(
            parser.errors,
            hint="Correct the filter at the listed paths; each message names what is allowed.",
        )
    return expr


class _Parser(ComparisonParser):
    """One parse: collects errors instead of stopping at the first."""

    # -- structure ---------------------------------------------------------------------------

    def where(self, doc: Any, entity: EntityDef, path: tuple[PathSegment, ...]) -> Expr:
        if not isinstance(doc, Mapping):
            return self.fail(
                path,
                f'a filter on {entity.type_name} is an object such as {{"id": {{"_eq": "…"}}}}, '
                f"not {describe(doc)}",
                "EXPECTED_OBJECT",
            )
        return conjunction([self.entry(k, v, entity, (*path, k)) for k, v in doc.items()])

    def entry(self, key: Any, value: Any, entity: EntityDef, path: tuple[PathSegment, ...]) -> Expr:
        if key in ("_and", "_or"):
            return self.logical(key, value, entity, path)
        if key == "_not":
            return Not(self.where(value, entity, path))
        if isinstance(key, str):
            if key == "id" and _is_tree_filter(value):
                return self.descendants("id", "id", entity, value, path)
            if key in _SYSTEM:
                system = _SYSTEM[key]
                return self.comparisons(key, system.column, system.kind, (), value, path)
            if entity.has_field(key):
                return self.field(entity.field(key), value, entity, path)
            if key.endswith("Id") and entity.has_field(key[:-2]):
                relation = entity.field(key[:-2])
                if relation.kind is FieldKind.RELATION and relation.column is not None:
                    if _is_tree_filter(value) and relation.relation is not None:
                        tree = self.target(relation.relation.target, path)
                        if tree is None:
                            return TRUE
                        return self.descendants(key, relation.column, tree, value, path)
                    return self.comparisons(key, relation.column, FieldKind.UUID, (), value, path)
            for reverse in entity.reverse_relations:
                if reverse.name == key:
                    return self.quantified(key, "reverse", reverse.source, value, entity, path)
        return self.unknown_field(key, entity, path)

    def logical(
        self, key: str, value: Any, entity: EntityDef, path: tuple[PathSegment, ...]
    ) -> Expr:
        if isinstance(value, str) or not isinstance(value, Sequence):
            return self.fail(
                path,
                f'{key} takes a list of filters such as [{{"id": {{"_eq": "…"}}}}], '
                f"not {describe(value)}",
                "EXPECTED_LIST",
            )
        items = tuple(self.where(item, entity, (*path, i)) for i, item in enumerate(value))
        return And(items) if key == "_and" else Or(items)

    def unknown_field(self, key: Any, entity: EntityDef, path: tuple[PathSegment, ...]) -> Expr:
        names = _filter_keys(entity)
        guess = difflib.get_close_matches(str(key), names, n=1)
        suggestion = f" (did you mean {guess[0]}?)" if guess else ""
        return self.fail(
            path,
            f"unknown field {key} on {entity.type_name}{suggestion}; "
            f"filter on one of: {', '.join(names)}",
            "UNKNOWN_FIELD",
        )

    def field(
        self, field: FieldDef, value: Any, entity: EntityDef, path: tuple[PathSegment, ...]
    ) -> Expr:
        if field.kind is FieldKind.RELATION and field.relation is not None:
            return self.many_to_one(field, field.relation.target, value, entity, path)
        if field.kind is FieldKind.MANY_TO_MANY and field.many_to_many is not None:
            target = field.many_to_many.target
            return self.quantified(field.name, "many_to_many", target, value, entity, path)
        if field.kind is FieldKind.COMPUTED:
            return self.computed(field, value, entity, path)
        if field.column is None:
            return self.fail(path, f"field {field.name} cannot be filtered on", "UNKNOWN_FIELD")
        if field.sensitive and not (isinstance(value, Mapping) and set(value) <= {"_is_null"}):
            # Values are sealed per record (AES-GCM, random nonce): SQL sees only ciphertext,
            # so comparing them would silently match nothing. A keyed blind index could allow
            # equality later.
            return self.fail(
                path,
                f"field {field.name} is encrypted at rest (x-sensitive), so it cannot be "
                "compared in a filter or rule; only _is_null is allowed. Filter on another "
                "field instead",
                "SENSITIVE",
            )
        return self.comparisons(
            field.name, field.column, field.kind, field.enum_values, value, path
        )

    # -- relations ---------------------------------------------------------------------------

    def target(self, entity_id: str, path: tuple[PathSegment, ...]) -> EntityDef | None:
        if self.model.has_entity(entity_id):
            return self.model.entity(entity_id)
        self.fail(path, f"the related entity {entity_id} is not in the model", "UNKNOWN_ENTITY")
        return None

    def many_to_one(
        self,
        field: FieldDef,
        target_id: str,
        value: Any,
        entity: EntityDef,
        path: tuple[PathSegment, ...],
    ) -> Expr:
        target = self.target(target_id, path)
        if target is None:
            return TRUE
        if _is_tree_filter(value) and field.column is not None:
            return self.descendants(f"{field.name}Id", field.column, target, value, path)
        if isinstance(value, Mapping) and (ops := [k for k in value if k in OPERATORS]):
            return self.fail(
                (*path, ops[0]),
                f"{field.name} is a relation: filter the {target.type_name}'s fields "
                f'({{"{field.name}": {{"id": {{"_eq": "…"}}}}}}) or compare its id with '
                f'{field.name}Id ({{"{field.name}Id": {{"{ops[0]}": …}}}})',
                "UNKNOWN_FIELD",
            )
        inner = self.where(value, target, path)
        return Related(field.name, "many_to_one", target.id, "some", inner, source=entity.id)

    def descendants(
        self,
        name: str,
        column: str,
        tree: EntityDef,
        value: Mapping[str, Any],
        path: tuple[PathSegment, ...],
    ) -> Expr:
        """``{"_descendants_of": …, "_via": "<self-relation>"?}``: the node or below it."""
        extra = [k for k in value if k not in (_DESCENDANTS_OF, _VIA)]
        if extra:
            return self.fail(
                (*path, extra[0]),
                f"{_DESCENDANTS_OF} stands alone (optionally with {_VIA}); combine it with "
                f'other conditions through _and: [{{"{name}": {{"{_DESCENDANTS_OF}": …}}}}, …]',
                "UNKNOWN_OPERATOR",
            )
        edges = [
            f
            for f in tree.fields
            if f.kind is FieldKind.RELATION
            and f.relation is not None
            and f.relation.target == tree.id
            and f.column is not None
        ]
        names = ", ".join(f.name for f in edges)
        via = value.get(_VIA)
        if via is not None:
            chosen = [f for f in edges if f.name == via]
            if not chosen:
                return self.fail(
                    (*path, _VIA),
                    f"{via!r} is not a self-relation of {tree.type_name}; "
                    f"its self-relations: {names or 'none'}",
                    "INVALID_VALUE",
                )
            edge = chosen[0]
        elif len(edges) == 1:
            edge = edges[0]
        elif not edges:
            return self.fail(
                (*path, _DESCENDANTS_OF),
                f"{tree.type_name} is not a tree: it has no relation to itself (such as parent), "
                f"so {_DESCENDANTS_OF} cannot be used on {name}",
                "OPERATOR_NOT_ALLOWED",
            )
        else:
            return self.fail(
                (*path, _DESCENDANTS_OF),
                f"{tree.type_name} has several self-relations ({names}): name the tree edge "
                f'with "{_VIA}": "<one of them>"',
                "AMBIGUOUS_TREE",
            )
        raw = value.get(_DESCENDANTS_OF)
        op_path = (*path, _DESCENDANTS_OF)
        operand: Value | None
        if raw is None:
            self.fail(
                op_path,
                f"{_DESCENDANTS_OF} takes a node id, a list of ids or a variable, not null",
                "NULL_VALUE",
            )
            return TRUE
        if isinstance(raw, str) and raw.startswith("$") and not raw.startswith("$$"):
            operand = self.variable(name, FieldKind.UUID, "_in", raw[1:], op_path)
        else:
            listed = isinstance(raw, Sequence) and not isinstance(raw, str)
            try:
                operand = Literal(coerce_operand(FieldKind.UUID, "_in", raw if listed else [raw]))
            except CoercionError as exc:
                at = (*op_path, exc.index) if listed and exc.index is not None else op_path
                self.fail(
                    at, f"invalid node id for {_DESCENDANTS_OF}: {exc.message}", "INVALID_VALUE"
                )
                operand = None
        if operand is None:
            return TRUE
        assert edge.column is not None  # filtered above; narrows the type
        return Descendants(name, column, tree.id, edge.name, edge.column, operand)

    def quantified(
        self,
        name: str,
        relation: RelationKind,
        target_id: str,
        value: Any,
        entity: EntityDef,
        path: tuple[PathSegment, ...],
    ) -> Expr:
        example = f'{{"{name}": {{"_some": {{"id": {{"_eq": "…"}}}}}}}}'
        if not isinstance(value, Mapping):
            return self.fail(
                path,
                f"{name} is a list of records: filter it with _some, _none or _every, "
                f"e.g. {example}; not {describe(value)}",
                "EXPECTED_OBJECT",
            )
        target = self.target(target_id, path)
        if target is None:
            return TRUE
        items: list[Expr] = []
        for key, inner_doc in value.items():
            quantifier = _QUANTIFIERS.get(key) if isinstance(key, str) else None
            if quantifier is None:
                items.append(
                    self.fail(
                        (*path, key),
                        f"{name} is a list of records: use _some, _none or _every, not {key}, "
                        f"e.g. {example}",
                        "UNKNOWN_OPERATOR",
                    )
                )
                continue
            inner = self.where(inner_doc, target, (*path, key))
            items.append(Related(name, relation, target.id, quantifier, inner, source=entity.id))
        return conjunction(items)

    def computed(
        self, field: FieldDef, value: Any, entity: EntityDef, path: tuple[PathSegment, ...]
    ) -> Expr:
        """``{"isSmall": {"_eq": true}}`` inlines the field's own expression (negated for false)."""
        if not isinstance(value, Mapping):
            return self.fail(
                path,
                f'computed field {field.name} takes {{"_eq": true}} or {{"_eq": false}}, '
                f"not {describe(value)}",
                "EXPECTED_OBJECT",
            )
        items: list[Expr] = []
        for op, raw in value.items():
            op_path = (*path, op)
            if op != "_eq":
                items.append(self.bad_operator(op, FieldKind.COMPUTED, field.name, op_path))
            elif not isinstance(raw, bool):
                items.append(
                    self.fail(
                        op_path,
                        f"computed field {field.name} takes _eq true or false, not {describe(raw)}",
                        "INVALID_VALUE",
                    )
                )
            else:
                expression = self.expand(field, entity, op_path)
                items.append(expression if raw else Not(expression))
        return conjunction(items)

    def expand(self, field: FieldDef, entity: EntityDef, path: tuple[PathSegment, ...]) -> Expr:
        key = f"{entity.id}.{field.name}"
        if key in self.expanding:
            chain = " -> ".join((*self.expanding, key))
            return self.fail(
                path, f"computed fields refer to each other: {chain}", "INVALID_COMPUTED"
            )
        if field.computed_kind not in (None, FieldKind.BOOLEAN) or field.computed is None:
            return self.fail(
                path, f"computed field {field.name} is not a boolean expression", "INVALID_COMPUTED"
            )
        inner = _Parser(self.model, (*self.expanding, key))
        expression = inner.where(field.computed, entity, ())
        if inner.errors:
            first = inner.errors[0]
            at = "/".join(map(str, first.path))
            return self.fail(
                path,
                f"computed field {field.name} has an invalid expression at {at or '(root)'}: "
                f"{first.message}",
                "INVALID_COMPUTED",
            )
        return expression


def _is_tree_filter(value: Any) -> bool:
    return isinstance(value, Mapping) and _DESCENDANTS_OF in value


def _filter_keys(entity: EntityDef) -> list[str]:
    """Every key a filter on ``entity`` accepts, in a stable, readable order."""
    names = [*_LOGICAL, *(f.name for f in SYSTEM_FIELDS)]
    for field in entity.fields:
        names.append(field.name)
        if field.kind is FieldKind.RELATION:
            names.append(f"{field.name}Id")
    names.extend(r.name for r in entity.reverse_relations)
    return names
