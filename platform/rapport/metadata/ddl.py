"""DDL for a tenant's schema, derived from the IR.

``create_model_ddl`` builds a whole model from nothing; the statement builders below it are the
pieces the migration plan (``rapport.metadata.plan``) combines for a change. Both name every
constraint and index the same deterministic way, so a schema built in one go and a schema built
by a chain of plans are identical.

Identifiers reach SQL only through ``naming.quote_ident``/``naming.qualified``. DDL cannot take
``$n`` parameters, so default values are rendered as SQL literals by :func:`quote_literal`
(PostgreSQL's own ``quote_literal`` rules) with an explicit cast, after checking that the JSON
value fits the column.
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from dataclasses import dataclass
from datetime import date, datetime

from rapport.errors import MetadataInvalid, MetadataProblem
from rapport.metadata.ir import (
    EntityDef,
    FieldDef,
    FieldKind,
    JsonValue,
    Model,
    OnDelete,
    thaw_json,
)
from rapport.naming import PG_MAX_IDENTIFIER, qualified, quote_ident, table_name

__all__ = [
    "ForeignKeySpec",
    "IndexSpec",
    "UniqueSpec",
    "add_column",
    "add_foreign_key",
    "add_unique",
    "alter_type",
    "cast_expression",
    "column_definition",
    "column_type",
    "create_index",
    "create_model_ddl",
    "create_table",
    "default_expression",
    "drop_column",
    "drop_constraint",
    "drop_default",
    "drop_index",
    "drop_not_null",
    "drop_table",
    "entity_foreign_keys",
    "entity_indexes",
    "entity_uniques",
    "fill_nulls",
    "object_name",
    "quote_literal",
    "set_default",
    "set_not_null",
]

_COLUMN_TYPES: dict[FieldKind, str] = {
    FieldKind.STRING: "text",
    FieldKind.TEXT: "text",
    FieldKind.EMAIL: "text",
    FieldKind.PHONE: "text",
    FieldKind.URL: "text",
    FieldKind.ENUM: "text",
    FieldKind.INTEGER: "integer",
    FieldKind.RATING: "integer",
    FieldKind.DECIMAL: "numeric",
    FieldKind.MONEY: "numeric(18,2)",
    FieldKind.FLOAT: "double precision",
    FieldKind.BOOLEAN: "boolean",
    FieldKind.DATE: "date",
    FieldKind.DATETIME: "timestamptz",
    FieldKind.MULTI_ENUM: "text[]",
    FieldKind.JSON: "jsonb",
    FieldKind.FILE: "jsonb",
    FieldKind.UUID: "uuid",
    FieldKind.RELATION: "uuid",
}

# System columns every table starts with (SYSTEM_FIELDS in the IR names them for GraphQL).
_SYSTEM_COLUMNS = (
    '"id" uuid NOT NULL DEFAULT gen_random_uuid()',
    '"created_at" timestamptz NOT NULL DEFAULT now()',
    '"updated_at" timestamptz NOT NULL DEFAULT now()',
    '"created_by" text',
    '"version" integer NOT NULL DEFAULT 1',
)

_NUMERIC_TYPES = frozenset({"integer", "numeric", "numeric(18,2)", "double precision"})


# --- names and literals -------------------------------------------------------------------------


def object_name(*parts: str) -> str:
    """``table_col_suffix``, shortened to PostgreSQL's 63 bytes with a hash when too long.

    PostgreSQL would silently truncate a long name (and two long names could then collide); a
    truncated prefix plus 8 hex digits of the full name's SHA-1 stays readable and unique.
    """
    full = "_".join(parts)
    raw = full.encode()
    if len(raw) <= PG_MAX_IDENTIFIER:
        return full
    digest = hashlib.sha1(raw).hexdigest()[:8]
    prefix = raw[: PG_MAX_IDENTIFIER - len(digest) - 1].decode("utf-8", errors="ignore")
    return f"{prefix}_{digest}"


def quote_literal(value: str) -> str:
    """A SQL string literal for ``value``, by the rules of PostgreSQL's ``quote_literal``.

    Quotes are doubled; a value holding a backslash is written as ``E'...'`` with the
    backslashes doubled, which reads the same whether ``standard_conforming_strings`` is on or
    off.
    """
    if "\x00" in value:
        raise ValueError("a SQL literal cannot contain a NUL character")
    body = value.replace("'", "''")
    if "\\" in body:
        return "E'" + body.replace("\\", "\\\\") + "'"
    return "'" + body + "'"


def column_type(field: FieldDef) -> str:
    """The SQL type of a stored field's column.

    A sensitive field is ``bytea`` whatever its kind: it holds the sealed value (cipher id ‖
    key id ‖ nonce ‖ ciphertext, see ``rapport.crypto.cipher``), never the plaintext.
    """
    if field.sensitive and field.kind in _COLUMN_TYPES:
        return "bytea"
    try:
        return _COLUMN_TYPES[field.kind]
    except KeyError:
        raise ValueError(f"field {field.name!r} of kind {field.kind} has no column") from None


# --- defaults -----------------------------------------------------------------------------------


class _BadDefault(ValueError):
    pass


def default_expression(entity: EntityDef, field: FieldDef) -> str | None:
    """The SQL expression of the field's JSON default, or None when it has none.

    Raises MetadataInvalid when the default does not fit the field's kind (a document the
    loader let through should never get here, but DDL must not guess).
    """
    if not field.has_default or field.default is None or not field.is_stored:
        return None
    try:
        return _literal_for(column_type(field), field.default)
    except _BadDefault as exc:
        raise MetadataInvalid(
            [
                MetadataProblem(
                    entity.id,
                    f"/properties/{field.name}/default",
                    f"default {json.dumps(thaw_json(field.default))} does not fit a "
                    f"{field.kind} field: {exc}",
                    "Give a default of the field's type, or remove it.",
                )
            ]
        ) from exc


def _literal_for(sql_type: str, value: JsonValue) -> str:
    if sql_type == "text":
        return f"{quote_literal(_string(value))}::text"
    if sql_type == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            raise _BadDefault("expected a whole number")
        if not -(2**31) <= value < 2**31:
            raise _BadDefault("out of the range of a 32-bit integer")
        return f"{quote_literal(str(value))}::integer"
    if sql_type in ("numeric", "numeric(18,2)", "double precision"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _BadDefault("expected a number")
        if isinstance(value, float) and not math.isfinite(value):
            raise _BadDefault("expected a finite number")
        return f"{quote_literal(repr(value))}::{sql_type}"
    if sql_type == "boolean":
        if not isinstance(value, bool):
            raise _BadDefault("expected true or false")
        return "true" if value else "false"
    if sql_type == "date":
        text = _string(value)
        try:
            date.fromisoformat(text)
        except ValueError:
            raise _BadDefault("expected a date YYYY-MM-DD") from None
        return f"{quote_literal(text)}::date"
    if sql_type == "timestamptz":
        # Only ISO-8601: PostgreSQL would also take 'now', and freeze it at DDL time.
        text = _string(value)
        try:
            datetime.fromisoformat(text)
        except ValueError:
            raise _BadDefault("expected an ISO-8601 date-time") from None
        return f"{quote_literal(text)}::timestamptz"
    if sql_type == "uuid":
        text = _string(value)
        try:
            uuid.UUID(text)
        except ValueError:
            raise _BadDefault("expected a uuid") from None
        return f"{quote_literal(text)}::uuid"
    if sql_type == "text[]":
        if not isinstance(value, tuple | list):
            raise _BadDefault("expected a list of strings")
        items = [quote_literal(_string(item)) for item in value]
        return f"ARRAY[{', '.join(items)}]::text[]" if items else "'{}'::text[]"
    if sql_type == "jsonb":
        text = json.dumps(thaw_json(value), sort_keys=True, separators=(",", ":"))
        return f"{quote_literal(text)}::jsonb"
    raise _BadDefault(f"no literal for SQL type {sql_type}")


def _string(value: JsonValue) -> str:
    if not isinstance(value, str):
        raise _BadDefault("expected a string")
    return value


# --- constraints and indexes derived from an entity ---------------------------------------------


@dataclass(frozen=True, slots=True)
class ForeignKeySpec:
    name: str
    table: str
    column: str
    target_table: str
    on_delete: OnDelete


@dataclass(frozen=True, slots=True)
class UniqueSpec:
    name: str
    table: str
    column: str


@dataclass(frozen=True, slots=True)
class IndexSpec:
    name: str
    table: str
    columns: tuple[str, ...]
    unique: bool = False


def entity_foreign_keys(entity: EntityDef) -> tuple[ForeignKeySpec, ...]:
    return tuple(
        ForeignKeySpec(
            name=object_name(entity.table, f.column, "fkey"),
            table=entity.table,
            column=f.column,
            target_table=table_name(f.relation.target),
            on_delete=f.relation.on_delete,
        )
        for f in entity.fields
        if f.kind is FieldKind.RELATION and f.relation is not None and f.column is not None
    )


def entity_uniques(entity: EntityDef) -> tuple[UniqueSpec, ...]:
    return tuple(
        UniqueSpec(object_name(entity.table, f.column, "key"), entity.table, f.column)
        for f in entity.fields
        if f.unique and f.column is not None
    )


def entity_indexes(entity: EntityDef) -> tuple[IndexSpec, ...]:
    """Declared indexes, plus one on every foreign-key column no other index leads with."""
    uniques = entity_uniques(entity)
    # A unique index on one x-unique column has the name (and the job) of its unique constraint.
    taken = {u.name for u in uniques}
    declared = tuple(
        IndexSpec(object_name(index.name), entity.table, index.columns, index.unique)
        for index in entity.indexes
        if object_name(index.name) not in taken
    )
    # A unique constraint or an index whose first column is the FK already serves its lookups
    # (the reverse-relation joins and ON DELETE checks).
    leading = {index.columns[0] for index in declared if index.columns}
    leading.update(u.column for u in uniques)
    names = {index.name for index in declared} | taken
    derived: list[IndexSpec] = []
    for fk in entity_foreign_keys(entity):
        name = object_name(entity.table, fk.column, "idx")
        if fk.column in leading or name in names:
            continue
        derived.append(IndexSpec(name, entity.table, (fk.column,)))
    return declared + tuple(derived)


# --- statements ---------------------------------------------------------------------------------


def column_definition(entity: EntityDef, field: FieldDef) -> str:
    """``"col" type [NOT NULL] [DEFAULT expr]`` for a stored field."""
    if field.column is None:
        raise ValueError(f"field {field.name!r} of {entity.id} has no column")
    parts = [quote_ident(field.column), column_type(field)]
    if field.required:
        parts.append("NOT NULL")
    default = default_expression(entity, field)
    if default is not None:
        parts.append(f"DEFAULT {default}")
    return " ".join(parts)


def create_table(schema: str, entity: EntityDef) -> str:
    """CREATE TABLE with the system columns, the stored fields and the unique constraints.

    Foreign keys and indexes are separate statements (``create_model_ddl`` runs them after all
    tables exist, so the order of entities and reference cycles do not matter).
    """
    lines = list(_SYSTEM_COLUMNS)
    lines.extend(column_definition(entity, f) for f in entity.stored_fields)
    lines.append(
        f"CONSTRAINT {quote_ident(object_name(entity.table, 'pkey'))} PRIMARY KEY ({quote_ident('id')})"
    )
    lines.extend(
        f"CONSTRAINT {quote_ident(u.name)} UNIQUE ({quote_ident(u.column)})"
        for u in entity_uniques(entity)
    )
    body = ",\n    ".join(lines)
    return f"CREATE TABLE {qualified(schema, entity.table)} (\n    {body}\n)"


def drop_table(schema: str, table: str) -> str:
    return f"DROP TABLE {qualified(schema, table)}"


def add_column(schema: str, entity: EntityDef, field: FieldDef) -> str:
    return (
        f"ALTER TABLE {qualified(schema, entity.table)} "
        f"ADD COLUMN {column_definition(entity, field)}"
    )


def drop_column(schema: str, table: str, column: str) -> str:
    return f"ALTER TABLE {qualified(schema, table)} DROP COLUMN {quote_ident(column)}"


def cast_expression(column: str, old_type: str, new_type: str) -> str:
    """How ``ALTER COLUMN ... TYPE new USING <this>`` converts an ``old_type`` value.

    A direct cast where PostgreSQL has one; ``to_jsonb`` into jsonb; a one-element array from a
    scalar text; otherwise through text (the I/O conversion every type has), which fails — and
    rolls the publish back — for values the new type cannot read.
    """
    col = quote_ident(column)
    if new_type == "jsonb":
        return f"to_jsonb({col})"
    if old_type == "text" and new_type == "text[]":
        return f"CASE WHEN {col} IS NULL THEN NULL ELSE ARRAY[{col}] END"
    pair = {old_type, new_type}
    direct = (
        "text" in pair
        or pair <= _NUMERIC_TYPES
        or pair == {"integer", "boolean"}
        or pair == {"date", "timestamptz"}
        or (old_type == "jsonb" and new_type in _NUMERIC_TYPES | {"boolean"})
    )
    if direct:
        return f"{col}::{new_type}"
    return f"{col}::text::{new_type}"


def alter_type(
    schema: str, table: str, column: str, old_type: str, new_type: str, *, drop_default: bool
) -> str:
    """Change a column's type; its old default goes first (it may not convert)."""
    col = quote_ident(column)
    actions = [f"ALTER COLUMN {col} DROP DEFAULT"] if drop_default else []
    actions.append(
        f"ALTER COLUMN {col} TYPE {new_type} USING {cast_expression(column, old_type, new_type)}"
    )
    return f"ALTER TABLE {qualified(schema, table)} " + ", ".join(actions)


