"""GraphQL fields of the exits plug-in (contributed through ``ExitHooks.graphql``).

``exitReasonAnalysis(from, to, period)`` (HR; small groups suppressed, see
:mod:`rapport_exits.analysis`) and ``terminationProtections(employeeId, ground, on)`` (HR
management: the protections that would stand against a termination, with their articles and
severity).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLField,
    GraphQLFloat,
    GraphQLID,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLString,
)

from rapport.errors import FieldError, Forbidden, ValidationFailed
from rapport.graphql.contributions import Contribution, RequestContext
from rapport.graphql.types.context import BuildContext
from rapport.metadata.bundle import TenantMetadata
from rapport_exits.analysis import Period, analyse
from rapport_exits.protections import Ground, check_protections, load_facts

__all__ = ["contribute"]

ORIGIN = "plugin:exits"
HR_ROLES = frozenset({"hr", "hr_manager", "admin"})
PROTECTION_ROLES = frozenset({"hr_manager", "admin"})


def _nn(type_: Any) -> Any:
    return GraphQLNonNull(type_)


def contribute(ctx: BuildContext, metadata: TenantMetadata) -> Contribution:
    if not metadata.model.has_entity("exits/separation"):
        return Contribution()
    period = GraphQLEnumType("ExitPeriod", {p.name: p.value for p in Period})
    ground = GraphQLEnumType(
        "TerminationGround",
        {
            "FAULT": Ground.FAULT.value,
            "NOTICE": Ground.NOTICE.value,
            "REDUNDANCY": Ground.REDUNDANCY.value,
            "EXPIRY": Ground.EXPIRY.value,
        },
    )
    reason = GraphQLObjectType(
        "ExitReasonCount",
        lambda: {
            "reason": GraphQLField(_nn(GraphQLString)),
            "count": GraphQLField(_nn(GraphQLInt)),
        },
    )
    group = GraphQLObjectType(
        "ExitReasonGroup",
        lambda: {
            "departmentId": GraphQLField(GraphQLID),
            "departmentName": GraphQLField(GraphQLString),
            "period": GraphQLField(_nn(GraphQLString), description="First day of the period."),
            "total": GraphQLField(_nn(GraphQLInt)),
            "regretRate": GraphQLField(GraphQLFloat),
            "reasons": GraphQLField(_nn(GraphQLList(_nn(reason)))),
            "suppressedReasons": GraphQLField(_nn(GraphQLInt)),
        },
    )
    total = GraphQLObjectType(
        "ExitPeriodTotal",
        lambda: {"period": GraphQLField(_nn(GraphQLString)), "total": GraphQLField(GraphQLInt)},
    )
    analysis = GraphQLObjectType(
        "ExitReasonAnalysis",
        lambda: {
            "minGroupSize": GraphQLField(_nn(GraphQLInt)),
            "groups": GraphQLField(_nn(GraphQLList(_nn(group)))),
            "suppressedGroups": GraphQLField(_nn(GraphQLInt)),
            "periods": GraphQLField(_nn(GraphQLList(_nn(total)))),
        },
    )
    finding = GraphQLObjectType(
        "ProtectionFinding",
        lambda: {
            "code": GraphQLField(_nn(GraphQLString)),
            "article": GraphQLField(_nn(GraphQLString)),
            "zh": GraphQLField(_nn(GraphQLString)),
            "en": GraphQLField(_nn(GraphQLString)),
            # "block" (arts. 40/41, expiry: refused) or "review" (art. 39: needs a legal review)
            "severity": GraphQLField(_nn(GraphQLString)),
        },
    )
    for type_ in (period, ground, reason, group, total, analysis, finding):
        ctx.registry.add(type_, origin=ORIGIN)
    return Contribution(
        query={
            "exitReasonAnalysis": GraphQLField(
                _nn(analysis),
                args={
                    "from": GraphQLArgument(_nn(GraphQLString), description="ISO date."),
                    "to": GraphQLArgument(_nn(GraphQLString), description="ISO date."),
                    "period": GraphQLArgument(_nn(period)),
                },
                resolve=_analysis,
            ),
            "terminationProtections": GraphQLField(
                _nn(GraphQLList(_nn(finding))),
                args={
                    "employeeId": GraphQLArgument(_nn(GraphQLID)),
                    "ground": GraphQLArgument(_nn(ground)),
                    "on": GraphQLArgument(GraphQLString, description="ISO date; default today."),
                },
                resolve=_protections,
            ),
        }
    )


async def _analysis(_root: object, info: Any, period: str, **kwargs: Any) -> dict[str, Any]:
    context: RequestContext = info.context
    if not context.principal.roles & HR_ROLES:
        raise Forbidden(
            "Only HR may analyse separations.", hint="Ask for the hr or hr_manager role."
        )
    start, end = _day(kwargs["from"], "from"), _day(kwargs["to"], "to")
    if end < start:
        raise ValidationFailed(
            [FieldError(("to",), "before from")], hint="Give to on or after from."
        )
    async with context.db.transaction() as conn:
        found = await analyse(
            conn, context.api.writer.tenant.schema, start=start, end=end, period=Period(period)
        )
    return {
        "minGroupSize": found.min_group_size,
        "suppressedGroups": found.suppressed_groups,
        "periods": [{"period": p.period.isoformat(), "total": p.total} for p in found.periods],
        "groups": [
            {
                "departmentId": g.department,
                "departmentName": g.department_name,
                "period": g.period.isoformat(),
                "total": g.total,
                "regretRate": round(g.regretted / g.total, 4) if g.total else None,
                "reasons": [{"reason": c.reason, "count": c.count} for c in g.reasons],
                "suppressedReasons": g.suppressed_reasons,
            }
            for g in found.groups
        ],
    }


async def _protections(
    _root: object, info: Any, employeeId: str, ground: str, on: str | None = None
) -> list[dict[str, str]]:
    context: RequestContext = info.context
    if not context.principal.roles & PROTECTION_ROLES:
        raise Forbidden(
            "Only HR management may read protection facts.", hint="Ask for the hr_manager role."
        )
    day = _day(on, "on") if on else dt.date.today()
    async with context.db.transaction() as conn:
        facts = await load_facts(conn, context.api.writer.tenant.schema, employeeId)
    return [
        {"code": f.code, "article": f.article, "zh": f.zh, "en": f.en, "severity": f.severity}
        for f in check_protections(facts, on=day, ground=Ground(ground))
    ]


def _day(value: str, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(
            [FieldError((name,), f"{value!r} is not a date")], hint="Give an ISO date: 2026-03-31."
        ) from None
