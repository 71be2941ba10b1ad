"""A contract's evidence package (see :mod:`rapport.audit.evidence` for the format).

Files: every rendered PDF of the contract. Statements: every given signature's facts with its
RFC 3161 token and TSA certificate, bound to its ``contracts.sign`` audit entry. Audit entries:
every entry of the tenant's log about the contract, its documents and its signatures (drafting,
approval, transitions, signing), each with an inclusion proof against a checkpoint signed now.
Amendments and the termination notice are documents of the same contract, so the package holds
every revision's PDF with its signatures: an amendment never replaces the original.

:func:`evidence_download` serves it as ``GET /download/contracts/evidence/<contract id>``
(rapport.plugins.downloads: the kernel authenticates and audits the download) to HR and to the
contract's employee.
"""

from __future__ import annotations

import base64

from rapport.audit.evidence import Statement, build_package
from rapport.db.database import Connection
from rapport.db.tenants import Tenant
from rapport.errors import Forbidden, NotFound
from rapport.naming import qualified
from rapport.plugins.downloads import Download, DownloadRequest
from rapport.records.rows import parse_id

__all__ = ["contract_evidence", "evidence_download"]

HR_ROLES = frozenset({"hr", "hr_manager", "admin"})


async def evidence_download(request: DownloadRequest) -> Download:
    """The package of the contract ``request.record_id``, for HR or the contract's employee."""
    schema = request.tenant.schema
    if parse_id(request.record_id) is None:
        raise NotFound("No contract has this id.", hint="Use a contract's id (a UUID).")
    if not request.principal.roles & HR_ROLES:
        owner = await request.conn.fetchval(
            f"SELECT e.user_id FROM {qualified(schema, 'contracts_contract')} AS c "
            f"JOIN {qualified(schema, 'org_employee')} AS e ON e.id = c.employee_id "
            "WHERE c.id = $1::uuid",
            request.record_id,
        )
        if owner is None or owner != request.principal.subject:
            raise Forbidden(
                "Only HR and the contract's employee may download its evidence.",
                hint="Ask HR for the package.",
            )
    filename, data = await contract_evidence(request.conn, request.tenant, request.record_id)
    return Download(filename, "application/zip", data, "contracts/contract", request.record_id)


async def contract_evidence(
    conn: Connection, tenant: Tenant, contract_id: str
) -> tuple[str, bytes]:
    """(file name, zip bytes); runs in a transaction."""
    schema = tenant.schema
    contract = await conn.fetchrow(
        f"SELECT id::text AS id, number, status FROM {qualified(schema, 'contracts_contract')} WHERE id = $1::uuid",
        contract_id,
    )
    if contract is None:
        raise NotFound("No contract has this id.", hint="Use a contract id you can read.")
    documents = await conn.fetch(
        f"SELECT id::text AS id, kind, revision, pdf, sha256 FROM {qualified(schema, 'contracts_document')} "
        "WHERE contract_id = $1::uuid ORDER BY revision, created_at", contract_id,
    )  # fmt: skip
    signatures = await conn.fetch(
        f"SELECT id::text AS id, party, statement, timestamp_token, tsa_certificate, audit_seq "
        f"FROM {qualified(schema, 'contracts_signature')} WHERE contract_id = $1::uuid AND status = 'signed' "
        "ORDER BY signed_at", contract_id,
    )  # fmt: skip
    records = [contract_id, *(d["id"] for d in documents), *(s["id"] for s in signatures)]
    seqs = await conn.fetch(
        "SELECT tenant_seq FROM rapport.audit_entries WHERE tenant_id = $1::uuid AND record_id = ANY($2::text[])",
        tenant.id, records,
    )  # fmt: skip
    files = {
        f"{d['kind']}-r{d['revision']}-{d['id'][:8]}.pdf": base64.b64decode(d["pdf"])
        for d in documents
    }
    statements = [
        Statement(
            id=f"signature-{s['party']}-{s['id'][:8]}",
            body=_json(s["statement"]),
            timestamp_token=base64.b64decode(s["timestamp_token"]),
            tsa_certificate=str(s["tsa_certificate"]).encode(),
            audit_seq=int(s["audit_seq"]),
        )
        for s in signatures
    ]
    package = await build_package(
        conn, tenant_id=tenant.id, title=f"劳动合同 / Labour contract {contract['number'] or contract_id}",
        subject={"tenant": tenant.slug, "contract": contract_id, "number": contract["number"], "status": contract["status"]},
        files=files, statements=statements, audit_seqs=[int(r["tenant_seq"]) for r in seqs],
    )  # fmt: skip
    return f"contract-{contract['number'] or contract_id}-evidence.zip", package


def _json(value: object) -> dict[str, object]:
    import json

    return dict(json.loads(value) if isinstance(value, str) else value)  # type: ignore[arg-type]
