"""The discipline plug-in's hooks: every write of a case obeys :mod:`rapport_discipline.rules`;
decisions and appeals leave their records (:mod:`rapport_discipline.outcomes`)."""

from __future__ import annotations

from rapport.db.database import Connection
from rapport.plugins import Hooks
from rapport.records.change import Change, PendingChange
from rapport_discipline.outcomes import apply_appeal, impose_sanction
from rapport_discipline.rules import check_case

__all__ = ["DisciplineHooks"]

CASE = "discipline/disciplinary_case"


class DisciplineHooks(Hooks):
    async def before_create(self, conn: Connection, change: PendingChange) -> PendingChange:
        return await check_case(conn, change) if change.entity.id == CASE else change

    async def before_update(self, conn: Connection, change: PendingChange) -> PendingChange:
        return await check_case(conn, change) if change.entity.id == CASE else change

    async def after_update(self, conn: Connection, change: Change) -> None:
        if change.entity.id != CASE or change.after is None or change.before is None:
            return
        status, previous = change.after.get("status"), change.before.get("status")
        if status == previous:
            return
        if status == "decided":
            await impose_sanction(conn, change, change.after)
        elif status == "appeal_decided":
            await apply_appeal(conn, change, change.after)
