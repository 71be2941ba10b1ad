"""A contract's evidence package (see :mod:`rapport.audit.evidence` for the format).

Files: every rendered PDF of the contract. Statements: every given signature's facts with its
RFC 3161 token and TSA certificate, bound to its ``contracts.sign`` audit entry. Audit entries:
every entry of the tenant's log about the contract, its documents and its signatures (drafting,
approval, transitions, signing), each with an inclusion proof against a checkpoint signed now.
"""

from __future__ import annotations

import base64

from rapport.audit.evidence import Statement, build_package
from rapport.db.database import Connection
from rapport.db.tenants import Tenant
from rapport.errors import NotFound
from rapport.naming import qualified

__all__ = ["contract_evidence"]


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
        f"SELECT id::text AS id, revision, pdf, sha256 FROM {qualified(schema, 'contracts_document')} "
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
        f"contract-r{d['revision']}-{d['id'][:8]}.pdf": base64.b64decode(d["pdf"])
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
