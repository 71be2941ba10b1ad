"""Record validation: input values checked against the entity's record JSON Schema.

A :class:`RecordValidator` compiles :func:`~rapport.metadata.record_schema.record_schema` once
with jsonschema-rs (formats checked) and turns its errors into :class:`~rapport.errors.FieldError`
values a person understands — ``must be at most 200 characters``, not a Rust debug string — each
with a stable ``code`` and the path of the offending value. Every error is reported, not only the
first. :class:`Validators` holds the compiled validators of a whole :class:`Model`, built once
and read-only afterwards (one per tenant runtime).

Field error codes: ``REQUIRED`` (missing, or null where a value is required), ``TYPE``,
``TOO_LONG``/``TOO_SHORT`` (strings and lists), ``PATTERN``, ``FORMAT``, ``NOT_IN_ENUM``,
``RANGE`` (minimum/maximum), ``PRECISION`` (multipleOf, e.g. a third decimal on money),
``DUPLICATE`` (repeated item in a multi-enum), ``UNKNOWN_FIELD``, ``READ_ONLY`` (a system,
computed or read-only field), ``EMPTY`` (an update without fields), ``INVALID`` (anything else).
"""

from __future__ import annotations

import enum
import math
import uuid
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import jsonschema_rs

from rapport.errors import FieldError, PathSegment
from rapport.metadata.ir import SYSTEM_FIELDS, EntityDef, FieldKind, Model
from rapport.metadata.record_schema import Mode, record_schema
from rapport.naming import pascal_case

__all__ = ["RecordValidator", "Validators", "to_json_value"]

_MODES: tuple[Mode, ...] = ("create", "update")

_FORMAT_MESSAGES = {
    "date": "must be a date written YYYY-MM-DD",
    "date-time": "must be a date and time with a time zone, e.g. 2026-01-02T03:04:05Z",
    "email": "must be an email address",
    "uri": "must be an absolute URL, e.g. https://example.com/page",
    "uuid": "must be a UUID, e.g. 123e4567-e89b-12d3-a456-426614174000",
}

_TYPE_NAMES = {
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "object": "an object",
}


class _NotJson(Exception):
    """A Python value with no JSON form (bytes, an arbitrary object…)."""

    def __init__(self, path: tuple[PathSegment, ...], value: Any) -> None:
        super().__init__(path)
        self.path = path
        self.type_name = type(value).__name__


def to_json_value(value: Any) -> Any:
    """The JSON form of a GraphQL-coerced Python value, as the record schema describes it.

    date and datetime become ISO-8601 strings (a naive datetime keeps no offset, so the
    ``date-time`` format rejects it), UUIDs their text, enums their value, tuples lists.
    ``Decimal`` stays a ``Decimal``: jsonschema-rs reads it as an exact number, so validating
    ``12.505`` against ``multipleOf: 0.01`` never goes through a float.

    Raises ``ValueError`` for values JSON cannot hold.
    """
    try:
        return _to_json(value, ())
    except _NotJson as exc:
        raise ValueError(f"a {exc.type_name} has no JSON form") from None


def _to_json(value: Any, path: tuple[PathSegment, ...]) -> Any:
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _NotJson(path, value)
        return value
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise _NotJson(path, value)
        return value
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, enum.Enum):
        return _to_json(value.value, path)
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise _NotJson((*path, str(key)), key)
            out[key] = _to_json(item, (*path, key))
        return out
    if isinstance(value, list | tuple):
        return [_to_json(item, (*path, i)) for i, item in enumerate(value)]
    raise _NotJson(path, value)


