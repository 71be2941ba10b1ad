"""Field kinds: which kind a property schema declares, and what each kind is stored as.

Kind inference follows the dialect's rules (see the team conventions): an explicit ``x-kind``
wins (only ``x-computed`` comes before it), then enums, relations, ``format``, and finally ``type``. The functions here
tolerate malformed schemas (they return ``None``) because the builder infers kinds before it knows
whether a document passed the meta-schema; the problems themselves are reported elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rapport.metadata.ir import FieldKind
from rapport.naming import snake_case

__all__ = [
    "EXPLICIT_KINDS",
    "KIND_TYPES",
    "column_for",
    "infer_kind",
    "is_stored",
    "mapping",
]

# Kinds an ``x-kind`` may name, with the JSON ``type`` each one needs (None: no ``type`` needed).
EXPLICIT_KINDS: Mapping[str, FieldKind] = {
    "text": FieldKind.TEXT,
    "phone": FieldKind.PHONE,
    "money": FieldKind.MONEY,
    "rating": FieldKind.RATING,
    "float": FieldKind.FLOAT,
    "decimal": FieldKind.DECIMAL,
    "json": FieldKind.JSON,
    "file": FieldKind.FILE,
}

# The JSON types a value of each explicit kind may have (a ``type`` outside this set contradicts
# the kind: the record validator and the column would disagree).
KIND_TYPES: Mapping[FieldKind, frozenset[str]] = {
    FieldKind.TEXT: frozenset({"string"}),
    FieldKind.PHONE: frozenset({"string"}),
    FieldKind.MONEY: frozenset({"number"}),
    FieldKind.RATING: frozenset({"integer"}),
    FieldKind.FLOAT: frozenset({"number"}),
    FieldKind.DECIMAL: frozenset({"number"}),
    FieldKind.JSON: frozenset({"object", "array"}),
    FieldKind.FILE: frozenset({"object"}),
}

_FORMAT_KINDS: Mapping[str, FieldKind] = {
    "date": FieldKind.DATE,
    "date-time": FieldKind.DATETIME,
    "email": FieldKind.EMAIL,
    "uri": FieldKind.URL,
}

_TYPE_KINDS: Mapping[str, FieldKind] = {
    "string": FieldKind.STRING,
    "integer": FieldKind.INTEGER,
    "number": FieldKind.DECIMAL,  # exact by default; x-kind: float opts into floating point
    "boolean": FieldKind.BOOLEAN,
    "object": FieldKind.JSON,
    "array": FieldKind.JSON,  # an array that is neither multi-enum nor many-to-many: jsonb
}


def mapping(value: Any, key: str) -> Mapping[str, Any] | None:
    """``value[key]`` if both are JSON objects, else None."""
    if isinstance(value, Mapping):
        inner = value.get(key)
        if isinstance(inner, Mapping):
            return inner
    return None


def infer_kind(schema: Mapping[str, Any]) -> FieldKind | None:
    """The kind a property schema declares, or None when it declares none (or is malformed)."""
    # A computed field has no column whatever else it says, so x-computed comes first.
    if "x-computed" in schema:
        return FieldKind.COMPUTED
    explicit = schema.get("x-kind")
    if explicit is not None:
        return EXPLICIT_KINDS.get(explicit) if isinstance(explicit, str) else None
    if "enum" in schema:
        return FieldKind.ENUM
    json_type = schema.get("type")
    relation = mapping(schema, "x-relation")
    items = mapping(schema, "items")
    if json_type == "array" and items is not None:
        if "enum" in items:
            return FieldKind.MULTI_ENUM
        if relation is not None and "through" in relation:
            return FieldKind.MANY_TO_MANY
    fmt = schema.get("format")
    if fmt == "uuid":
        return FieldKind.RELATION if relation is not None else FieldKind.UUID
    if isinstance(fmt, str) and fmt in _FORMAT_KINDS:
        return _FORMAT_KINDS[fmt]
    if isinstance(json_type, str):
        return _TYPE_KINDS.get(json_type)
    return None


def is_stored(kind: FieldKind) -> bool:
    """Whether the kind has a column (many-to-many and computed fields have none)."""
    return kind not in (FieldKind.MANY_TO_MANY, FieldKind.COMPUTED)


def column_for(name: str, kind: FieldKind) -> str | None:
    """The SQL column of a field: ``snake_case(name)``, ``<name>_id`` for relations."""
    if not is_stored(kind):
        return None
    column = snake_case(name)
    return f"{column}_id" if kind is FieldKind.RELATION else column
