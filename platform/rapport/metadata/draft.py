"""One document -> one draft :class:`EntityDef`, before relations between entities are linked.

The draft is built from whatever the document holds: malformed parts (a property that is not an
object, a field whose kind cannot be told) are skipped, because the dialect and semantic checks
report them and compilation stops before a draft with holes could be used. Relations keep the
``inverse`` the document gives (or None); :mod:`rapport.metadata.relations` fills the rest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

from rapport.metadata.documents import Document
from rapport.metadata.indexes import indexes_for
from rapport.metadata.ir import (
    EntityDef,
    FieldDef,
    FieldKind,
    OnDelete,
    RelationDef,
    freeze_json,
)
from rapport.metadata.kinds import column_for, infer_kind, mapping
from rapport.naming import camel_case, pascal_case, pluralize, table_name

__all__ = ["draft_entity", "entity_names", "property_schemas", "required_names"]

_ON_DELETE = {d.value: d for d in OnDelete}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _labels(value: Any) -> Mapping[str, str]:
    if not isinstance(value, Mapping):
        return MappingProxyType({})
    return MappingProxyType({k: v for k, v in value.items() if isinstance(v, str)})


def _strings(value: Any) -> tuple[str, ...]:
    if not isinstance(value, Sequence) or isinstance(value, str):
        return ()
    return tuple(v for v in value if isinstance(v, str))


def property_schemas(body: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """``(name, schema)`` of every property whose schema is an object, in document order."""
    props = body.get("properties")
    if not isinstance(props, Mapping):
        return []
    return [(n, s) for n, s in props.items() if isinstance(s, Mapping)]


def required_names(body: Mapping[str, Any]) -> tuple[str, ...]:
    return _strings(body.get("required"))


def entity_names(entity_id: str, body: Mapping[str, Any]) -> tuple[str, str, str, str]:
    """``(type name, single field, plural field, table)`` of an entity."""
    _, _, name = entity_id.partition("/")
    plural = body.get("x-plural")
    return (
        pascal_case(name),
        camel_case(name),
        plural if isinstance(plural, str) and plural else camel_case(pluralize(name)),
        table_name(entity_id),
    )


def _enum_values(schema: Mapping[str, Any], kind: FieldKind) -> tuple[str, ...]:
    if kind is FieldKind.ENUM:
        return _strings(schema.get("enum"))
    if kind is FieldKind.MULTI_ENUM:
        items = mapping(schema, "items")
        return _strings(items.get("enum")) if items is not None else ()
    return ()


def _enum_labels(schema: Mapping[str, Any]) -> Mapping[str, Mapping[str, str]]:
    raw = schema.get("x-enumLabels")
    if not isinstance(raw, Mapping):
        return MappingProxyType({})
    return MappingProxyType({value: _labels(labels) for value, labels in raw.items()})


def _relation(schema: Mapping[str, Any]) -> RelationDef | None:
    relation = mapping(schema, "x-relation")
    target = _text(relation.get("entity")) if relation is not None else None
    if relation is None or target is None:
        return None
    on_delete = relation.get("onDelete", OnDelete.RESTRICT.value)
    return RelationDef(
        target=target,
        on_delete=_ON_DELETE.get(on_delete, OnDelete.RESTRICT)
        if isinstance(on_delete, str)
        else OnDelete.RESTRICT,
        inverse=_text(relation.get("inverse")),
    )


def draft_field(name: str, schema: Mapping[str, Any], required: bool) -> FieldDef | None:
    """The FieldDef of one property, or None when its kind cannot be told."""
    kind = infer_kind(schema)
    if kind is None:
        return None
    computed = kind is FieldKind.COMPUTED
    return FieldDef(
        name=name,
        kind=kind,
        column=column_for(name, kind),
        required=required,
        default=freeze_json(schema.get("default")),
        has_default="default" in schema,
        unique=schema.get("x-unique") is True,
        sensitive=schema.get("x-sensitive") is True,
        read_only=schema.get("readOnly") is True or computed,
        label=_labels(schema.get("x-label")),
        description=_text(schema.get("description")),
        enum_values=_enum_values(schema, kind),
        enum_labels=_enum_labels(schema),
        relation=_relation(schema) if kind is FieldKind.RELATION else None,
        computed=freeze_json(schema.get("x-computed")) if computed else None,
        # Computed fields are boolean expressions for now; the checks reject any other type.
        computed_kind=FieldKind.BOOLEAN if computed else None,
        analyze=_strings(schema.get("x-analyze")),
        schema=freeze_json(schema),
    )


def draft_entity(document: Document) -> EntityDef | None:
    """The draft EntityDef of a document, or None when the body is not an object."""
    body = document.body
    if not isinstance(body, Mapping):
        return None
    namespace, _, name = document.id.partition("/")
    type_name, single, plural, table = entity_names(document.id, body)
    required = set(required_names(body))
    fields = tuple(
        f
        for f in (draft_field(n, s, n in required) for n, s in property_schemas(body))
        if f is not None
    )
    return EntityDef(
        id=document.id,
        namespace=namespace,
        name=name,
        type_name=type_name,
        single_name=single,
        plural_name=plural,
        table=table,
        title=_text(body.get("title")),
        label=_labels(body.get("x-label")),
        description=_text(body.get("description")),
        fields=fields,
        indexes=indexes_for(body, table, fields),
        workflow=_text(body.get("x-workflow")),
        document=body,
    )
