"""GraphQL fields of the announcements plug-in (contributed through ``AnnouncementHooks``).

``announcementStatistics(id, revision)`` (HR): recipients, read and acknowledged per
department. Everything else is the generic API: ``createAnnouncement``,
``transitionAnnouncement(id, "publish")``, ``announcementReceipts`` and
``transitionAnnouncementReceipt(id, "read" | "acknowledge")``.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    GraphQLArgument,
    GraphQLField,
    GraphQLID,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLString,
)

from rapport.errors import Forbidden
from rapport.graphql.contributions import Contribution, RequestContext
from rapport.graphql.types.context import BuildContext
from rapport.metadata.bundle import TenantMetadata
from rapport_announcements.statistics import reading_by_department

__all__ = ["contribute"]

ORIGIN = "plugin:announcements"
HR_ROLES = frozenset({"hr", "hr_manager", "admin"})


def _nn(type_: Any) -> Any:
    return GraphQLNonNull(type_)


def contribute(ctx: BuildContext, metadata: TenantMetadata) -> Contribution:
    if not metadata.model.has_entity("announcements/announcement"):
        return Contribution()
    row = GraphQLObjectType(
        "AnnouncementDepartmentReading",
        lambda: {
            "departmentId": GraphQLField(GraphQLID),
            "department": GraphQLField(GraphQLString),
            "recipients": GraphQLField(_nn(GraphQLInt)),
            "read": GraphQLField(_nn(GraphQLInt)),
            "acknowledged": GraphQLField(_nn(GraphQLInt)),
        },
    )
    stats = GraphQLObjectType(
        "AnnouncementStatistics",
        lambda: {
            "revision": GraphQLField(_nn(GraphQLInt)),
            "departments": GraphQLField(_nn(GraphQLList(_nn(row)))),
        },
    )
    for type_ in (row, stats):
        ctx.registry.add(type_, origin=ORIGIN)
    return Contribution(
        query={
            "announcementStatistics": GraphQLField(
                _nn(stats),
                args={
                    "id": GraphQLArgument(_nn(GraphQLID)),
                    "revision": GraphQLArgument(GraphQLInt),
                },
                resolve=_statistics,
                description="Recipients, readers and acknowledgements per department (HR).",
            )
        }
    )


async def _statistics(
    _root: object, info: Any, id: str, revision: int | None = None
) -> dict[str, Any]:
    context: RequestContext = info.context
    if not context.principal.roles & HR_ROLES:
        raise Forbidden("Only HR may read announcement statistics.", hint="Ask for the hr role.")
    async with context.db.transaction() as conn:
        chosen, rows = await reading_by_department(
            conn, context.api.writer.tenant.schema, id, revision
        )
    return {
        "revision": chosen,
        "departments": [
            {
                "departmentId": r.department_id,
                "department": r.department,
                "recipients": r.recipients,
                "read": r.read,
                "acknowledged": r.acknowledged,
            }
            for r in rows
        ],
    }
