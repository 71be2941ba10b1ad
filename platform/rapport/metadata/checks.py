"""Semantic checks of one entity document: what the meta-schema cannot say.

Field names that clash with system fields or with each other's columns, identifiers too long for
PostgreSQL, enum values that are not GraphQL names, defaults that break their own schema,
``required`` and ``x-indexes`` naming fields that do not exist or have no column, and keyword
combinations that contradict each other. Each check reads the draft entity (kinds, columns) and
the raw body (for pointers), and tolerates bodies the meta-schema already rejected.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import best_match
from referencing.exceptions import Unresolvable

from rapport.metadata.draft import property_schemas
from rapport.metadata.indexes import index_entries
from rapport.metadata.ir import SYSTEM_FIELDS, EntityDef, FieldDef, FieldKind, thaw_json
from rapport.metadata.kinds import KIND_TYPES, infer_kind, mapping
from rapport.metadata.problems import Problems, pointer
from rapport.naming import GRAPHQL_NAME, PG_MAX_IDENTIFIER

__all__ = ["check_entity"]

SYSTEM_NAMES = frozenset(s.name for s in SYSTEM_FIELDS)
_NOT_ENUM_NAMES = frozenset({"true", "false", "null"})
_TEXT_KINDS = frozenset({FieldKind.STRING, FieldKind.TEXT})


def _is_datetime(value: object) -> bool:
    if not isinstance(value, str):
        return True
    return dt.datetime.fromisoformat(value).tzinfo is not None


# jsonschema checks date-time only when an optional package is installed; defaults must be
# checked always, so the standard library's ISO 8601 parser (with a required offset) does it.
_FORMATS = FormatChecker()
_FORMATS.checks("date-time", raises=ValueError)(_is_datetime)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


_ONE_SCHEMA = (
    "items",
    "additionalProperties",
    "unevaluatedItems",
    "unevaluatedProperties",
    "contains",
    "not",
    "if",
    "then",
    "else",
    "propertyNames",
    "contentSchema",
)
_SCHEMA_LISTS = ("prefixItems", "allOf", "anyOf", "oneOf")
_SCHEMA_MAPS = ("properties", "patternProperties", "dependentSchemas")


def _nested_schemas(schema: Mapping[str, Any]) -> list[tuple[tuple[str | int, ...], Any]]:
    nested: list[tuple[tuple[str | int, ...], Any]] = []
    for key in _ONE_SCHEMA:
        if key in schema:
            nested.append(((key,), schema[key]))
    for key in _SCHEMA_LISTS:
        if isinstance(schema.get(key), Sequence):
            nested.extend(((key, i), sub) for i, sub in enumerate(schema[key]))
    for key in _SCHEMA_MAPS:
        if isinstance(schema.get(key), Mapping):
            nested.extend(((key, name), sub) for name, sub in schema[key].items())
    return nested


def _check_nested_keywords(
    entity: EntityDef, name: str, schema: Mapping[str, Any], problems: Problems
) -> None:
    """Rapport's keywords mean something on a field's own schema only; inside ``items`` or a
    JSON object's ``properties`` they would be silently ignored, so they are refused there."""
    pending = _nested_schemas(schema)
    while pending:
        path, sub = pending.pop(0)
        if not isinstance(sub, Mapping):
            continue
        for key in sub:
            if isinstance(key, str) and key.startswith("x-"):
                problems.add(
                    entity.id,
                    pointer("properties", name, *path, key),
                    f"{key} has no effect inside a nested schema",
                    f"Rapport keywords apply to the field's own schema: move it to "
                    f"{pointer('properties', name)}, or remove it.",
                )
        pending.extend(((*path, *more), nested) for more, nested in _nested_schemas(sub))


def _check_name(entity: EntityDef, field: FieldDef, problems: Problems) -> None:
    at = pointer("properties", field.name)
    if field.name in SYSTEM_NAMES or field.name.startswith("__"):
        problems.add(
            entity.id,
            at,
            f"field name {field.name!r} is reserved: every record has the system fields "
            + ", ".join(sorted(SYSTEM_NAMES)),
            "Rename the field (the system field already holds this information, or use a more "
            "specific name such as `recordVersion`).",
        )
    if field.column is not None and len(field.column.encode()) > PG_MAX_IDENTIFIER:
        problems.add(
            entity.id,
            at,
            f"column {field.column!r} is {len(field.column.encode())} bytes long; "
            f"PostgreSQL identifiers hold at most {PG_MAX_IDENTIFIER}",
            "Choose a shorter field name.",
        )


