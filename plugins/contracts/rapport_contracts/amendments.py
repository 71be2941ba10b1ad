"""Contract amendments (变更, LCL art. 35: agreed in writing by both parties).

An amendment names the terms it changes (position, workplace, working-hour system, salary,
salary period, end date), its reason and effective date. Drafting checks that the contract is
in force and that something changes, and records the terms before (``previous``, the salary
left out: it stays sealed on the contract) and the revision it makes. Issuing it (an HR
manager's approval) renders its own PDF — the contract's number, the terms before and after,
the reason, the effective date — as a ``contracts/document`` of kind ``amendment`` and asks both
parties to sign it in the same ceremony as the contract; one amendment of a contract is
signed at a time, since each builds on the revision before (its terms and revision are taken
again when it is issued). When both signed, the contract takes
the new terms as its next revision (its dates derived and checked again) — at once when the
effective date has come, else the amendment waits ``signed`` until the workflow's timer makes it
``effective`` on that date (LCL art. 35 lets the parties agree when a change applies; HR must not
pay the new salary early or late). The documents and signatures of the earlier revision are
never touched, so the evidence package holds both.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from rapport.db.database import Connection
from rapport.db.tenants import Tenant
from rapport.errors import FieldError, ValidationFailed
from rapport.metadata.bundle import TenantMetadata
from rapport.naming import qualified
from rapport.records.change import Change, PendingChange
from rapport.workflow.context import WorkflowContext
from rapport.workflow.engine import transition
from rapport_contracts.documents import (
    HOURS,
    PERIODS,
    money,
    open_signatures,
    signable_view,
    store_document,
    system_writer,
)
from rapport_contracts.store import open_salary
from rapport_contracts.terms import derived_dates

__all__ = ["check_amendment", "complete_amendment", "issue_amendment", "take_terms"]

AMENDMENT = "contracts/amendment"
IN_FORCE = ("active", "renewing", "ending")
# The terms an amendment may change: field -> (column, zh label, en label).
TERMS = {
    "positionTitle": ("position_title", "工作岗位", "Position"),
    "workplace": ("workplace", "工作地点", "Workplace"),
    "workingHours": ("working_hours", "工时制度", "Working-hour system"),
    "salary": ("salary", "劳动报酬", "Salary"),
    "salaryPeriod": ("salary_period", "计薪周期", "Salary period"),
    "endDate": ("end_date", "终止日期", "End date"),
}


def _refused(change: PendingChange, field: str, message: str, hint: str) -> ValidationFailed:
    return ValidationFailed([FieldError((*change.path, field), message)], hint=hint)


async def check_amendment(conn: Connection, change: PendingChange) -> PendingChange:
    """On drafting: the contract is in force, a term changes, the new term is lawful."""
    if change.before is not None and change.before.get("status") != "draft":
        if any(name in change.input for name in (*TERMS, "reason", "effectiveDate", "contractId")):
            raise _refused(
                change, "status", "an issued amendment is not changed",
                "Cancel it and draft a new amendment.",
            )  # fmt: skip
        return change
    record = {**(change.before or {}), **change.input}
    contract = await conn.fetchrow(
        f"SELECT * FROM {qualified(change.tenant.schema, 'contracts_contract')} WHERE id = $1::uuid",
        str(record.get("contractId")),
    )
    if contract is None:
        raise _refused(change, "contract", "no such contract", "Amend a contract you can read.")
    if contract["status"] not in IN_FORCE:
        raise _refused(
            change, "contract", f"the contract is {contract['status']}: only a contract in force is amended",
            "Amend an active contract; a draft is edited directly.",
        )  # fmt: skip
    if not any(record.get(name) is not None for name in TERMS):
        raise _refused(
            change, "positionTitle", "the amendment changes no term",
            "Give at least one new term: " + ", ".join(TERMS) + ".",
        )  # fmt: skip
    if record.get("endDate") is not None:
        current = {
            "contractType": contract["contract_type"], "startDate": contract["start_date"],
            "probationMonths": contract["probation_months"], "endDate": record["endDate"],
        }  # fmt: skip
        derived_dates(current, 60, 30, change.path)  # raises with the article
    if change.input.get("status") == "signing" and await conn.fetchval(
        f"SELECT 1 FROM {qualified(change.tenant.schema, 'contracts_amendment')} "
        "WHERE contract_id = $1::uuid AND status IN ('signing', 'signed') AND id <> $2::uuid",
        str(record.get("contractId")), change.record_id,
    ):  # fmt: skip
        raise _refused(
            change, "status",
            "another amendment of this contract is being signed or waits for its effective date",
            "Wait until it is effective or cancelled: each amendment builds on the revision before.",
        )  # fmt: skip
    previous = {
        name: _plain(contract[column]) for name, (column, _, _) in TERMS.items() if name != "salary"
    }
    return change.with_input(
        {**change.input, "previous": previous, "revision": int(contract["revision"] or 1) + 1}
    )


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def _shown(name: str, value: Any) -> str:
    if value is None:
        return "—"
    if name == "workingHours":
        return HOURS.get(str(value), str(value))
    if name == "salaryPeriod":
        return PERIODS.get(str(value), str(value))
    return str(_plain(value))


async def issue_amendment(conn: Connection, change: Change) -> str:
    """The amendment's PDF, with a signature to give per party."""
    after = change.after or {}
    contract_id = str(after["contractId"])
    view = await signable_view(conn, change.tenant, contract_id)
    salary_before = await open_salary(conn, change.tenant, contract_id, view["salary"])
    salary_after = await open_salary(conn, change.tenant, change.record_id, after.get("salary"))
    previous = after.get("previous") or {}
    previous = json.loads(previous) if isinstance(previous, str) else previous
    lines = []
    for name, (_, zh, en) in TERMS.items():
        if after.get(name) is None:
            continue
        if name == "salary":
            old, new = money(salary_before), money(salary_after)
        else:
            old, new = _shown(name, previous.get(name)), _shown(name, after[name])
        lines.append(f"{zh}：由 {old} 变更为 {new} / {en}: from {old} to {new}")
    number = view["number"] or contract_id
    title = f"劳动合同变更协议 / Contract amendment {number}-A{after['revision']}"
    body = "\n".join([
        f"甲方（用人单位）/ Employer: {view['employer_name']}",
        f"乙方（劳动者）/ Employee: {view['employee_name']}",
        f"原合同 / Contract: {number}，版本 / revision {int(view['revision'] or 1)}",
        "经双方协商一致，依据《劳动合同法》第三十五条，变更下列条款 / By agreement (LCL art. 35), "
        "the parties change these terms:",
        *lines,
        f"变更原因 / Reason: {after.get('reason')}",
        f"生效日期 / Effective from: {_plain(after.get('effectiveDate'))}",
        "其余条款不变 / All other terms stay as agreed.",
    ])  # fmt: skip
    document, digest = await store_document(
        conn, change.tenant, change.metadata, view, kind="amendment", revision=int(after["revision"]),
        title=title, body=body, created=after.get("updatedAt") or dt.datetime.now(dt.UTC),
        links={"amendmentId": change.record_id},
    )  # fmt: skip
    await open_signatures(
        conn, change.tenant, change.metadata, view, document, digest, title,
        f"contracts/{contract_id}/amendments/{change.record_id}",
    )  # fmt: skip
    return document


