"""Acceptance over HTTP (real PostgreSQL, a live server): an eNPS pulse to three departments —
Engineering (with its sub-department Platform), Sales and Legal, four people — answered by real
users; results show Engineering and Sales and suppress Legal and the next-smallest group
(Platform); eNPS is checked by hand; and a reading of every table, tenant schema and catalog,
audit log and outbox included, finds nothing joining an anonymous response to its respondent.

Hand check of the answers below (0–10, promoters 9–10, passives 7–8, detractors 0–6):

=============  ==========================  =========  =======  ==========  ======
department     answers                     promoters  passive  detractors  eNPS
=============  ==========================  =========  =======  ==========  ======
Engineering 8  10 9 9 8 7 6 5 10           4          2        2           +25.0
Sales 7        9 9 9 9 3 2 8               4          1        2           +28.6
Platform 6     10 10 7 7 0 6               2          2        2             0.0
Legal 4        10 10 10 10                 4          0        0           (hidden)
company 25                                 14         5        6           +32.0
=============  ==========================  =========  =======  ==========  ======
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import httpx
import pytest
from rapport_org import plugin as org_plugin
from rapport_surveys import plugin as surveys_plugin
from rapport_surveys.waves import next_wave_job
from tests.erm_support import ErmTenant, GraphQLFailed, gql, setup_tenant

from rapport.audit.held import release_held
from rapport.composition import KERNEL
from rapport.db.database import Database
from rapport.jobs.context import Job, JobContext
from rapport.plugins.held import release_anonymous
from rapport.settings import Settings
from rapport.workflow.sla import sweep_sla

HR = "u-hr"
ENPS = {
    "eng": [10, 9, 9, 8, 7, 6, 5, 10],
    "sales": [9, 9, 9, 9, 3, 2, 8],
    "platform": [10, 10, 7, 7, 0, 6],
    "legal": [10, 10, 10, 10],
}
FROM_TEMPLATE = 'mutation { createSurveyFromTemplate(template: "enps-pulse", title: "Q4 pulse") }'
CREATE_CAMPAIGN = "mutation($i: CampaignCreateInput!) { createCampaign(input: $i) { id status } }"
LAUNCH = 'mutation($id: ID!) { transitionCampaign(id: $id, transition: "launch") { state } }'
CLOSE = 'mutation($id: ID!) { transitionWave(id: $id, transition: "close") { state } }'
WAVES = "{ waves { edges { node { id number status opensAt closesAt } } } }"
OWN = "{ participations { edges { node { id waveId status } } } }"
RESPONSES = "{ responses { edges { node { id } } } }"
FORM = 'query($w: ID!) { surveyForm(waveId: $w, locale: "en") { mode answered jsonSchema } }'
SUBMIT = "mutation($w: ID!, $a: JSON!) { submitSurveyResponse(waveId: $w, answers: $a) { mode storedBy } }"
RESULTS = """query($c: ID!, $d: [ID!]) { surveyResults(campaignId: $c, departmentIds: $d) {
  waveNumber minResponses respondents
  responseRate { invited answered rate groups { label invited answered suppressed } }
  groups { group label suppressed respondents }
  questions { key type company { suppressed n enps promoters passives detractors favourable }
              groups { group suppressed n enps favourable vsCompany } }
  heatmap { question group value suppressed } } }"""
COMMENTS = """query($c: ID!, $g: String) { surveyComments(campaignId: $c, question: "enpsWhy", group: $g) {
  suppressed count comments { text sentiment } } }"""
IMPACT = "query($c: ID!) { surveyDriverImpact(campaignId: $c) { driver n correlation suppressed } }"
PLAN = "mutation($i: SurveyActionPlanInput!) { createSurveyActionPlan(input: $i) }"
OPEN = 'mutation($id: ID!) { transitionWave(id: $id, transition: "open") { state } }'
TREND = """query($c: ID!, $q: String!) { surveyTrend(campaignId: $c, question: $q) {
  waveNumber suppressed n favourable enps } }"""
MOVED = "query($c: ID!) { surveyActionPlans(campaignId: $c) { baseline latest latestWave } }"
PLANS = "query($c: ID!) { surveyActionPlans(campaignId: $c) { title tasks tasksDone baseline question } }"


def _user(dept: str, index: int) -> str:
    return f"u-{dept}-{index}"


@pytest.fixture(scope="module")
async def erm(database: Database) -> ErmTenant:
    erm = await setup_tenant(database, [org_plugin, surveys_plugin], "surveys")
    eng = await erm.create("org/department", {"name": "Engineering"})
    depts = {
        "eng": eng,
        "sales": await erm.create("org/department", {"name": "Sales"}),
        "legal": await erm.create("org/department", {"name": "Legal"}),
        "platform": await erm.create("org/department", {"name": "Platform", "parentId": eng}),
    }
    await erm.create("org/employee", {"name": "HR Li", "userId": HR})
    hired = (dt.date.today() - dt.timedelta(days=800)).isoformat()
    for dept, answers in ENPS.items():
        for i in range(len(answers)):
            await erm.create(
                "org/employee",
                {
                    "name": f"{dept} {i}",
                    "userId": _user(dept, i),
                    "departmentId": depts[dept],
                    "hiredOn": hired,
                },
            )
    # one engineer who will not answer (the reminder goes to them only)
    await erm.create("org/employee", {"name": "Quiet", "userId": "u-quiet", "departmentId": eng})
    return erm


def _answers(dept: str, i: int) -> dict[str, Any]:
    value = ENPS[dept][i]
    likert = 5 if value >= 9 else 3 if value >= 7 else 2
    found: dict[str, Any] = {"enps": value, "workload": likert, "recognition": likert, "growth": 4}
    if dept in ("eng", "sales") or i < 2:
        found["enpsWhy"] = f"{dept} reason {i}"
    return found


async def _ids(erm: ErmTenant, sql: str, *args: Any) -> list[Any]:
    return list(await erm.db.fetch(sql.replace("{s}", f'"tenant_{erm.slug}"'), *args))


async def test_a_pulse_is_answered_and_its_results_obey_the_thresholds(
    erm: ErmTenant, settings: Settings, client: httpx.AsyncClient
) -> None:
    hr = erm.token(settings, HR, "hr")
    depts = {
        r["name"]: r["id"]
        for r in await _ids(erm, "SELECT id::text AS id, name FROM {s}.org_department")
    }
    # given HR builds the pulse from the shipped template and launches it to three departments
    survey = (await gql(client, FROM_TEMPLATE, token=hr))["createSurveyFromTemplate"]
    now = dt.datetime.now(dt.UTC)
    campaign = (
        await gql(
            client,
            CREATE_CAMPAIGN,
            {
                "i": {
                    "surveyId": survey,
                    "title": "Q4 pulse",
                    "recurrence": "weekly",
                    "audience": {
                        "departments": [depts["Engineering"], depts["Sales"], depts["Legal"]]
                    },
                    "opensAt": (now - dt.timedelta(minutes=1)).isoformat(),
                    "closesAt": (now + dt.timedelta(days=5)).isoformat(),
                }
            },
            token=hr,
        )
    )["createCampaign"]
    assert campaign["status"] == "draft"
    await gql(client, LAUNCH, {"id": campaign["id"]}, token=hr)

    # then wave 1 is open and the 26 people (Platform is below Engineering) are invited
    (wave,) = [e["node"] for e in (await gql(client, WAVES, token=hr))["waves"]["edges"]]
    assert (wave["number"], wave["status"]) == (1, "open")
    invited = await _ids(erm, "SELECT user_id FROM {s}.surveys_participation")
    assert len(invited) == 26
    notified = await _ids(
        erm,
        "SELECT recipient FROM {s}.core_notification WHERE link = $1",
        f"surveys/waves/{wave['id']}",
    )
    assert len(notified) == 26
    # and HR reads neither the participation records nor any response
    assert (await gql(client, OWN, token=hr))["participations"]["edges"] == []

    # when an invitee opens the form, and sends answers the form refuses
    first = erm.token(settings, _user("eng", 0), "employee")
    form = (await gql(client, FORM, {"w": wave["id"]}, token=first))["surveyForm"]
    assert (form["mode"], form["answered"]) == ("anonymous", False)
    assert form["jsonSchema"]["properties"]["enps"]["maximum"] == 10
    with pytest.raises(GraphQLFailed) as bad:
        await gql(client, SUBMIT, {"w": wave["id"], "a": {"enps": 11, "workload": 3}}, token=first)
    paths = sorted(
        ".".join(map(str, e["path"])) for e in bad.value.errors[0]["extensions"]["errors"]
    )
    assert paths == ["answers.enps", "answers.growth", "answers.recognition"]
    # then nothing was written: still invited, nothing held
    assert (
        await erm.db.fetchval(
            f'SELECT count(*) FROM "tenant_{erm.slug}".surveys_participation WHERE status = $1',
            "answered",
        )
        == 0
    )
    assert (
        await erm.db.fetchval(
            "SELECT count(*) FROM rapport.anonymous_held WHERE tenant_id = $1::uuid", erm.tenant_id
        )
        == 0
    )

    # when the first three answer, a release finds fewer than k1 held: nothing goes out
    order = [(d, i) for i in range(8) for d in ENPS if i < len(ENPS[d])]
    for dept, i in order[:3]:
        token = erm.token(settings, _user(dept, i), "employee")
        done = await gql(client, SUBMIT, {"w": wave["id"], "a": _answers(dept, i)}, token=token)
        assert done["submitSurveyResponse"]["mode"] == "anonymous"
    assert await release_anonymous(erm.db, participants=KERNEL.participants) == 0
    # and when everyone else but one answers, the held answers go out in one shuffled batch
    for dept, i in order[3:]:
        token = erm.token(settings, _user(dept, i), "employee")
        await gql(client, SUBMIT, {"w": wave["id"], "a": _answers(dept, i)}, token=token)
    with pytest.raises(GraphQLFailed) as twice:
        await gql(client, SUBMIT, {"w": wave["id"], "a": _answers("eng", 0)}, token=first)
    assert twice.value.errors[0]["extensions"]["errors"][0]["code"] == "ALREADY_ANSWERED"
    with pytest.raises(GraphQLFailed) as stranger:
        await gql(client, SUBMIT, {"w": wave["id"], "a": _answers("eng", 0)}, token=hr)
    assert stranger.value.codes == ["FORBIDDEN"]
    assert await release_anonymous(erm.db, participants=KERNEL.participants) == 25

    # then the results show Engineering and Sales, and hide Legal and Platform (next-smallest)
    found = (await gql(client, RESULTS, {"c": campaign["id"]}, token=hr))["surveyResults"]
    assert (found["minResponses"], found["respondents"]) == (5, 25)
    groups = {g["label"]: g for g in found["groups"]}
    assert groups["Engineering"] == {**groups["Engineering"], "suppressed": False, "respondents": 8}
    assert groups["Sales"]["respondents"] == 7
    assert groups["Legal"]["suppressed"] and groups["Legal"]["respondents"] is None
    assert groups["Platform"]["suppressed"] and groups["Platform"]["respondents"] is None
    enps = next(q for q in found["questions"] if q["key"] == "enps")
    assert enps["company"] == {
        "suppressed": False,
        "n": 25,
        "enps": 32.0,
        "promoters": 14,
        "passives": 5,
        "detractors": 6,
        "favourable": 56.0,
    }
    cells = {c["group"]: c for c in enps["groups"]}
    assert cells[depts["Engineering"]]["enps"] == 25.0
    assert cells[depts["Engineering"]]["vsCompany"] == -7.0
    assert cells[depts["Sales"]]["enps"] == 28.6
    assert cells[depts["Legal"]] == {
        "group": depts["Legal"],
        "suppressed": True,
        "n": None,
        "enps": None,
        "favourable": None,
        "vsCompany": None,
    }
    assert cells[depts["Platform"]]["suppressed"] is True
    assert all(
        h["value"] is None
        for h in found["heatmap"]
        if h["group"] in (depts["Legal"], depts["Platform"])
    )
    rate = found["responseRate"]
    assert (rate["invited"], rate["answered"], rate["rate"]) == (26, 25, 96.2)
    assert {g["label"]: g["answered"] for g in rate["groups"]} == {
        "Engineering": 8,
        "Sales": 7,
        "Platform": None,
        "Legal": None,
    }

    # and a filter narrowing below k1, or leaving out fewer than k1, is refused
    for narrowed in ([depts["Legal"]], [depts["Engineering"], depts["Sales"], depts["Platform"]]):
        with pytest.raises(GraphQLFailed) as small:
            await gql(client, RESULTS, {"c": campaign["id"], "d": narrowed}, token=hr)
        assert small.value.errors[0]["extensions"]["errors"][0]["code"] == "BELOW_THRESHOLD"
    only = await gql(client, RESULTS, {"c": campaign["id"], "d": [depts["Engineering"]]}, token=hr)
    assert only["surveyResults"]["respondents"] == 8

    # and comments: 19 in all (k2 = 10) shuffled; Engineering's 8 are under k2
    every = (await gql(client, COMMENTS, {"c": campaign["id"]}, token=hr))["surveyComments"]
    assert (every["suppressed"], every["count"]) == (False, 19)
    assert {c["sentiment"] for c in every["comments"]} == {None}  # no insights plug-in yet
    eng = await gql(client, COMMENTS, {"c": campaign["id"], "g": depts["Engineering"]}, token=hr)
    assert eng["surveyComments"] == {"suppressed": True, "count": None, "comments": []}
    impact = (await gql(client, IMPACT, {"c": campaign["id"]}, token=hr))["surveyDriverImpact"]
    assert {i["driver"]: i["n"] for i in impact} == {
        "workload": 25,
        "recognition": 25,
        "growth": 25,
    }
    workload = next(i for i in impact if i["driver"] == "workload")
    assert workload["correlation"] > 0.8  # the answers were made to move together

    # when the reminders come due, only the one who did not answer is reminded
    await sweep_sla(erm.db, now + dt.timedelta(days=5, hours=-1), participants=KERNEL.participants)
    reminded = await _ids(
        erm, "SELECT recipient FROM {s}.core_notification WHERE title LIKE $1", "%尚未填写%"
    )
    assert [r["recipient"] for r in reminded] == ["u-quiet"]
    # (and HR still reads no response, nor anyone's participation; the invitee only their own)
    assert (await gql(client, RESPONSES, token=hr))["responses"]["edges"] == []
    own = (await gql(client, OWN, token=first))["participations"]["edges"]
    assert [e["node"]["status"] for e in own] == ["answered"]

    # when HR plans an action on workload for Engineering, with tasks
    await gql(
        client,
        PLAN,
        {
            "i": {
                "campaignId": campaign["id"],
                "waveId": wave["id"],
                "question": "workload",
                "departmentId": depts["Engineering"],
                "title": "Rebalance on-call",
                "ownerUserId": _user("eng", 1),
                "dueAt": (now + dt.timedelta(days=30)).isoformat(),
                "tasks": [
                    {
                        "title": "Audit on-call load",
                        "assignee": _user("eng", 1),
                        "dueAt": (now + dt.timedelta(days=10)).isoformat(),
                    },
                    {
                        "title": "Hire a second SRE",
                        "assignee": HR,
                        "dueAt": (now + dt.timedelta(days=30)).isoformat(),
                    },
                ],
            }
        },
        token=hr,
    )
    (tracked,) = (await gql(client, PLANS, {"c": campaign["id"]}, token=hr))["surveyActionPlans"]
    assert (tracked["tasks"], tracked["tasksDone"], tracked["question"]) == (2, 0, "workload")
    assert tracked["baseline"] == 56.0  # favourable workload in wave 1: 14 promoters of 25 gave 5

    # when HR closes the wave, the recurring campaign's next wave is scheduled by the job
    await gql(client, CLOSE, {"id": wave["id"]}, token=hr)
    job = await erm.db.fetchrow(
        "SELECT id::text, payload FROM rapport.outbox WHERE tenant_id = $1::uuid AND topic = $2",
        erm.tenant_id,
        "plugin:surveys.next_wave",
    )
    async with erm.db.transaction() as conn, httpx.AsyncClient() as http:
        ctx = JobContext(
            Job(job["id"], erm.tenant_id, "plugin:surveys.next_wave", 1),
            conn,
            erm.db,
            settings,
            http,
        )
        payload = json.loads(job["payload"]) if isinstance(job["payload"], str) else job["payload"]
        await next_wave_job(ctx, payload)
        await next_wave_job(ctx, payload)  # at least once: a second run changes nothing
    waves = sorted(
        (e["node"] for e in (await gql(client, WAVES, token=hr))["waves"]["edges"]),
        key=lambda w: w["number"],
    )
    assert [(w["number"], w["status"]) for w in waves] == [(1, "closed"), (2, "scheduled")]
    second = dt.datetime.fromisoformat(waves[1]["opensAt"]) - dt.datetime.fromisoformat(
        waves[0]["opensAt"]
    )
    assert second == dt.timedelta(days=7)

    await _no_link_from_a_response_to_its_respondent(erm, order)

    # when HR opens wave 2 early and everyone answers again, all agreeing on workload now
    await gql(client, OPEN, {"id": waves[1]["id"]}, token=hr)
    for dept, i in order:
        token = erm.token(settings, _user(dept, i), "employee")
        again = {**_answers(dept, i), "workload": 5}
        await gql(client, SUBMIT, {"w": waves[1]["id"], "a": again}, token=token)
    assert await release_anonymous(erm.db, participants=KERNEL.participants) == 25
    # then the trend shows both waves, and the action plan shows where its question went
    trend = await gql(client, TREND, {"c": campaign["id"], "q": "workload"}, token=hr)
    assert [(p["waveNumber"], p["n"], p["favourable"]) for p in trend["surveyTrend"]] == [
        (1, 25, 56.0),
        (2, 25, 100.0),
    ]
    (moved,) = (await gql(client, MOVED, {"c": campaign["id"]}, token=hr))["surveyActionPlans"]
    assert (moved["baseline"], moved["latest"], moved["latestWave"]) == (56.0, 100.0, 2)


async def _every_row(erm: ErmTenant) -> list[tuple[str, str, str]]:
    """(table, xmin, row as JSON) of every table of the tenant schema and of the catalog."""
    tables = await erm.db.fetch(
        "SELECT table_schema, table_name FROM information_schema.tables"
        " WHERE table_schema IN ($1, 'rapport') AND table_type = 'BASE TABLE'",
        f"tenant_{erm.slug}",
    )
    rows: list[tuple[str, str, str]] = []
    for t in tables:
        name = f'"{t["table_schema"]}"."{t["table_name"]}"'
        for r in await erm.db.fetch(
            f"SELECT xmin::text AS x, row_to_json(t)::text AS j FROM {name} AS t"
        ):
            rows.append((f"{t['table_schema']}.{t['table_name']}", r["x"], r["j"]))
    return rows


async def _no_link_from_a_response_to_its_respondent(
    erm: ErmTenant, order: list[tuple[str, int]]
) -> None:
    # the day's held audit entries join the log (as the nightly job does)
    await release_held(erm.db, today=dt.date.today() + dt.timedelta(days=1))
    rows = await _every_row(erm)
    assert not any(table == "rapport.anonymous_held" and erm.tenant_id in j for table, _, j in rows)
    responses = [(x, json.loads(j)) for table, x, j in rows if table.endswith(".surveys_response")]
    assert len(responses) == 25
    people = await _ids(
        erm,
        "SELECT p.id::text AS participation, p.user_id, p.employee_id::text AS employee, p.xmin::text AS x"
        " FROM {s}.surveys_participation AS p WHERE p.status = 'answered'",
    )
    marks = {m for p in people for m in (p["participation"], p["user_id"], p["employee"])}
    # no column of a response names a respondent, and its times are midnight
    for _, response in responses:
        assert response["respondent_id"] is None and response["created_by"] == "anonymous"
        assert not marks & {str(v) for v in response.values()}
        for name in ("created_at", "updated_at"):
            assert dt.datetime.fromisoformat(response[name]).time() == dt.time()
    # no row anywhere (audit log, outbox, workflow history, notifications…) names both a
    # response and a respondent
    response_ids = {r["id"] for _, r in responses}
    for table, _, j in rows:
        named = {m for m in marks if m in j}
        about = {r for r in response_ids if r in j}
        assert not (named and about), f"{table} joins a response to a respondent: {j}"
    # audit entries of responses have no actor and midnight times
    for table, _, j in rows:
        if table == "rapport.audit_log" and any(r in j for r in response_ids):
            entry = json.loads(j)
            assert entry["actor"] is None and entry["at"].endswith("T00:00:00+00:00")
    # no transaction wrote a response together with anything naming a respondent
    response_x = {x for x, _ in responses}
    assert len(response_x) == 1  # the one release
    assert not response_x & {p["x"] for p in people}
    assert not response_x & {x for _, x, j in rows if any(m in j for m in marks)}
    # and the stored order is not the order of answering
    answered = [ENPS[d][i] for d, i in order if (d, i) != ("eng", 8)]
    stored = await _ids(
        erm, "SELECT (answers->>'enps')::int AS v FROM {s}.surveys_response ORDER BY ctid"
    )
    assert [r["v"] for r in stored] != answered
