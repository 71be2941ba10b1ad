"""Acceptance over HTTP with a real worker: a case reported under a handbook rule is
investigated, the employee is heard, the decision is approved by the line manager and HR
management in turn, appealed and varied, then archived; the sanction expires on its date. A
dismissal of a pregnant employee needs HR management's legal review (LCL art. 42, FP-1), which
is stored on the case and the separation and audited."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from rapport_discipline import plugin as discipline_plugin
from rapport_exits import plugin as exits_plugin
from rapport_org import plugin as org_plugin
from tests.erm_support import ErmTenant, GraphQLFailed, gql, setup_tenant, subscribe_transitions
from tests.jobs.support import WorkerProcess, eventually
from tests.notify.receiver import Receiver

from rapport.composition import KERNEL
from rapport.db.database import Database
from rapport.settings import Settings
from rapport.workflow.sla import sweep_sla

HR, HR_MANAGER, MANAGER, WANG, LIU = "u-hr", "u-hrm", "u-mgr", "u-wang", "u-liu"
REPORT = "mutation($i: DisciplinaryCaseCreateInput!) { createDisciplinaryCase(input: $i) { id status reportedByUserId } }"
UPDATE = "mutation($id: ID!, $i: DisciplinaryCaseUpdateInput!) { updateDisciplinaryCase(id: $id, input: $i) { id } }"
MOVE = "mutation($id: ID!, $t: String!) { transitionDisciplinaryCase(id: $id, transition: $t) { state approvalRequest } }"
CHECKED = "query($id: ID!) { disciplinaryCase(id: $id) { protectionCheck protectionCheckSha256 } }"
CASE = """query($id: ID!) { disciplinaryCase(id: $id) { status statementDueAt statementAt decidedAt appealDueAt
  sanctionFrom sanctionUntil proposedSanction } }"""
EVIDENCE = "mutation($i: CaseEvidenceCreateInput!) { createCaseEvidence(input: $i) { id } }"
INTERVIEW = "mutation($i: CaseInterviewCreateInput!) { createCaseInterview(input: $i) { id } }"
INBOX = "{ myApprovals { id recordId transition } }"
APPROVE = 'mutation($t: ID!) { approve(taskId: $t, comment: "agreed") { status state } }'
SANCTIONS = "{ sanctions { edges { node { id type status effectiveFrom expiresOn } } } }"
PROTECT = (
    "mutation($i: EmployeeProtectionCreateInput!) { createEmployeeProtection(input: $i) { id } }"
)
SEPARATIONS = "{ separations { edges { node { employeeId type dismissalGround reason rehireEligibility } } } }"
PHOTO = {"key": "cases/clock.jpg", "name": "clock.jpg", "size": 2048, "contentType": "image/jpeg"}


@pytest.fixture(scope="module")
async def erm(database: Database) -> ErmTenant:
    erm = await setup_tenant(database, [org_plugin, exits_plugin, discipline_plugin], "disc")
    ops = await erm.create("org/department", {"name": "Ops"})
    manager = await erm.create(
        "org/employee", {"name": "Zhao Lei", "userId": MANAGER, "departmentId": ops}
    )
    for name, user in (("Wang Fang", WANG), ("Liu Yan", LIU), ("Sun Jie", "u-sun")):
        await erm.create(
            "org/employee",
            {"name": name, "userId": user, "departmentId": ops, "managerId": manager},
        )
    await erm.create("org/employee", {"name": "Li Na", "userId": HR})
    await erm.create(
        "discipline/handbook_rule",
        {
            "code": "R-07",
            "title": "Falsifying attendance records",
            "severity": "gross",
            "text": "Clocking in for another person or having another clock in for you.",
            "sanctionsAllowed": ["written_warning", "serious_warning", "dismissal"],
            "minimumEvidence": 1,
            "evidenceNeeded": "Attendance log and camera still; statements of witnesses.",
        },
    )
    await erm.create(
        "discipline/handbook_rule",
        {
            "code": "R-02",
            "title": "Late arrival",
            "severity": "minor",
            "text": "Arriving late without reason.",
            "sanctionsAllowed": ["verbal_warning", "written_warning"],
            "minimumEvidence": 0,
        },
    )
    return erm


async def _id(erm: ErmTenant, table: str, column: str, value: str) -> str:
    found: str = await erm.db.fetchval(
        f'SELECT id::text FROM "tenant_{erm.slug}".{table} WHERE {column} = $1', value
    )
    return found


async def _report(
    erm: ErmTenant, client: httpx.AsyncClient, token: str, user: str, rule: str
) -> str:
    input = {
        "employeeId": await _id(erm, "org_employee", "user_id", user),
        "ruleId": await _id(erm, "discipline_handbook_rule", "code", rule),
        "incidentOn": "2026-11-20",
        "description": "Clocked in for a colleague at 08:58.",
    }
    created = (await gql(client, REPORT, {"i": input}, token=token))["createDisciplinaryCase"]
    assert created["status"] == "reported"
    return str(created["id"])


async def _heard(
    erm: ErmTenant, client: httpx.AsyncClient, settings: Settings, case: str, user: str
) -> None:
    """Investigate the case with one photo and one interview, and hear the employee."""
    hr = erm.token(settings, HR, "hr")
    await gql(client, UPDATE, {"id": case, "i": {"investigatorUserId": HR}}, token=hr)
    await gql(client, MOVE, {"id": case, "t": "investigate"}, token=hr)
    await gql(client, EVIDENCE, {"i": {"caseId": case, "file": PHOTO, "kind": "photo"}}, token=hr)
    await gql(
        client,
        INTERVIEW,
        {
            "i": {
                "caseId": case,
                "role": "witness",
                "intervieweeName": "Guard Ma",
                "heldAt": "2026-11-21T10:00:00+08:00",
                "record": "Saw two badges used by one person.",
            }
        },
        token=hr,
    )
    await gql(
        client, UPDATE, {"id": case, "i": {"findings": "The log and the still show it."}}, token=hr
    )
    await gql(client, MOVE, {"id": case, "t": "request_statement"}, token=hr)
    employee = erm.token(settings, user, "employee")
    await gql(
        client,
        UPDATE,
        {"id": case, "i": {"statement": "My colleague was parking."}},
        token=employee,
    )
    await gql(client, MOVE, {"id": case, "t": "submit_statement"}, token=employee)


async def _approved(
    erm: ErmTenant, client: httpx.AsyncClient, settings: Settings, case: str
) -> dict[str, Any]:
    hr = erm.token(settings, HR, "hr")
    requested = (await gql(client, MOVE, {"id": case, "t": "decide"}, token=hr))[
        "transitionDisciplinaryCase"
    ]
    assert requested["state"] == "deciding" and requested["approvalRequest"] is not None
    decision: dict[str, Any] = {}
    for user, role in ((MANAGER, "manager"), (HR_MANAGER, "hr_manager")):
        token = erm.token(settings, user, role)
        (task,) = [
            t
            for t in (await gql(client, INBOX, token=token))["myApprovals"]
            if t["recordId"] == case
        ]
        decision = (await gql(client, APPROVE, {"t": task["id"]}, token=token))["approve"]
    return decision


async def test_a_case_runs_to_an_approved_decision_an_appeal_and_the_archive(
    erm: ErmTenant,
    settings: Settings,
    client: httpx.AsyncClient,
    database_url: str,
    tmp_path: Path,
    clean_redis: str,
) -> None:
    hr, hrm = erm.token(settings, HR, "hr"), erm.token(settings, HR_MANAGER, "hr_manager")
    wang = erm.token(settings, WANG, "employee")
    with Receiver() as hooks, WorkerProcess(database_url, tmp_path, redis_url=clean_redis):
        await subscribe_transitions(erm, hooks.url + "/hook")
        # given the line manager reports Wang Fang under rule R-07
        case = await _report(erm, client, erm.token(settings, MANAGER, "manager"), WANG, "R-07")
        # when HR investigates and asks for her statement
        await gql(client, UPDATE, {"id": case, "i": {"investigatorUserId": HR}}, token=hr)
        await gql(client, MOVE, {"id": case, "t": "investigate"}, token=hr)
        await gql(
            client, EVIDENCE, {"i": {"caseId": case, "file": PHOTO, "kind": "photo"}}, token=hr
        )
        await gql(client, UPDATE, {"id": case, "i": {"findings": "The log shows it."}}, token=hr)
        await gql(client, MOVE, {"id": case, "t": "request_statement"}, token=hr)
        # then she has 3 working days to respond, and HR cannot skip her statement
        state = (await gql(client, CASE, {"id": case}, token=wang))["disciplinaryCase"]
        assert dt.datetime.fromisoformat(state["statementDueAt"]) > dt.datetime.now(
            dt.UTC
        ) + dt.timedelta(days=2)
        with pytest.raises(GraphQLFailed, match="the employee may respond until"):
            await gql(client, MOVE, {"id": case, "t": "proceed"}, token=hr)
        # when she gives her statement
        await gql(
            client,
            UPDATE,
            {"id": case, "i": {"statement": "My colleague was parking."}},
            token=wang,
        )
        moved = await gql(client, MOVE, {"id": case, "t": "submit_statement"}, token=wang)
        assert moved["transitionDisciplinaryCase"]["state"] == "deciding"
        # then a sanction the rule does not allow is refused
        with pytest.raises(GraphQLFailed, match="rule R-07 does not allow demotion"):
            await gql(client, UPDATE, {"id": case, "i": {"proposedSanction": "demotion"}}, token=hr)
        await gql(
            client,
            UPDATE,
            {
                "id": case,
                "i": {
                    "proposedSanction": "serious_warning",
                    "decisionReason": "Proven by log and still.",
                },
            },
            token=hr,
        )
        # when HR asks for the decision, the line manager then HR management approve it
        decision = await _approved(erm, client, settings, case)
        assert decision == {"status": "approved", "state": "decided"}
        # then the sanction is recorded for 12 months and the appeal period is open
        state = (await gql(client, CASE, {"id": case}, token=hr))["disciplinaryCase"]
        (sanction,) = (await gql(client, SANCTIONS, token=wang))["sanctions"]["edges"]
        assert (
            sanction["node"]["type"] == "serious_warning" and sanction["node"]["status"] == "active"
        )
        assert sanction["node"]["effectiveFrom"] == state["sanctionFrom"]
        assert sanction["node"]["expiresOn"] == state["sanctionUntil"]
        assert (
            dt.date.fromisoformat(state["sanctionUntil"]).year
            == dt.date.fromisoformat(state["sanctionFrom"]).year + 1
        )
        with pytest.raises(GraphQLFailed, match="the appeal period runs until"):
            await gql(client, MOVE, {"id": case, "t": "archive"}, token=hr)
        # when she appeals and HR management varies the sanction
        await gql(client, UPDATE, {"id": case, "i": {"appealText": "A first offence."}}, token=wang)
        assert (await gql(client, MOVE, {"id": case, "t": "appeal"}, token=wang))[
            "transitionDisciplinaryCase"
        ]["state"] == "appealed"
        await gql(
            client,
            UPDATE,
            {"id": case, "i": {"appealOutcome": "varied", "appealDecision": "First offence."}},
            token=hrm,
        )
        with pytest.raises(GraphQLFailed, match="a varied appeal names the new sanction"):
            await gql(client, MOVE, {"id": case, "t": "decide_appeal"}, token=hrm)
        with pytest.raises(GraphQLFailed):  # plain HR does not decide appeals
            await gql(client, MOVE, {"id": case, "t": "decide_appeal"}, token=hr)
        await gql(
            client, UPDATE, {"id": case, "i": {"variedSanction": "written_warning"}}, token=hrm
        )
        await gql(client, MOVE, {"id": case, "t": "decide_appeal"}, token=hrm)
        # then the sanction is a written warning, and the case is archived
        (sanction,) = (await gql(client, SANCTIONS, token=hr))["sanctions"]["edges"]
        assert sanction["node"]["type"] == "written_warning"
        assert (await gql(client, MOVE, {"id": case, "t": "archive"}, token=hr))[
            "transitionDisciplinaryCase"
        ]["state"] == "archived"
        # and the worker delivered every transition to the subscribed webhook
        expected = [
            "investigate",
            "request_statement",
            "submit_statement",
            "decide",
            "appeal",
            "decide_appeal",
            "archive",
        ]
        await eventually(lambda: _at_least(hooks.received, len(expected)), timeout=30)
    assert sorted(r.json()["data"]["transition"] for r in hooks.received) == sorted(expected)

    # when the clock passes the sanction's expiry, the sweep sets it expired
    expires = dt.datetime.fromisoformat(str(sanction["node"]["expiresOn"])).replace(tzinfo=dt.UTC)
    await sweep_sla(erm.db, expires - dt.timedelta(days=1), participants=KERNEL.participants)
    assert (await gql(client, SANCTIONS, token=hr))["sanctions"]["edges"][0]["node"][
        "status"
    ] == "active"
    await sweep_sla(erm.db, expires + dt.timedelta(days=1), participants=KERNEL.participants)
    assert (await gql(client, SANCTIONS, token=hr))["sanctions"]["edges"][0]["node"][
        "status"
    ] == "expired"


async def test_the_dismissal_of_a_pregnant_employee_needs_a_recorded_legal_review(
    erm: ErmTenant, settings: Settings, client: httpx.AsyncClient
) -> None:
    hr, hrm = erm.token(settings, HR, "hr"), erm.token(settings, HR_MANAGER, "hr_manager")
    liu = await _id(erm, "org_employee", "user_id", LIU)
    # given Liu Yan is pregnant, and a case under R-07 has heard her
    await gql(client, PROTECT, {"i": {"employeeId": liu, "pregnancy": "pregnant"}}, token=hrm)
    case = await _report(erm, client, hr, LIU, "R-07")
    await _heard(erm, client, settings, case, LIU)
    proposal = {"proposedSanction": "dismissal", "decisionReason": "Serious breach of R-07."}
    # when HR proposes her dismissal without a legal review
    with pytest.raises(GraphQLFailed) as failed:
        await gql(client, UPDATE, {"id": case, "i": proposal}, token=hr)
    # then it asks for the review, citing LCL art. 42 and FP-1, and nothing changed
    (error,) = failed.value.errors
    (field,) = error["extensions"]["errors"]
    assert field["code"] == "PROTECTION_REVIEW_REQUIRED"
    assert field["path"] == ["input", "protectionReview"]
    assert "LCL art. 42(4)" in field["message"] and "劳动合同法第42条第（四）项" in field["message"]
    assert "FP-1" in field["message"] and "hr_manager" in error["extensions"]["hint"]
    state = (await gql(client, CASE, {"id": case}, token=hr))["disciplinaryCase"]
    assert state["proposedSanction"] is None and state["status"] == "deciding"
    # and plain HR cannot confirm the review itself
    review = {"confirmed": True, "reason": "Proven by the log, the still and a witness."}
    with pytest.raises(GraphQLFailed) as failed:
        await gql(
            client, UPDATE, {"id": case, "i": {**proposal, "protectionReview": review}}, token=hr
        )
    (field,) = failed.value.errors[0]["extensions"]["errors"]
    assert field["code"] == "PROTECTION_REVIEW_FORBIDDEN"
    assert (await gql(client, CASE, {"id": case}, token=hr))["disciplinaryCase"][
        "proposedSanction"
    ] is None

    # when an HR manager proposes it with the review, and the decision is approved
    await gql(
        client, UPDATE, {"id": case, "i": {**proposal, "protectionReview": review}}, token=hrm
    )
    assert (await _approved(erm, client, settings, case))["state"] == "decided"
    # then the review is kept on the case and on the separation the decision records
    stored = await erm.db.fetchval(
        f'SELECT protection_review::text FROM "tenant_{erm.slug}".discipline_disciplinary_case'
        " WHERE id = $1::uuid",
        case,
    )
    kept = json.loads(stored)
    assert (kept["reviewedBy"], kept["reason"], kept["ground"]) == (
        HR_MANAGER,
        review["reason"],
        "art39",
    )
    assert [f["code"] for f in kept["findings"]] == ["TM-2.4"]
    separation = await erm.db.fetchval(
        f'SELECT protection_review::text FROM "tenant_{erm.slug}".exits_separation'
        " WHERE employee_id = $1::uuid AND dismissal_ground = 'art39'",
        liu,
    )
    assert json.loads(separation) == kept
    # and the audit log holds the review under the HR manager who gave it
    entries = await erm.db.fetch(
        "SELECT actor, data::text AS data FROM rapport.audit_entries"
        " WHERE entity = 'discipline/disciplinary_case' AND record_id::text = $1",
        case,
    )
    reviews = [
        e["actor"]
        for e in entries
        if "protectionReview" in json.loads(e["data"]).get("changed", {})
    ]
    assert reviews == [HR_MANAGER]
    # and the protection facts the decision was checked against are sealed into its evidence:
    # readable by HR management, encrypted at rest, their SHA-256 in the audit log
    sealed = (await gql(client, CHECKED, {"id": case}, token=hrm))["disciplinaryCase"]
    record = json.loads(sealed["protectionCheck"])
    digest = hashlib.sha256(sealed["protectionCheck"].encode()).hexdigest()
    assert digest == sealed["protectionCheckSha256"]
    assert record["facts"]["pregnancy"] == "pregnant" and record["ground"] == "art39"
    assert [f["code"] for f in record["findings"]] == ["TM-2.4"]
    assert record["review"] == kept
    at_rest = await erm.db.fetchval(
        f'SELECT protection_check FROM "tenant_{erm.slug}".discipline_disciplinary_case'
        " WHERE id = $1::uuid",
        case,
    )
    assert b"pregnant" not in bytes(at_rest)
    (checked,) = await erm.db.fetch(
        "SELECT actor, data::text AS data FROM rapport.audit_entries"
        " WHERE action = 'discipline.protection_check' AND record_id::text = $1",
        case,
    )
    assert json.loads(checked["data"])["protectionCheckSha256"] == digest
    # a changed fact no longer matches the hash the audit log holds
    record["facts"]["pregnancy"] = "none"
    forged = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert hashlib.sha256(forged.encode()).hexdigest() != digest
    # and a dismissal under a minor rule is refused for anyone (LCL art. 39(2))
    minor = await _report(erm, client, hr, "u-sun", "R-02")
    with pytest.raises(GraphQLFailed, match="rule R-02 does not allow dismissal"):
        await gql(client, UPDATE, {"id": minor, "i": {"proposedSanction": "dismissal"}}, token=hr)


async def test_a_decided_dismissal_records_the_separation(
    erm: ErmTenant, settings: Settings, client: httpx.AsyncClient
) -> None:
    hr = erm.token(settings, HR, "hr")
    # given Sun Jie (not protected) is heard under R-07 and dismissal is proposed
    case = await _report(erm, client, hr, "u-sun", "R-07")
    await _heard(erm, client, settings, case, "u-sun")
    await gql(
        client,
        UPDATE,
        {
            "id": case,
            "i": {"proposedSanction": "dismissal", "decisionReason": "Serious breach of R-07."},
        },
        token=hr,
    )
    # when the decision is approved
    assert (await _approved(erm, client, settings, case))["state"] == "decided"
    # then the dismissal is recorded as a separation under LCL art. 39, and no expiry is set
    sun = await _id(erm, "org_employee", "user_id", "u-sun")
    (separation,) = [
        {k: v for k, v in e["node"].items() if k != "employeeId"}
        for e in (await gql(client, SEPARATIONS, token=hr))["separations"]["edges"]
        if e["node"]["employeeId"] == sun
    ]
    assert separation == {
        "type": "dismissal",
        "dismissalGround": "art39",
        "reason": "misconduct",
        "rehireEligibility": "not_eligible",
    }
    assert (await gql(client, CASE, {"id": case}, token=hr))["disciplinaryCase"][
        "sanctionUntil"
    ] is None


async def _at_least(received: Sequence[object], n: int) -> bool:
    return len(received) >= n


async def test_the_investigator_hears_when_the_time_to_respond_ends(
    erm: ErmTenant, settings: Settings, client: httpx.AsyncClient
) -> None:
    hr = erm.token(settings, HR, "hr")
    # given a case awaiting Wang Fang's statement
    case = await _report(erm, client, hr, WANG, "R-02")
    await gql(
        client,
        UPDATE,
        {"id": case, "i": {"investigatorUserId": HR, "findings": "Late twice."}},
        token=hr,
    )
    await gql(client, MOVE, {"id": case, "t": "investigate"}, token=hr)
    await gql(client, MOVE, {"id": case, "t": "request_statement"}, token=hr)
    due = dt.datetime.fromisoformat(
        (await gql(client, CASE, {"id": case}, token=hr))["disciplinaryCase"]["statementDueAt"]
    )
    title = "%员工陈述申辩期限已届满%"
    count = f'SELECT count(*) FROM "tenant_{erm.slug}".core_notification WHERE recipient = $1 AND title LIKE $2'
    # when the sweep runs before the deadline nothing is sent; after it the investigator hears
    await sweep_sla(erm.db, due - dt.timedelta(minutes=5), participants=KERNEL.participants)
    assert await erm.db.fetchval(count, HR, title) == 0
    await sweep_sla(erm.db, due + dt.timedelta(minutes=5), participants=KERNEL.participants)
    assert await erm.db.fetchval(count, HR, title) == 1
