"""What a write participant sees: the change being made, before and after it is made."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from rapport.db.database import Connection
from rapport.db.tenants import Tenant
from rapport.errors import PathSegment
from rapport.metadata.bundle import TenantMetadata
from rapport.metadata.ir import EntityDef
from rapport.principal import Principal

__all__ = ["Action", "Change", "PendingChange", "WriteParticipant"]

Record = Mapping[str, Any]  # a stored record by GraphQL name: fields, `<relation>Id`, system fields


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


@dataclass(frozen=True, slots=True)
class PendingChange:
    """A change about to be written: ``input`` is keyed by GraphQL input names.

    ``before`` is the stored record (locked ``FOR UPDATE``) for updates and deletes, None for
    creates. ``via`` says which path writes ("graphql", "form", "workflow", "import", …).
    """

    tenant: Tenant
    metadata: TenantMetadata
    entity: EntityDef
    action: Action
    principal: Principal
    input: Mapping[str, Any]
    before: Record | None
    record_id: str | None
    path: tuple[PathSegment, ...]
    via: str

    def with_input(self, input: Mapping[str, Any]) -> PendingChange:
        return replace(self, input=input)


@dataclass(frozen=True, slots=True)
class Change:
    """A change that has been written, still inside its transaction."""

    tenant: Tenant
    metadata: TenantMetadata
    entity: EntityDef
    action: Action
    principal: Principal
    input: Mapping[str, Any]
    record_id: str
    before: Record | None  # None for creates
    after: Record | None  # None for deletes
    via: str

    @property
    def changed_fields(self) -> tuple[str, ...]:
        """Names whose stored value differs between before and after (system fields excluded)."""
        before = self.before or {}
        after = self.after or {}
        system = {"id", "createdAt", "updatedAt", "createdBy", "version"}
        names = (set(before) | set(after)) - system
        return tuple(sorted(n for n in names if before.get(n) != after.get(n)))


class WriteParticipant:
    """Takes part in every record write; both hooks do nothing by default.

    ``before_write`` may return a changed input (e.g. a workflow sets its state field) or raise a
    RapportError to refuse the write; ``after_write`` may write more rows in the same transaction
    (audit entries, outbox events) or raise to roll the whole change back (a row rule that the
    changed record no longer satisfies). A capability registers its participant at a
    :class:`~rapport.capability.WriteStage`; the kernel runs them in stage order.
    """

    async def before_write(self, conn: Connection, change: PendingChange) -> PendingChange:
        return change

    async def after_write(self, conn: Connection, change: Change) -> None:
        return None
