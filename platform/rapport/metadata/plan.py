"""The migration plan: the DDL that turns the schema of one model into the schema of another.

``plan_changes`` is a pure diff of two models; what it needs to know about the data (row counts,
rows without a value, rows holding a removed enum value) is passed in — ``count_queries`` lists
the statements that find out, and the lifecycle runs them. Steps are ordered so the whole plan
runs in one transaction: foreign keys and indexes that go away first, then tables, then columns,
then new foreign keys, then new unique constraints and indexes.

A step is *destructive* when it can lose data or meaning (drops, narrowing type changes,
retargeted relations, removed enum values that rows still hold); publishing it needs an explicit
confirmation. A step is *refused* when it cannot succeed on the current data whatever the
confirmation (a NOT NULL column without default on a table with rows); its reason says what to
change in the documents.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from rapport.metadata import ddl
from rapport.metadata.ir import EntityDef, FieldDef, FieldKind, Model
from rapport.naming import qualified, quote_ident

__all__ = [
    "ENUM_KINDS",
    "WIDENING",
    "CountQuery",
    "Plan",
    "PlanStep",
    "column_of",
    "column_types_of",
    "columns_of",
    "count_queries",
    "enum_count_key",
    "null_count_key",
    "removed_enum_values",
    "stored_signature",
    "widens",
]


@dataclass(frozen=True, slots=True)
class PlanStep:
    summary: str  # one line a human reviews, e.g. "add column training_course.price (...)"
    sql: str  # one statement; "" for a change that needs no DDL but deserves attention
    destructive: bool = False
    reason: str = ""  # why it is destructive or refused
    refused: bool = False  # cannot succeed on the current data; the documents must change

    def as_dict(self) -> dict[str, Any]:
        return {
            "summary": self.summary,
            "sql": self.sql,
            "destructive": self.destructive,
            "reason": self.reason,
            "refused": self.refused,
        }

    @classmethod
    def from_dict(cls, item: Mapping[str, Any]) -> PlanStep:
        return cls(
            summary=str(item.get("summary", "")),
            sql=str(item.get("sql", "")),
            destructive=bool(item.get("destructive", False)),
            reason=str(item.get("reason", "")),
            refused=bool(item.get("refused", False)),
        )


@dataclass(frozen=True, slots=True)
class Plan:
    steps: tuple[PlanStep, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not self.steps

    @property
    def destructive_steps(self) -> tuple[PlanStep, ...]:
        return tuple(s for s in self.steps if s.destructive)

    @property
    def refused_steps(self) -> tuple[PlanStep, ...]:
        return tuple(s for s in self.steps if s.refused)

    def as_text(self) -> str:
        """A SQL listing for review: each statement under its summary and warnings."""
        if not self.steps:
            return "-- No schema changes.\n"
        destructive = len(self.destructive_steps)
        header = f"-- Plan: {len(self.steps)} step(s), {destructive} destructive"
        if self.refused_steps:
            header += f", {len(self.refused_steps)} refused"
        blocks = [header]
        for step in self.steps:
            lines = [f"-- {step.summary}"]
            if step.refused:
                lines.append(f"-- REFUSED: {step.reason}")
            elif step.destructive:
                lines.append(f"-- DESTRUCTIVE: {step.reason}")
            elif step.reason:
                lines.append(f"-- note: {step.reason}")
            lines.append(f"{step.sql};" if step.sql else "-- (no DDL)")
            blocks.append("\n".join(lines))
        return "\n\n".join(blocks) + "\n"

    def as_dict(self) -> list[dict[str, Any]]:
        """The steps as JSON objects ``{summary, sql, destructive, reason, refused}``."""
        return [s.as_dict() for s in self.steps]

    @classmethod
    def from_dict(cls, items: Iterable[Mapping[str, Any]]) -> Plan:
        return cls(tuple(PlanStep.from_dict(item) for item in items))


@dataclass(frozen=True, slots=True)
class CountQuery:
    """A count the plan needs: rows of a table (key = table) or rows matching a condition."""

    key: str
    kind: Literal["rows", "values"]
    sql: str
    args: tuple[Any, ...] = ()


def null_count_key(table: str, column: str) -> str:
    return f"nulls:{table}.{column}"


def enum_count_key(table: str, column: str) -> str:
    return f"values:{table}.{column}"


ENUM_KINDS = (FieldKind.ENUM, FieldKind.MULTI_ENUM)
# (old SQL type, new SQL type) changes that keep every value exactly.
WIDENING = frozenset(
    {
        ("integer", "numeric"),
        ("integer", "double precision"),
        ("integer", "numeric(18,2)"),
        ("numeric(18,2)", "numeric"),
        ("date", "timestamptz"),
    }
)


def count_queries(schema: str, old: Model | None, new: Model) -> tuple[CountQuery, ...]:
    """The counts ``plan_changes`` needs to judge the change from ``old`` to ``new``."""
    if old is None:
        return ()
    queries: list[CountQuery] = []
    new_entities = {e.table: e for e in new}
    for old_entity in old:
        table = qualified(schema, old_entity.table)
        new_entity = new_entities.get(old_entity.table)
        if new_entity is not None and stored_signature(old_entity) == stored_signature(new_entity):
            continue
        queries.append(CountQuery(old_entity.table, "rows", f"SELECT count(*) FROM {table}"))
        if new_entity is None:
            continue
        new_columns = columns_of(new_entity)
        for column, old_field in columns_of(old_entity).items():
            new_field = new_columns.get(column)
            if new_field is None:
                continue
            col = quote_ident(column)
            if new_field.required and not old_field.required:
                queries.append(
                    CountQuery(
                        null_count_key(old_entity.table, column),
                        "values",
                        f"SELECT count(*) FROM {table} WHERE {col} IS NULL",
                    )
                )
            removed = removed_enum_values(old_field, new_field)
            if removed:
                condition = (
                    f"{col} && $1::text[]"
                    if old_field.kind is FieldKind.MULTI_ENUM
                    else f"{col} = ANY($1::text[])"
                )
                queries.append(
                    CountQuery(
                        enum_count_key(old_entity.table, column),
                        "values",
                        f"SELECT count(*) FROM {table} WHERE {condition}",
                        (list(removed),),
                    )
                )
    return tuple(queries)


# --- helpers ------------------------------------------------------------------------------------


def column_of(f: FieldDef) -> str:
    if f.column is None:
        raise ValueError(f"field {f.name!r} has no column")
    return f.column


def columns_of(entity: EntityDef) -> dict[str, FieldDef]:
    return {column_of(f): f for f in entity.stored_fields}


def column_types_of(entity: EntityDef) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((column_of(f), ddl.column_type(f)) for f in entity.stored_fields))


def stored_signature(entity: EntityDef) -> tuple[Any, ...]:
    """What of an entity the data-dependent judgements look at; equal means no counts needed."""
    return tuple(
        (
            column_of(f),
            ddl.column_type(f),
            f.required,
            ddl.default_expression(entity, f),
            f.enum_values,
            f.relation.target if f.relation is not None else None,
        )
        for f in entity.stored_fields
    )


def removed_enum_values(old: FieldDef, new: FieldDef) -> tuple[str, ...]:
    if old.kind not in ENUM_KINDS or new.kind not in ENUM_KINDS:
        return ()
    kept = set(new.enum_values)
    return tuple(v for v in old.enum_values if v not in kept)


def widens(old: FieldDef, new: FieldDef, old_type: str, new_type: str) -> bool:
    """True when every value of the old column converts exactly to the new type."""
    if (old_type, new_type) in WIDENING:
        return True
    if new_type == "text" and old_type not in ("jsonb", "text[]"):
        # every scalar has an exact text form
        return True
    if new_type == "text[]" and old.kind is FieldKind.ENUM and new.kind is FieldKind.MULTI_ENUM:
        return True
    # to_jsonb keeps every value (strings become JSON strings, arrays JSON arrays)
    return new.kind is FieldKind.JSON