def set_not_null(schema: str, table: str, column: str) -> str:
    return f"ALTER TABLE {qualified(schema, table)} ALTER COLUMN {quote_ident(column)} SET NOT NULL"


def drop_not_null(schema: str, table: str, column: str) -> str:
    return (
        f"ALTER TABLE {qualified(schema, table)} ALTER COLUMN {quote_ident(column)} DROP NOT NULL"
    )


def set_default(schema: str, entity: EntityDef, field: FieldDef) -> str:
    default = default_expression(entity, field)
    if default is None or field.column is None:
        raise ValueError(f"field {field.name!r} of {entity.id} has no default")
    return (
        f"ALTER TABLE {qualified(schema, entity.table)} "
        f"ALTER COLUMN {quote_ident(field.column)} SET DEFAULT {default}"
    )


def drop_default(schema: str, table: str, column: str) -> str:
    return f"ALTER TABLE {qualified(schema, table)} ALTER COLUMN {quote_ident(column)} DROP DEFAULT"


def fill_nulls(schema: str, entity: EntityDef, field: FieldDef) -> str:
    """Give rows without a value the field's default (before SET NOT NULL)."""
    default = default_expression(entity, field)
    if default is None or field.column is None:
        raise ValueError(f"field {field.name!r} of {entity.id} has no default")
    col = quote_ident(field.column)
    return f"UPDATE {qualified(schema, entity.table)} SET {col} = {default} WHERE {col} IS NULL"


