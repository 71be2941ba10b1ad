"""``importOrganisation``: the HR core system's bulk import over GraphQL (tenant admins).

Takes the same sections as ``rapport org import`` (``{"departments": [...], "employees":
[...]}``) and answers the report: counts per section, the changed rows with their diffs, and
the errors with row number and field. All-or-nothing unless ``partial``; ``dryRun`` writes
nothing.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLArgument, GraphQLBoolean, GraphQLField, GraphQLNonNull

from rapport.errors import Forbidden, ValidationFailed
from rapport.graphql.contributions import Contribution, RequestContext
from rapport.graphql.scalars import JSON
from rapport.graphql.types.context import BuildContext
from rapport.metadata.bundle import TenantMetadata
from rapport_org.importer import ImportReport, import_org

__all__ = ["contribute"]


def contribute(ctx: BuildContext, metadata: TenantMetadata) -> Contribution:
    if not metadata.model.has_entity("org/employee"):
        return Contribution()
    return Contribution(
        mutation={
            "importOrganisation": GraphQLField(
                GraphQLNonNull(JSON),
                args={
                    "data": GraphQLArgument(GraphQLNonNull(JSON)),
                    "dryRun": GraphQLArgument(GraphQLBoolean, default_value=False),
                    "partial": GraphQLArgument(GraphQLBoolean, default_value=False),
                },
                resolve=_import,
                description=__doc__.strip().splitlines()[0] if __doc__ else None,
            )
        }
    )


async def _import(
    _root: object, info: Any, data: Any, dryRun: bool = False, partial: bool = False
) -> dict[str, Any]:
    context: RequestContext = info.context
    if not context.principal.is_admin:
        raise Forbidden(
            "Only tenant admins may import the organisation.",
            hint="Use a token with the admin role.",
        )
    if not isinstance(data, dict):
        raise ValidationFailed([], message="`data` must be an object of sections.")
    report = await import_org(
        context.db,
        context.api.tenant.slug,
        data,
        actor=context.principal.subject,
        dry_run=dryRun,
        partial=partial,
    )
    return _as_json(report)


def _as_json(report: ImportReport) -> dict[str, Any]:
    return {
        "applied": report.applied,
        "counts": {k: dict(v) for k, v in report.counts.items()},
        "changes": [
            {
                "section": c.section,
                "row": c.row,
                "externalId": c.external_id,
                "action": c.action,
                "changes": {k: {"before": b, "after": a} for k, (b, a) in c.changes.items()},
            }
            for c in report.rows
            if c.action != "unchanged"
        ],
        "errors": [
            {"section": e.section, "row": e.row, "field": e.field, "message": e.message}
            for e in report.errors
        ],
    }
