"""GraphQL fields of the surveys plug-in (contributed through ``SurveyHooks.graphql``).

Builder: ``surveyTemplates``, ``surveyQuestionLibrary(driver)``,
``createSurveyFromTemplate(template, title)``. Answering: ``surveyForm(waveId, locale)`` (the
compiled JSON Schema and uiSchema, for the invitee) and ``submitSurveyResponse(waveId,
answers)``. Analysis (HR): ``surveyResults``, ``surveyTrend``, ``surveyDriverImpact``,
``surveyComments``, ``surveyActionPlans``; ``createSurveyActionPlan``. Everything else —
surveys, campaigns (``transitionCampaign(id, "launch")``), waves, library questions — is the
generic API. Nobody reads responses or other people's participation through it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from graphql import (
    GraphQLArgument,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLField,
    GraphQLFloat,
    GraphQLID,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLString,
)

from rapport.errors import FieldError, Forbidden, NotFound, ValidationFailed
from rapport.graphql.contributions import Contribution, RequestContext
from rapport.graphql.scalars import JSON
from rapport.graphql.types.context import BuildContext
from rapport.metadata.bundle import TenantMetadata
from rapport.metadata.ir import thaw_json
from rapport.naming import qualified
from rapport_surveys import analysis, plans
from rapport_surveys.builder import compile_definition
from rapport_surveys.comments import comment_insights, comments
from rapport_surveys.responding import load_wave, submit
from rapport_surveys.templates import library, template, templates
from rapport_surveys.waves import System

__all__ = ["contribute"]

ORIGIN = "plugin:surveys"
HR_ROLES = frozenset({"hr", "hr_manager", "admin"})


def _nn(type_: Any) -> Any:
    return GraphQLNonNull(type_)


def _object(name: str, fields: dict[str, Any]) -> GraphQLObjectType:
    return GraphQLObjectType(
        name,
        lambda: {
            k: v if isinstance(v, GraphQLField) else GraphQLField(v) for k, v in fields.items()
        },
    )


def contribute(ctx: BuildContext, metadata: TenantMetadata) -> Contribution:
    if not metadata.model.has_entity("surveys/campaign"):
        return Contribution()
    group_by = GraphQLEnumType(
        "SurveyGroupBy", {"DEPARTMENT": "department", "TENURE": "tenure", "NONE": "none"}
    )
    cell = _object(
        "SurveyCell",
        {
            "group": GraphQLString,
            "suppressed": _nn(GraphQLBoolean),
            "n": GraphQLInt,
            "mean": GraphQLFloat,
            "favourable": GraphQLFloat,
            "neutral": GraphQLFloat,
            "unfavourable": GraphQLFloat,
            "promoters": GraphQLInt,
            "passives": GraphQLInt,
            "detractors": GraphQLInt,
            "enps": GraphQLFloat,
            "distribution": JSON,
            "vsCompany": GraphQLFloat,
        },
    )
    question = _object(
        "SurveyQuestionResult",
        {
            "key": _nn(GraphQLString),
            "question": _nn(GraphQLString),
            "type": _nn(GraphQLString),
            "driver": GraphQLString,
            "company": _nn(cell),
            "groups": _nn(GraphQLList(_nn(cell))),
        },
    )
    group = _object(
        "SurveyGroup",
        {
            "group": GraphQLString,
            "label": GraphQLString,
            "suppressed": _nn(GraphQLBoolean),
            "respondents": GraphQLInt,
        },
    )
    rate_group = _object(
        "SurveyRateGroup",
        {
            "group": GraphQLString,
            "label": GraphQLString,
            "invited": _nn(GraphQLInt),
            "suppressed": _nn(GraphQLBoolean),
            "answered": GraphQLInt,
            "rate": GraphQLFloat,
        },
    )
    rate = _object(
        "SurveyResponseRate",
        {
            "invited": _nn(GraphQLInt),
            "answered": GraphQLInt,
            "rate": GraphQLFloat,
            "groups": _nn(GraphQLList(_nn(rate_group))),
        },
    )
    heat = _object(
        "SurveyHeatmapCell",
        {
            "question": _nn(GraphQLString),
            "group": GraphQLString,
            "value": GraphQLFloat,
            "suppressed": _nn(GraphQLBoolean),
        },
    )
    results = _object(
        "SurveyResults",
        {
            "waveId": _nn(GraphQLID),
            "waveNumber": _nn(GraphQLInt),
            "minResponses": _nn(GraphQLInt),
            "minComments": _nn(GraphQLInt),
            "respondents": GraphQLInt,
            "responseRate": _nn(rate),
            "groups": _nn(GraphQLList(_nn(group))),
            "questions": _nn(GraphQLList(_nn(question))),
            "heatmap": _nn(GraphQLList(_nn(heat))),
        },
    )
    point = _object(
        "SurveyTrendPoint",
        {
            "waveId": _nn(GraphQLID),
            "waveNumber": _nn(GraphQLInt),
            "suppressed": _nn(GraphQLBoolean),
            "n": GraphQLInt,
            "mean": GraphQLFloat,
            "favourable": GraphQLFloat,
            "enps": GraphQLFloat,
        },
    )
    impact = _object(
        "SurveyDriverImpact",
        {
            "driver": _nn(GraphQLString),
            "outcome": _nn(GraphQLString),
            "n": GraphQLInt,
            "suppressed": _nn(GraphQLBoolean),
            "correlation": GraphQLFloat,
            "slope": GraphQLFloat,
            "mean": GraphQLFloat,
        },
    )
    comment = _object(
        "SurveyComment",
        {
            "text": _nn(GraphQLString),
            "sentiment": GraphQLString,
            "topics": GraphQLList(_nn(GraphQLString)),
        },
    )
    comment_set = _object(
        "SurveyComments",
        {
            "minComments": _nn(GraphQLInt),
            "suppressed": _nn(GraphQLBoolean),
            "count": GraphQLInt,
            "comments": _nn(GraphQLList(_nn(comment))),
        },
    )
    plan = _object(
        "SurveyActionPlanStatus",
        {
            "id": _nn(GraphQLID),
            "title": _nn(GraphQLString),
            "status": _nn(GraphQLString),
            "ownerUserId": _nn(GraphQLString),
            "dueAt": GraphQLString,
            "question": GraphQLString,
            "driver": GraphQLString,
            "departmentId": GraphQLID,
            "tasks": _nn(GraphQLInt),
            "tasksDone": _nn(GraphQLInt),
            "baseline": GraphQLFloat,
            "latest": GraphQLFloat,
            "latestWave": GraphQLInt,
        },
    )
    template_type = _object(
        "SurveyTemplate",
        {
            "key": _nn(GraphQLString),
            "title": _nn(JSON),
            "questions": _nn(GraphQLInt),
            "definition": _nn(JSON),
        },
    )
    form = _object(
        "SurveyForm",
        {
            "waveId": _nn(GraphQLID),
            "closesAt": _nn(GraphQLString),
            "answered": _nn(GraphQLBoolean),
            "mode": _nn(GraphQLString),
            "jsonSchema": _nn(JSON),
            "uiSchema": _nn(JSON),
        },
    )
    submission = _object(
        "SurveySubmission",
        {
            "mode": _nn(GraphQLString),
            "storedBy": _nn(GraphQLString),
        },
    )
    task_input = GraphQLInputObjectType(
        "SurveyActionTaskInput",
        lambda: {
            "title": GraphQLInputField(_nn(GraphQLString)),
            "assignee": GraphQLInputField(_nn(GraphQLString)),
            "dueAt": GraphQLInputField(_nn(GraphQLString)),
            "description": GraphQLInputField(GraphQLString),
        },
    )
    plan_input = GraphQLInputObjectType(
        "SurveyActionPlanInput",
        lambda: {
            "campaignId": GraphQLInputField(_nn(GraphQLID)),
            "waveId": GraphQLInputField(GraphQLID),
            "question": GraphQLInputField(GraphQLString),
            "driver": GraphQLInputField(GraphQLString),
            "departmentId": GraphQLInputField(GraphQLID),
            "title": GraphQLInputField(_nn(GraphQLString)),
            "description": GraphQLInputField(GraphQLString),
            "ownerUserId": GraphQLInputField(_nn(GraphQLString)),
            "dueAt": GraphQLInputField(_nn(GraphQLString)),
            "tasks": GraphQLInputField(GraphQLList(_nn(task_input))),
        },
    )
    for type_ in (
        group_by,
        cell,
        question,
        group,
        rate_group,
        rate,
        heat,
        results,
        point,
        impact,
        comment,
        comment_set,
        plan,
        template_type,
        form,
        submission,
        task_input,
        plan_input,
    ):
        ctx.registry.add(type_, origin=ORIGIN)
    scope_args = {
        "campaignId": GraphQLArgument(_nn(GraphQLID)),
        "waveId": GraphQLArgument(GraphQLID, description="Default: the latest wave that opened."),
        "groupBy": GraphQLArgument(group_by, default_value="department"),
        "departmentIds": GraphQLArgument(GraphQLList(_nn(GraphQLID))),
        "tenureBands": GraphQLArgument(GraphQLList(_nn(GraphQLString))),
    }
    return Contribution(
        query={
            "surveyTemplates": GraphQLField(
                _nn(GraphQLList(_nn(template_type))), resolve=_templates
            ),
            "surveyQuestionLibrary": GraphQLField(
                _nn(GraphQLList(_nn(JSON))),
                args={"driver": GraphQLArgument(GraphQLString)},
                resolve=_library,
            ),
            "surveyForm": GraphQLField(
                _nn(form),
                args={
                    "waveId": GraphQLArgument(_nn(GraphQLID)),
                    "locale": GraphQLArgument(GraphQLString),
                },
                resolve=_form,
            ),
            "surveyResults": GraphQLField(_nn(results), args=scope_args, resolve=_hr(_results)),
            "surveyTrend": GraphQLField(
                _nn(GraphQLList(_nn(point))),
                args={**scope_args, "question": GraphQLArgument(_nn(GraphQLString))},
                resolve=_hr(_trend),
            ),
            "surveyDriverImpact": GraphQLField(
                _nn(GraphQLList(_nn(impact))), args=scope_args, resolve=_hr(_impact)
            ),
            "surveyComments": GraphQLField(
                _nn(comment_set),
                args={
                    **scope_args,
                    "question": GraphQLArgument(_nn(GraphQLString)),
                    "group": GraphQLArgument(GraphQLString, description="One group of groupBy."),
                },
                resolve=_hr(_comments),
            ),
            "surveyActionPlans": GraphQLField(
                _nn(GraphQLList(_nn(plan))),
                args={"campaignId": GraphQLArgument(_nn(GraphQLID))},
                resolve=_hr(_plans),
            ),
        },
        mutation={
            "createSurveyFromTemplate": GraphQLField(
                _nn(GraphQLID),
                args={
                    "template": GraphQLArgument(_nn(GraphQLString)),
                    "title": GraphQLArgument(GraphQLString),
                },
                resolve=_hr(_from_template),
            ),
            "submitSurveyResponse": GraphQLField(
                _nn(submission),
                args={
                    "waveId": GraphQLArgument(_nn(GraphQLID)),
                    "answers": GraphQLArgument(_nn(JSON)),
                },
                resolve=_submit,
            ),
            "createSurveyActionPlan": GraphQLField(
                _nn(GraphQLID),
                args={"input": GraphQLArgument(_nn(plan_input))},
                resolve=_hr(_create_plan),
            ),
        },
    )


def _hr(resolver: Callable[..., Any]) -> Callable[..., Any]:
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


async def _results(context: RequestContext, **kwargs: Any) -> dict[str, Any]:
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


async def _trend(context: RequestContext, question: str, **kwargs: Any) -> list[dict[str, Any]]:
    async with context.db.transaction() as conn:
        return await analysis.trend(conn, await _scope(conn, context, kwargs), question)


async def _impact(context: RequestContext, **kwargs: Any) -> list[dict[str, Any]]:
    async with context.db.transaction() as conn:
        return await analysis.driver_impact(conn, await _scope(conn, context, kwargs))


async def _comments(
    context: RequestContext, question: str, group: str | None = None, **kwargs: Any
) -> dict[str, Any]:
    async with context.db.transaction() as conn:
        scope = await _scope(conn, context, kwargs)
        return await comments(conn, scope, question, group, comment_insights(context.metadata))


async def _plans(context: RequestContext, campaignId: str) -> list[dict[str, Any]]:
    async with context.db.transaction() as conn:
        return await plans.track(conn, await _scope(conn, context, {"campaignId": campaignId}))


async def _create_plan(context: RequestContext, input: dict[str, Any]) -> str:
    tasks = list(input.get("tasks") or ())
    async with context.db.transaction() as conn:
        return await plans.create_plan(conn, context.api.writer, context.principal, input, tasks)


async def _from_template(context: RequestContext, template: str, title: str | None = None) -> str:
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


async def _templates(_root: object, info: Any) -> list[dict[str, Any]]:
    return [
        {
            "key": key,
            "title": thaw_json(t)["title"],
            "questions": len(thaw_json(t)["questions"]),
            "definition": thaw_json(t),
        }
        for key, t in templates().items()
    ]


async def _library(_root: object, info: Any, driver: str | None = None) -> list[Any]:
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


async def _form(_root: object, info: Any, waveId: str, locale: str | None = None) -> dict[str, Any]:
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


async def _submit(_root: object, info: Any, waveId: str, answers: Any) -> dict[str, Any]:
    # Only the principal's subject is used, to find the invitation; nothing of the request (its
    # time, address or session) is stored with the answers.
    context: RequestContext = info.context
    api = context.api
    async with context.db.transaction() as conn:
        done = await submit(
            conn, System(api.tenant, api.metadata), context.principal, waveId, answers
        )
    return {"mode": done.mode, "storedBy": done.released_by.date().isoformat()}
