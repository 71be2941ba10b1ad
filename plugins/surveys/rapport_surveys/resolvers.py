"""The resolvers of the surveys plug-in's GraphQL fields (types: :mod:`rapport_surveys.graphql`).

Results, trends, driver impact, comments and action plans are HR's (``hr_only``); the form and
the submission are the invitee's, and the submission stores nothing of the request.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from rapport.errors import FieldError, Forbidden, NotFound, ValidationFailed
from rapport.graphql.contributions import RequestContext
from rapport.metadata.ir import thaw_json
from rapport.naming import qualified
from rapport_surveys import analysis, plans
from rapport_surveys.builder import compile_definition
from rapport_surveys.comments import comment_insights, comments
from rapport_surveys.responding import load_wave, submit
from rapport_surveys.templates import library, template, templates
from rapport_surveys.waves import System

__all__ = [
    "hr_only",
    "resolve_comments",
    "resolve_create_plan",
    "resolve_form",
    "resolve_from_template",
    "resolve_impact",
    "resolve_library",
    "resolve_plans",
    "resolve_results",
    "resolve_submit",
    "resolve_templates",
    "resolve_trend",
]

HR_ROLES = frozenset({"hr", "hr_manager", "admin"})


def hr_only(resolver: Callable[..., Any]) -> Callable[..., Any]:
    async def checked(root: object, info: Any, **kwargs: Any) -> Any:
        context: RequestContext = info.context
        if not context.principal.roles & HR_ROLES:
            raise Forbidden(
                "Only HR may read or plan on survey results.", hint="Ask for the hr role."
            )
        return await resolver(context, **kwargs)

    return checked


async def _scope(conn: Any, context: RequestContext, kwargs: dict[str, Any]) -> analysis.Scope:
    bands = kwargs.get("tenureBands") or ()
    return await analysis.load_scope(
        conn,
        context.api.tenant.schema,
        kwargs["campaignId"],
        kwargs.get("waveId"),
        group_by=kwargs.get("groupBy") or "department",
        departments=kwargs.get("departmentIds") or (),
        tenure_bands=bands,
    )


async def _labels(conn: Any, schema: str, scope: analysis.Scope, keys: list[Any]) -> dict[str, str]:
    if scope.group_by != "department":
        return {}
    rows = await conn.fetch(
        f"SELECT id::text AS id, name FROM {qualified(schema, 'org_department')} WHERE id::text = ANY($1::text[])",
        [k for k in keys if k],
    )
    return {r["id"]: r["name"] for r in rows}


async def resolve_results(context: RequestContext, **kwargs: Any) -> dict[str, Any]:
    async with context.db.transaction() as conn:
        scope = await _scope(conn, context, kwargs)
        found = await analysis.results(conn, scope)
        found["responseRate"] = await analysis.response_rate(conn, scope)
        names = await _labels(
            conn,
            context.api.tenant.schema,
            scope,
            [g["group"] for g in found["groups"]]
            + [g["group"] for g in found["responseRate"]["groups"]],
        )
    for g in (*found["groups"], *found["responseRate"]["groups"]):
        g["label"] = names.get(g["group"], g["group"])
    found["heatmap"] = [
        {
            "question": q["key"],
            "group": c["group"],
            "suppressed": c["suppressed"],
            "value": None if c["suppressed"] else c["enps" if q["type"] == "nps" else "favourable"],
        }
        for q in found["questions"]
        for c in q["groups"]
    ]
    return found


async def resolve_trend(
    context: RequestContext, question: str, **kwargs: Any
) -> list[dict[str, Any]]:
    async with context.db.transaction() as conn:
        return await analysis.trend(conn, await _scope(conn, context, kwargs), question)


async def resolve_impact(context: RequestContext, **kwargs: Any) -> list[dict[str, Any]]:
    async with context.db.transaction() as conn:
        return await analysis.driver_impact(conn, await _scope(conn, context, kwargs))


async def resolve_comments(
    context: RequestContext, question: str, group: str | None = None, **kwargs: Any
) -> dict[str, Any]:
    async with context.db.transaction() as conn:
        scope = await _scope(conn, context, kwargs)
        return await comments(conn, scope, question, group, comment_insights(context.metadata))


async def resolve_plans(context: RequestContext, campaignId: str) -> list[dict[str, Any]]:
    async with context.db.transaction() as conn:
        return await plans.track(conn, await _scope(conn, context, {"campaignId": campaignId}))


async def resolve_create_plan(context: RequestContext, input: dict[str, Any]) -> str:
    tasks = list(input.get("tasks") or ())
    async with context.db.transaction() as conn:
        return await plans.create_plan(conn, context.api.writer, context.principal, input, tasks)


async def resolve_from_template(
    context: RequestContext, template: str, title: str | None = None
) -> str:
    found = _template(template)
    definition = thaw_json(found)
    async with context.db.transaction() as conn:
        return await context.api.writer.create(
            conn,
            context.metadata.model.entity("surveys/survey"),
            {
                "title": title or definition["title"]["zh"],
                "template": template,
                "definition": {k: v for k, v in definition.items() if k not in ("key", "outcome")},
                **({"outcomeQuestion": definition["outcome"]} if definition.get("outcome") else {}),
            },
            principal=context.principal,
        )


def _template(name: str) -> Any:
    found = template(name)
    if found is None:
        raise ValidationFailed(
            [FieldError(("template",), f"no template {name!r}")],
            hint="Use one of: " + ", ".join(templates()) + ".",
        )
    return found


async def resolve_templates(_root: object, info: Any) -> list[dict[str, Any]]:
    return [
        {
            "key": key,
            "title": thaw_json(t)["title"],
            "questions": len(thaw_json(t)["questions"]),
            "definition": thaw_json(t),
        }
        for key, t in templates().items()
    ]


async def resolve_library(_root: object, info: Any, driver: str | None = None) -> list[Any]:
    context: RequestContext = info.context
    shipped = [thaw_json(q) for q in library()]
    async with context.db.transaction() as conn:
        own = await conn.fetch(
            f"SELECT key, question, driver FROM {qualified(context.api.tenant.schema, 'surveys_library_question')}"
            " ORDER BY key"
        )
    tenant = [
        {
            **(json.loads(r["question"]) if isinstance(r["question"], str) else r["question"]),
            "key": r["key"],
            **({"driver": r["driver"]} if r["driver"] else {}),
        }
        for r in own
    ]
    return [q for q in (*tenant, *shipped) if driver is None or q.get("driver") == driver]


async def resolve_form(
    _root: object, info: Any, waveId: str, locale: str | None = None
) -> dict[str, Any]:
    context: RequestContext = info.context
    schema = context.api.tenant.schema
    async with context.db.transaction() as conn:
        wave = await load_wave(conn, schema, waveId)
        status = await conn.fetchval(
            f"SELECT status FROM {qualified(schema, 'surveys_participation')}"
            " WHERE wave_id = $1::uuid AND user_id = $2",
            waveId,
            context.principal.subject,
        )
    if status is None and not context.principal.roles & HR_ROLES:
        raise NotFound(
            "You are not invited to this survey wave.", hint="Open the link you were sent."
        )
    definition = wave["definition"]
    survey = compile_definition(
        json.loads(definition) if isinstance(definition, str) else definition
    )
    return {
        "waveId": waveId,
        "closesAt": wave["closes_at"].isoformat(),
        "answered": status == "answered",
        "mode": wave["mode"],
        "jsonSchema": survey.json_schema(locale),
        "uiSchema": survey.ui_schema(locale),
    }


async def resolve_submit(_root: object, info: Any, waveId: str, answers: Any) -> dict[str, Any]:
    # Only the principal's subject is used, to find the invitation; nothing of the request (its
    # time, address or session) is stored with the answers.
    context: RequestContext = info.context
    api = context.api
    async with context.db.transaction() as conn:
        done = await submit(
            conn, System(api.tenant, api.metadata), context.principal, waveId, answers
        )
    return {"mode": done.mode, "storedBy": done.released_by.date().isoformat()}