class RecordValidator:
    """Validates create or update input of one entity; build once, call from any task."""

    __slots__ = ("_compiled", "_ignored", "_order", "entity", "mode", "schema")

    def __init__(self, entity: EntityDef, mode: Mode) -> None:
        self.entity = entity
        self.mode: Mode = mode
        self.schema: Mapping[str, Any] = record_schema(entity, mode=mode)
        self._compiled = jsonschema_rs.validator_for(dict(self.schema), validate_formats=True)
        properties = self.schema["properties"]
        self._order = {name: i for i, name in enumerate(properties)}
        # Names a client may try that exist on the entity but are not inputs: (message, code).
        ignored: dict[str, tuple[str, str]] = {
            s.name: ("is set by the system and cannot be written", "READ_ONLY")
            for s in SYSTEM_FIELDS
        }
        for f in entity.fields:
            if f.graphql_input_name in properties:
                if f.name != f.graphql_input_name:
                    ignored[f.name] = (
                        f"is not an input field: write {f.graphql_input_name} instead",
                        "UNKNOWN_FIELD",
                    )
            elif f.kind is FieldKind.COMPUTED:
                ignored[f.name] = ("is computed and cannot be written", "READ_ONLY")
            elif f.kind is FieldKind.MANY_TO_MANY and f.many_to_many is not None:
                ignored[f.name] = (
                    f"cannot be written here: create or delete "
                    f"{_type_name(f.many_to_many.through)} records instead",
                    "READ_ONLY",
                )
            else:
                ignored[f.name] = ("is read-only", "READ_ONLY")
        self._ignored = MappingProxyType(ignored)

    def validate(
        self, data: Mapping[str, Any], *, path_prefix: tuple[PathSegment, ...] = ()
    ) -> list[FieldError]:
        """Every problem of ``data``; an empty list when it is valid.

        ``data`` maps GraphQL input names to GraphQL-coerced Python values (or their JSON form).
        Each error's path is ``path_prefix`` + the path of the value inside ``data``, e.g.
        ``("input", "title")`` or ``("inputs", 2, "material", "size")``.
        """
        if not isinstance(data, Mapping):
            return [FieldError(path_prefix, "must be an object", "TYPE")]
        errors: list[FieldError] = []
        instance: dict[str, Any] = {}
        for key, value in data.items():
            try:
                instance[str(key)] = _to_json(value, (str(key),))
            except _NotJson as exc:
                errors.append(
                    FieldError(
                        (*path_prefix, *exc.path),
                        f"cannot take a value of Python type {exc.type_name}",
                        "TYPE",
                    )
                )
        # A value with no JSON form is left out of the instance; its TYPE error says it all.
        unusable = {str(e.path[len(path_prefix)]) for e in errors}
        for key in unusable:
            instance.pop(key, None)
        depth = len(path_prefix)
        for error in self._compiled.iter_errors(instance):
            errors.extend(
                e
                for e in self._translate(error, path_prefix)
                if len(e.path) <= depth or str(e.path[depth]) not in unusable
            )
        return self._tidy(errors, len(path_prefix))

    def translate(
        self, error: jsonschema_rs.ValidationError, prefix: tuple[PathSegment, ...]
    ) -> list[FieldError]:
        """One jsonschema-rs error of a schema built on this entity's record schema (a form's)
        as FieldErrors, worded like the record validator's own."""
        return list(self._translate(error, prefix))

    def _translate(
        self, error: jsonschema_rs.ValidationError, prefix: tuple[PathSegment, ...]
    ) -> Iterable[FieldError]:
        path = (*prefix, *error.instance_path)
        kind = error.kind
        value = error.instance
        if isinstance(kind, jsonschema_rs.ValidationErrorKind.Required):
            yield FieldError((*path, kind.property), "is required", "REQUIRED")
        elif isinstance(kind, jsonschema_rs.ValidationErrorKind.AdditionalProperties):
            at_root = not error.instance_path
            for name in kind.unexpected:
                known = self._ignored.get(name) if at_root else None
                if known is not None:
                    yield FieldError((*path, name), *known)
                else:
                    where = self.entity.type_name if at_root else "this object"
                    yield FieldError((*path, name), f"is not a field of {where}", "UNKNOWN_FIELD")
        elif isinstance(kind, jsonschema_rs.ValidationErrorKind.Type):
            if value is None:
                yield FieldError(path, "is required and cannot be null", "REQUIRED")
            else:
                wanted = [_TYPE_NAMES.get(t, t) for t in kind.types if t != "null"]
                yield FieldError(path, f"must be {' or '.join(wanted)}", "TYPE")
        elif isinstance(kind, jsonschema_rs.ValidationErrorKind.MaxLength):
            yield FieldError(path, f"must be at most {_count(kind.limit, 'character')}", "TOO_LONG")
        elif isinstance(kind, jsonschema_rs.ValidationErrorKind.MinLength):
            message = (
                "must not be empty"
                if kind.limit == 1
                else f"must be at least {_count(kind.limit, 'character')}"
            )
            yield FieldError(path, message, "TOO_SHORT")
        elif isinstance(kind, jsonschema_rs.ValidationErrorKind.MaxItems):
            yield FieldError(path, f"must have at most {_count(kind.limit, 'item')}", "TOO_LONG")
        elif isinstance(kind, jsonschema_rs.ValidationErrorKind.MinItems):
            yield FieldError(path, f"must have at least {_count(kind.limit, 'item')}", "TOO_SHORT")
        elif isinstance(kind, jsonschema_rs.ValidationErrorKind.Pattern):
            yield FieldError(path, f"must match the pattern {kind.pattern}", "PATTERN")
        elif isinstance(kind, jsonschema_rs.ValidationErrorKind.Format):
            message = _FORMAT_MESSAGES.get(kind.format, f"must be a valid {kind.format}")
            yield FieldError(path, message, "FORMAT")
        elif isinstance(kind, jsonschema_rs.ValidationErrorKind.Enum):
            options = ", ".join(str(o) for o in kind.options if o is not None)
            yield FieldError(path, f"must be one of: {options}", "NOT_IN_ENUM")
        elif isinstance(kind, jsonschema_rs.ValidationErrorKind.Constant):
            yield FieldError(path, f"must be {kind.expected_value}", "NOT_IN_ENUM")
        elif isinstance(kind, jsonschema_rs.ValidationErrorKind.Minimum):
            yield FieldError(path, f"must be at least {_number(kind.limit)}", "RANGE")
        elif isinstance(kind, jsonschema_rs.ValidationErrorKind.Maximum):
            yield FieldError(path, f"must be at most {_number(kind.limit)}", "RANGE")
        elif isinstance(kind, jsonschema_rs.ValidationErrorKind.ExclusiveMinimum):
            yield FieldError(path, f"must be greater than {_number(kind.limit)}", "RANGE")
        elif isinstance(kind, jsonschema_rs.ValidationErrorKind.ExclusiveMaximum):
            yield FieldError(path, f"must be less than {_number(kind.limit)}", "RANGE")
        elif isinstance(kind, jsonschema_rs.ValidationErrorKind.MultipleOf):
            step = _number(kind.multiple_of)
            if step == "0.01":
                yield FieldError(path, "must have at most 2 decimal places", "PRECISION")
            else:
                yield FieldError(path, f"must be a multiple of {step}", "PRECISION")
        elif isinstance(kind, jsonschema_rs.ValidationErrorKind.UniqueItems):
            yield FieldError(path, "must not list the same value twice", "DUPLICATE")
        elif isinstance(kind, jsonschema_rs.ValidationErrorKind.MinProperties):
            if not error.instance_path and self.mode == "update":
                yield FieldError(path, "nothing to update: give at least one field", "EMPTY")
            else:
                yield FieldError(
                    path, f"must have at least {_count(kind.limit, 'field')}", "TOO_SHORT"
                )
        else:
            yield FieldError(path, error.message, "INVALID")

    def _tidy(self, errors: list[FieldError], depth: int) -> list[FieldError]:
        """Drop the echoes of a wrong type (``3`` for an enum is both TYPE and NOT_IN_ENUM) and
        order the rest by the entity's field order, so messages read like the form."""
        typed = {e.path for e in errors if e.code in ("TYPE", "REQUIRED")}
        kept: list[FieldError] = []
        seen: set[tuple[tuple[PathSegment, ...], str]] = set()
        for e in errors:
            if e.path in typed and e.code not in ("TYPE", "REQUIRED"):
                continue
            if (e.path, e.code) in seen:
                continue
            seen.add((e.path, e.code))
            kept.append(e)

        def position(e: FieldError) -> tuple[int, str]:
            head = e.path[depth] if len(e.path) > depth else ""
            return (self._order.get(str(head), len(self._order)), str(head))

        return sorted(kept, key=position)


