"""GraphQL fields of the contracts plug-in (contributed through ``ContractHooks``).

- ``startContractSigning(signatureId)``: the signer's challenge (TOTP, or a one-time code sent
  through the notification channels) and the SHA-256 of the PDF to review;
- ``signContract(signatureId, input)``: code, reviewed SHA-256, consent, typed name or PNG;

The evidence package is a file download, not a field: ``GET /download/contracts/evidence/<id>``
(:mod:`rapport_contracts.evidence`).

Everything else is the generic API: ``createContract``, ``transitionContract(id, "issue")``,
``approve(taskId)``, ``contractDocuments`` (the PDF in base64 and its SHA-256) …
"""

from __future__ import annotations

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

from rapport.graphql.contributions import Contribution, RequestContext
from rapport.graphql.scalars import DATETIME
from rapport.graphql.types.context import BuildContext
from rapport.metadata.bundle import TenantMetadata
from rapport_contracts import signing

__all__ = ["contribute"]

ORIGIN = "plugin:contracts"


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
    sign_input = GraphQLInputObjectType("ContractSignInput", lambda: {
        "code": GraphQLInputField(_nn(GraphQLString), description="The TOTP or one-time code."),
        "documentSha256": GraphQLInputField(_nn(GraphQLString), description="SHA-256 of the PDF you reviewed."),
        "consent": GraphQLInputField(_nn(GraphQLBoolean), description="I agree to sign electronically."),
        "typedName": GraphQLInputField(GraphQLString), "signatureImage": GraphQLInputField(GraphQLString, description="PNG, base64."),
    })  # fmt: skip
    for type_ in (challenge, signed, sign_input):
        ctx.registry.add(type_, origin=ORIGIN)
    signature_id = {"signatureId": GraphQLArgument(_nn(GraphQLID))}
    return Contribution(
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
