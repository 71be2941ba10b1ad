"""Renewal (续签): the decision to renew drafts the successor contract.

When the renewal decision (``renew``, approved by an HR manager) puts a contract in
``renewing``, the successor is drafted from it in the same transaction: the same type, parties,
template, position, workplace, working-hour system and salary, starting the day after the end
date and — for a term contract — running as long as the predecessor did; no probation (LCL
art. 19: the same employer may agree a probation period once), linked by ``previousContract``
and numbered ``<number>-R<n>``. Renewing after two consecutive fixed-term contracts drafts a
non-fixed-term one (LCL art. 14(3), ERM.md CT-3: the employer must conclude one unless the
employee asks otherwise or art. 39/40(1)(2) grounds exist — HR changes the draft in those
cases). HR then adjusts and issues it like any draft (approval, PDF,
both signatures). The predecessor expires the day after its end date (the workflow's timer).
A second renewal decision for the same contract drafts nothing twice. A contract terminated
while its renewal was decided takes its successor with it: a successor still in draft or in
signing is cancelled (the workflow's ``cancel``, by the plug-in), so no one signs the renewal of
a contract that ended early; a successor both parties already signed is left to HR.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from typing import Any

from rapport.db.database import Connection
from rapport.naming import qualified
from rapport.records.change import Change
from rapport.workflow.context import WorkflowContext
from rapport.workflow.engine import transition
from rapport_contracts.documents import system_writer
from rapport_contracts.store import open_salary
from rapport_contracts.terms import add_months, parse_date

__all__ = ["cancel_successor", "draft_successor"]

CONTRACT = "contracts/contract"
COPIED = ("contractType", "employeeId", "employerId", "templateId", "positionTitle", "workplace",
          "workingHours", "salaryPeriod")  # fmt: skip


def _months(start: dt.date, end: dt.date) -> int:
    """The term in whole months (end inclusive), at least one."""
    after = end + dt.timedelta(days=1)
    return max(1, (after.year - start.year) * 12 + after.month - start.month)


async def draft_successor(conn: Connection, change: Change) -> str | None:
    """The successor's id (None when the contract has one already, or no end to follow)."""
    after = change.after or {}
    table = qualified(change.tenant.schema, "contracts_contract")
    if await conn.fetchval(
        f"SELECT 1 FROM {table} WHERE previous_contract_id = $1::uuid", change.record_id
    ):
        return None
    start, end = parse_date(after.get("startDate")), parse_date(after.get("endDate"))
    if start is None or end is None:
        return None  # a non-fixed-term contract is never renewed: it has no end
    new_start = end + dt.timedelta(days=1)
    successor: dict[str, Any] = {name: after.get(name) for name in COPIED}
    successor.update(
        startDate=new_start.isoformat(),
        endDate=(add_months(new_start, _months(start, end)) - dt.timedelta(days=1)).isoformat(),
        probationMonths=0,
        previousContractId=change.record_id,
    )
    chain = await conn.fetchrow(
        f"WITH RECURSIVE chain(id, previous, kind) AS (SELECT id, previous_contract_id, contract_type "
        f"FROM {table} WHERE id = $1::uuid UNION ALL SELECT c.id, c.previous_contract_id, c.contract_type "
        f"FROM {table} AS c JOIN chain ON c.id = chain.previous) "
        "SELECT count(*) AS depth, count(*) FILTER (WHERE kind = 'fixed_term') AS fixed FROM chain",
        change.record_id,
    )
    assert chain is not None  # an aggregate always answers a row
    depth = int(chain["depth"])
    if after.get("contractType") == "fixed_term" and int(chain["fixed"]) >= 2:
        successor.update(contractType="open_ended", endDate=None)  # LCL art. 14(3)
    base = re.sub(r"-R\d+$", "", str(after.get("number") or change.record_id[:8]))
    successor["number"] = f"{base}-R{depth + 1}"
    salary = await open_salary(conn, change.tenant, change.record_id, after.get("salary"))
    if salary is not None:
        successor["salary"] = Decimal(str(json.loads(salary)))
    writer, system = system_writer(change)
    return await writer.create(
        conn, change.metadata.model.entity(CONTRACT), successor, principal=system, via="contracts"
    )


async def cancel_successor(conn: Connection, change: Change) -> str | None:
    """Cancel the unsigned successor of a contract terminated while ``renewing``; its id."""
    if (change.before or {}).get("status") != "renewing":
        return None
    successor: str | None = await conn.fetchval(
        f"SELECT id::text FROM {qualified(change.tenant.schema, 'contracts_contract')} "
        "WHERE previous_contract_id = $1::uuid AND status IN ('draft', 'signing')",
        change.record_id,
    )
    if successor is None:
        return None
    writer, system = system_writer(change)
    context = WorkflowContext(
        change.tenant, change.metadata, writer, system, dt.datetime.now(dt.UTC)
    )
    await transition(
        conn,
        context,
        change.metadata.model.entity(CONTRACT),
        successor,
        "cancel",
        comment=f"the contract it renews ({change.record_id}) was terminated",
    )
    return successor