class Validators:
    """The record validators of one :class:`Model`, keyed by entity id and mode.

    Each validator is compiled on first use and kept: a tenant with 20 entities whose writes
    touch two pays for two, and a writer built for one in-app notification does not compile
    the whole model (~20 ms). A metadata change builds a new ``Validators`` with the new
    tenant runtime; the model itself is never changed.
    """

    __slots__ = ("_by_key", "_entities")

    def __init__(self, model: Model) -> None:
        self._entities: Mapping[str, EntityDef] = MappingProxyType({e.id: e for e in model})
        self._by_key: dict[tuple[str, Mode], RecordValidator] = {}

    def get(self, entity_id: str, mode: Mode) -> RecordValidator:
        """The validator of ``entity_id`` for ``mode``; KeyError for an unknown entity."""
        found = self._by_key.get((entity_id, mode))
        if found is None:
            entity = self._entities.get(entity_id)
            if entity is None or mode not in _MODES:
                raise KeyError(f"no record validator for {entity_id!r} ({mode})")
            found = self._by_key[(entity_id, mode)] = RecordValidator(entity, mode)
        return found

    def __contains__(self, entity_id: object) -> bool:
        return entity_id in self._entities

    def __len__(self) -> int:
        return len(self._entities)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _number(value: Any) -> str:
    """A limit as a person writes it: ``0.01`` not ``0.01000000000000000020816681711721685``."""
    if isinstance(value, float):
        return format(Decimal(repr(value)).normalize(), "f")
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value)


def _type_name(entity_id: str) -> str:
    return pascal_case(entity_id.partition("/")[2])
