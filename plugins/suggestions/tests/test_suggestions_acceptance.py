"""Acceptance over HTTP with a real worker: an anonymous suggestion is adopted with two
follow-up tasks and its submitter follows it with the code; nothing links it to them."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from rapport_org import plugin as org_plugin
from rapport_suggestions import plugin as suggestions_plugin
from tests.erm_support import (
    ErmTenant,
    GraphQLFailed,
    about_record,
    gql,
    readable_rows,
    setup_tenant,
    subscribe_transitions,
)
from tests.jobs.support import WorkerProcess, eventually
from tests.notify.receiver import Receiver

from rapport.db.database import Database
from rapport.settings import Settings

EMPLOYEE_USER = "u-wang-7f3a"
HR_USER = "u-hr-li"

SUBMIT = """mutation($i: AnonymousSuggestionInput!) { submitAnonymousSuggestion(input: $i) { followUpCode } }"""
STATUS = """query($c: String!) { anonymousSuggestionStatus(code: $c) {
  status resolution upvotes comments tasks { title status dueAt } } }"""
LIST = "{ suggestions { edges { node { id title status anonymous submitterId version } } } }"
UPDATE = """mutation($id: ID!, $i: SuggestionUpdateInput!) { updateSuggestion(id: $id, input: $i) { id version } }"""
TRANSITION = """mutation($id: ID!, $t: String!) { transitionSuggestion(id: $id, transition: $t) { state } }"""
COMMENT = (
    """mutation($c: String!, $b: String!) { commentAnonymousSuggestion(code: $c, body: $b) }"""
)
MY_TASKS = "{ tasks { edges { node { id title } } } }"
DONE = """mutation($id: ID!) { updateTask(id: $id, input: {status: done}) { id } }"""
ATTACH = """mutation($c: String!, $f: AnonymousSuggestionFileInput!) {
  attachToAnonymousSuggestion(code: $c, file: $f) }"""
FILES = "{ suggestionAttachments { edges { node { file { name } suggestionId } } } }"
TASKS = """mutation($id: ID!, $t: [SuggestionTaskInput!]!) { createSuggestionTasks(id: $id, tasks: $t) }"""


@pytest.fixture(scope="module")
async def erm(database: Database) -> ErmTenant:
    erm = await setup_tenant(database, [org_plugin, suggestions_plugin], "sug")
    sales = await erm.create("org/department", {"name": "Sales"})
    await erm.create(
        "org/employee", {"name": "Wang Fang", "userId": EMPLOYEE_USER, "departmentId": sales}
    )
    await erm.create("org/employee", {"name": "Li Na", "userId": HR_USER})
    return erm


async def test_an_anonymous_suggestion_is_adopted_with_two_tasks_and_followed_by_code(
    erm: ErmTenant,
    settings: Settings,
    client: httpx.AsyncClient,
    database_url: str,
    tmp_path: Path,
    clean_redis: str,
) -> None:
    employee = erm.token(settings, EMPLOYEE_USER, "employee")
    hr = erm.token(settings, HR_USER, "hr")
    with Receiver() as hooks, WorkerProcess(database_url, tmp_path, redis_url=clean_redis):
        await subscribe_transitions(erm, hooks.url + "/hook")
        # given an employee who submits an anonymous suggestion while signed in
        submitted = await gql(
            client,
            SUBMIT,
            {
                "i": {
                    "title": "Quiet room",
                    "body": "We need a quiet room.",
                    "category": "workplace",
                }
            },
            token=employee,
        )
        code = submitted["submitAnonymousSuggestion"]["followUpCode"]
        photo = {"key": "s/room.jpg", "name": "room.jpg", "size": 2048, "contentType": "image/jpeg"}
        await gql(client, ATTACH, {"c": code, "f": photo}, path=f"/public/{erm.slug}/graphql")

        # when HR finds it, names an owner, accepts and adopts it, and creates two tasks
        (edge,) = (await gql(client, LIST, token=hr))["suggestions"]["edges"]
        node = edge["node"]
        (attached,) = (await gql(client, FILES, token=hr))["suggestionAttachments"]["edges"]
        assert attached["node"] == {"file": {"name": "room.jpg"}, "suggestionId": node["id"]}
        assert (node["status"], node["anonymous"], node["submitterId"]) == ("pending", True, None)
        await gql(client, UPDATE, {"id": node["id"], "i": {"ownerUserId": HR_USER}}, token=hr)
        accepted = await gql(client, TRANSITION, {"id": node["id"], "t": "accept"}, token=hr)
        assert accepted["transitionSuggestion"]["state"] == "in_progress"
        with pytest.raises(GraphQLFailed, match="field resolution must have a value"):
            await gql(client, TRANSITION, {"id": node["id"], "t": "adopt"}, token=hr)
        await gql(
            client, UPDATE, {"id": node["id"], "i": {"resolution": "Room 4B from May."}}, token=hr
        )
        await gql(client, TRANSITION, {"id": node["id"], "t": "adopt"}, token=hr)
        tasks = [
            {"title": "Furnish room 4B", "assignee": HR_USER, "dueAt": "2027-05-01T10:00:00+08:00"},
            {"title": "Announce the room", "assignee": "u-facilities", "dueAt": "2027-05-08T10:00:00+08:00"},
        ]  # fmt: skip
        created = await gql(client, TASKS, {"id": node["id"], "t": tasks}, token=hr)
        assert len(created["createSuggestionTasks"]) == 2

        # and the facilities owner reports their task done
        facilities = erm.token(settings, "u-facilities", "employee")
        (own,) = (await gql(client, MY_TASKS, token=facilities))["tasks"]["edges"]
        await gql(client, DONE, {"id": own["node"]["id"]}, token=facilities)

        # then the submitter follows it with the code alone, without a login
        followed = await gql(client, STATUS, {"c": code}, path=f"/public/{erm.slug}/graphql")
        status = followed["anonymousSuggestionStatus"]
        assert status["comments"] == 0
        await gql(
            client, COMMENT, {"c": code, "b": "Thank you!"}, path=f"/public/{erm.slug}/graphql"
        )
        commented = await gql(client, STATUS, {"c": code}, path=f"/public/{erm.slug}/graphql")
        assert commented["anonymousSuggestionStatus"]["comments"] == 1
        assert (status["status"], status["resolution"]) == ("adopted", "Room 4B from May.")
        assert sorted(t["title"] for t in status["tasks"]) == [
            "Announce the room",
            "Furnish room 4B",
        ]
        assert {t["title"]: t["status"] for t in status["tasks"]} == {
            "Furnish room 4B": "open",
            "Announce the room": "done",
        }
        # and the worker delivered the transitions to the subscribed webhook
        await eventually(lambda: _count(hooks.received, 2), timeout=30)
    events = sorted(r.json()["data"]["transition"] for r in hooks.received)
    assert events == ["accept", "adopt"]
    # and each task owner got an in-app notification
    assignees = await erm.db.fetch(
        f'SELECT recipient FROM "tenant_{erm.slug}".core_notification WHERE link = $1',
        f"suggestions/{node['id']}",
    )
    assert sorted(r["recipient"] for r in assignees) == ["u-facilities", HR_USER]

    # and no readable row names the employee's user or the code (but the employee's own rows)
    employee_id = await erm.db.fetchval(
        f'SELECT id::text FROM "tenant_{erm.slug}".org_employee WHERE user_id = $1', EMPLOYEE_USER
    )
    for table, text in await readable_rows(erm.db, erm.slug, erm.tenant_id):
        if table.endswith(".org_employee") or about_record(text, employee_id):
            continue
        assert EMPLOYEE_USER not in text, table
        assert employee_id not in text, table
        assert code not in text, table
    stored = await erm.db.fetchrow(
        f'SELECT created_by, submitter_id, created_at FROM "tenant_{erm.slug}".suggestions_suggestion'
    )
    assert stored is not None
    assert (stored["created_by"], stored["submitter_id"]) == ("anonymous", None)
    assert (stored["created_at"].hour, stored["created_at"].minute) == (0, 0)


async def _count(received: list[object], n: int) -> bool:
    return len(received) >= n
