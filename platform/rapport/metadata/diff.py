"""Computing a migration plan: the diff of two models' stored shapes, step by step (D4).

:func:`plan_changes` turns the schema of one model into that of another, flagging steps that
lose data as destructive from the counts of :func:`~rapport.metadata.plan.count_queries`. The
plan as data is :mod:`rapport.metadata.plan`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from rapport.metadata import ddl
from rapport.metadata.ddl import ForeignKeySpec, IndexSpec, UniqueSpec
from rapport.metadata.ir import EntityDef, FieldDef, Model
from rapport.metadata.plan import (
    Plan,
    PlanStep,
    column_of,
    column_types_of,
    columns_of,
    enum_count_key,
    null_count_key,
    removed_enum_values,
    widens,
)

__all__ = ["plan_changes"]


def plan_changes(
    schema: str,
    old: Model | None,
    new: Model,
    row_counts: Mapping[str, int],
    value_counts: Mapping[str, int] | None = None,
) -> Plan:
    """The steps that turn the schema of ``old`` (None: an empty schema) into that of ``new``.

    ``row_counts`` maps table names to their rows and ``value_counts`` the keys of
    :func:`count_queries` to their counts; a missing count is treated as "may have rows", which
    flags more steps as destructive, never fewer.
    """
    planner = _Planner(schema, row_counts, value_counts or {})
    planner.plan(old, new)
    return Plan(planner.steps())


# --- the diff -----------------------------------------------------------------------------------

_Phase = Literal["drop_fk", "drop_index", "drop_table", "create_table", "column", "add_fk", "index"]
_PHASES: tuple[_Phase, ...] = (
    "drop_fk",
    "drop_index",
    "drop_table",
    "create_table",
    "column",
    "add_fk",
    "index",
)


@dataclass(slots=True)
class _Planner:
    schema: str
    row_counts: Mapping[str, int]
    value_counts: Mapping[str, int]
    phases: dict[str, list[PlanStep]] = field(default_factory=lambda: {p: [] for p in _PHASES})

    def steps(self) -> tuple[PlanStep, ...]:
        return tuple(step for phase in _PHASES for step in self.phases[phase])

    def add(self, phase: _Phase, step: PlanStep) -> None:
        self.phases[phase].append(step)

    def rows(self, table: str) -> int | None:
        return self.row_counts.get(table)

    def plan(self, old: Model | None, new: Model) -> None:
        old_entities = {e.table: e for e in old} if old is not None else {}
        new_entities = {e.table: e for e in new}
        dropped = [old_entities[t] for t in sorted(old_entities) if t not in new_entities]
        added = [new_entities[t] for t in sorted(new_entities) if t not in old_entities]
        kept = [
            (old_entities[t], new_entities[t]) for t in sorted(new_entities) if t in old_entities
        ]

        self._foreign_keys(old_entities.values(), new_entities, dropped)
        for entity in dropped:
            self._drop_table(entity, added)
        for entity in added:
            self.add(
                "create_table",
                PlanStep(
                    f"create table {entity.table} for entity {entity.id}",
                    ddl.create_table(self.schema, entity),
                ),
            )
            for index in ddl.entity_indexes(entity):
                self._create_index(index, new_table=True)
        for old_entity, new_entity in kept:
            self._columns(old_entity, new_entity)
            self._uniques(old_entity, new_entity)
            self._indexes(old_entity, new_entity)

    # tables

    def _drop_table(self, entity: EntityDef, added: Sequence[EntityDef]) -> None:
        rows = self.rows(entity.table)
        reason = "all its rows will be lost" if rows is None else f"{rows} row(s) will be lost"
        signature = column_types_of(entity)
        twins = [e.id for e in added if signature and column_types_of(e) == signature]
        if twins:
            reason += (
                f"; if {entity.id} was renamed to {twins[0]}: a rename is a drop and an add, "
                "the rows are not moved (export them first)"
            )
        self.add(
            "drop_table",
            PlanStep(
                f"drop table {entity.table} of removed entity {entity.id}",
                ddl.drop_table(self.schema, entity.table),
                destructive=True,
                reason=reason,
            ),
        )

    # foreign keys

    def _foreign_keys(
        self,
        old_entities: Iterable[EntityDef],
        new_entities: Mapping[str, EntityDef],
        dropped: Sequence[EntityDef],
    ) -> None:
        old_fks = {fk.name: fk for e in old_entities for fk in ddl.entity_foreign_keys(e)}
        new_fks = {fk.name: fk for e in new_entities.values() for fk in ddl.entity_foreign_keys(e)}
        dropped_tables = {e.table for e in dropped}
        for name in sorted(old_fks):
            fk = old_fks[name]
            if new_fks.get(name) == fk:
                continue
            why = " (its table is dropped)" if fk.table in dropped_tables else ""
            self.add(
                "drop_fk",
                PlanStep(
                    f"drop foreign key {fk.name} on {fk.table}.{fk.column}{why}",
                    ddl.drop_constraint(self.schema, fk.table, fk.name),
                ),
            )
        for name in sorted(new_fks):
            fk = new_fks[name]
            before = old_fks.get(name)
            if before == fk:
                continue
            self.add("add_fk", self._add_fk_step(fk, before))

    def _add_fk_step(self, fk: ForeignKeySpec, before: ForeignKeySpec | None) -> PlanStep:
        summary = (
            f"add foreign key {fk.table}.{fk.column} -> {fk.target_table}.id "
            f"(ON DELETE {fk.on_delete.sql})"
        )
        sql = ddl.add_foreign_key(self.schema, fk)
        if before is None or before.target_table == fk.target_table:
            return PlanStep(summary, sql)
        rows = self.rows(fk.table)
        if rows == 0:
            return PlanStep(summary, sql)
        held = "its rows" if rows is None else f"its {rows} row(s)"
        return PlanStep(
            summary,
            sql,
            destructive=True,
            reason=f"the relation now points at {fk.target_table} instead of "
            f"{before.target_table}: the ids {held} hold refer to {before.target_table} rows; "
            f"the new foreign key fails (and the publish rolls back) unless each is also an id "
            f"in {fk.target_table} — clear the field first if they are not",
        )

    # columns

    def _columns(self, old_entity: EntityDef, new_entity: EntityDef) -> None:
        old_columns = columns_of(old_entity)
        new_columns = columns_of(new_entity)
        added = [c for c in new_columns if c not in old_columns]
        for column in sorted(c for c in old_columns if c not in new_columns):
            self._drop_column(old_entity, old_columns[column], [new_columns[c] for c in added])
        for column in added:
            self._add_column(new_entity, new_columns[column])
        for column, new_field in new_columns.items():
            old_field = old_columns.get(column)
            if old_field is not None:
                self._change_column(old_entity, old_field, new_entity, new_field)

    def _drop_column(self, entity: EntityDef, f: FieldDef, added: Sequence[FieldDef]) -> None:
        column = column_of(f)
        rows = self.rows(entity.table)
        reason = (
            "the values of all its rows will be lost"
            if rows is None
            else f"the values of {rows} row(s) will be lost"
        )
        twins = [a for a in added if ddl.column_type(a) == ddl.column_type(f)]
        if twins:
            reason += (
                f"; if {f.name} was renamed to {twins[0].name}: a rename is a drop and an add, "
                "the values are not copied"
            )
        self.add(
            "column",
            PlanStep(
                f"drop column {entity.table}.{column} (field {f.name} of {entity.id})",
                ddl.drop_column(self.schema, entity.table, column),
                destructive=True,
                reason=reason,
            ),
        )

    def _add_column(self, entity: EntityDef, f: FieldDef) -> None:
        column = column_of(f)
        summary = (
            f"add column {entity.table}.{column} (field {f.name} of {entity.id}, {f.kind}"
            + (", required" if f.required else "")
            + ")"
        )
        sql = ddl.add_column(self.schema, entity, f)
        default = ddl.default_expression(entity, f)
        rows = self.rows(entity.table)
        if not f.required or default is not None or rows == 0:
            self.add("column", PlanStep(summary, sql))
            return
        if rows is None:
            self.add(
                "column",
                PlanStep(
                    summary,
                    sql,
                    destructive=True,
                    reason="NOT NULL column without default: fails if the table has rows",
                ),
            )
            return
        self.add(
            "column",
            PlanStep(
                summary,
                sql,
                destructive=True,
                refused=True,
                reason=f"NOT NULL column without default on a table with {rows} row(s): "
                f"existing rows would have no value — give the field a default or make it "
                f"optional first",
            ),
        )

    def _change_column(
        self, old_entity: EntityDef, old: FieldDef, entity: EntityDef, new: FieldDef
    ) -> None:
        table = entity.table
        column = column_of(new)
        where = f"{table}.{column} (field {new.name} of {entity.id})"
        old_type, new_type = ddl.column_type(old), ddl.column_type(new)
        old_default = ddl.default_expression(old_entity, old)
        new_default = ddl.default_expression(entity, new)
        rows = self.rows(table)

        if old.sensitive != new.sensitive:
            # Encryption happens in the application (per-row associated data), so no cast can
            # turn plaintext into ciphertext or back; an empty table just changes type.
            verb = "encrypt" if new.sensitive else "decrypt"
            self.add(
                "column",
                PlanStep(
                    f"{verb} {where}: {old_type} -> {new_type}",
                    ddl.alter_type(
                        self.schema,
                        table,
                        column,
                        old_type,
                        new_type,
                        drop_default=old_default is not None,
                    ).replace(
                        f"USING {ddl.cast_expression(column, old_type, new_type)}", "USING NULL"
                    ),
                    refused=rows != 0,
                    reason=f"x-sensitive changed on a column with {rows if rows is not None else 'existing'} "
                    "row(s): values cannot be re-encoded by SQL; add a new field and copy the "
                    "values through the API instead"
                    if rows != 0
                    else "",
                ),
            )
            old_default = None
        elif old_type != new_type:
            safe = widens(old, new, old_type, new_type)
            destructive = not safe and rows != 0
            held = "its rows" if rows is None else f"{rows} row(s)"
            self.add(
                "column",
                PlanStep(
                    f"change type of {where}: {old_type} -> {new_type}",
                    ddl.alter_type(
                        self.schema,
                        table,
                        column,
                        old_type,
                        new_type,
                        drop_default=old_default is not None,
                    ),
                    destructive=destructive,
                    reason=(
                        f"narrowing type change {old.kind} -> {new.kind}: the values of {held} "
                        f"are converted with a cast that may lose precision or detail; if a "
                        f"value does not convert, the publish fails and nothing changes"
                    )
                    if destructive
                    else "",
                ),
            )
            old_default = None  # alter_type dropped it

        if new_default != old_default:
            if new_default is None:
                self.add(
                    "column",
                    PlanStep(
                        f"drop default of {where}", ddl.drop_default(self.schema, table, column)
                    ),
                )
            else:
                self.add(
                    "column",
                    PlanStep(
                        f"set default of {where} to {new_default}",
                        ddl.set_default(self.schema, entity, new),
                    ),
                )

        if new.required and not old.required:
            self._set_not_null(entity, new, where, rows)
        elif old.required and not new.required:
            self.add(
                "column",
                PlanStep(
                    f"make {where} optional (DROP NOT NULL)",
                    ddl.drop_not_null(self.schema, table, column),
                ),
            )

        removed = removed_enum_values(old, new)
        if removed:
            holding = self.value_counts.get(enum_count_key(table, column))
            if holding is None and rows == 0:
                holding = 0
            values = ", ".join(removed)
            held = (
                "rows holding them keep them"
                if holding is None
                else f"{holding} row(s) hold them and keep them"
            )
            self.add(
                "column",
                PlanStep(
                    f"enum value(s) {values} removed from {where}",
                    "",
                    destructive=holding != 0,
                    reason=f"values {values} are no longer allowed; {held}",
                ),
            )

    def _set_not_null(self, entity: EntityDef, f: FieldDef, where: str, rows: int | None) -> None:
        table, column = entity.table, column_of(f)
        summary = f"make {where} required (SET NOT NULL)"
        sql = ddl.set_not_null(self.schema, table, column)
        empty = self.value_counts.get(null_count_key(table, column))
        if rows == 0 or empty == 0:
            self.add("column", PlanStep(summary, sql))
            return
        if ddl.default_expression(entity, f) is not None:
            count = "every row" if empty is None else f"{empty} row(s)"
            self.add(
                "column",
                PlanStep(
                    f"fill {where} with its default where it has no value",
                    ddl.fill_nulls(self.schema, entity, f),
                    reason=f"writes the default into {count} without a value",
                ),
            )
            self.add("column", PlanStep(summary, sql))
            return
        if empty is None:
            self.add(
                "column",
                PlanStep(summary, sql, reason="fails, and nothing changes, if a row has no value"),
            )
            return
        self.add(
            "column",
            PlanStep(
                summary,
                sql,
                destructive=True,
                refused=True,
                reason=f"{empty} row(s) have no value for {f.name}: SET NOT NULL would fail — "
                f"give the field a default (rows without a value get it) or fill those rows, "
                f"or keep the field optional",
            ),
        )

    # unique constraints and indexes

    def _uniques(self, old_entity: EntityDef, new_entity: EntityDef) -> None:
        old_uniques = {u.name: u for u in ddl.entity_uniques(old_entity)}
        new_uniques = {u.name: u for u in ddl.entity_uniques(new_entity)}
        for name in sorted(old_uniques):
            if new_uniques.get(name) != old_uniques[name]:
                u = old_uniques[name]
                self.add(
                    "drop_index",
                    PlanStep(
                        f"drop unique constraint {u.name} on {u.table}.{u.column}",
                        ddl.drop_constraint(self.schema, u.table, u.name),
                    ),
                )
        for name in sorted(new_uniques):
            if old_uniques.get(name) != new_uniques[name]:
                self._add_unique(new_uniques[name])

    def _add_unique(self, u: UniqueSpec) -> None:
        self.add(
            "index",
            PlanStep(
                f"add unique constraint {u.name} on {u.table}.{u.column}",
                ddl.add_unique(self.schema, u),
                reason="fails, and nothing changes, if two rows share a value",
            ),
        )

    def _indexes(self, old_entity: EntityDef, new_entity: EntityDef) -> None:
        old_indexes = {i.name: i for i in ddl.entity_indexes(old_entity)}
        new_indexes = {i.name: i for i in ddl.entity_indexes(new_entity)}
        for name in sorted(old_indexes):
            if new_indexes.get(name) != old_indexes[name]:
                index = old_indexes[name]
                self.add(
                    "drop_index",
                    PlanStep(
                        f"drop index {index.name} on {index.table}",
                        ddl.drop_index(self.schema, index.name),
                    ),
                )
        for name in sorted(new_indexes):
            if old_indexes.get(name) != new_indexes[name]:
                self._create_index(new_indexes[name], new_table=False)

    def _create_index(self, index: IndexSpec, *, new_table: bool) -> None:
        kind = "unique index" if index.unique else "index"
        self.add(
            "index",
            PlanStep(
                f"create {kind} {index.name} on {index.table} ({', '.join(index.columns)})",
                ddl.create_index(self.schema, index),
                reason="fails, and nothing changes, if two rows share a value"
                if index.unique and not new_table
                else "",
            ),
        )
