"""The record JSON Schema of an entity: what a client may write, as plain JSON Schema 2020-12.

One function, :func:`record_schema`, derives it from the IR. The GraphQL mutations validate their
input against it (through :mod:`rapport.metadata.validation`) and the form builder hands it to
frontends, so a form and the server agree on every rule. It is written over the GraphQL *input*
names, one property per writable field:

- a relation ``trainer`` is the property ``trainerId`` (``type: string, format: uuid``);
- system fields (``id``, ``createdAt``…), computed, many-to-many and ``readOnly`` fields are
  absent, and ``additionalProperties: false`` rejects them (and typos);
- ``mode="create"`` lists in ``required`` the required fields without a default;
  ``mode="update"`` requires nothing, lets every optional property be ``null`` (which clears the
  value), asks for at least one property (``minProperties: 1``) and leaves out ``default``;
  in both modes an optional property may be ``null`` (GraphQL lets a client send ``null`` for a
  nullable input field; it stores SQL NULL);
- the document's own constraints (``maxLength``, ``pattern``, ``minimum``, ``enum``, ``format``…)
  are copied, its ``x-`` keywords removed except the presentation annotations ``x-label`` and
  ``x-enumLabels`` that forms render; ``title`` is the English label when there is one;
- numbers stay numbers: decimal and float are ``type: number`` (validated exactly: the validator
  sees a ``Decimal`` as a number, never through a float), money adds ``multipleOf: 0.01``
  (its column is ``numeric(18,2)``: a third decimal is rejected rather than rounded away), a
  rating is an integer from 1 unless the document says otherwise;
- a file is a FileRef object ``{key, name, size, contentType, sha256}`` (``sha256`` may be
  omitted or null);
- a multi-enum is an array of the enum's strings with ``uniqueItems: true``.

The result is a fresh ``dict`` on every call: callers may serialize or extend it freely.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from rapport.metadata.ir import EntityDef, FieldDef, FieldKind, thaw_json

__all__ = ["FILE_REF_SCHEMA", "JSON_SCHEMA_DIALECT", "Mode", "record_schema"]

Mode = Literal["create", "update"]

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

# What a file field holds: a reference to an uploaded object, never the bytes.
FILE_REF_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "properties": {
        "key": {"type": "string", "minLength": 1, "title": "Storage key"},
        "name": {"type": "string", "minLength": 1, "title": "File name"},
        "size": {"type": "integer", "minimum": 0, "title": "Size in bytes"},
        "contentType": {"type": "string", "minLength": 1, "title": "Content type"},
        "sha256": {"type": ["string", "null"], "pattern": "^[0-9a-f]{64}$", "title": "SHA-256"},
    },
    "required": ["key", "name", "size", "contentType"],
    "additionalProperties": False,
}

# x- keywords that only describe how to present a value; forms need them, validators skip them.
_KEPT_EXTENSIONS = frozenset({"x-label", "x-enumLabels"})

# The JSON type each kind is written as (None: the document's own ``type``, if any, stands).
_KIND_TYPES: Mapping[FieldKind, str | None] = {
    FieldKind.STRING: "string",
    FieldKind.TEXT: "string",
    FieldKind.EMAIL: "string",
    FieldKind.PHONE: "string",
    FieldKind.URL: "string",
    FieldKind.ENUM: "string",
    FieldKind.DATE: "string",
    FieldKind.DATETIME: "string",
    FieldKind.UUID: "string",
    FieldKind.RELATION: "string",
    FieldKind.INTEGER: "integer",
    FieldKind.RATING: "integer",
    FieldKind.DECIMAL: "number",
    FieldKind.MONEY: "number",
    FieldKind.FLOAT: "number",
    FieldKind.BOOLEAN: "boolean",
    FieldKind.MULTI_ENUM: "array",
    FieldKind.FILE: "object",
    FieldKind.JSON: None,
}

_KIND_FORMATS: Mapping[FieldKind, str] = {
    FieldKind.DATE: "date",
    FieldKind.DATETIME: "date-time",
    FieldKind.EMAIL: "email",
    FieldKind.URL: "uri",
    FieldKind.UUID: "uuid",
    FieldKind.RELATION: "uuid",
}

# Keywords whose value is a map of name -> subschema, or one subschema, or a list of subschemas:
# the places x- keywords can hide below a property. Everything else is a value (enum, default…)
# and is copied untouched, even when it holds keys starting with "x-".
_SCHEMA_MAPS = frozenset({"properties", "patternProperties", "$defs", "dependentSchemas"})
_SCHEMA_ONE = frozenset(
    {
        "items",
        "additionalProperties",
        "unevaluatedProperties",
        "unevaluatedItems",
        "contains",
        "propertyNames",
        "not",
        "if",
        "then",
        "else",
    }
)
_SCHEMA_LIST = frozenset({"allOf", "anyOf", "oneOf", "prefixItems"})

# Keywords that mean something only for the document, not for a record value.
_DOCUMENT_ONLY = frozenset({"readOnly", "$id", "$schema", "$anchor", "$comment"})

_CENT = Decimal("0.01")


def record_schema(entity: EntityDef, *, mode: Mode) -> dict[str, Any]:
    """The JSON Schema (2020-12) of a create or update input of ``entity``."""
    if mode not in ("create", "update"):
        raise ValueError(f"mode must be 'create' or 'update', not {mode!r}")
    properties: dict[str, Any] = {}
    required: list[str] = []
    for field in entity.fields:
        if not field.is_writable:
            continue
        name = field.graphql_input_name
        properties[name] = _property_schema(field, mode=mode)
        if mode == "create" and field.required and not field.has_default:
            required.append(name)

    schema: dict[str, Any] = {"$schema": JSON_SCHEMA_DIALECT}
    title = entity.label.get("en") or entity.title or entity.type_name
    schema["title"] = title
    if entity.label:
        schema["x-label"] = dict(entity.label)
    if entity.description:
        schema["description"] = entity.description
    schema["type"] = "object"
    schema["properties"] = properties
    if required:
        schema["required"] = required
    if mode == "update":
        schema["minProperties"] = 1
    schema["additionalProperties"] = False
    return schema


def _property_schema(field: FieldDef, *, mode: Mode) -> dict[str, Any]:
    written = thaw_json(field.schema) if isinstance(field.schema, Mapping) else {}
    kind = field.kind
    if kind is FieldKind.FILE:
        # Only annotations survive from the document: the shape of a FileRef is fixed.
        prop = {k: v for k, v in _clean(written).items() if k in ("title", "description")}
        prop.update(thaw_json(FILE_REF_SCHEMA))
    else:
        prop = _clean(written)
        json_type = _KIND_TYPES.get(kind)
        if json_type is not None:
            prop["type"] = json_type
        if kind in _KIND_FORMATS:
            prop["format"] = _KIND_FORMATS[kind]
        if kind is FieldKind.ENUM:
            prop["enum"] = list(field.enum_values)
        elif kind is FieldKind.MULTI_ENUM:
            written_items = prop.get("items")
            items = written_items if isinstance(written_items, dict) else {}
            prop["items"] = {
                "type": "string",
                **{k: v for k, v in items.items() if k not in ("type", "enum")},
                "enum": list(field.enum_values),
            }
            prop["uniqueItems"] = True
        elif kind is FieldKind.MONEY:
            prop["multipleOf"] = _money_step(prop.get("multipleOf"))
        elif kind is FieldKind.RATING and "minimum" not in prop and "exclusiveMinimum" not in prop:
            prop["minimum"] = 1
    label = field.label.get("en")
    if label:
        prop["title"] = label
    if field.label:
        prop["x-label"] = dict(field.label)
    if field.description and "description" not in prop:
        prop["description"] = field.description
    if field.enum_labels and kind in (FieldKind.ENUM, FieldKind.MULTI_ENUM):
        prop["x-enumLabels"] = thaw_json(field.enum_labels)
    if mode == "update":
        prop.pop("default", None)
    if field.nullable:
        _allow_null(prop)
    return _ordered(prop)


def _clean(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a (sub)schema without ``x-`` keywords (except presentation ones) and without
    keywords that only concern the document."""
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key.startswith("x-") and key not in _KEPT_EXTENSIONS:
            continue
        if key in _DOCUMENT_ONLY:
            continue
        if key in _SCHEMA_MAPS and isinstance(value, Mapping):
            out[key] = {k: _clean(v) if isinstance(v, Mapping) else v for k, v in value.items()}
        elif key in _SCHEMA_ONE and isinstance(value, Mapping):
            out[key] = _clean(value)
        elif key in _SCHEMA_LIST and isinstance(value, list):
            out[key] = [_clean(v) if isinstance(v, Mapping) else v for v in value]
        else:
            out[key] = value
    return out


def _money_step(declared: Any) -> Any:
    """The document's ``multipleOf`` when it is a whole number of cents, else one cent."""
    if isinstance(declared, int | float) and not isinstance(declared, bool) and declared > 0:
        try:
            if Decimal(repr(declared)) % _CENT == 0:
                return declared
        except InvalidOperation:
            pass
    return 0.01


def _allow_null(prop: dict[str, Any]) -> None:
    json_type = prop.get("type")
    if isinstance(json_type, str):
        if json_type != "null":
            prop["type"] = [json_type, "null"]
    elif isinstance(json_type, list) and "null" not in json_type:
        prop["type"] = [*json_type, "null"]
    enum = prop.get("enum")
    if isinstance(enum, list) and None not in enum:
        prop["enum"] = [*enum, None]


_KEY_ORDER = (
    "title",
    "x-label",
    "description",
    "type",
    "format",
    "enum",
    "x-enumLabels",
    "items",
    "uniqueItems",
)


def _ordered(prop: dict[str, Any]) -> dict[str, Any]:
    """Presentation keys first, so a person reading the schema sees what the field is."""
    first = {k: prop[k] for k in _KEY_ORDER if k in prop}
    return first | {k: v for k, v in prop.items() if k not in first}
