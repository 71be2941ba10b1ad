"""GraphQL fields of the surveys plug-in (contributed through ``SurveyHooks.graphql``).

Builder: ``surveyTemplates``, ``surveyQuestionLibrary(driver)``,
``createSurveyFromTemplate(template, title)``. Answering: ``surveyForm(waveId, locale)`` (the
compiled JSON Schema and uiSchema, for the invitee) and ``submitSurveyResponse(waveId,
answers)``. Analysis (HR): ``surveyResults``, ``surveyTrend``, ``surveyDriverImpact``,
``surveyComments``, ``surveyActionPlans``; ``createSurveyActionPlan``. Everything else —
surveys, campaigns (``transitionCampaign(id, "launch")``), waves, library questions — is the
generic API. No role but the tenant administrator reads responses or other people's
participation through it.
"""

from __future__ import annotations

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

from rapport.graphql.contributions import Contribution
from rapport.graphql.scalars import JSON
from rapport.graphql.types.context import BuildContext
from rapport.metadata.bundle import TenantMetadata
from rapport_surveys.resolvers import (
    hr_only,
    resolve_comments,
    resolve_create_plan,
    resolve_form,
    resolve_from_template,
    resolve_impact,
    resolve_library,
    resolve_plans,
    resolve_results,
    resolve_submit,
    resolve_templates,
    resolve_trend,
)

__all__ = ["contribute"]

ORIGIN = "plugin:surveys"


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
                _nn(GraphQLList(_nn(template_type))), resolve=resolve_templates
            ),
            "surveyQuestionLibrary": GraphQLField(
                _nn(GraphQLList(_nn(JSON))),
                args={"driver": GraphQLArgument(GraphQLString)},
                resolve=resolve_library,
            ),
            "surveyForm": GraphQLField(
                _nn(form),
                args={
                    "waveId": GraphQLArgument(_nn(GraphQLID)),
                    "locale": GraphQLArgument(GraphQLString),
                },
                resolve=resolve_form,
            ),
            "surveyResults": GraphQLField(
                _nn(results), args=scope_args, resolve=hr_only(resolve_results)
            ),
            "surveyTrend": GraphQLField(
                _nn(GraphQLList(_nn(point))),
                args={**scope_args, "question": GraphQLArgument(_nn(GraphQLString))},
                resolve=hr_only(resolve_trend),
            ),
            "surveyDriverImpact": GraphQLField(
                _nn(GraphQLList(_nn(impact))), args=scope_args, resolve=hr_only(resolve_impact)
            ),
            "surveyComments": GraphQLField(
                _nn(comment_set),
                args={
                    **scope_args,
                    "question": GraphQLArgument(_nn(GraphQLString)),
                    "group": GraphQLArgument(GraphQLString, description="One group of groupBy."),
                },
                resolve=hr_only(resolve_comments),
            ),
            "surveyActionPlans": GraphQLField(
                _nn(GraphQLList(_nn(plan))),
                args={"campaignId": GraphQLArgument(_nn(GraphQLID))},
                resolve=hr_only(resolve_plans),
            ),
        },
        mutation={
            "createSurveyFromTemplate": GraphQLField(
                _nn(GraphQLID),
                args={
                    "template": GraphQLArgument(_nn(GraphQLString)),
                    "title": GraphQLArgument(GraphQLString),
                },
                resolve=hr_only(resolve_from_template),
            ),
            "submitSurveyResponse": GraphQLField(
                _nn(submission),
                args={
                    "waveId": GraphQLArgument(_nn(GraphQLID)),
                    "answers": GraphQLArgument(_nn(JSON)),
                },
                resolve=resolve_submit,
            ),
            "createSurveyActionPlan": GraphQLField(
                _nn(GraphQLID),
                args={"input": GraphQLArgument(_nn(plan_input))},
                resolve=hr_only(resolve_create_plan),
            ),
        },
    )
