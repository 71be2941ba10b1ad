"""The builder's and campaigns' refusals (each names what to fix and writes nothing), the
templates, confidential mode, and who may read results."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from rapport_org import plugin as org_plugin
from rapport_surveys import plugin as surveys_plugin
from rapport_surveys.builder import compile_definition
from tests.erm_support import ErmTenant, GraphQLFailed, gql, setup_tenant

from rapport.composition import KERNEL
from rapport.db.database import Database
from rapport.errors import ValidationFailed
from rapport.settings import Settings
from rapport.workflow.sla import sweep_sla

HR = "u-hr"
CREATE_SURVEY = "mutation($i: SurveyCreateInput!) { createSurvey(input: $i) { id } }"
UPDATE_SURVEY = (
    "mutation($id: ID!, $i: SurveyUpdateInput!) { updateSurvey(id: $id, input: $i) { id } }"
)
FROM_TEMPLATE = "mutation($t: String!) { createSurveyFromTemplate(template: $t) }"
TEMPLATES = "{ surveyTemplates { key questions } }"
CREATE_LIBRARY = (
    "mutation($i: LibraryQuestionCreateInput!) { createLibraryQuestion(input: $i) { id } }"
)
BELONGING = 'query { surveyQuestionLibrary(driver: "belonging") }'
LIBRARY = 'query { surveyQuestionLibrary(driver: "manager") }'
CREATE_CAMPAIGN = "mutation($i: CampaignCreateInput!) { createCampaign(input: $i) { id } }"
UPDATE_CAMPAIGN = (
    "mutation($id: ID!, $i: CampaignUpdateInput!) { updateCampaign(id: $id, input: $i) { id } }"
)
LAUNCH = 'mutation($id: ID!) { transitionCampaign(id: $id, transition: "launch") { state } }'
WAVES = "{ waves { edges { node { id campaignId } } } }"
SUBMIT = "mutation($w: ID!, $a: JSON!) { submitSurveyResponse(waveId: $w, answers: $a) { mode } }"
RESULTS = "query($c: ID!) { surveyResults(campaignId: $c) { respondents } }"


@pytest.fixture(scope="module")
async def erm(database: Database) -> ErmTenant:
    erm = await setup_tenant(database, [org_plugin, surveys_plugin], "surveys_rules")
    legal = await erm.create("org/department", {"name": "Legal"})
    await erm.create("org/employee", {"name": "HR", "userId": HR})
    for i in range(3):
        await erm.create(
            "org/employee", {"name": f"L{i}", "userId": f"u-l{i}", "departmentId": legal}
        )
    return erm


def _codes(failed: pytest.ExceptionInfo[GraphQLFailed]) -> list[tuple[str, str]]:
    return [
        (".".join(map(str, e["path"])), e["code"])
        for e in failed.value.errors[0]["extensions"]["errors"]
    ]


def test_every_question_type_compiles_and_validates() -> None:
    survey = compile_definition(
        {
            "questions": [
                {"key": "one", "type": "single", "options": ["a", "b"]},
                {"key": "many", "type": "multiple", "options": ["a", "b", "c"]},
                {"key": "agree", "type": "likert7", "driver": "growth"},
                {
                    "key": "grid",
                    "type": "matrix",
                    "rows": [{"key": "x"}, {"key": "y", "driver": "pay"}],
                },
                {"key": "score", "type": "nps"},
                {"key": "stars", "type": "rating", "scale": 4},
                {"key": "order", "type": "ranking", "options": ["p", "q"]},
                {"key": "count", "type": "numeric", "min": 0, "max": 9},
                {"key": "day", "type": "date"},
                {"key": "say", "type": "text"},
            ]
        }
    )
    assert [i.key for i in survey.items] == ["agree", "grid_x", "grid_y", "score", "stars"]
    row = survey.item("grid_y")
    assert row is not None and row.driver == "pay"
    good = {
        "one": "a",
        "many": ["a", "c"],
        "agree": 7,
        "grid_x": 1,
        "grid_y": 5,
        "score": 0,
        "stars": 4,
        "order": ["q", "p"],
        "count": 3,
        "day": "2026-12-01",
        "say": "ok",
    }
    assert survey.validator.validate(good) == []
    bad = {**good, "many": ["z"], "agree": 8, "order": ["q"], "count": 10, "day": "soon"}
    paths = sorted(e.path[0] for e in survey.validator.validate(bad))
    assert paths == ["agree", "count", "day", "many", "order"]


def test_a_bad_definition_is_refused_with_every_problem_named() -> None:
    with pytest.raises(ValidationFailed) as failed:
        compile_definition(
            {
                "questions": [
                    {"key": "a", "type": "likert9"},
                    {"key": "b", "type": "single", "options": ["only"]},
                    {"key": "c", "type": "likert5", "driver": "snacks"},
                    {"key": "a", "type": "text"},
                ]
            }
        )
    paths = {".".join(map(str, e.path)) for e in failed.value.errors}
    assert paths == {
        "definition.questions.0.type",
        "definition.questions.1.options",
        "definition.questions.2.driver",
        "definition.questions.3.key",
    }
    with pytest.raises(ValidationFailed, match="unknown"):
        compile_definition(
            {
                "questions": [{"key": "a", "type": "nps"}],
                "rules": [{"when": {"nope": {"_eq": 1}}, "show": ["a"]}],
            }
        )


async def test_templates_and_library_ship_and_a_bad_survey_writes_nothing(
    erm: ErmTenant, settings: Settings, client: httpx.AsyncClient
) -> None:
    hr = erm.token(settings, HR, "hr")
    shipped = {
        t["key"]: t["questions"]
        for t in (await gql(client, TEMPLATES, token=hr))["surveyTemplates"]
    }
    assert set(shipped) == {"enps-pulse", "engagement", "onboarding", "exit", "manager-feedback"}
    assert 20 <= shipped["engagement"] <= 22
    assert all(
        q["driver"] == "manager"
        for q in (await gql(client, LIBRARY, token=hr))["surveyQuestionLibrary"]
    )
    with pytest.raises(GraphQLFailed) as failed:
        await gql(
            client,
            CREATE_SURVEY,
            {"i": {"title": "x", "definition": {"questions": [{"key": "q", "type": "stars"}]}}},
            token=hr,
        )
    assert _codes(failed) == [("definition.questions.0.type", "INVALID")]
    with pytest.raises(GraphQLFailed) as unknown:
        await gql(client, FROM_TEMPLATE, {"t": "nope"}, token=hr)
    assert _codes(unknown) == [("template", "INVALID")]
    assert await erm.db.fetchval(f'SELECT count(*) FROM "tenant_{erm.slug}".surveys_survey') == 0
    # the tenant's own library: a question is checked like a survey's, then listed by driver
    own = {
        "key": "teamLunch",
        "driver": "belonging",
        "question": {"type": "likert5", "label": "We eat together."},
    }
    with pytest.raises(GraphQLFailed) as wrong:
        await gql(client, CREATE_LIBRARY, {"i": {**own, "question": {"type": "likert"}}}, token=hr)
    assert _codes(wrong) == [("definition.questions.0.type", "INVALID")]
    await gql(client, CREATE_LIBRARY, {"i": own}, token=hr)
    belonging = (await gql(client, BELONGING, token=hr))["surveyQuestionLibrary"]
    assert belonging[0]["key"] == "teamLunch" and len(belonging) > 1


async def _campaign(client: httpx.AsyncClient, hr: str, survey: str, **extra: Any) -> str:
    now = dt.datetime.now(dt.UTC)
    input = {
        "surveyId": survey,
        "title": "c",
        "opensAt": (now - dt.timedelta(minutes=1)).isoformat(),
        "closesAt": (now + dt.timedelta(days=3)).isoformat(),
        **extra,
    }
    found: str = (await gql(client, CREATE_CAMPAIGN, {"i": input}, token=hr))["createCampaign"][
        "id"
    ]
    return found


async def test_campaign_checks_and_confidential_mode(
    erm: ErmTenant, settings: Settings, client: httpx.AsyncClient
) -> None:
    hr = erm.token(settings, HR, "hr")
    survey = (await gql(client, FROM_TEMPLATE, {"t": "enps-pulse"}, token=hr))[
        "createSurveyFromTemplate"
    ]
    now = dt.datetime.now(dt.UTC)
    # dates the wrong way round and k2 under k1 are refused together
    with pytest.raises(GraphQLFailed) as failed:
        await _campaign(
            client,
            hr,
            survey,
            closesAt=(now - dt.timedelta(days=1)).isoformat(),
            minResponses=6,
            minComments=5,
        )
    assert sorted(_codes(failed)) == [
        ("input.closesAt", "INVALID"),
        ("input.minComments", "INVALID"),
    ]
    # an audience of nobody cannot be launched, and nothing is started
    empty = await _campaign(client, hr, survey, audience={"roles": ["nobody"]})
    with pytest.raises(GraphQLFailed) as nobody:
        await gql(client, LAUNCH, {"id": empty}, token=hr)
    assert _codes(nobody) == [("transition.audience", "INVALID")]
    assert (await gql(client, WAVES, token=hr))["waves"]["edges"] == []

    # a confidential campaign to Legal: stored at once, named, and read by no one
    legal = await erm.db.fetchval(f'SELECT id::text FROM "tenant_{erm.slug}".org_department')
    named = await _campaign(
        client, hr, survey, mode="confidential", audience={"departments": [legal]}
    )
    await gql(client, LAUNCH, {"id": named}, token=hr)
    # its thresholds and mode are frozen now
    with pytest.raises(GraphQLFailed) as frozen:
        await gql(
            client,
            UPDATE_CAMPAIGN,
            {"id": named, "i": {"minResponses": 3, "mode": "anonymous"}},
            token=hr,
        )
    assert sorted(_codes(frozen)) == [("input.minResponses", "INVALID"), ("input.mode", "INVALID")]
    # and its survey's questions too
    with pytest.raises(GraphQLFailed):
        await gql(
            client,
            UPDATE_SURVEY,
            {"id": survey, "i": {"definition": {"questions": [{"key": "x", "type": "nps"}]}}},
            token=hr,
        )
    (wave,) = [e["node"]["id"] for e in (await gql(client, WAVES, token=hr))["waves"]["edges"]]
    for i in range(3):
        token = erm.token(settings, f"u-l{i}", "employee")
        answers = {"enps": 9, "workload": 4, "recognition": 4, "growth": 4}
        assert (await gql(client, SUBMIT, {"w": wave, "a": answers}, token=token))[
            "submitSurveyResponse"
        ]["mode"] == "confidential"
    stored = await erm.db.fetch(f'SELECT respondent_id FROM "tenant_{erm.slug}".surveys_response')
    assert len(stored) == 3 and all(r["respondent_id"] is not None for r in stored)
    # three responses: under k1 nothing is shown, and employees may not ask at all
    assert (await gql(client, RESULTS, {"c": named}, token=hr))["surveyResults"][
        "respondents"
    ] is None
    with pytest.raises(GraphQLFailed) as employee:
        await gql(client, RESULTS, {"c": named}, token=erm.token(settings, "u-l0", "employee"))
    assert employee.value.codes == ["FORBIDDEN"]
    with pytest.raises(GraphQLFailed) as closed_form:
        await gql(
            client,
            SUBMIT,
            {"w": wave, "a": {"enps": 1}},
            token=erm.token(settings, "u-l0", "employee"),
        )
    assert _codes(closed_form) == [("waveId", "ALREADY_ANSWERED")]


async def test_the_timers_open_and_close_a_scheduled_wave(
    erm: ErmTenant, settings: Settings, client: httpx.AsyncClient
) -> None:
    hr = erm.token(settings, HR, "hr")
    survey = (await gql(client, FROM_TEMPLATE, {"t": "enps-pulse"}, token=hr))[
        "createSurveyFromTemplate"
    ]
    legal = await erm.db.fetchval(f'SELECT id::text FROM "tenant_{erm.slug}".org_department')
    now = dt.datetime.now(dt.UTC)
    opens, closes = now + dt.timedelta(days=1), now + dt.timedelta(days=3)
    # given a monthly pulse launched today that opens tomorrow
    campaign = await _campaign(
        client,
        hr,
        survey,
        opensAt=opens.isoformat(),
        closesAt=closes.isoformat(),
        recurrence="monthly",
        audience={"departments": [legal]},
    )
    await gql(client, LAUNCH, {"id": campaign}, token=hr)
    waves = f'"tenant_{erm.slug}".surveys_wave'
    wave = await erm.db.fetchrow(
        f"SELECT id::text, status FROM {waves} WHERE campaign_id = $1::uuid", campaign
    )
    assert wave["status"] == "scheduled"
    invited = (
        f'SELECT count(*) FROM "tenant_{erm.slug}".surveys_participation WHERE wave_id = $1::uuid'
    )
    assert await erm.db.fetchval(invited, wave["id"]) == 0
    # when the worker's sweep passes opensAt, the wave opens and Legal's three are invited
    await sweep_sla(erm.db, opens + dt.timedelta(minutes=1), participants=KERNEL.participants)
    assert (
        await erm.db.fetchval(f"SELECT status FROM {waves} WHERE id = $1::uuid", wave["id"])
        == "open"
    )
    assert await erm.db.fetchval(invited, wave["id"]) == 3
    # and when it passes closesAt, the wave closes and the next month's wave is enqueued
    await sweep_sla(erm.db, closes + dt.timedelta(minutes=1), participants=KERNEL.participants)
    assert (
        await erm.db.fetchval(f"SELECT status FROM {waves} WHERE id = $1::uuid", wave["id"])
        == "closed"
    )
    enqueued = await erm.db.fetchval(
        "SELECT count(*) FROM rapport.outbox"
        " WHERE tenant_id = $1::uuid AND topic = $2 AND payload->>'wave' = $3",
        erm.tenant_id,
        "plugin:surveys.next_wave",
        wave["id"],
    )
    assert enqueued == 1