def _check_clashes(entity: EntityDef, problems: Problems) -> None:
    """Two fields (or a field and a system field) that share a column or a GraphQL name."""
    columns: dict[str, str] = {s.column: f"system field `{s.name}`" for s in SYSTEM_FIELDS}
    names: dict[str, str] = {s.name: f"system field `{s.name}`" for s in SYSTEM_FIELDS}
    for field in entity.fields:
        at = pointer("properties", field.name)
        if field.name in SYSTEM_NAMES:
            continue  # reported as reserved already
        if field.column is not None:
            owner = columns.get(field.column)
            if owner is not None:
                problems.add(
                    entity.id,
                    at,
                    f"field `{field.name}` would be stored in column {field.column!r}, "
                    f"which {owner} already uses",
                    "Rename one of them; columns are the snake_case field name "
                    "(plus `_id` for relations).",
                )
            else:
                columns[field.column] = f"field `{field.name}`"
        for name in dict.fromkeys((field.name, field.graphql_input_name)):
            owner = names.get(name)
            if owner is not None and owner != f"field `{field.name}`":
                problems.add(
                    entity.id,
                    at,
                    f"GraphQL name `{name}` of field `{field.name}` is already used by {owner}",
                    "Rename one of them; a relation `x` is also read and written as `xId`.",
                )
            else:
                names[name] = f"field `{field.name}`"


def _check_kind(
    entity: EntityDef, name: str, schema: Mapping[str, Any], problems: Problems
) -> None:
    at = pointer("properties", name)
    kind = infer_kind(schema)
    if kind is None:
        if any(k in schema for k in ("type", "format", "x-kind")):
            return  # every valid type, format or x-kind gives a kind: the dialect check reports it
        problems.add(
            entity.id,
            at,
            f"cannot tell what kind of field `{name}` is",
            'Add "type" (string, integer, number, boolean, object, array), a "format", an '
            '"enum" or an "x-kind".',
        )
        return
    json_type = schema.get("type")
    explicit = schema.get("x-kind")
    if isinstance(explicit, str) and kind in KIND_TYPES and isinstance(json_type, str):
        allowed = KIND_TYPES[kind]
        if json_type not in allowed:
            problems.add(
                entity.id,
                at + "/type",
                f"x-kind {explicit!r} holds {' or '.join(sorted(allowed))} values, "
                f"but the type is {json_type!r}",
                f'Use "type": "{sorted(allowed)[0]}" or remove "type".',
            )
    if kind in (FieldKind.ENUM, FieldKind.COMPUTED) and json_type not in (None, _result(kind)):
        problems.add(
            entity.id,
            at + "/type",
            f"a{'n enum' if kind is FieldKind.ENUM else ' computed'} field has "
            f'"type": "{_result(kind)}", not {_json(json_type)}',
            f'Use "type": "{_result(kind)}" or leave "type" out.',
        )
    if kind is FieldKind.MULTI_ENUM:
        items = mapping(schema, "items") or {}
        if items.get("type") not in (None, "string"):
            problems.add(
                entity.id,
                at + "/items/type",
                "the items of a multi-enum field are strings",
                'Use "type": "string" or leave it out.',
            )


def _result(kind: FieldKind) -> str:
    return "boolean" if kind is FieldKind.COMPUTED else "string"


def _check_enum(
    entity: EntityDef, name: str, schema: Mapping[str, Any], problems: Problems
) -> None:
    kind = infer_kind(schema)
    base: tuple[str, ...]
    if kind is FieldKind.ENUM:
        base, values = ("properties", name, "enum"), schema.get("enum")
    elif kind is FieldKind.MULTI_ENUM:
        base, values = (
            ("properties", name, "items", "enum"),
            (mapping(schema, "items") or {}).get("enum"),
        )
    else:
        if "x-enumLabels" in schema:
            problems.add(
                entity.id,
                pointer("properties", name, "x-enumLabels"),
                f"`{name}` is not an enum field, so x-enumLabels has nothing to label",
                'Remove x-enumLabels, or give the field an "enum".',
            )
        return
    if not isinstance(values, Sequence) or isinstance(values, str):
        return  # the dialect check reports it
    for index, value in enumerate(values):
        if (
            not isinstance(value, str)
            or not GRAPHQL_NAME.match(value)
            or value.startswith("__")
            or value in _NOT_ENUM_NAMES
        ):
            problems.add(
                entity.id,
                pointer(*base, index),
                f"enum value {_json(value)} is not a valid GraphQL enum value name",
                "Use letters, digits and _ starting with a letter or _ (e.g. in_progress; not "
                "true, false or null), and put the display text in x-enumLabels.",
            )
    labels = schema.get("x-enumLabels")
    if isinstance(labels, Mapping):
        for value in labels:
            if value not in values:
                problems.add(
                    entity.id,
                    pointer("properties", name, "x-enumLabels", value),
                    f"x-enumLabels labels {value!r}, which is not one of the enum values",
                    "Label only values listed in the enum (check the spelling).",
                )


