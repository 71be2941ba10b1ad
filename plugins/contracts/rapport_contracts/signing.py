"""The signing ceremony: authenticate the signer again, bind the exact PDF, timestamp, audit.

1. :func:`start` — the signer (logged in: the token's subject is the signature's
   ``signerUserId``) asks to sign. With TOTP enabled the challenge is their authenticator's
   code (a fresh one: a code already used is refused); otherwise a six-digit one-time code is
   sent through the notification channels (in-app plus their preferred email/WeCom/DingTalk)
   and only its SHA-256 kept. Either way the challenge lasts 10 minutes and allows 5 tries.
2. :func:`sign` — the signer sends the code, the SHA-256 of the PDF they reviewed (it must be
   the stored document's), their explicit consent and a typed name or a signature image. The
   facts — signer, party, time, client address and User-Agent, document SHA-256, typed name and
   image SHA-256 — become a statement (canonical JSON) whose SHA-256 is timestamped by the
   tenant's RFC 3161 TSA and recorded in the audit log (``contracts.sign``). A failing TSA
   refuses the signature and writes nothing (the code stays unused).
3. When every signature of the document is in, the document is ``signed`` and the contract
   moves to ``active`` — or, for an amendment's document, the amendment is complete
   (:func:`rapport_contracts.amendments.complete_amendment`): the contract takes the new terms
   now, or on the amendment's effective date when that is still ahead.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
from typing import Any

from rapport.audit.evidence import statement_digest
from rapport.audit.log import append_entry
from rapport.auth import totp
from rapport.composition import KERNEL
from rapport.crypto.keys import default_keyring
from rapport.crypto.timestamp import load_certificate, request_timestamp, verify_timestamp
from rapport.db.database import Connection
from rapport.db.tenants import Tenant
from rapport.errors import (
    BadRequest,
    ConfigurationError,
    FieldError,
    Forbidden,
    NotFound,
    ValidationFailed,
)
from rapport.metadata.bundle import TenantMetadata
from rapport.naming import qualified
from rapport.notify import notify
from rapport.principal import Principal
from rapport.workflow.context import WorkflowContext
from rapport.workflow.engine import transition
from rapport_contracts.amendments import complete_amendment
from rapport_contracts.documents import system_writer
from rapport_contracts.store import contract_settings

__all__ = ["WrongCode", "count_attempt", "sign", "start"]


class WrongCode(Forbidden):
    """A wrong, used or expired code; the caller counts the try in its own transaction (the
    signing's transaction is rolled back)."""


async def count_attempt(conn: Connection, schema: str, signature_id: str) -> None:
    await conn.execute(
        f"UPDATE {qualified(schema, 'contracts_signature')} "
        "SET challenge_attempts = challenge_attempts + 1 WHERE id = $1::uuid",
        signature_id,
    )


CODE_MINUTES = 10
MAX_ATTEMPTS = 5


def _code_hash(signature_id: str, code: str) -> str:
    return hashlib.sha256(f"{signature_id}:{code.strip()}".encode()).hexdigest()


async def _signature(conn: Connection, schema: str, signature_id: str, principal: Principal) -> Any:
    row = await conn.fetchrow(
        f"SELECT s.*, s.id::text AS sid, d.sha256 AS pdf_sha256, d.status AS document_status "
        f"FROM {qualified(schema, 'contracts_signature')} AS s "
        f"JOIN {qualified(schema, 'contracts_document')} AS d ON d.id = s.document_id "
        "WHERE s.id = $1::uuid FOR UPDATE OF s",
        signature_id,
    )
    if row is None or row["signer_user_id"] != principal.subject:
        raise NotFound(
            "No signature of yours has this id.", hint="Use the id of your pending signature."
        )
    if row["status"] != "pending":
        raise BadRequest("This signature was already given.", hint="Each party signs once.")
    return row


async def _totp_enabled(conn: Connection, tenant: Tenant, user_id: str) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT totp_enabled FROM rapport.users WHERE tenant_id = $1 AND id::text = $2 FOR UPDATE",
            tenant.id, user_id,
        )
    )  # fmt: skip