def add_foreign_key(schema: str, fk: ForeignKeySpec) -> str:
    return (
        f"ALTER TABLE {qualified(schema, fk.table)} ADD CONSTRAINT {quote_ident(fk.name)} "
        f"FOREIGN KEY ({quote_ident(fk.column)}) "
        f"REFERENCES {qualified(schema, fk.target_table)} ({quote_ident('id')}) "
        f"ON DELETE {fk.on_delete.sql}"
    )


def add_unique(schema: str, unique: UniqueSpec) -> str:
    return (
        f"ALTER TABLE {qualified(schema, unique.table)} ADD CONSTRAINT {quote_ident(unique.name)} "
        f"UNIQUE ({quote_ident(unique.column)})"
    )


def drop_constraint(schema: str, table: str, name: str) -> str:
    return f"ALTER TABLE {qualified(schema, table)} DROP CONSTRAINT {quote_ident(name)}"


def create_index(schema: str, index: IndexSpec) -> str:
    columns = ", ".join(quote_ident(c) for c in index.columns)
    kind = "UNIQUE INDEX" if index.unique else "INDEX"
    return (
        f"CREATE {kind} {quote_ident(index.name)} ON {qualified(schema, index.table)} ({columns})"
    )


def drop_index(schema: str, name: str) -> str:
    return f"DROP INDEX {qualified(schema, name)}"


def create_model_ddl(schema: str, model: Model) -> list[str]:
    """Every statement that builds ``model`` in an existing, empty ``schema``.

    Tables first, then foreign keys (so entity order and reference cycles do not matter), then
    indexes.
    """
    statements = [create_table(schema, e) for e in model]
    statements.extend(add_foreign_key(schema, fk) for e in model for fk in entity_foreign_keys(e))
    statements.extend(create_index(schema, i) for e in model for i in entity_indexes(e))
    return statements
