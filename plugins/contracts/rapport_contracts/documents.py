"""Issuing a contract for signing: render the exact PDF, store it, open the signatures.

The PDF is rendered once, from the template and the contract as approved, and stored with its
SHA-256 as a ``contracts/document`` (revision = the contract's revision); what a signer reviews
and what the evidence package holds are these bytes. Each party — the employee (their
``userId``) and the employer's signatory — gets a pending ``contracts/signature`` and a
notification (in-app plus their channels). Amendments and terminations store their own PDFs
through the same :func:`store_document` (:mod:`rapport_contracts.amendments`,
:mod:`rapport_contracts.termination`).
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
from rapport.db.tenants import Tenant
from rapport.errors import FieldError, ValidationFailed
from rapport.metadata.bundle import TenantMetadata
from rapport.notify import notify
from rapport.principal import ADMIN_ROLE, Principal
from rapport.records.change import Change
from rapport.records.writer import RecordWriter
from rapport_contracts.rendering import fill, render_pdf
from rapport_contracts.store import contract_view, open_salary

__all__ = [
    "SUBJECT",
    "issue_document",
    "money",
    "open_signatures",
    "signable_view",
    "store_document",
    "system_writer",
    "template_values",
]

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


def template_values(view: Any, salary: str | None) -> dict[str, str]:
    """The placeholder values of a contract (its view joined with its parties)."""
    return {
        "employeeName": _text(view["employee_name"]), "employerName": _text(view["employer_name"]),
        "employerAddress": _text(view["employer_address"]), "creditCode": _text(view["credit_code"]),
        "legalRepresentative": _text(view["legal_representative"]),
        "contractType": TYPES.get(view["contract_type"], view["contract_type"]),
        "contractNumber": _text(view["number"]), "startDate": _text(view["start_date"]),
        "endDate": _text(view["end_date"]), "probationMonths": _text(view["probation_months"] or 0),
        "probationEndDate": _text(view["probation_end_date"]), "position": _text(view["position_title"]),
        "workplace": _text(view["workplace"]), "workingHours": HOURS.get(view["working_hours"], "—"),
        "salary": money(salary),
        "salaryPeriod": PERIODS.get(view["salary_period"], "月"), "revision": _text(view["revision"]),
    }  # fmt: skip


def money(salary: str | None) -> str:
    """A salary as opened (JSON text of a number) for a document."""
    return "—" if salary is None else f"{float(json.loads(salary)):,.2f}"


async def store_document(
    conn: Connection, tenant: Tenant, metadata: TenantMetadata, view: Any, *, kind: str,
    revision: int, title: str, body: str, created: dt.datetime, status: str = "signing",
    links: dict[str, str] | None = None,
) -> tuple[str, str]:  # fmt: skip
    """Render and store one PDF of the contract ``view``; (document id, its SHA-256)."""
    pdf = render_pdf(title, body, created=created)
    digest = hashlib.sha256(pdf).hexdigest()
    writer, system = system_writer(tenant, metadata)
    document = await writer.create(
        conn,
        metadata.model.entity("contracts/document"),
        {"contractId": view["contract_id"], "kind": kind, "revision": revision, "title": title,
         "pdf": base64.b64encode(pdf).decode(), "sha256": digest, "status": status, **(links or {})},
        principal=system, via="contracts",
    )  # fmt: skip
    return document, digest


async def open_signatures(
    conn: Connection, tenant: Tenant, metadata: TenantMetadata, view: Any, document: str,
    digest: str, title: str, link: str,
) -> None:  # fmt: skip
    """One pending signature per party of ``document``, each signer notified."""
    writer, system = system_writer(tenant, metadata)
    parties = [
        ("employee", view["employee_user_id"], view["employee_name"]),
        ("employer", view["signatory_user_id"], view["employer_name"]),
    ]
    for party, user, name in parties:
        await writer.create(
            conn,
            metadata.model.entity("contracts/signature"),
            {"documentId": document, "contractId": view["contract_id"], "party": party,
             "signerUserId": user, "signerName": name, "documentSha256": digest},
            principal=system, via="contracts",
        )  # fmt: skip
    await notify(
        conn,
        tenant_id=tenant.id,
        recipients=[user for _, user, _ in parties],
        title=f"请签署 / Please sign: {title}"[:200],
        body=f"PDF SHA-256: {digest}",
        link=link,
        metadata=(tenant, metadata),
        participants=KERNEL.participants,
    )


async def signable_view(conn: Connection, tenant: Tenant, contract_id: str) -> Any:
    """The contract with its parties, refused when a party cannot sign."""
    view = await contract_view(conn, tenant.schema, contract_id)
    if view is None:
        raise ValidationFailed(
            [FieldError(("id",), "the contract's parties or template are missing")]
        )
    if not view["employee_user_id"]:
        raise ValidationFailed(
            [FieldError(("employee",), "the employee has no userId, so cannot sign")],
            hint="Give the employee a platform user (org/employee.userId) first.",
        )
    return view


async def issue_document(conn: Connection, change: Change) -> str:
    """The contract's PDF at its revision, rendered from its template, with its signatures."""
    view = await signable_view(conn, change.tenant, change.record_id)
    salary = await open_salary(
        conn, change.tenant, change.record_id, change.after and change.after.get("salary")
    )
    values = template_values(view, salary)
    title = fill(view["template_title"], values)
    body = fill(view["template_body"], values)
    document, digest = await store_document(
        conn, change.tenant, change.metadata, view, kind="contract",
        revision=int(view["revision"] or 1), title=title, body=body, created=view["updated_at"],
    )  # fmt: skip
    await open_signatures(
        conn, change.tenant, change.metadata, view, document, digest, title,
        f"contracts/{change.record_id}",
    )  # fmt: skip
    return document