def _check_relation_shape(
    entity: EntityDef, name: str, schema: Mapping[str, Any], problems: Problems
) -> None:
    relation = mapping(schema, "x-relation")
    if relation is None:
        return
    at = pointer("properties", name, "x-relation")
    kind = infer_kind(schema)
    is_array = schema.get("type") == "array"
    if kind is FieldKind.MANY_TO_MANY:
        items = mapping(schema, "items") or {}
        if items.get("format") != "uuid" or items.get("type") not in (None, "string"):
            problems.add(
                entity.id,
                pointer("properties", name, "items"),
                f"the items of many-to-many `{name}` must be uuids",
                'Use "items": {"type": "string", "format": "uuid"}.',
            )
        if "onDelete" in relation:
            problems.add(
                entity.id,
                at + "/onDelete",
                "onDelete does not apply to a many-to-many field",
                "Set onDelete on the relations of the link entity instead.",
            )
    elif kind is FieldKind.RELATION:
        if "through" in relation:
            problems.add(
                entity.id,
                at + "/through",
                f"`through` makes a many-to-many, but `{name}` holds a single uuid",
                'Make the field "type": "array" with uuid items, or remove `through`.',
            )
    elif kind not in (FieldKind.COMPUTED, None):
        if is_array:
            hint = 'A list of references needs "through": the link entity holding both sides.'
        else:
            hint = 'Add "type": "string", "format": "uuid" to the field.'
        problems.add(
            entity.id, at, f"x-relation needs a uuid field, but `{name}` is a {kind} field", hint
        )


def _check_combinations(entity: EntityDef, field: FieldDef, problems: Problems) -> None:
    at = pointer("properties", field.name)
    schema = field.schema if isinstance(field.schema, Mapping) else {}
    if field.kind is FieldKind.COMPUTED:
        for keyword in ("x-relation", "x-kind", "x-unique", "default", "x-sensitive"):
            if keyword in schema:
                problems.add(
                    entity.id,
                    f"{at}/{keyword}",
                    f"computed field `{field.name}` has no column, so {keyword} does not apply",
                    f"Remove {keyword}, or remove x-computed to store the field.",
                )
    if field.kind is FieldKind.MANY_TO_MANY:
        for keyword in ("x-unique", "default", "x-sensitive"):
            if keyword in schema:
                problems.add(
                    entity.id,
                    f"{at}/{keyword}",
                    f"many-to-many field `{field.name}` has no column, so {keyword} does not apply",
                    f"Remove {keyword}.",
                )
    if field.sensitive and field.kind is FieldKind.RELATION:
        problems.add(
            entity.id,
            at + "/x-sensitive",
            f"relation `{field.name}` cannot be sensitive: an encrypted value cannot be a "
            "foreign key",
            "Remove x-sensitive, or mark sensitive fields of the target entity instead.",
        )
    if field.sensitive and field.has_default:
        problems.add(
            entity.id,
            at + "/default",
            f"sensitive field `{field.name}` is encrypted per record, so it cannot have a "
            "default (a column default would be stored in clear)",
            "Remove the default, or let clients send the value.",
        )
    if field.sensitive and field.unique:
        problems.add(
            entity.id,
            at + "/x-unique",
            f"sensitive field `{field.name}` is encrypted at rest, so it cannot be unique",
            "Remove x-unique or x-sensitive.",
        )
    if field.analyze and field.kind not in _TEXT_KINDS:
        problems.add(
            entity.id,
            at + "/x-analyze",
            f"x-analyze needs a text field, but `{field.name}` is a {field.kind} field",
            'Use it on "type": "string" fields (x-kind text for long text).',
        )
    if field.required and field.read_only and not field.has_default and field.is_stored:
        problems.add(
            entity.id,
            at + "/readOnly",
            f"`{field.name}` is required and read-only without a default: no record could "
            "be created",
            "Give it a default, or drop readOnly or the required entry.",
        )


