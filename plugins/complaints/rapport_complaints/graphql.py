"""GraphQL fields of the anonymous path (contributed through ``ComplaintHooks.graphql``).

- ``submitAnonymousComplaint(input)`` → ``{followUpCode}``: shown once, never stored;
- ``anonymousComplaintStatus(code)`` → status, resolution, rating, number of notes;
- ``addAnonymousComplaintInformation(code, text)`` and ``rateAnonymousComplaint(code,
  satisfaction)``.

The resolvers never look at who is asking: every write runs as the fixed principal
``anonymous`` (see :mod:`rapport_complaints.anonymous`), so a signed-in caller leaves no trace.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    GraphQLArgument,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInt,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLString,
)

from rapport.graphql.contributions import Contribution, RequestContext
from rapport.graphql.types.context import BuildContext
from rapport.metadata.bundle import TenantMetadata
from rapport_complaints import anonymous

__all__ = ["contribute"]

ORIGIN = "plugin:complaints"


def _nn(type_: Any) -> Any:
    return GraphQLNonNull(type_)


def contribute(ctx: BuildContext, metadata: TenantMetadata) -> Contribution:
    if not metadata.model.has_entity("complaints/complaint"):
        return Contribution()
    categories = metadata.model.entity("complaints/complaint").field("category")
    category = GraphQLEnumType(
        "AnonymousComplaintCategory",
        {str(v): str(v) for v in categories.enum_values},
    )
    status = GraphQLObjectType(
        "AnonymousComplaintStatus",
        lambda: {
            "status": GraphQLField(_nn(GraphQLString)),
            "resolution": GraphQLField(GraphQLString),
            "satisfaction": GraphQLField(GraphQLInt),
            "notes": GraphQLField(_nn(GraphQLInt), description="Notes you added."),
        },
    )
    receipt = GraphQLObjectType(
        "AnonymousComplaintReceipt",
        lambda: {
            "followUpCode": GraphQLField(
                _nn(GraphQLString),
                description="Keep it: it is shown once and is the only way back to the complaint.",
            )
        },
    )
    input_type = GraphQLInputObjectType(
        "AnonymousComplaintInput",
        lambda: {
            "category": GraphQLInputField(_nn(category)),
            "title": GraphQLInputField(_nn(GraphQLString)),
            "description": GraphQLInputField(_nn(GraphQLString)),
        },
    )
    for type_ in (category, status, receipt, input_type):
        ctx.registry.add(type_, origin=ORIGIN)
    code = {"code": GraphQLArgument(_nn(GraphQLString))}
    return Contribution(
        query={
            "anonymousComplaintStatus": GraphQLField(
                _nn(status), args=code, resolve=_status, description=_doc(_status)
            )
        },
        mutation={
            "submitAnonymousComplaint": GraphQLField(
                _nn(receipt),
                args={"input": GraphQLArgument(_nn(input_type))},
                resolve=_submit,
                description=_doc(_submit),
            ),
            "addAnonymousComplaintInformation": GraphQLField(
                _nn(GraphQLBoolean),
                args={**code, "text": GraphQLArgument(_nn(GraphQLString))},
                resolve=_add,
            ),
            "rateAnonymousComplaint": GraphQLField(
                _nn(GraphQLBoolean),
                args={**code, "satisfaction": GraphQLArgument(_nn(GraphQLInt))},
                resolve=_rate,
            ),
        },
    )


def _doc(resolver: Any) -> str:
    return str(resolver.__doc__ or "").strip()


async def _submit(_root: object, info: Any, input: dict[str, Any]) -> dict[str, str]:
    """Submit a complaint anonymously: nothing stored links it to you."""
    context: RequestContext = info.context
    async with context.db.transaction() as conn:
        code = await anonymous.submit(conn, context.api.writer, dict(input))
    return {"followUpCode": code}


async def _status(_root: object, info: Any, code: str) -> dict[str, Any]:
    """The status of your anonymous complaint, by its follow-up code."""
    context: RequestContext = info.context
    async with context.db.transaction() as conn:
        found = await anonymous.follow_up(conn, context.api.writer, code)
    return {
        "status": found.status,
        "resolution": found.resolution,
        "satisfaction": found.satisfaction,
        "notes": found.notes,
    }


async def _add(_root: object, info: Any, code: str, text: str) -> bool:
    context: RequestContext = info.context
    async with context.db.transaction() as conn:
        await anonymous.add_information(conn, context.api.writer, code, text)
    return True


async def _rate(_root: object, info: Any, code: str, satisfaction: int) -> bool:
    context: RequestContext = info.context
    async with context.db.transaction() as conn:
        await anonymous.rate(conn, context.api.writer, code, satisfaction)
    return True
