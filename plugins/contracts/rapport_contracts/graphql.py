"""GraphQL fields of the contracts plug-in (contributed through ``ContractHooks``).

- ``startContractSigning(signatureId)``: the signer's challenge (TOTP, or a one-time code sent
  through the notification channels) and the SHA-256 of the PDF to review;
- ``signContract(signatureId, input)``: code, reviewed SHA-256, consent, typed name or PNG;
- ``contractEvidence(contractId)``: the evidence package (zip, base64) — HR, or the employee
  of the contract.

Everything else is the generic API: ``createContract``, ``transitionContract(id, "issue")``,
``approve(taskId)``, ``contractDocuments`` (the PDF in base64 and its SHA-256) …
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from graphql import (
    GraphQLArgument,
    GraphQLBoolean,
    GraphQLField,
    GraphQLID,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInt,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLString,
)

from rapport.errors import Forbidden
from rapport.graphql.contributions import Contribution, RequestContext
from rapport.graphql.scalars import DATETIME
from rapport.graphql.types.context import BuildContext
from rapport.metadata.bundle import TenantMetadata
from rapport.naming import qualified
from rapport_contracts import signing
from rapport_contracts.evidence import contract_evidence

__all__ = ["contribute"]

ORIGIN = "plugin:contracts"
HR_ROLES = frozenset({"hr", "hr_manager", "admin"})


def _nn(type_: Any) -> Any:
    return GraphQLNonNull(type_)


def contribute(ctx: BuildContext, metadata: TenantMetadata) -> Contribution:
    if not metadata.model.has_entity("contracts/contract"):
        return Contribution()
    challenge = GraphQLObjectType("ContractSigningChallenge", lambda: {
        "method": GraphQLField(_nn(GraphQLString), description="TOTP or CODE (sent to you)."),
        "expiresAt": GraphQLField(_nn(DATETIME)),
        "documentSha256": GraphQLField(_nn(GraphQLString), description="Review exactly this PDF."),
    })  # fmt: skip
    signed = GraphQLObjectType("ContractSignatureResult", lambda: {
        "signatureId": GraphQLField(_nn(GraphQLID)), "signedAt": GraphQLField(_nn(DATETIME)),
        "statementSha256": GraphQLField(_nn(GraphQLString)), "timestampTime": GraphQLField(_nn(DATETIME)),
        "auditSeq": GraphQLField(_nn(GraphQLInt)), "contractStatus": GraphQLField(_nn(GraphQLString)),
    })  # fmt: skip
    package = GraphQLObjectType("ContractEvidencePackage", lambda: {
        "filename": GraphQLField(_nn(GraphQLString)), "sha256": GraphQLField(_nn(GraphQLString)),
        "zipBase64": GraphQLField(_nn(GraphQLString)),
    })  # fmt: skip
    sign_input = GraphQLInputObjectType("ContractSignInput", lambda: {
        "code": GraphQLInputField(_nn(GraphQLString), description="The TOTP or one-time code."),
        "documentSha256": GraphQLInputField(_nn(GraphQLString), description="SHA-256 of the PDF you reviewed."),
        "consent": GraphQLInputField(_nn(GraphQLBoolean), description="I agree to sign electronically."),
        "typedName": GraphQLInputField(GraphQLString), "signatureImage": GraphQLInputField(GraphQLString, description="PNG, base64."),
    })  # fmt: skip
    for type_ in (challenge, signed, package, sign_input):
        ctx.registry.add(type_, origin=ORIGIN)
    signature_id = {"signatureId": GraphQLArgument(_nn(GraphQLID))}
    return Contribution(
        query={"contractEvidence": GraphQLField(
            _nn(package), args={"contractId": GraphQLArgument(_nn(GraphQLID))}, resolve=_evidence,
            description="The evidence package of a contract (zip, base64): check it with `rapport evidence verify`.",
        )},
        mutation={
            "startContractSigning": GraphQLField(_nn(challenge), args=signature_id, resolve=_start),
            "signContract": GraphQLField(
                _nn(signed), args={**signature_id, "input": GraphQLArgument(_nn(sign_input))}, resolve=_sign
            ),
        },
    )  # fmt: skip


async def _start(_root: object, info: Any, signatureId: str) -> dict[str, Any]:
    context: RequestContext = info.context
    async with context.db.transaction() as conn:
        return await signing.start(
            conn, context.api.tenant, context.metadata, context.principal, signatureId, context.now
        )


async def _sign(
    _root: object, info: Any, signatureId: str, input: dict[str, Any]
) -> dict[str, Any]:
    context: RequestContext = info.context
    try:
        async with context.db.transaction() as conn:
            return await signing.sign(
                conn,
                context.api.tenant,
                context.metadata,
                context.principal,
                signatureId,
                dict(input),
                context.now,
            )
    except signing.WrongCode:
        async with context.db.transaction() as conn:  # the try counts although signing failed
            await signing.count_attempt(conn, context.api.tenant.schema, signatureId)
        raise


async def _evidence(_root: object, info: Any, contractId: str) -> dict[str, Any]:
    context: RequestContext = info.context
    tenant = context.api.tenant
    async with context.db.transaction() as conn:
        if not context.principal.roles & HR_ROLES:
            owner = await conn.fetchval(
                f"SELECT e.user_id FROM {qualified(tenant.schema, 'contracts_contract')} AS c "
                f"JOIN {qualified(tenant.schema, 'org_employee')} AS e ON e.id = c.employee_id WHERE c.id = $1::uuid",
                contractId,
            )
            if owner != context.principal.subject:
                raise Forbidden("Only HR and the contract's employee may download its evidence.")
        filename, data = await contract_evidence(conn, tenant, contractId)
    return {
        "filename": filename,
        "sha256": hashlib.sha256(data).hexdigest(),
        "zipBase64": base64.b64encode(data).decode(),
    }
