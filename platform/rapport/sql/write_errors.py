"""PostgreSQL errors of a write, turned into Rapport errors that name fields, never SQL.

Constraint names come from :mod:`rapport.metadata.ddl` (the one place that names them); when a name is
not one of ours (a hand-made index, an older schema) the columns are read from the error's
``detail`` (``Key (code)=(…) already exists.``). The detail is used only to find fields and
which input of a bulk write was at fault: values never reach the message.

| PostgreSQL                              | Rapport                                              |
|-----------------------------------------|------------------------------------------------------|
| unique_violation                        | ConstraintViolation naming the field(s), path set    |
| foreign_key_violation (insert, update)  | ValidationFailed at ``<rel>Id``: no <Target> with it |
| foreign_key/restrict_violation (delete) | ConstraintViolation naming the referencing field     |
| not_null_violation, check_violation     | ValidationFailed at the field                        |
| other data errors (class 22)            | ValidationFailed at the input                        |
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from rapport.errors import (
    ConstraintViolation,
    FieldError,
    PathSegment,
    RapportError,
    ValidationFailed,
)
from rapport.metadata.ddl import entity_foreign_keys, entity_uniques, object_name
from rapport.metadata.ir import EntityDef, FieldDef, FieldKind
from rapport.metadata.kinds import column_for
from rapport.naming import pascal_case, table_name

__all__ = ["WrittenRow", "conflict", "delete_error", "write_error"]

_KEY_DETAIL = re.compile(r"^Key \((?P<columns>.+?)\)=\((?P<values>.*)\) ", re.DOTALL)


@dataclass(frozen=True, slots=True)
class WrittenRow:
    """One row of a write: where its input sits in the request and what it bound per column."""

    path: tuple[PathSegment, ...]
    values: Mapping[str, Any]  # column -> parameter (absent: DEFAULT / unchanged)


def write_error(
    exc: asyncpg.PostgresError,
    entity: EntityDef,
    rows: Sequence[WrittenRow],
    *,
    upsert_hint: bool = True,
) -> RapportError | None:
    """The Rapport error for a failed INSERT/UPDATE of ``rows``, or None when it is not one the
    caller caused (the original exception should then propagate)."""
    if isinstance(exc, asyncpg.exceptions.UniqueViolationError):
        return _unique(exc, entity, rows, upsert_hint=upsert_hint)
    if isinstance(exc, asyncpg.exceptions.ForeignKeyViolationError):
        return _missing_reference(exc, entity, rows)
    if isinstance(exc, asyncpg.exceptions.NotNullViolationError):
        field = _field_by_column(entity, exc.column_name)
        if field is None:
            return None
        suspects = [r for r in rows if r.values.get(_column(field)) is None] or list(rows)
        return ValidationFailed(
            [
                FieldError((*r.path, field.graphql_input_name), "is required", "REQUIRED")
                for r in suspects
            ]
        )
    if isinstance(exc, asyncpg.exceptions.CheckViolationError):
        field = _field_in_name(entity, exc.constraint_name or "")
        if field is None:
            paths = [r.path for r in rows]
        else:
            paths = [
                (*r.path, field.graphql_input_name)
                for r in rows
                if r.values.get(_column(field)) is not None
            ] or [(*r.path, field.graphql_input_name) for r in rows]
        return ValidationFailed(
            [FieldError(p, "is not an allowed value", "INVALID") for p in paths]
        )
    if isinstance(exc, asyncpg.exceptions.DataError):
        # Class 22 (bad text representation, out of range…): the value checks run before the
        # statement should make this unreachable; say so without guessing a field.
        return ValidationFailed(
            [FieldError(r.path, "holds a value the database cannot store", "INVALID") for r in rows]
        )
    return None


def delete_error(exc: asyncpg.PostgresError, entity: EntityDef) -> RapportError | None:
    """The Rapport error for a failed DELETE of one ``entity`` record, or None."""
    # A RESTRICT relation fails with restrict_violation on some servers, with
    # foreign_key_violation on others (NO ACTION semantics): both mean "still referenced".
    if not isinstance(
        exc,
        asyncpg.exceptions.ForeignKeyViolationError | asyncpg.exceptions.RestrictViolationError,
    ):
        return None
    referencing_table = exc.table_name or ""
    constraint = exc.constraint_name or ""
    candidates = [r for r in entity.reverse_relations if table_name(r.source) == referencing_table]
    chosen = next(
        (
            r
            for r in candidates
            if constraint
            == object_name(
                table_name(r.source), column_for(r.source_field, FieldKind.RELATION) or "", "fkey"
            )
        ),
        candidates[0] if len(candidates) == 1 else None,
    )
    if chosen is None:
        return ConstraintViolation(
            f"This {entity.type_name} cannot be deleted: other records still reference it.",
            hint="Delete or reassign the records that reference it first.",
        )
    source_type = pascal_case(chosen.source.partition("/")[2])
    return ConstraintViolation(
        f"This {entity.type_name} cannot be deleted: {source_type} records still reference it "
        f"in their {chosen.source_field} field.",
        hint=f"Delete those {source_type} records or reassign their {chosen.source_field} first.",
        details={
            "referencedBy": {"entity": chosen.source, "field": chosen.source_field},
        },
    )


def _unique(
    exc: asyncpg.exceptions.UniqueViolationError,
    entity: EntityDef,
    rows: Sequence[WrittenRow],
    *,
    upsert_hint: bool,
) -> RapportError | None:
    columns = _constraint_columns(entity, exc.constraint_name or "")
    detail_columns, detail_values = _parse_key(exc.detail)
    if columns is None:
        columns = detail_columns
    if not columns:
        return None
    fields = [_field_by_column(entity, c) for c in columns]
    if any(f is None for f in fields):
        return None
    known = [f for f in fields if f is not None]
    culprits = _rows_with(rows, columns, detail_values)
    return conflict(
        entity, known, [r.path for r in culprits], several=len(rows) > 1, upsert_hint=upsert_hint
    )


def conflict(
    entity: EntityDef,
    fields: Sequence[FieldDef],
    paths: Sequence[tuple[PathSegment, ...]],
    *,
    several: bool = False,
    upsert_hint: bool = True,
) -> ConstraintViolation:
    """A unique conflict, told only through the caller's own input: which of its fields and
    paths clash — never the other record's id or values (it may be one the caller cannot
    read)."""
    names = [f.graphql_input_name for f in fields]
    what = " and ".join(f.name for f in fields)
    single_unique = len(fields) == 1 and fields[0].unique
    hint = (
        f"Choose another value or use upsert{entity.type_name} to update the existing record."
        if single_unique and upsert_hint
        else "Choose other values, or change the existing record instead."
    )
    return ConstraintViolation(
        f"Another {entity.type_name} already has this {what}"
        + (" (or two inputs share it)." if several else "."),
        hint=hint,
        path=(*paths[0], names[0]) if paths else None,
        details={
            "fields": names,
            "paths": [list((*p, names[0])) for p in paths],
        },
    )


def _missing_reference(
    exc: asyncpg.exceptions.ForeignKeyViolationError,
    entity: EntityDef,
    rows: Sequence[WrittenRow],
) -> RapportError | None:
    by_name = {fk.name: fk.column for fk in entity_foreign_keys(entity)}
    detail_columns, detail_values = _parse_key(exc.detail)
    column = by_name.get(exc.constraint_name or "") or (
        detail_columns[0] if len(detail_columns) == 1 else None
    )
    field = _field_by_column(entity, column)
    if field is None or field.relation is None:
        return None
    target = pascal_case(field.relation.target.partition("/")[2])
    culprits = _rows_with(rows, (_column(field),), detail_values)
    return ValidationFailed(
        [
            FieldError(
                (*r.path, field.graphql_input_name),
                f"no {target} with this id",
                "UNKNOWN_REFERENCE",
            )
            for r in culprits
        ]
    )


def _rows_with(
    rows: Sequence[WrittenRow], columns: Sequence[str], values_text: str | None
) -> list[WrittenRow]:
    """The rows whose values for ``columns`` print as ``values_text`` (PostgreSQL's detail);
    every row that set those columns when the detail cannot be matched."""
    setting = [r for r in rows if all(r.values.get(c) is not None for c in columns)]
    if values_text is not None:
        matching = [
            r for r in setting if ", ".join(str(r.values[c]) for c in columns) == values_text
        ]
        if matching:
            return matching
    return setting or list(rows)


def _parse_key(detail: str | None) -> tuple[tuple[str, ...], str | None]:
    match = _KEY_DETAIL.match(detail or "")
    if match is None:
        return (), None
    columns = tuple(c.strip().strip('"') for c in match["columns"].split(","))
    return columns, match["values"]


def _constraint_columns(entity: EntityDef, name: str) -> tuple[str, ...] | None:
    for unique in entity_uniques(entity):
        if unique.name == name:
            return (unique.column,)
    for index in entity.indexes:
        if index.unique and name in (index.name, object_name(index.name)):
            return index.columns
    return None


def _field_by_column(entity: EntityDef, column: str | None) -> FieldDef | None:
    if column is None:
        return None
    return next((f for f in entity.fields if f.column == column and f.is_writable), None)


def _field_in_name(entity: EntityDef, constraint: str) -> FieldDef | None:
    """The field whose column appears in a constraint's name (longest match wins)."""
    found = [
        f for f in entity.fields if f.column is not None and f"_{f.column}_" in f"_{constraint}_"
    ]
    return max(found, key=lambda f: len(f.column or ""), default=None)


def _column(field: FieldDef) -> str:
    return field.column or ""