def _check_default(entity: EntityDef, field: FieldDef, problems: Problems) -> None:
    if not field.has_default or not field.is_stored or not isinstance(field.schema, Mapping):
        return
    schema = {k: v for k, v in thaw_json(field.schema).items() if k != "default"}
    validator = Draft202012Validator(schema, format_checker=_FORMATS)
    try:
        error = best_match(validator.iter_errors(thaw_json(field.default)))
    except (TypeError, ValueError, LookupError, re.error, Unresolvable):
        return  # a malformed field schema: the dialect check reports it
    if error is not None:
        problems.add(
            entity.id,
            pointer("properties", field.name, "default"),
            f"default {_json(thaw_json(field.default))} does not satisfy the field's own schema: "
            f"{error.message}",
            "Change the default to a value the field accepts, or remove it.",
        )


def _check_required(
    entity: EntityDef, body: Mapping[str, Any], declared: set[str], problems: Problems
) -> None:
    required = body.get("required")
    if not isinstance(required, Sequence) or isinstance(required, str):
        return
    for index, name in enumerate(required):
        if not isinstance(name, str):
            continue
        at = pointer("required", index)
        if name not in declared:
            problems.add(
                entity.id,
                at,
                f"`required` names {name!r}, which is not a property",
                "List only names defined in `properties` (check the spelling).",
            )
        elif entity.has_field(name) and not entity.field(name).is_stored:
            problems.add(
                entity.id,
                at,
                f"`{name}` is a {entity.field(name).kind} field with no column, so it cannot "
                "be required",
                f"Remove {name!r} from `required`.",
            )


def _check_indexes(
    entity: EntityDef, body: Mapping[str, Any], declared: set[str], problems: Problems
) -> None:
    seen: dict[tuple[tuple[str, ...], bool], int] = {}
    for position, names, unique, _ in index_entries(body):
        entry = body["x-indexes"][position]
        base = ("x-indexes", position) + (("fields",) if isinstance(entry, Mapping) else ())
        for index, name in enumerate(names):
            if not isinstance(name, str):
                continue
            at = pointer(*base, index)
            if name not in declared:
                problems.add(
                    entity.id,
                    at,
                    f"index names {name!r}, which is not a property",
                    "Index only fields defined in `properties` (check the spelling).",
                )
            elif not entity.has_field(name):
                continue  # the field itself is broken; reported there
            elif not entity.field(name).is_stored:
                problems.add(
                    entity.id,
                    at,
                    f"`{name}` is a {entity.field(name).kind} field with no column, so it "
                    "cannot be indexed",
                    f"Remove {name!r} from the index.",
                )
            elif entity.field(name).sensitive:
                problems.add(
                    entity.id,
                    at,
                    f"sensitive field `{name}` is encrypted at rest, so an index on it is useless",
                    f"Remove {name!r} from the index, or remove x-sensitive.",
                )
        if not names or not all(isinstance(n, str) for n in names):
            continue  # malformed: the dialect check reports it
        key = (tuple(names), unique)
        if key in seen:
            problems.add(
                entity.id,
                pointer("x-indexes", position),
                f"this index repeats index #{seen[key]}",
                "Remove the duplicate.",
            )
        else:
            seen[key] = position


def _check_table_name(entity: EntityDef, problems: Problems) -> None:
    if len(entity.table.encode()) > PG_MAX_IDENTIFIER:
        problems.add(
            entity.id,
            "/$id",
            f"table name {entity.table!r} is {len(entity.table.encode())} bytes long; "
            f"PostgreSQL identifiers hold at most {PG_MAX_IDENTIFIER}",
            "Shorten the namespace or the entity name (the table is <namespace>_<name>).",
        )
    # Generated index names are shortened to fit (indexes.index_name); an explicit `name` longer
    # than PostgreSQL takes is refused by the meta-schema (maxLength 63).


def check_entity(entity: EntityDef, problems: Problems) -> None:
    """Report every semantic problem of one entity (its draft and the body it came from)."""
    body = entity.document if isinstance(entity.document, Mapping) else {}
    declared = {name for name, _ in property_schemas(body)}
    for name, schema in property_schemas(body):
        _check_kind(entity, name, schema, problems)
        _check_enum(entity, name, schema, problems)
        _check_relation_shape(entity, name, schema, problems)
        _check_nested_keywords(entity, name, schema, problems)
    for field in entity.fields:
        _check_name(entity, field, problems)
        _check_combinations(entity, field, problems)
        _check_default(entity, field, problems)
    _check_clashes(entity, problems)
    _check_required(entity, body, declared, problems)
    _check_indexes(entity, body, declared, problems)
    _check_table_name(entity, problems)
