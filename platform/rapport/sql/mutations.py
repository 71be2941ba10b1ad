"""The write path: create, update, delete and upsert records of one entity.

Each function validates its input completely before it touches the database (every problem of
every input is reported in one :class:`~rapport.errors.ValidationFailed`), then runs ONE
statement, so a write is all-or-nothing even outside a transaction. (The one exception: a bulk
insert beyond PostgreSQL's 32,767 bind parameters is split into several INSERTs inside one
transaction or savepoint — still all-or-nothing.) The callers (the GraphQL
mutation resolvers) wrap it in their transaction with the audit entry and outbox events; nothing
here commits.

Error paths. Every :class:`~rapport.errors.FieldError` path is ``<prefix> + <path inside the
input>``, e.g. ``("input", "title")``:

- ``insert_records`` prefixes input ``i`` with ``path_prefixes[i]``, by default ``(i,)``:
  ``createCourses`` passes ``[("inputs", i) for i …]`` (or nothing, and adds ``"inputs"``
  itself), ``createCourse`` calls :func:`insert_record` with ``path_prefix=("input",)``;
- ``insert_record``, ``update_record`` and ``upsert_record`` take one ``path_prefix`` (default
  ``()``: paths relative to the input);
- a malformed record ``id`` argument fails with path ``("id",)``, an unknown upsert ``key`` with
  ``("key",)``.

Errors raised (codes in ``extensions.code``): ValidationFailed (input breaks the record schema,
a value the column cannot hold, a reference to a missing record, an empty update — "nothing to
update" is an error, not a silent no-op, so a client that lost its changes hears about it),
NotFound (no record with that id), VersionConflict (``expected_version`` is stale; details carry
``currentVersion``), ConstraintViolation (a unique value taken; a delete blocked by records that
still reference this one). PostgreSQL's messages and SQL never reach the client.

Sensitive fields are sealed here, after validation (the validator sees the plaintext) and once
the record id is known (it is part of the associated data): callers pass a ``sealer`` (the
RecordWriter does, with the tenant's current data key); writing an entity that has sensitive
fields without one is refused rather than storing plaintext.

Ids are generated here (``uuid4``, like the column default ``gen_random_uuid()``), so
``insert_records`` returns them in input order without relying on the order of ``RETURNING``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import asyncpg

from rapport.db.database import Connection
from rapport.errors import (
    ConfigurationError,
    FieldError,
    NotFound,
    PathSegment,
    ValidationFailed,
    VersionConflict,
)
from rapport.metadata.ir import EntityDef, FieldDef
from rapport.metadata.record_schema import Mode
from rapport.metadata.validation import RecordValidator, Validators
from rapport.naming import qualified, quote_ident
from rapport.sql.values import input_fields, is_json_kind, to_columns
from rapport.sql.write_errors import WrittenRow, delete_error, write_error

__all__ = [
    "MAX_PARAMETERS",
    "Sealer",
    "delete_record",
    "insert_record",
    "insert_records",
    "update_record",
    "upsert_record",
]

# PostgreSQL's limit of bind parameters per statement; a bigger bulk insert is split into
# several INSERTs inside one transaction (still all-or-nothing).
MAX_PARAMETERS = 32767

_ID = quote_ident("id")
_VERSION = quote_ident("version")
_UPDATED_AT = quote_ident("updated_at")
_CREATED_BY = quote_ident("created_by")


async def insert_records(
    conn: Connection,
    schema: str,
    entity: EntityDef,
    inputs: Sequence[Mapping[str, Any]],
    *,
    actor: str | None,
    validators: Validators | None = None,
    path_prefixes: Sequence[tuple[PathSegment, ...]] | None = None,
    sealer: Sealer | None = None,
) -> list[str]:
    """Create one record per input; their ids, in input order.

    All inputs are validated first and every error of every input is raised together (paths
    ``path_prefixes[i] + field path``, by default ``(i, field…)``); then one INSERT writes all
    rows. An omitted field gets its column default (the document's ``default``); an explicit
    ``None`` stores NULL. ``created_by`` is ``actor``.
    """
    if path_prefixes is None:
        path_prefixes = [(i,) for i in range(len(inputs))]
    elif len(path_prefixes) != len(inputs):
        raise ValueError("path_prefixes must have one prefix per input")
    validator = _validator(entity, "create", validators)
    rows: list[WrittenRow] = []
    errors: list[FieldError] = []
    ids = [uuid.uuid4() for _ in inputs]
    for data, prefix, record_id in zip(inputs, path_prefixes, ids, strict=True):
        values, problems = _checked(validator, entity, data, prefix)
        errors.extend(problems)
        values = _sealed(entity, values, record_id, sealer)
        rows.append(WrittenRow(prefix, {_column(f): v for f, v in values}))
    if errors:
        raise ValidationFailed(errors)
    if not rows:
        return []

    columns = _present_columns(entity, rows)
    per_row = len(columns) + 1
    chunk = max(1, (MAX_PARAMETERS - 1) // per_row)
    try:
        if len(rows) <= chunk:
            await _insert(conn, schema, entity, columns, rows, ids, actor)
        else:
            async with conn.transaction():
                for start in range(0, len(rows), chunk):
                    end = start + chunk
                    await _insert(
                        conn, schema, entity, columns, rows[start:end], ids[start:end], actor
                    )
    except asyncpg.PostgresError as exc:
        mapped = write_error(exc, entity, rows)
        if mapped is None:
            raise
        raise mapped from None
    return [str(i) for i in ids]


async def insert_record(
    conn: Connection,
    schema: str,
    entity: EntityDef,
    input: Mapping[str, Any],
    *,
    actor: str | None,
    validators: Validators | None = None,
    path_prefix: tuple[PathSegment, ...] = (),
    sealer: Sealer | None = None,
) -> str:
    """Create one record (see :func:`insert_records`); its id. Error paths are
    ``path_prefix + field path``."""
    ids = await insert_records(
        conn,
        schema,
        entity,
        [input],
        actor=actor,
        validators=validators,
        path_prefixes=[path_prefix],
        sealer=sealer,
    )
    return ids[0]


async def update_record(
    conn: Connection,
    schema: str,
    entity: EntityDef,
    id: str,
    patch: Mapping[str, Any],
    *,
    expected_version: int | None,
    actor: str | None,
    validators: Validators | None = None,
    path_prefix: tuple[PathSegment, ...] = (),
    sealer: Sealer | None = None,
) -> str:
    """Change the fields given in ``patch`` (only those); the record's id.

    ``None`` clears an optional field (a required one fails validation); an empty patch fails
    with code EMPTY ("nothing to update"). The version goes up by one and ``updatedAt`` becomes
    now. With ``expected_version`` the update happens only if the record is still at that
    version (optimistic concurrency): of two concurrent updates from the same version exactly
    one wins, the other gets VersionConflict. ``actor`` is accepted for symmetry with the other
    writes (the audit entry records it); the table keeps only ``created_by``.
    """
    record_id = _record_id(id)
    validator = _validator(entity, "update", validators)
    values, errors = _checked(validator, entity, patch, path_prefix)
    if errors:
        raise ValidationFailed(errors)
    values = _sealed(entity, values, record_id, sealer)
    table = qualified(schema, entity.table)
    params: list[Any] = [record_id, expected_version]
    sets = []
    for field, value in values:
        params.append(value)
        sets.append(f"{quote_ident(_column(field))} = {_placeholder(field, len(params))}")
    sets.append(f"{_VERSION} = {_VERSION} + 1")
    sets.append(f"{_UPDATED_AT} = now()")
    sql = (
        f"UPDATE {table} SET {', '.join(sets)} "
        f"WHERE {_ID} = $1 AND ($2::integer IS NULL OR {_VERSION} = $2::integer) "
        f"RETURNING {_ID}"
    )
    row = WrittenRow(path_prefix, {_column(f): v for f, v in values})
    try:
        updated = await conn.fetchval(sql, *params)
    except asyncpg.PostgresError as exc:
        mapped = write_error(exc, entity, [row])
        if mapped is None:
            raise
        raise mapped from None
    if updated is not None:
        return str(updated)
    # Only now, in the failure case: was the record missing or at another version?
    current = await conn.fetchval(f"SELECT {_VERSION} FROM {table} WHERE {_ID} = $1", record_id)
    if current is None:
        raise _not_found(entity, record_id)
    raise VersionConflict(
        f"{entity.type_name} {record_id} is at version {current}, not {expected_version}: "
        "it was changed after you read it.",
        hint="Reload the record and apply your change again.",
        details={"currentVersion": current, "expectedVersion": expected_version},
    )


async def delete_record(conn: Connection, schema: str, entity: EntityDef, id: str) -> str:
    """Delete one record; its id. NotFound when there is none; ConstraintViolation naming the
    referencing entity and field when a ``restrict`` relation still points at it."""
    record_id = _record_id(id)
    sql = f"DELETE FROM {qualified(schema, entity.table)} WHERE {_ID} = $1 RETURNING {_ID}"
    try:
        deleted = await conn.fetchval(sql, record_id)
    except asyncpg.PostgresError as exc:
        mapped = delete_error(exc, entity)
        if mapped is None:
            raise
        raise mapped from None
    if deleted is None:
        raise _not_found(entity, record_id)
    return str(deleted)


async def upsert_record(
    conn: Connection,
    schema: str,
    entity: EntityDef,
    input: Mapping[str, Any],
    *,
    key: str,
    actor: str | None,
    validators: Validators | None = None,
    path_prefix: tuple[PathSegment, ...] = (),
    sealer: Sealer | None = None,
) -> str:
    """Create the record, or update the one whose ``key`` field has the input's value; its id.

    ``key`` names an ``x-unique`` field (by field name or input name) and must be given in the
    input. The input is validated as a create (required fields needed). On conflict only the
    given fields change, the version goes up by one and ``updatedAt`` becomes now; on insert,
    omitted fields get their defaults and ``created_by`` is ``actor``.
    """
    key_field = _unique_key(entity, key)
    validator = _validator(entity, "create", validators)
    values, errors = _checked(validator, entity, input, path_prefix)
    key_name = key_field.graphql_input_name
    if input.get(key_name) is None and not any(e.path == (*path_prefix, key_name) for e in errors):
        errors.append(
            FieldError(
                (*path_prefix, key_name),
                "is required: upsert finds the record by it",
                "REQUIRED",
            )
        )
    if errors:
        raise ValidationFailed(errors)

    table = qualified(schema, entity.table)
    alias = quote_ident("t")
    new_id = uuid.uuid4()
    if any(f.sensitive for f, _ in values):
        # The record id is sealed into every sensitive value, so it must be known before the
        # statement: the existing record's (locked) id, or the new one.
        existing = await conn.fetchval(
            f"SELECT {_ID} FROM {table} WHERE {quote_ident(_column(key_field))} = $1 FOR UPDATE",
            next(v for f, v in values if f is key_field),
        )
        new_id = existing or new_id
    values = _sealed(entity, values, new_id, sealer)
    params: list[Any] = [new_id, actor]
    columns = [_ID, _CREATED_BY]
    placeholders = ["$1", "$2"]
    updates = []
    for field, value in values:
        params.append(value)
        column = quote_ident(_column(field))
        columns.append(column)
        placeholders.append(_placeholder(field, len(params)))
        if field is not key_field:
            updates.append(f"{column} = EXCLUDED.{column}")
    updates.append(f"{_VERSION} = {alias}.{_VERSION} + 1")
    updates.append(f"{_UPDATED_AT} = now()")
    sql = (
        f"INSERT INTO {table} AS {alias} ({', '.join(columns)}) "
        f"VALUES ({', '.join(placeholders)}) "
        f"ON CONFLICT ({quote_ident(_column(key_field))}) DO UPDATE SET {', '.join(updates)} "
        f"RETURNING {alias}.{_ID}"
    )
    row = WrittenRow(path_prefix, {_column(f): v for f, v in values})
    try:
        written = await conn.fetchval(sql, *params)
    except asyncpg.PostgresError as exc:
        mapped = write_error(exc, entity, [row], upsert_hint=False)
        if mapped is None:
            raise
        raise mapped from None
    if written != new_id and any(f.sensitive for f, _ in values):
        # A concurrent upsert inserted the key first: our values were sealed for another id.
        raise VersionConflict(
            f"{entity.type_name} with this {key_field.name} was created at the same time.",
            hint="Send the upsert again.",
        )
    return str(written)


# --- helpers --------------------------------------------------------------------------------------


class Sealer(Protocol):
    """Encrypts a sensitive value for one record (see ``rapport.crypto.fields.FieldSealer``)."""

    def seal(self, field: FieldDef, record_id: str | uuid.UUID, value: Any) -> bytes | None: ...


def _sealed(
    entity: EntityDef,
    values: list[tuple[FieldDef, Any]],
    record_id: uuid.UUID,
    sealer: Sealer | None,
) -> list[tuple[FieldDef, Any]]:
    if not any(f.sensitive for f, _ in values):
        return values
    if sealer is None:
        raise ConfigurationError(
            f"{entity.type_name} has sensitive fields, and this write has no key to seal them.",
            hint="Write records through rapport.records.RecordWriter, which seals them.",
        )
    return [(f, sealer.seal(f, record_id, v) if f.sensitive else v) for f, v in values]


def _validator(entity: EntityDef, mode: Mode, validators: Validators | None) -> RecordValidator:
    if validators is not None:
        return validators.get(entity.id, mode)
    return RecordValidator(entity, mode)


def _checked(
    validator: RecordValidator,
    entity: EntityDef,
    data: Mapping[str, Any],
    prefix: tuple[PathSegment, ...],
) -> tuple[list[tuple[FieldDef, Any]], list[FieldError]]:
    """Schema errors, then the column conversion of the values that passed the schema."""
    errors = validator.validate(data, path_prefix=prefix)
    if not isinstance(data, Mapping):
        return [], errors
    failed = {e.path[len(prefix)] for e in errors if len(e.path) > len(prefix)}
    clean = {k: v for k, v in data.items() if k not in failed}
    values, problems = to_columns(entity, clean, path_prefix=prefix)
    return values, errors + problems


async def _insert(
    conn: Connection,
    schema: str,
    entity: EntityDef,
    columns: Sequence[FieldDef],
    rows: Sequence[WrittenRow],
    ids: Sequence[uuid.UUID],
    actor: str | None,
) -> None:
    params: list[Any] = [actor]
    tuples = []
    for row, record_id in zip(rows, ids, strict=True):
        params.append(record_id)
        cells = [f"${len(params)}", "$1"]
        for field in columns:
            column = _column(field)
            if column in row.values:
                params.append(row.values[column])
                cells.append(_placeholder(field, len(params)))
            else:
                cells.append("DEFAULT")
        tuples.append(f"({', '.join(cells)})")
    names = [_ID, _CREATED_BY, *(quote_ident(_column(f)) for f in columns)]
    sql = (
        f"INSERT INTO {qualified(schema, entity.table)} ({', '.join(names)}) "
        f"VALUES {', '.join(tuples)}"
    )
    await conn.execute(sql, *params)


def _present_columns(entity: EntityDef, rows: Sequence[WrittenRow]) -> list[FieldDef]:
    """The fields any row sets, in the entity's field order."""
    present = set().union(*(r.values.keys() for r in rows))
    return [f for f in input_fields(entity).values() if _column(f) in present]


def _placeholder(field: FieldDef, n: int) -> str:
    # JSON travels as text and is cast in SQL, so no connection-level jsonb codec can interfere.
    return f"${n}::text::jsonb" if is_json_kind(field) else f"${n}"


def _column(field: FieldDef) -> str:
    if field.column is None:
        raise ValueError(f"field {field.name!r} has no column")
    return field.column


def _record_id(id: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(id))
    except ValueError:
        raise ValidationFailed(
            [FieldError(("id",), "must be a record id (a UUID)", "FORMAT")]
        ) from None


def _unique_key(entity: EntityDef, key: str) -> FieldDef:
    for field in entity.fields:
        if key in (field.name, field.graphql_input_name) and field.unique and field.is_writable:
            return field
    choices = ", ".join(f.name for f in entity.unique_fields if f.is_writable) or "(none)"
    raise ValidationFailed(
        [
            FieldError(
                ("key",),
                f"must be a unique field of {entity.type_name}: one of {choices}",
                "NOT_IN_ENUM",
            )
        ]
    )


def _not_found(entity: EntityDef, record_id: uuid.UUID) -> NotFound:
    return NotFound(
        f"No {entity.type_name} has the id {record_id}.",
        hint="Check the id; the record may have been deleted.",
        path=("id",),
    )