async def complete_amendment(
    conn: Connection, tenant: Tenant, metadata: TenantMetadata, amendment_id: str, now: dt.datetime
) -> str:
    """Both parties signed: effective now, or ``signed`` until its effective date; the state."""
    writer, system = system_writer(tenant, metadata)
    entity = metadata.model.entity(AMENDMENT)
    effective_on = await conn.fetchval(
        f"SELECT effective_date FROM {qualified(tenant.schema, 'contracts_amendment')} "
        "WHERE id = $1::uuid",
        amendment_id,
    )
    await writer.update(
        conn, entity, amendment_id, {"effectiveAt": now.isoformat()},
        expected_version=None, principal=system, via="contracts",
    )  # fmt: skip
    ahead = isinstance(effective_on, dt.date) and effective_on > now.date()
    context = WorkflowContext(tenant, metadata, writer, system, now)
    outcome = await transition(
        conn, context, entity, amendment_id, "await_date" if ahead else "activate"
    )
    return outcome.state


async def take_terms(conn: Connection, change: Change) -> None:
    """The amendment became effective: the contract takes its terms as its next revision."""
    writer, system = system_writer(change)
    model = change.metadata.model
    row = await conn.fetchrow(
        f"SELECT * FROM {qualified(change.tenant.schema, 'contracts_amendment')} WHERE id = $1::uuid",
        change.record_id,
    )
    assert row is not None  # the write that made it effective is this one
    patch: dict[str, Any] = {
        name: _plain(row[column])
        for name, (column, _, _) in TERMS.items()
        if name != "salary" and row[column] is not None
    }
    salary = await open_salary(conn, change.tenant, change.record_id, row["salary"])
    if salary is not None:
        patch["salary"] = Decimal(str(json.loads(salary)))
    patch["revision"] = int(row["revision"])
    await writer.update(
        conn, model.entity("contracts/contract"), str(row["contract_id"]), patch,
        expected_version=None, principal=system, via="contracts",
    )  # fmt: skip
