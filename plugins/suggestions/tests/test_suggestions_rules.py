"""The suggestion box's rules over HTTP: who sees what, one upvote each, tasks only for adopted
suggestions, statistics with small groups suppressed, SLAs that escalate."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from rapport_org import plugin as org_plugin
from rapport_suggestions import plugin as suggestions_plugin
from tests.erm_support import ErmTenant, GraphQLFailed, gql, setup_tenant

from rapport.composition import KERNEL
from rapport.db.database import Database
from rapport.settings import Settings
from rapport.workflow.sla import sweep_sla

AUTHOR, COLLEAGUE, HR = "u-author", "u-colleague", "u-hr"

CREATE = """mutation($i: SuggestionCreateInput!) { createSuggestion(input: $i) { id submitterId status } }"""
LIST = "{ suggestions { edges { node { id title } } } }"
UPDATE = """mutation($id: ID!, $i: SuggestionUpdateInput!) { updateSuggestion(id: $id, input: $i) { id } }"""
TRANSITION = """mutation($id: ID!, $t: String!) { transitionSuggestion(id: $id, transition: $t) { state } }"""
GET = """query($id: ID!) { suggestion(id: $id) { status dueAt firstResponseAt } }"""
UPVOTE = """mutation($id: ID!) { upvoteSuggestion(id: $id) }"""
WITHDRAW = """mutation($id: ID!) { withdrawSuggestionUpvote(id: $id) }"""
TASKS = """mutation($id: ID!, $t: [SuggestionTaskInput!]!) { createSuggestionTasks(id: $id, tasks: $t) }"""
STATS = """query($by: SuggestionGroupBy!) { suggestionStatistics(by: $by) {
  minGroupSize groups { key label count } suppressedGroups adoptionRate medianHoursToFirstResponse } }"""


@pytest.fixture(scope="module")
async def erm(database: Database) -> ErmTenant:
    erm = await setup_tenant(database, [org_plugin, suggestions_plugin], "sugr")
    sales = await erm.create("org/department", {"name": "Sales"})
    for name, user in [("Author", AUTHOR), ("Colleague", COLLEAGUE), ("HR", HR)]:
        await erm.create("org/employee", {"name": name, "userId": user, "departmentId": sales})
    return erm


def _suggestion(title: str, category: str = "process") -> dict[str, object]:
    return {"i": {"title": title, "body": "…", "category": category}}


async def _titles(client: httpx.AsyncClient, token: str) -> list[str]:
    found = await gql(client, LIST, token=token)
    return sorted(e["node"]["title"] for e in found["suggestions"]["edges"])


async def test_named_suggestions_are_private_until_hr_publishes_them_and_upvotes_count_once(
    erm: ErmTenant, settings: Settings, client: httpx.AsyncClient
) -> None:
    author, colleague = (erm.token(settings, u, "employee") for u in (AUTHOR, COLLEAGUE))
    hr = erm.token(settings, HR, "hr")
    # given a named suggestion: its submitter is the signed-in employee
    created = (await gql(client, CREATE, _suggestion("Flexitime"), token=author))[
        "createSuggestion"
    ]
    author_employee = await erm.db.fetchval(
        f'SELECT id::text FROM "tenant_{erm.slug}".org_employee WHERE user_id = $1', AUTHOR
    )
    assert (created["submitterId"], created["status"]) == (author_employee, "pending")
    # then only its author and HR see it, and it cannot be upvoted
    assert await _titles(client, author) == ["Flexitime"]
    assert await _titles(client, colleague) == []
    with pytest.raises(GraphQLFailed):
        await gql(client, UPVOTE, {"id": created["id"]}, token=colleague)

    # when HR makes it public to the company, the colleague sees and upvotes it, once
    await gql(client, UPDATE, {"id": created["id"], "i": {"visibility": "company"}}, token=hr)
    assert await _titles(client, colleague) == ["Flexitime"]
    await gql(client, UPVOTE, {"id": created["id"]}, token=colleague)
    with pytest.raises(GraphQLFailed) as twice:
        await gql(client, UPVOTE, {"id": created["id"]}, token=colleague)
    assert twice.value.codes == ["CONSTRAINT_VIOLATION"]
    await gql(client, WITHDRAW, {"id": created["id"]}, token=colleague)
    await gql(client, UPVOTE, {"id": created["id"]}, token=colleague)
    # and the stored vote does not name the voter
    votes = await erm.db.fetch(f'SELECT * FROM "tenant_{erm.slug}".suggestions_suggestion_upvote')
    assert len(votes) == 1
    assert COLLEAGUE not in str(dict(votes[0]))
    assert votes[0]["created_by"] == "anonymous"
    assert (votes[0]["created_at"].hour, votes[0]["created_at"].minute) == (0, 0)


async def test_anonymous_suggestions_have_their_own_path(
    erm: ErmTenant, settings: Settings, client: httpx.AsyncClient
) -> None:
    author = erm.token(settings, AUTHOR, "employee")
    anonymous = {"title": "x", "body": "y", "category": "other", "anonymous": True}
    with pytest.raises(GraphQLFailed) as refused:
        await gql(client, CREATE, {"i": anonymous}, token=author)
    assert refused.value.codes == ["FORBIDDEN"]
    assert "anonymous" in str(refused.value)


async def test_tasks_only_for_adopted_suggestions(
    erm: ErmTenant, settings: Settings, client: httpx.AsyncClient
) -> None:
    author, hr = erm.token(settings, AUTHOR, "employee"), erm.token(settings, HR, "hr")
    created = (await gql(client, CREATE, _suggestion("Printer"), token=author))["createSuggestion"]
    task = {"title": "Buy", "assignee": HR, "dueAt": "2027-01-01T00:00:00Z"}
    with pytest.raises(GraphQLFailed, match="the suggestion is pending, not adopted"):
        await gql(client, TASKS, {"id": created["id"], "t": [task]}, token=hr)
    with pytest.raises(GraphQLFailed, match="only roles hr, hr_manager may run it"):
        await gql(client, TRANSITION, {"id": created["id"], "t": "accept"}, token=author)
    with pytest.raises(GraphQLFailed, match="field rejectionReason must have a value"):
        await gql(client, TRANSITION, {"id": created["id"], "t": "reject"}, token=hr)
    tasks = await erm.db.fetchval(f'SELECT count(*) FROM "tenant_{erm.slug}".core_task')
    assert tasks == 0


async def test_slas_escalate_and_accepting_sets_a_working_day_due_date(
    erm: ErmTenant, settings: Settings, client: httpx.AsyncClient
) -> None:
    author, hr = erm.token(settings, AUTHOR, "employee"), erm.token(settings, HR, "hr")
    waiting = (await gql(client, CREATE, _suggestion("Parking"), token=author))["createSuggestion"]
    handled = (await gql(client, CREATE, _suggestion("Coffee"), token=author))["createSuggestion"]
    # when HR accepts one with an owner and no due date
    await gql(client, UPDATE, {"id": handled["id"], "i": {"ownerUserId": HR}}, token=hr)
    await gql(client, TRANSITION, {"id": handled["id"], "t": "accept"}, token=hr)
    record = (await gql(client, GET, {"id": handled["id"]}, token=hr))["suggestion"]
    due = dt.datetime.fromisoformat(record["dueAt"])
    # then it is due in 10 working days (at least two weeks of calendar time)
    assert due - dt.datetime.now(dt.UTC) >= dt.timedelta(days=13)
    assert record["firstResponseAt"] is not None

    # when a month passes: the pending one breached its first-response SLA, the other is overdue
    await sweep_sla(
        erm.db, dt.datetime.now(dt.UTC) + dt.timedelta(days=40), participants=KERNEL.participants
    )

    # then HR management is told of both, and the owner of the overdue one
    rows = await erm.db.fetch(
        f'SELECT recipient, link FROM "tenant_{erm.slug}".core_notification '
        "WHERE link = ANY($1::text[]) ORDER BY 1, 2",
        [f"suggestion/{waiting['id']}", f"suggestion/{handled['id']}"],
    )
    assert [(r["recipient"], r["link"]) for r in rows] == sorted(
        [
            ("role:hr_manager", f"suggestion/{waiting['id']}"),
            ("role:hr_manager", f"suggestion/{handled['id']}"),
            (HR, f"suggestion/{handled['id']}"),  # the accept told the owner …
            (AUTHOR, f"suggestion/{handled['id']}"),  # … and the named submitter
            (HR, f"suggestion/{handled['id']}"),  # and the overdue timer told the owner
        ]
    )
    # and each escalation says what happened, in Chinese and English
    titles = await erm.db.fetch(
        f'SELECT link, title, body FROM "tenant_{erm.slug}".core_notification '
        "WHERE recipient = 'role:hr_manager' AND link = ANY($1::text[])",
        [f"suggestion/{waiting['id']}", f"suggestion/{handled['id']}"],
    )
    assert {r["link"]: (r["title"], r["body"]) for r in titles} == {
        f"suggestion/{waiting['id']}": (
            "建议超过3个工作日未受理 / A suggestion has waited 3 working days for a first response",
            "请尽快受理或答复该建议。 / Accept or reject it as soon as you can.",
        ),
        f"suggestion/{handled['id']}": (
            "建议处理已逾期 / A suggestion is past its due date",
            "负责人尚未完成处理，请跟进。 / Its owner has not finished handling it; please follow up.",
        ),
    }


async def test_statistics_suppress_groups_smaller_than_k(
    erm: ErmTenant, settings: Settings, client: httpx.AsyncClient
) -> None:
    author, hr = erm.token(settings, AUTHOR, "employee"), erm.token(settings, HR, "hr")
    with pytest.raises(GraphQLFailed, match="Only HR"):
        await gql(client, STATS, {"by": "CATEGORY"}, token=author)
    for n in range(5):
        await gql(client, CREATE, _suggestion(f"Benefit {n}", "benefits"), token=author)
    stats = (await gql(client, STATS, {"by": "CATEGORY"}, token=hr))["suggestionStatistics"]
    # the earlier tests made 4 "process" suggestions: fewer than 5, so that group is hidden
    assert stats["minGroupSize"] == 5
    assert stats["groups"] == [{"key": "benefits", "label": None, "count": 5}]
    assert stats["suppressedGroups"] == 1
    assert stats["adoptionRate"] is None  # nothing closed yet: fewer than k to compute it from
    assert stats["medianHoursToFirstResponse"] is None
    by_department = (await gql(client, STATS, {"by": "DEPARTMENT"}, token=hr))[
        "suggestionStatistics"
    ]
    assert by_department["groups"] == [{"key": None, "label": None, "count": 9}]
