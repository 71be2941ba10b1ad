"""The contracts plug-in's hooks: derived dates on every write, and the documents of each step.

Whatever path writes a contract (GraphQL, an import, a timer), its dates are derived and its
terms checked here (:mod:`rapport_contracts.terms`). When a contract enters ``signing`` — the
``issue`` transition, once an HR manager approved it — the exact PDF is rendered and stored
(:mod:`rapport_contracts.documents`) and each party gets a pending signature; entering
``renewing`` drafts the successor (:mod:`rapport_contracts.renewal`); entering ``terminated``
issues the notice (:mod:`rapport_contracts.termination`) and cancels an unsigned successor. An amendment is checked when drafted,
rendered for signing when issued, and its terms taken by the contract when it becomes effective
— when both signed, or on its effective date (:mod:`rapport_contracts.amendments`). The evidence
package is a download (:mod:`rapport_contracts.evidence`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from rapport.db.database import Connection
from rapport.plugins import Hooks
from rapport.plugins.downloads import DownloadHandler
from rapport.records.change import Change, PendingChange
from rapport_contracts.amendments import check_amendment, issue_amendment, take_terms
from rapport_contracts.documents import issue_document
from rapport_contracts.evidence import evidence_download
from rapport_contracts.renewal import cancel_successor, draft_successor
from rapport_contracts.store import contract_settings
from rapport_contracts.termination import issue_termination
from rapport_contracts.terms import derived_dates

if TYPE_CHECKING:
    from rapport.graphql.contributions import Contributor

__all__ = ["ContractHooks"]

CONTRACT = "contracts/contract"
AMENDMENT = "contracts/amendment"
TERMS = ("contractType", "startDate", "endDate", "probationMonths")


class ContractHooks(Hooks):
    async def before_create(self, conn: Connection, change: PendingChange) -> PendingChange:
        if change.entity.id == AMENDMENT:
            return await check_amendment(conn, change)
        return await self._derive(conn, change)

    async def before_update(self, conn: Connection, change: PendingChange) -> PendingChange:
        if change.entity.id == AMENDMENT:
            return await check_amendment(conn, change)
        if change.entity.id != CONTRACT or not any(n in change.input for n in TERMS):
            return change
        return await self._derive(conn, change)

    async def _derive(self, conn: Connection, change: PendingChange) -> PendingChange:
        if change.entity.id != CONTRACT:
            return change
        settings = await contract_settings(conn, change.tenant.schema)
        values = {**(change.before or {}), **change.input}
        dates = derived_dates(
            values, settings.first_reminder_days, settings.second_reminder_days, change.path
        )
        return change.with_input({**change.input, **dates})

    async def after_update(self, conn: Connection, change: Change) -> None:
        if change.before is None or change.after is None:
            return
        status = change.after.get("status")
        if status == change.before.get("status"):
            return
        if change.entity.id == AMENDMENT and status == "signing":
            await issue_amendment(conn, change)
        elif change.entity.id == AMENDMENT and status == "effective":
            await take_terms(conn, change)
        elif change.entity.id != CONTRACT:
            return
        elif status == "signing":
            await issue_document(conn, change)
        elif status == "renewing":
            await draft_successor(conn, change)
        elif status == "terminated":
            await issue_termination(conn, change)
            await cancel_successor(conn, change)

    def downloads(self) -> Mapping[str, DownloadHandler]:
        return {"evidence": evidence_download}

    def graphql(self) -> tuple[Contributor, ...]:
        # Imported here: the GraphQL layer imports the plug-in registry, which imports us.
        from rapport_contracts.graphql import contribute

        return (contribute,)