async def start(
    conn: Connection, tenant: Tenant, metadata: TenantMetadata, principal: Principal,
    signature_id: str, now: dt.datetime,
) -> dict[str, Any]:  # fmt: skip
    row = await _signature(conn, tenant.schema, signature_id, principal)
    writer, system = system_writer(tenant, metadata)
    entity = metadata.model.entity("contracts/signature")
    expires = now + dt.timedelta(minutes=CODE_MINUTES)
    if await _totp_enabled(conn, tenant, principal.subject):
        patch: dict[str, Any] = {"challengeMethod": "totp", "challengeHash": None,
                                 "challengeExpiresAt": expires.isoformat(), "challengeAttempts": 0}  # fmt: skip
    else:
        code = f"{secrets.randbelow(10**6):06d}"
        patch = {"challengeMethod": "code", "challengeHash": _code_hash(signature_id, code),
                 "challengeExpiresAt": expires.isoformat(), "challengeAttempts": 0}  # fmt: skip
        await notify(
            conn, tenant_id=tenant.id, recipients=[principal.subject],
            title="合同签署验证码 / Contract signing code",
            body=f"验证码 / Code: {code}（{CODE_MINUTES} 分钟内有效 / valid for {CODE_MINUTES} minutes）",
            link=f"contracts/signature/{signature_id}", metadata=(tenant, metadata),
            participants=KERNEL.participants,
        )  # fmt: skip
    await writer.update(
        conn, entity, signature_id, patch, expected_version=None, principal=system, via="contracts"
    )
    return {
        "method": patch["challengeMethod"].upper(),
        "expiresAt": expires,
        "documentSha256": row["pdf_sha256"],
    }


async def _check_code(
    conn: Connection, tenant: Tenant, row: Any, code: str, now: dt.datetime
) -> bool:
    if row["challenge_expires_at"] is None or row["challenge_expires_at"] < now:
        return False
    if int(row["challenge_attempts"] or 0) >= MAX_ATTEMPTS:
        return False  # a TOTP code is guessed no more freely than a sent one
    if row["challenge_method"] == "totp":
        # a fresh code of the authenticator; rapport.auth.totp consumes its step (no replay)
        if not await _totp_enabled(conn, tenant, row["signer_user_id"]):  # locks the user row
            return False
        return await totp.check_code(
            conn, default_keyring(), tenant.id, row["signer_user_id"], code
        )
    if row["challenge_method"] != "code":
        return False
    return hmac.compare_digest(row["challenge_hash"] or "", _code_hash(row["sid"], code))


