"""Small hand-built IR objects for DDL and plan unit tests (no documents, no builder)."""

from __future__ import annotations

from typing import Any

from rapport.metadata.ir import (
    EntityDef,
    FieldDef,
    FieldKind,
    IndexDef,
    Model,
    OnDelete,
    RelationDef,
    freeze_json,
)
from rapport.naming import pascal_case, pluralize, snake_case, table_name

__all__ = ["entity", "field", "model", "relation"]

_NO_COLUMN = (FieldKind.MANY_TO_MANY, FieldKind.COMPUTED)


def field(name: str, kind: FieldKind | str, **options: Any) -> FieldDef:
    kind = FieldKind(kind)
    if kind in _NO_COLUMN:
        column = None
    elif kind is FieldKind.RELATION:
        column = f"{snake_case(name)}_id"
    else:
        column = snake_case(name)
    if "default" in options:
        options["default"] = freeze_json(options["default"])
        options.setdefault("has_default", True)
    if "enum_values" in options:
        options["enum_values"] = tuple(options["enum_values"])
    return FieldDef(name=name, kind=kind, column=column, **options)


def relation(
    name: str, target: str, on_delete: OnDelete = OnDelete.RESTRICT, **options: Any
) -> FieldDef:
    return field(name, FieldKind.RELATION, relation=RelationDef(target, on_delete), **options)


def entity(
    entity_id: str, *fields: FieldDef, indexes: tuple[tuple[tuple[str, ...], bool], ...] = ()
) -> EntityDef:
    namespace, _, name = entity_id.partition("/")
    table = table_name(entity_id)
    by_name = {f.name: f for f in fields}
    index_defs = tuple(
        IndexDef(
            name="_".join(
                (table, *(by_name[n].column or n for n in names), "key" if unique else "idx")
            ),
            fields=names,
            columns=tuple(by_name[n].column or n for n in names),
            unique=unique,
        )
        for names, unique in indexes
    )
    return EntityDef(
        id=entity_id,
        namespace=namespace,
        name=name,
        type_name=pascal_case(name),
        single_name=name,
        plural_name=pluralize(name),
        table=table,
        title=None,
        label={},
        description=None,
        fields=fields,
        indexes=index_defs,
    )


def model(*entities: EntityDef) -> Model:
    return Model(entities=tuple(sorted(entities, key=lambda e: e.id)))
