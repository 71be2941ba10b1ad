"""Cross-document name checks: names that several entities would share in one tenant.

All entities of a tenant live in one PostgreSQL schema and one GraphQL schema, so ids, table
names, index names, GraphQL type names and root field names must be unique across documents.
A clash is reported on the entity that comes later in id order, naming the earlier one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rapport.metadata.documents import Document
from rapport.metadata.ir import EntityDef, FieldKind
from rapport.metadata.problems import Problems, pointer
from rapport.naming import pascal_case

__all__ = ["check_clashes", "check_duplicate_ids", "root_fields"]

# Types every tenant schema defines besides the entities' own (scalars, Relay, file references).
RESERVED_TYPE_NAMES = frozenset(
    {
        "Boolean",
        "Date",
        "DateTime",
        "Decimal",
        "FileRef",
        "Float",
        "ID",
        "Int",
        "JSON",
        "Mutation",
        "Node",
        "PageInfo",
        "Query",
        "String",
        "Subscription",
    }
)
# Suffixes the GraphQL layer appends to an entity's type name for the types it derives
# (rapport.graphql.types.names): CourseWhere, CourseConnection, CourseCreateInput, …
GENERATED_TYPE_SUFFIXES = (
    "Aggregate",
    "AggregateGroup",
    "AvgFields",
    "Connection",
    "CreateInput",
    "Edge",
    "GroupField",
    "GroupKey",
    "ListWhere",
    "MaxFields",
    "MinFields",
    "OrderBy",
    "SumFields",
    "UniqueKey",
    "UpdateInput",
    "Where",
)
# Root fields the platform itself adds (the admin API may live under `admin`).
RESERVED_ROOT_FIELDS = frozenset({"admin"})


def root_fields(entity: EntityDef) -> list[tuple[str, str, str]]:
    """``(root type, field name, JSON pointer that decides it)`` of every root field."""
    t, single, plural = entity.type_name, entity.single_name, entity.plural_name
    plural_at = "/x-plural" if _has_plural(entity) else "/$id"
    return [
        ("Query", single, "/$id"),
        ("Query", plural, plural_at),
        ("Query", f"{plural}Aggregate", plural_at),
        ("Mutation", f"create{t}", "/$id"),
        ("Mutation", f"create{pascal_case(plural)}", plural_at),
        ("Mutation", f"update{t}", "/$id"),
        ("Mutation", f"delete{t}", "/$id"),
        ("Mutation", f"upsert{t}", "/$id"),
        ("Mutation", f"transition{t}", "/$id"),
        ("Subscription", f"{single}Changed", "/$id"),
    ]


def _has_plural(entity: EntityDef) -> bool:
    doc = entity.document
    return isinstance(doc, Mapping) and isinstance(doc.get("x-plural"), str)


def check_duplicate_ids(documents: Sequence[Document], problems: Problems) -> None:
    first: dict[str, Document] = {}
    for doc in documents:
        earlier = first.setdefault(doc.id, doc)
        if earlier is not doc:
            places = " and ".join(
                f"{d.source}:{d.location}" if d.location else d.source for d in (earlier, doc)
            )
            problems.add(
                doc.id,
                "/$id",
                f"two documents have the id {doc.id!r} ({places})",
                "Every entity id must be unique: rename one of them or remove the copy.",
            )


def _check_tables(entities: Sequence[EntityDef], problems: Problems) -> None:
    tables: dict[str, str] = {}
    indexes: dict[str, str] = {}
    for entity in entities:
        owner = tables.setdefault(entity.table, entity.id)
        if owner != entity.id:
            problems.add(
                entity.id,
                "/$id",
                f"table {entity.table!r} of {entity.id} is also the table of {owner}",
                "Rename one entity: `-` and `_` both become `_` in table names.",
            )
    for entity in entities:
        for index in entity.indexes:
            owner = indexes.setdefault(index.name, entity.id)
            if owner != entity.id or index.name in tables:
                what = f"table {index.name!r}" if index.name in tables else f"an index of {owner}"
                problems.add(
                    entity.id,
                    "/x-indexes",
                    f"index name {index.name!r} is already used by {what}",
                    "Give the index another `name` (index names are unique per tenant schema).",
                )


def _generated_types(entities: Sequence[EntityDef]) -> dict[str, str]:
    """Type names the GraphQL layer derives from each entity, with what they belong to."""
    generated: dict[str, str] = {}
    for entity in entities:
        for suffix in GENERATED_TYPE_SUFFIXES:
            generated.setdefault(entity.type_name + suffix, f"the {suffix} type of {entity.id}")
        for field in entity.fields:
            if field.kind in (FieldKind.ENUM, FieldKind.MULTI_ENUM):
                name = f"{entity.type_name}{pascal_case(field.name)}Filter"
                generated.setdefault(name, f"the enum filter type of {entity.id}.{field.name}")
    return generated


def _check_types(entities: Sequence[EntityDef], problems: Problems) -> set[str]:
    """Report type name clashes; returns the ids of entities whose own type name clashes."""
    generated = _generated_types(entities)
    types: dict[str, str] = {}
    clashing: set[str] = set()
    for entity in entities:
        owner = types.setdefault(entity.type_name, f"entity {entity.id}")
        if entity.type_name in RESERVED_TYPE_NAMES:
            owner = "a built-in type"
        elif owner == f"entity {entity.id}":
            owner = generated.get(entity.type_name, owner)
        if owner != f"entity {entity.id}":
            clashing.add(entity.id)
            problems.add(
                entity.id,
                "/$id",
                f"GraphQL type name {entity.type_name!r} of {entity.id} clashes with {owner}",
                "Rename one of the entities: types are named after the entity name only "
                "(in PascalCase), whatever the namespace.",
            )
    for entity in entities:
        for field in entity.fields:
            if field.kind not in (FieldKind.ENUM, FieldKind.MULTI_ENUM):
                continue
            name = entity.type_name + pascal_case(field.name)
            me = f"enum of {entity.id}.{field.name}"
            owner = types.setdefault(name, me)
            if name in RESERVED_TYPE_NAMES:
                owner = "a built-in type"
            elif owner == me:
                owner = generated.get(name, me)
            if owner != me:
                problems.add(
                    entity.id,
                    pointer("properties", field.name),
                    f"GraphQL enum type {name!r} of `{field.name}` clashes with {owner}",
                    "Rename the field or the other entity (enum types are named <Type><Field>).",
                )
    return clashing


def _root_field_pointer(entity: EntityDef, names: Sequence[str]) -> str:
    plural_derived = {n for r, n, at in root_fields(entity) if at == "/x-plural"}
    return "/x-plural" if plural_derived.intersection(names) else "/$id"


def _check_root_fields(entities: Sequence[EntityDef], skip: set[str], problems: Problems) -> None:
    seen: dict[tuple[str, str], str] = {
        (root, name): "the platform"
        for root in ("Query", "Mutation")
        for name in RESERVED_ROOT_FIELDS
    }
    for entity in entities:
        if entity.id in skip:
            continue  # its type name clashes already; every root field would repeat that
        twice: list[str] = []
        clashes: dict[str, list[str]] = {}
        own: set[tuple[str, str]] = set()
        for root, name, _ in root_fields(entity):
            key = (root, name)
            if key in own:
                twice.append(name)
                continue
            own.add(key)
            owner = seen.setdefault(key, entity.id)
            if owner != entity.id:
                clashes.setdefault(owner, []).append(name)
        if twice:
            problems.add(
                entity.id,
                _root_field_pointer(entity, twice),
                f"root fields {_names(twice)} of {entity.id} would be defined twice: its single "
                "and plural names are the same",
                'Set "x-plural" to a plural that differs from the name (e.g. "staffMembers").',
            )
        for owner, names in clashes.items():
            problems.add(
                entity.id,
                _root_field_pointer(entity, names),
                f"root fields {_names(names)} of {entity.id} are also root fields of {owner}",
                'Set "x-plural" to a distinct plural, or rename one of the entities.',
            )


def _names(names: Sequence[str]) -> str:
    return ", ".join(f"`{n}`" for n in names)


def check_clashes(entities: Sequence[EntityDef], problems: Problems) -> None:
    """Report table, index, type and root-field names shared by several entities."""
    _check_tables(entities, problems)
    clashing_types = _check_types(entities, problems)
    _check_root_fields(entities, clashing_types, problems)