async def sign(
    conn: Connection, tenant: Tenant, metadata: TenantMetadata, principal: Principal,
    signature_id: str, input: dict[str, Any], now: dt.datetime,
) -> dict[str, Any]:  # fmt: skip
    row = await _signature(conn, tenant.schema, signature_id, principal)
    errors = []
    if row["challenge_method"] is None:
        raise BadRequest(
            "Start the signing first.", hint="Call startContractSigning, then sign with its code."
        )
    if input.get("documentSha256") != row["pdf_sha256"]:
        errors.append(
            FieldError(
                ("input", "documentSha256"),
                "is not the SHA-256 of the document to sign: review the current PDF",
            )
        )
    if input.get("consent") is not True:
        errors.append(FieldError(("input", "consent"), "you must consent to sign electronically"))
    image = input.get("signatureImage")
    typed = (input.get("typedName") or "").strip()
    if not typed and not image:
        errors.append(FieldError(("input", "typedName"), "give a typed name or a signature image"))
    image_bytes = b""
    if image:
        try:
            image_bytes = base64.b64decode(image, validate=True)
        except ValueError:
            errors.append(FieldError(("input", "signatureImage"), "is not base64"))
        if image_bytes and not image_bytes.startswith(b"\x89PNG"):
            errors.append(FieldError(("input", "signatureImage"), "must be a PNG image"))
    if errors:
        raise ValidationFailed(errors, hint="Fix the named fields and sign again.")
    writer, system = system_writer(tenant, metadata)
    entity = metadata.model.entity("contracts/signature")
    if not await _check_code(conn, tenant, row, str(input.get("code") or ""), now):
        raise WrongCode(
            "The code is wrong, used or expired.",
            hint="Enter the current code, or start the signing again for a new one.",
        )
    settings = await contract_settings(conn, tenant.schema)
    if not settings.tsa_url or not settings.tsa_certificate:
        raise ConfigurationError("No time-stamping authority is configured for contracts.",
                                 hint="An HR manager sets tsaUrl and tsaCertificate in contracts/contract_settings.")  # fmt: skip
    client = principal.client
    statement = {
        "kind": "rapport.contracts.signature/1", "tenant": tenant.id, "contract": str(row["contract_id"]),
        "document": str(row["document_id"]), "signature": signature_id, "party": row["party"],
        "signer": principal.subject, "signerName": row["signer_name"], "signedAt": now.isoformat(),
        "clientAddress": client.address if client else None, "userAgent": client.user_agent if client else None,
        "method": row["challenge_method"], "consent": True, "typedName": typed or None,
        "signatureImageSha256": hashlib.sha256(image_bytes).hexdigest() if image_bytes else None,
        "covers": [row["pdf_sha256"]],
    }  # fmt: skip
    digest = statement_digest(statement)
    token = await request_timestamp(settings.tsa_url, digest)
    certificate = load_certificate(settings.tsa_certificate.encode())
    info = verify_timestamp(token.token, digest, certificate)  # refuse a token we could not defend
    seq = await append_entry(
        conn, tenant_id=tenant.id, actor=principal.subject, action="contracts.sign",
        entity="contracts/signature", record_id=signature_id,
        data={"statementSha256": digest.hex(), "documentSha256": row["pdf_sha256"], "party": row["party"],
              "contract": str(row["contract_id"]), "timestampTime": info.time.isoformat()},
    )  # fmt: skip
    await writer.update(
        conn, entity, signature_id,
        {"status": "signed", "signedAt": now.isoformat(), "clientAddress": statement["clientAddress"],
         "userAgent": statement["userAgent"], "typedName": typed or None, "signatureImage": image or None,
         "statement": statement, "statementSha256": digest.hex(),
         "timestampToken": base64.b64encode(token.token).decode(), "timestampTime": info.time.isoformat(),
         "tsaCertificate": settings.tsa_certificate, "auditSeq": seq, "challengeHash": None},
        expected_version=None, principal=system, via="contracts",
    )  # fmt: skip
    status = await _complete(
        conn, tenant, metadata, str(row["document_id"]), str(row["contract_id"]), now
    )
    return {"signatureId": signature_id, "signedAt": now, "statementSha256": digest.hex(),
            "timestampTime": info.time, "auditSeq": seq, "contractStatus": status}  # fmt: skip


async def _complete(
    conn: Connection, tenant: Tenant, metadata: TenantMetadata, document_id: str, contract_id: str,
    now: dt.datetime,
) -> str:  # fmt: skip
    pending = await conn.fetchval(
        f"SELECT count(*) FROM {qualified(tenant.schema, 'contracts_signature')} "
        "WHERE document_id = $1::uuid AND status <> 'signed'", document_id,
    )  # fmt: skip
    writer, system = system_writer(tenant, metadata)
    if pending:
        return "signing"
    await writer.update(conn, metadata.model.entity("contracts/document"), document_id,
                        {"status": "signed"}, expected_version=None, principal=system, via="contracts")  # fmt: skip
    amendment = await conn.fetchval(
        f"SELECT amendment_id::text FROM {qualified(tenant.schema, 'contracts_document')} WHERE id = $1::uuid",
        document_id,
    )
    if amendment is not None:
        await complete_amendment(conn, tenant, metadata, amendment, now)
        status: str = await conn.fetchval(
            f"SELECT status FROM {qualified(tenant.schema, 'contracts_contract')} WHERE id = $1::uuid",
            contract_id,
        )
        return status
    entity = metadata.model.entity("contracts/contract")
    context = WorkflowContext(tenant, metadata, writer, system, now)
    await transition(conn, context, entity, contract_id, "activate")
    await writer.update(conn, entity, contract_id, {"signedAt": now.isoformat(), "unsignedFlag": False},
                        expected_version=None, principal=system, via="contracts")  # fmt: skip
    return "active"
