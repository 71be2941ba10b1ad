"""The permission participant: first in every record write (create, update, delete, upsert).

1. casbin must allow the action for one of the principal's roles (else FORBIDDEN);
2. update/delete: some granting rule's row rule must hold on the stored record — a record the
   principal cannot read answers NOT_FOUND (it looks missing), one it can read but not change
   FORBIDDEN;
3. every field in the input must be writable by a rule that holds (else FORBIDDEN, with the
   field's path);
4. after the change, some granting rule's row rule must hold on the written record, so nobody
   moves a record out of their scope or creates one outside it.

Row rules are decided by PostgreSQL with the SQL the read path uses (one ``SELECT`` of one
boolean per rule), so reads and writes cannot disagree.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from rapport.auth.permissions.attributes import (
    DEFAULT_PROVIDER,
    AttributeProvider,
    user_variables,
)
from rapport.auth.permissions.kind import permissions_of
from rapport.auth.permissions.policy import WritePolicy
from rapport.db.database import Connection
from rapport.errors import Forbidden, NotFound, PathSegment
from rapport.expr.ast import Expr
from rapport.expr.sql import ParamList, SqlContext, compile_sql
from rapport.expr.variables import variables_in
from rapport.metadata.ir import EntityDef, FieldKind, Model
from rapport.naming import qualified, quote_ident
from rapport.records.change import Action, Change, PendingChange, WriteParticipant

__all__ = ["PermissionParticipant"]

_ALIAS = "r"


class PermissionParticipant(WriteParticipant):
    def __init__(self, provider: AttributeProvider = DEFAULT_PROVIDER) -> None:
        self.provider = provider

    async def before_write(self, conn: Connection, change: PendingChange) -> PendingChange:
        principal = change.principal
        if principal.is_admin:
            return change
        policy = self._policy(change.metadata, change, change.entity, change.action.value)
        if not policy.allowed:
            raise Forbidden(
                f"Roles {sorted(principal.roles)} may not {change.action.value} "
                f"{change.entity.id} records.",
                hint="Ask an administrator to grant the action in a permission document.",
                details={"entity": change.entity.id, "action": change.action.value},
            )
        writable: frozenset[str]
        if change.action is Action.CREATE:
            writable = frozenset().union(*(r.write for r in policy.rules))
        elif change.before is None or change.record_id is None:
            return change  # no such record: the write itself answers NOT_FOUND
        else:
            matching = await self._matching(conn, change, policy, change.record_id)
            if not matching:
                read = self._read_row(change)
                visible = await self._holds(conn, change, [read], change.record_id)
                if not visible or not visible[0]:
                    raise _not_found(change.entity, change.record_id)
                raise Forbidden(
                    f"Roles {sorted(principal.roles)} may not {change.action.value} this "
                    f"{change.entity.id} record.",
                    hint="The record is outside the rows your rules let you change.",
                    details={"entity": change.entity.id, "action": change.action.value},
                )
            writable = frozenset().union(*(policy.rules[i].write for i in matching))
        _check_fields(change.entity, change.input, writable, change.path)
        return change

    async def after_write(self, conn: Connection, change: Change) -> None:
        if change.principal.is_admin or change.action is Action.DELETE:
            return
        policy = self._policy(change.metadata, change, change.entity, change.action.value)
        matching = await self._matching(conn, change, policy, change.record_id)
        if not matching:
            raise Forbidden(
                f"The {change.entity.id} record would be outside the records roles "
                f"{sorted(change.principal.roles)} may {change.action.value}.",
                hint="Keep the values your rules require (e.g. the owner or department).",
                details={"entity": change.entity.id, "action": change.action.value},
            )
        if change.action is Action.CREATE:
            writable = frozenset().union(*(policy.rules[i].write for i in matching))
            _check_fields(change.entity, change.input, writable, ())

    # -- helpers -----------------------------------------------------------------------------

    def _policy(
        self, metadata: Any, change: PendingChange | Change, entity: EntityDef, action: str
    ) -> WritePolicy:
        domain = change.principal.tenant or ""
        policy: WritePolicy = permissions_of(metadata).write_policy(
            domain, change.principal.roles, entity, action
        )
        return policy

    def _read_row(self, change: PendingChange) -> Expr:
        domain = change.principal.tenant or ""
        return (
            permissions_of(change.metadata)
            .read_policy(domain, change.principal.roles, change.entity, "read")
            .row
        )

    async def _matching(
        self, conn: Connection, change: PendingChange | Change, policy: WritePolicy, record_id: str
    ) -> list[int]:
        holds = await self._holds(conn, change, [r.where for r in policy.rules], record_id)
        return [i for i, held in enumerate(holds) if held]

    async def _holds(
        self,
        conn: Connection,
        change: PendingChange | Change,
        rules: Sequence[Expr],
        record_id: str,
    ) -> list[bool]:
        """Which of ``rules`` hold on the stored record (all false when it does not exist)."""
        if not rules:
            return []
        try:
            parsed = uuid.UUID(str(record_id))
        except ValueError:
            return [False] * len(rules)
        variables = user_variables(
            change.principal, now=dt.datetime.now(dt.UTC), provider=self.provider
        )
        for rule in rules:
            for name in variables_in(rule):
                variables.setdefault(name, None)  # a missing attribute is null, as on reads
        params = ParamList()
        id_param = params.add(parsed, "uuid")
        model: Model = change.metadata.model
        ctx = SqlContext(change.tenant.schema, _ALIAS, params, variables, model)
        checks = ", ".join(f"COALESCE({compile_sql(rule, ctx)}, false)" for rule in rules)
        sql = (
            f"SELECT ARRAY[{checks}] FROM {qualified(change.tenant.schema, change.entity.table)} "
            f"AS {quote_ident(_ALIAS)} WHERE {quote_ident(_ALIAS)}.id = {id_param}"
        )
        found = await conn.fetchval(sql, *params.values)
        return [False] * len(rules) if found is None else [bool(v) for v in found]


def _field_of(entity: EntityDef, input_name: str) -> str:
    for field in entity.fields:
        if input_name in (field.name, field.graphql_input_name):
            return field.name
    return input_name


def _check_fields(
    entity: EntityDef,
    input: Mapping[str, Any],
    writable: frozenset[str],
    path: tuple[PathSegment, ...],
) -> None:
    for key in input:
        name = _field_of(entity, key)
        if name not in writable:
            kind = entity.field(name).kind if entity.has_field(name) else None
            what = "relation" if kind is FieldKind.RELATION else "field"
            raise Forbidden(
                f"The {what} {key} of {entity.id} is not writable for your roles.",
                hint=f"Leave {key} out of the input, or ask for a rule granting it.",
                path=(*path, key),
                details={"field": key, "path": [*path, key]},
            )


def _not_found(entity: EntityDef, record_id: str) -> NotFound:
    """Word for word what the write path says of a missing record: an invisible record must
    not be told apart from one that does not exist."""
    return NotFound(
        f"No {entity.type_name} has the id {uuid.UUID(record_id)}.",
        hint="Check the id; the record may have been deleted.",
        path=("id",),
    )
