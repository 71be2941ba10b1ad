"""Acceptance over HTTP (real PostgreSQL, a live server): a resignation starts the exit
interview, the handover tasks and the questionnaire; notice-period errors name the article and
write nothing; the dismissal of a pregnant employee under arts. 40/41 or the end of her contract
is blocked with LCL arts. 42/45, and a fault dismissal (art. 39) needs HR management's recorded
legal review, stored on the separation and in the audit log."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import httpx
import pytest
from rapport_exits import plugin as exits_plugin
from rapport_org import plugin as org_plugin
from tests.erm_support import ErmTenant, GraphQLFailed, gql, setup_tenant
from tests.jobs.support import WorkerProcess, eventually, move_clock

from rapport.db.database import Database
from rapport.settings import Settings

LEAVER, MANAGER, HR, HR_OTHER, HR_MANAGER = "u-leaver", "u-mgr", "u-hr", "u-hr-2", "u-hrm"
CREATE = "mutation($i: SeparationCreateInput!) { createSeparation(input: $i) { id status departmentId inProbation rehireEligibility } }"
SEPARATIONS = "{ separations { edges { node { id } } } }"
INTERVIEWS = """{ interviews { edges { node { id interviewerUserId scheduledAt status questionnaireForm
  questionnaireSentAt questionnaireAnsweredAt notes } } } }"""
LEAVER_INTERVIEWS = "{ interviews { edges { node { id scheduledAt interviewerUserId } } } }"
TASKS = "{ tasks { edges { node { id title assignee dueAt subjectId status } } } }"
FORM = 'query { form(id: "exits/questionnaire", locale: "en") { id version title } }'
SUBMIT = 'mutation($d: JSON!) { submitForm(id: "exits/questionnaire", data: $d) { id } }'
UPDATE_INTERVIEW = (
    "mutation($id: ID!, $i: InterviewUpdateInput!) { updateInterview(id: $id, input: $i) { id } }"
)
TRANSITION_INTERVIEW = (
    "mutation($id: ID!, $t: String!) { transitionInterview(id: $id, transition: $t) { state } }"
)
SEPARATION = "query($id: ID!) { separation(id: $id) { status } }"
PROTECT = (
    "mutation($i: EmployeeProtectionCreateInput!) { createEmployeeProtection(input: $i) { id } }"
)
PROTECTIONS = "query($e: ID!) { terminationProtections(employeeId: $e, ground: NOTICE) { code article zh severity } }"
UPDATE = "mutation($id: ID!, $i: SeparationUpdateInput!, $v: Int) { updateSeparation(id: $id, input: $i, expectedVersion: $v) { id } }"
REVIEWED = "query($id: ID!) { separation(id: $id) { status dismissalGround protectionReview } }"


@pytest.fixture(scope="module")
async def erm(database: Database) -> ErmTenant:
    erm = await setup_tenant(database, [org_plugin, exits_plugin], "exits")
    sales = await erm.create("org/department", {"name": "Sales"})
    hr = await erm.create("org/employee", {"name": "Li Na", "userId": HR})
    manager = await erm.create("org/employee", {"name": "Zhao Min", "userId": MANAGER})
    await erm.create(
        "org/employee",
        {
            "name": "Wang Fang",
            "userId": LEAVER,
            "departmentId": sales,
            "managerId": manager,
            "hrPartnerId": hr,
        },
    )
    await erm.create(
        "org/employee", {"name": "Chen Jing", "userId": "u-chen", "status": "probation"}
    )
    await erm.create("org/employee", {"name": "Sun Li", "userId": "u-sun"})
    return erm


async def _employee(erm: ErmTenant, user: str) -> str:
    found: str = await erm.db.fetchval(
        f'SELECT id::text FROM "tenant_{erm.slug}".org_employee WHERE user_id = $1', user
    )
    return found


async def _count(erm: ErmTenant, table: str) -> int:
    found: int = await erm.db.fetchval(f'SELECT count(*) FROM "tenant_{erm.slug}".{table}')
    return found


async def test_a_resignation_starts_the_exit_interview_the_handover_and_the_questionnaire(
    erm: ErmTenant, settings: Settings, client: httpx.AsyncClient, database_url: str,
    clean_redis: str, tmp_path: Path,
) -> None:  # fmt: skip
    hr, leaver = erm.token(settings, HR, "hr"), erm.token(settings, LEAVER, "employee")
    today = dt.date.today()
    last_day = today + dt.timedelta(days=40)
    # given HR records Wang Fang's resignation, notice given today, leaving in 40 days
    input = {
        "employeeId": await _employee(erm, LEAVER),
        "type": "resignation",
        "noticeGivenOn": today.isoformat(),
        "lastWorkingDay": last_day.isoformat(),
    }
    created = (await gql(client, CREATE, {"i": input}, token=hr))["createSeparation"]
    assert created["status"] == "recorded"
    assert created["inProbation"] is False and created["rehireEligibility"] == "conditional"
    assert created["departmentId"] is not None  # her department, kept for the analysis

    # then the exit interview is scheduled with her HR business partner before her last day
    (edge,) = (await gql(client, INTERVIEWS, token=hr))["interviews"]["edges"]
    interview = edge["node"]
    assert (interview["interviewerUserId"], interview["status"]) == (HR, "scheduled")
    scheduled = dt.datetime.fromisoformat(interview["scheduledAt"])
    assert today < scheduled.date() < last_day
    assert interview["questionnaireForm"] == "exits/questionnaire"
    assert (
        interview["questionnaireSentAt"] is not None
        and interview["questionnaireAnsweredAt"] is None
    )
    # and she, her manager and HR each got their handover tasks, due by the last day
    tasks = (await gql(client, TASKS, token=hr))["tasks"]["edges"]
    owners = sorted({t["node"]["assignee"] for t in tasks})
    assert owners == [HR, LEAVER, MANAGER] and len(tasks) == 6
    assert all(t["node"]["subjectId"] == created["id"] for t in tasks)
    assert all(dt.datetime.fromisoformat(t["node"]["dueAt"]).date() <= last_day for t in tasks)
    own = (await gql(client, TASKS, token=leaver))["tasks"]["edges"]
    assert sorted(t["node"]["title"] for t in own) == [
        "工作交接 / Hand over ongoing work and documents",
        "归还公司资产 / Return equipment, badge and keys",
    ]
    # and the questionnaire was pushed to her (in-app; her channels through the notify layer)
    links = await erm.db.fetch(
        f'SELECT recipient, link FROM "tenant_{erm.slug}".core_notification WHERE recipient = $1',
        LEAVER,
    )
    assert [r["link"] for r in links if "questionnaire" in r["link"]] == [
        f"forms/exits/questionnaire?interview={interview['id']}"
    ]

    # when she opens the form and answers it
    form = (await gql(client, FORM, token=leaver))["form"]
    assert form["title"] == "Exit questionnaire"
    answers = {
        "primaryReason": "career_growth",
        "managerRating": 4,
        "payRating": 2,
        "wouldReturn": True,
    }
    await gql(client, SUBMIT, {"d": answers}, token=leaver)
    # then her answer is tied to her interview, and a second one is refused
    (edge,) = (await gql(client, INTERVIEWS, token=hr))["interviews"]["edges"]
    assert edge["node"]["questionnaireAnsweredAt"] is not None
    with pytest.raises(GraphQLFailed):
        await gql(client, SUBMIT, {"d": answers}, token=leaver)
    # and she sees her interview's time, but someone else cannot answer for her
    (mine,) = (await gql(client, LEAVER_INTERVIEWS, token=leaver))["interviews"]["edges"]
    assert mine["node"]["interviewerUserId"] == HR
    with pytest.raises(GraphQLFailed, match="no exit interview of yours is open"):
        await gql(client, SUBMIT, {"d": answers}, token=erm.token(settings, "u-sun", "employee"))

    # when the interviewer writes confidential notes
    notes = {"notes": "Offered a team change; she declined."}
    await gql(client, UPDATE_INTERVIEW, {"id": interview["id"], "i": notes}, token=hr)
    # then only the interviewer and HR management read them
    hrm = erm.token(settings, HR_MANAGER, "hr_manager")
    for token, expected in ((hr, notes["notes"]), (hrm, notes["notes"])):
        (edge,) = (await gql(client, INTERVIEWS, token=token))["interviews"]["edges"]
        assert edge["node"]["notes"] == expected
    other = erm.token(settings, HR_OTHER, "hr")
    (edge,) = (await gql(client, INTERVIEWS, token=other))["interviews"]["edges"]
    assert edge["node"]["notes"] is None and edge["node"]["scheduledAt"] == interview["scheduledAt"]
    with pytest.raises(GraphQLFailed):
        await gql(
            client, UPDATE_INTERVIEW, {"id": interview["id"], "i": {"notes": "x"}}, token=other
        )

    # when the worker's clock reaches the day before the interview, the interviewer is reminded
    async def reminders() -> int:
        found: int = await erm.db.fetchval(
            f'SELECT count(*) FROM "tenant_{erm.slug}".core_notification WHERE recipient = $1 AND title LIKE $2',
            HR,
            "%明天有一场离职面谈%",
        )
        return found

    with WorkerProcess(database_url, tmp_path, redis_url=clean_redis, RAPPORT_TEST_CLOCK="1"):
        await move_clock(erm.db, scheduled - dt.timedelta(hours=23))
        assert await eventually(reminders, timeout=30) == 1

    # when the interview is completed: an outcome is required, and "exit confirmed" keeps the exit
    with pytest.raises(GraphQLFailed, match="outcome"):
        await gql(client, TRANSITION_INTERVIEW, {"id": interview["id"], "t": "complete"}, token=hr)
    await gql(
        client,
        UPDATE_INTERVIEW,
        {"id": interview["id"], "i": {"outcome": "exit_confirmed"}},
        token=hr,
    )
    done = await gql(
        client, TRANSITION_INTERVIEW, {"id": interview["id"], "t": "complete"}, token=hr
    )
    assert done["transitionInterview"]["state"] == "completed"
    status = await gql(client, SEPARATION, {"id": created["id"]}, token=hr)
    assert status["separation"]["status"] == "recorded"


async def test_a_retained_employee_cancels_the_separation_and_its_open_tasks(
    erm: ErmTenant, settings: Settings, client: httpx.AsyncClient
) -> None:
    hr = erm.token(settings, HR, "hr")
    today = dt.date.today()
    # given Sun Li resigned and her interview is held
    input = {
        "employeeId": await _employee(erm, "u-sun"),
        "type": "resignation",
        "noticeGivenOn": today.isoformat(),
        "lastWorkingDay": (today + dt.timedelta(days=30)).isoformat(),
    }
    separation = (await gql(client, CREATE, {"i": input}, token=hr))["createSeparation"]["id"]
    interview = await erm.db.fetchval(
        f'SELECT id::text FROM "tenant_{erm.slug}".exits_interview WHERE separation_id = $1::uuid',
        separation,
    )
    # when it ends with her retained
    await gql(client, UPDATE_INTERVIEW, {"id": interview, "i": {"outcome": "retained"}}, token=hr)
    await gql(client, TRANSITION_INTERVIEW, {"id": interview, "t": "complete"}, token=hr)
    # then the separation is cancelled and so are its handover tasks
    status = await gql(client, SEPARATION, {"id": separation}, token=hr)
    assert status["separation"]["status"] == "cancelled"
    tasks = await erm.db.fetch(
        f'SELECT status FROM "tenant_{erm.slug}".core_task WHERE subject_id = $1::uuid', separation
    )
    assert len(tasks) == 6 and {t["status"] for t in tasks} == {"cancelled"}


async def test_notice_period_errors_cite_the_article_and_write_nothing(
    erm: ErmTenant, settings: Settings, client: httpx.AsyncClient
) -> None:
    hr = erm.token(settings, HR, "hr")
    chen = await _employee(erm, "u-chen")  # in probation
    before = (
        await _count(erm, "exits_separation"),
        await _count(erm, "exits_interview"),
        await _count(erm, "core_task"),
    )
    today = dt.date.today()
    # a resignation in probation with 2 days' notice
    short = {
        "employeeId": chen,
        "type": "resignation",
        "noticeGivenOn": today.isoformat(),
        "lastWorkingDay": (today + dt.timedelta(days=2)).isoformat(),
    }
    with pytest.raises(GraphQLFailed) as failed:
        await gql(client, CREATE, {"i": short}, token=hr)
    (error,) = failed.value.errors
    assert error["extensions"]["code"] == "VALIDATION_FAILED"
    (field,) = error["extensions"]["errors"]
    assert field["path"] == ["input", "lastWorkingDay"] and field["code"] == "NOTICE_PERIOD"
    assert "劳动合同法第37条" in field["message"] and "LCL art. 37" in field["message"]
    assert "3 days' written notice" in field["message"]
    # a resignation without a notice date, and a dismissal under art. 40 without notice
    with pytest.raises(GraphQLFailed, match=r"LCL art\. 37: a resignation needs written notice"):
        await gql(client, CREATE, {"i": {**short, "noticeGivenOn": None}}, token=hr)
    art40 = {
        "employeeId": chen,
        "type": "dismissal",
        "dismissalGround": "art40",
        "lastWorkingDay": (today + dt.timedelta(days=10)).isoformat(),
    }
    with pytest.raises(GraphQLFailed, match=r"LCL art\. 40"):
        await gql(client, CREATE, {"i": art40}, token=hr)
    # then nothing was written: no separation, interview or task
    after = (
        await _count(erm, "exits_separation"),
        await _count(erm, "exits_interview"),
        await _count(erm, "core_task"),
    )
    assert after == before
    # and with 3 days in probation the resignation is recorded
    ok = {**short, "lastWorkingDay": (today + dt.timedelta(days=3)).isoformat()}
    recorded = (await gql(client, CREATE, {"i": ok}, token=hr))["createSeparation"]
    assert recorded["inProbation"] is True


async def test_the_dismissal_of_a_pregnant_employee_is_blocked_with_the_article(
    erm: ErmTenant, settings: Settings, client: httpx.AsyncClient
) -> None:
    hr, hrm = erm.token(settings, HR, "hr"), erm.token(settings, HR_MANAGER, "hr_manager")
    manager = await _employee(erm, MANAGER)
    # given HR management recorded that Zhao Min is pregnant
    with pytest.raises(GraphQLFailed):  # plain HR may not keep these facts
        await gql(
            client, PROTECT, {"i": {"employeeId": manager, "pregnancy": "pregnant"}}, token=hr
        )
    await gql(client, PROTECT, {"i": {"employeeId": manager, "pregnancy": "pregnant"}}, token=hrm)
    today = dt.date.today()
    dismissal = {
        "employeeId": manager,
        "type": "dismissal",
        "dismissalGround": "art40",
        "payInLieuOfNotice": True,
        "lastWorkingDay": (today + dt.timedelta(days=5)).isoformat(),
    }
    # when HR records her dismissal under art. 40 (with pay in lieu of notice), or lets her
    # contract expire — with a review attached or not
    review = {"confirmed": True, "reason": "Reviewed with counsel, but art. 42 applies."}
    for input in (
        dismissal,
        {**dismissal, "protectionReview": review},
        {
            "employeeId": manager,
            "type": "contract_expiry",
            "lastWorkingDay": dismissal["lastWorkingDay"],
        },
    ):
        with pytest.raises(GraphQLFailed) as failed:
            await gql(client, CREATE, {"i": input}, token=hrm)
        # then it is refused, citing the article: no review overrides LCL arts. 42/45
        (error,) = failed.value.errors
        (field,) = error["extensions"]["errors"]
        assert field["code"] == "PROTECTED_EMPLOYEE"
        assert "女职工在孕期、产期、哺乳期" in field["message"]
        article = "LCL art. 45(4)" if input["type"] == "contract_expiry" else "LCL art. 42(4)"
        assert article in field["message"] and article in error["extensions"]["hint"]
    assert (
        await erm.db.fetchval(
            f'SELECT count(*) FROM "tenant_{erm.slug}".exits_separation WHERE employee_id = $1::uuid',
            manager,
        )
        == 0
    )
    # and HR management can ask beforehand
    (finding,) = (await gql(client, PROTECTIONS, {"e": manager}, token=hrm))[
        "terminationProtections"
    ]
    assert (finding["code"], finding["article"]) == ("TM-2.4", "LCL art. 42(4)")
    assert finding["severity"] == "block"
    # while a mutual agreement (LCL art. 36) stays possible
    agreed = {
        "employeeId": manager,
        "type": "mutual_agreement",
        "lastWorkingDay": dismissal["lastWorkingDay"],
    }
    assert (await gql(client, CREATE, {"i": agreed}, token=hr))["createSeparation"][
        "status"
    ] == "recorded"


async def test_a_fault_dismissal_of_a_pregnant_employee_needs_a_recorded_legal_review(
    erm: ErmTenant, settings: Settings, client: httpx.AsyncClient
) -> None:
    hr, hrm = erm.token(settings, HR, "hr"), erm.token(settings, HR_MANAGER, "hr_manager")
    # given Zhou Min is pregnant
    zhou = await erm.create("org/employee", {"name": "Zhou Min", "userId": "u-zhou"})
    await gql(client, PROTECT, {"i": {"employeeId": zhou, "pregnancy": "pregnant"}}, token=hrm)
    today = dt.date.today()
    fault = {
        "employeeId": zhou,
        "type": "dismissal",
        "dismissalGround": "art39",
        "reason": "misconduct",
        "lastWorkingDay": (today + dt.timedelta(days=2)).isoformat(),
    }
    before = (
        await _count(erm, "exits_separation"),
        await _count(erm, "exits_interview"),
        await _count(erm, "core_task"),
    )
    # when HR records her dismissal for serious misconduct without a review
    with pytest.raises(GraphQLFailed) as failed:
        await gql(client, CREATE, {"i": fault}, token=hrm)
    # then it asks for the legal review, citing art. 42 and FP-1, and says what to give
    (error,) = failed.value.errors
    (field,) = error["extensions"]["errors"]
    assert field["code"] == "PROTECTION_REVIEW_REQUIRED"
    assert field["path"] == ["input", "protectionReview"]
    assert "LCL art. 42(4)" in field["message"] and "FP-1" in field["message"]
    assert "protectionReview: {confirmed: true" in error["extensions"]["hint"]
    # and a review confirmed by plain HR, or an incomplete one, is refused
    review = {"confirmed": True, "reason": "Theft of company property, CCTV and two witnesses."}
    with pytest.raises(GraphQLFailed) as failed:
        await gql(client, CREATE, {"i": {**fault, "protectionReview": review}}, token=hr)
    (field,) = failed.value.errors[0]["extensions"]["errors"]
    assert field["code"] == "PROTECTION_REVIEW_FORBIDDEN" and "hr_manager" in field["message"]
    with pytest.raises(GraphQLFailed) as failed:
        await gql(client, CREATE, {"i": {**fault, "protectionReview": {"reason": "ok"}}}, token=hrm)
    codes = [f["code"] for f in failed.value.errors[0]["extensions"]["errors"]]
    assert codes == ["PROTECTION_REVIEW_INCOMPLETE", "PROTECTION_REVIEW_INCOMPLETE"]
    # and nothing was written
    after = (
        await _count(erm, "exits_separation"),
        await _count(erm, "exits_interview"),
        await _count(erm, "core_task"),
    )
    assert after == before

    # when an HR manager confirms the review (a forged reviewer is ignored)
    forged = {**review, "reviewedBy": "someone-else"}
    created = (await gql(client, CREATE, {"i": {**fault, "protectionReview": forged}}, token=hrm))[
        "createSeparation"
    ]
    # then the dismissal is recorded with the review: who, when, why and what was weighed
    stored = (await gql(client, REVIEWED, {"id": created["id"]}, token=hrm))["separation"]
    assert stored["dismissalGround"] == "art39"
    kept = stored["protectionReview"]
    assert (kept["reviewedBy"], kept["reason"], kept["ground"]) == (
        HR_MANAGER,
        review["reason"],
        "art39",
    )
    assert dt.datetime.fromisoformat(kept["reviewedAt"]).date() == dt.datetime.now(dt.UTC).date()
    assert [(f["code"], f["article"]) for f in kept["findings"]] == [("TM-2.4", "LCL art. 42(4)")]
    # and the audit log holds it, by the reviewer
    entry = await erm.db.fetchrow(
        "SELECT actor, data FROM rapport.audit_entries WHERE entity = 'exits/separation'"
        " AND record_id::text = $1 AND action = 'record.create'",
        created["id"],
    )
    assert entry is not None and entry["actor"] == HR_MANAGER
    data = json.loads(entry["data"]) if isinstance(entry["data"], str) else entry["data"]
    assert data["changed"]["protectionReview"]["after"]["reviewedBy"] == HR_MANAGER
    # and plain HR cannot rewrite the review afterwards
    version = await erm.db.fetchval(
        f'SELECT version FROM "tenant_{erm.slug}".exits_separation WHERE id = $1::uuid',
        created["id"],
    )
    with pytest.raises(GraphQLFailed) as failed:
        await gql(
            client,
            UPDATE,
            {"id": created["id"], "i": {"protectionReview": review}, "v": version},
            token=hr,
        )
    (field,) = failed.value.errors[0]["extensions"]["errors"]
    assert field["code"] == "PROTECTION_REVIEW_FORBIDDEN"
    stored = (await gql(client, REVIEWED, {"id": created["id"]}, token=hrm))["separation"]
    assert stored["protectionReview"] == kept
