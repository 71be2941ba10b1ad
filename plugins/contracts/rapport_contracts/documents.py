"""Issuing a contract for signing: render the exact PDF, store it, open the signatures.

The PDF is rendered once, from the template and the contract as approved, and stored with its
SHA-256 as a ``contracts/document`` (revision = the contract's revision); what a signer reviews
and what the evidence package holds are these bytes. Each party — the employee (their
``userId``) and the employer's signatory — gets a pending ``contracts/signature`` and a
notification (in-app plus their channels).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from typing import Any

from rapport.composition import KERNEL
from rapport.crypto.sealing import KeyRingSealers
from rapport.db.database import Connection
from rapport.errors import FieldError, ValidationFailed
from rapport.notify import notify
from rapport.principal import ADMIN_ROLE, Principal
from rapport.records.change import Change
from rapport.records.writer import RecordWriter
from rapport_contracts.rendering import fill, render_pdf
from rapport_contracts.store import contract_view, open_salary

__all__ = ["SUBJECT", "issue_document", "system_writer"]

SUBJECT = "system:contracts"
TYPES = {
    "fixed_term": "固定期限劳动合同", "open_ended": "无固定期限劳动合同",
    "task_based": "以完成一定工作任务为期限的劳动合同", "part_time": "非全日制用工合同",
    "internship": "实习协议", "non_compete": "竞业限制协议", "confidentiality": "保密协议",
}  # fmt: skip
HOURS = {"standard": "标准工时制", "comprehensive": "综合计算工时制", "flexible": "不定时工作制"}
PERIODS = {"monthly": "月", "hourly": "小时"}


def system_writer(change_or_tenant: Any, metadata: Any = None) -> tuple[RecordWriter, Principal]:
    tenant = change_or_tenant.tenant if metadata is None else change_or_tenant
    compiled = change_or_tenant.metadata if metadata is None else metadata
    writer = RecordWriter(
        tenant, compiled, participants=KERNEL.participants, sealers=KeyRingSealers()
    )
    return writer, Principal(tenant=tenant.slug, subject=SUBJECT, roles=frozenset({ADMIN_ROLE}))


def _text(value: Any) -> str:
    if value is None:
        return "—"
    return value.isoformat() if isinstance(value, dt.date) else str(value)


async def issue_document(conn: Connection, change: Change) -> str:
    view = await contract_view(conn, change.tenant.schema, change.record_id)
    if view is None:
        raise ValidationFailed(
            [FieldError(("id",), "the contract's parties or template are missing")]
        )
    if not view["employee_user_id"]:
        raise ValidationFailed(
            [FieldError(("employee",), "the employee has no userId, so cannot sign")],
            hint="Give the employee a platform user (org/employee.userId) first.",
        )
    salary = await open_salary(
        conn, change.tenant, change.record_id, change.after and change.after.get("salary")
    )
    values = {
        "employeeName": _text(view["employee_name"]), "employerName": _text(view["employer_name"]),
        "employerAddress": _text(view["employer_address"]), "creditCode": _text(view["credit_code"]),
        "legalRepresentative": _text(view["legal_representative"]),
        "contractType": TYPES.get(view["contract_type"], view["contract_type"]),
        "contractNumber": _text(view["number"]), "startDate": _text(view["start_date"]),
        "endDate": _text(view["end_date"]), "probationMonths": _text(view["probation_months"] or 0),
        "probationEndDate": _text(view["probation_end_date"]), "position": _text(view["position_title"]),
        "workplace": _text(view["workplace"]), "workingHours": HOURS.get(view["working_hours"], "—"),
        "salary": "—" if salary is None else f"{float(json.loads(salary)):,.2f}",
        "salaryPeriod": PERIODS.get(view["salary_period"], "月"), "revision": _text(view["revision"]),
    }  # fmt: skip
    title = fill(view["template_title"], values)
    pdf = render_pdf(title, fill(view["template_body"], values), created=view["updated_at"])
    digest = hashlib.sha256(pdf).hexdigest()
    writer, system = system_writer(change)
    model = change.metadata.model
    document = await writer.create(
        conn,
        model.entity("contracts/document"),
        {"contractId": change.record_id, "kind": "contract", "revision": int(view["revision"] or 1),
         "title": title, "pdf": base64.b64encode(pdf).decode(), "sha256": digest},
        principal=system, via="contracts",
    )  # fmt: skip
    parties = [
        ("employee", view["employee_user_id"], view["employee_name"]),
        ("employer", view["signatory_user_id"], view["employer_name"]),
    ]
    for party, user, name in parties:
        await writer.create(
            conn,
            model.entity("contracts/signature"),
            {"documentId": document, "contractId": change.record_id, "party": party,
             "signerUserId": user, "signerName": name, "documentSha256": digest},
            principal=system, via="contracts",
        )  # fmt: skip
    await notify(
        conn,
        tenant_id=change.tenant.id,
        recipients=[user for _, user, _ in parties],
        title=f"请签署劳动合同 / Please sign your labour contract: {title}"[:200],
        body=f"PDF SHA-256: {digest}",
        link=f"contracts/{change.record_id}",
        metadata=(change.tenant, change.metadata),
        participants=KERNEL.participants,
    )
    return document
