"""The workflow's GraphQL fields over real HTTP against a live server."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from rapport.auth.tokens import issue_token
from rapport.db.database import Database
from rapport.metadata.lifecycle import publish
from rapport.metadata.tenants import create_tenant
from rapport.settings import Settings
from tests.live_server import LiveServer, server_settings
from tests.workflow.world import documents

CREATE = "mutation($t: String!) { createCase(input: {title: $t}) { id status } }"
ASSIGN = 'mutation($id: ID!) { updateCase(id: $id, input: {assignee: "hr1"}) { id } }'
TRANSITION = """
mutation($id: ID!, $name: String!, $v: Int) {
  transitionCase(id: $id, transition: $name, comment: "ok", expectedVersion: $v) {
    id state version approvalRequest warnings
  }
}"""
AVAILABLE = "query($id: ID!) { caseTransitions(id: $id) { name to allowed reasons needsApproval } }"
HISTORY = "query($id: ID!) { caseHistory(id: $id) { transition from to actor comment at } }"
INBOX = "{ myApprovals { id recordId transition approver requestedBy comment } }"
APPROVE = 'mutation($t: ID!) { approve(taskId: $t, comment: "fine") { status state } }'


@pytest.fixture(scope="module")
def settings(database_url: str) -> Settings:
    return server_settings(database_url)


@pytest.fixture(scope="module")
def server(settings: Settings) -> Iterator[LiveServer]:
    with LiveServer(settings) as live:
        yield live


@pytest.fixture(scope="module")
async def slug(server: LiveServer, database: Database) -> str:
    slug = f"gq{secrets.token_hex(3)}"
    await create_tenant(database, slug)
    await publish(database, slug, documents(), actor="test")
    return slug


def _token(settings: Settings, slug: str, subject: str, *roles: str) -> str:
    return issue_token(settings, tenant=slug, subject=subject, roles=list(roles))


def _post(server: LiveServer, token: str, query: str, **variables: Any) -> dict[str, Any]:
    response = httpx.post(
        f"{server.url}/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _new_case(server: LiveServer, admin: str, *, assigned: bool = False) -> str:
    created = _post(server, admin, CREATE, t="harassment report")["data"]["createCase"]
    assert created["status"] == "submitted"
    if assigned:
        assert "errors" not in _post(server, admin, ASSIGN, id=created["id"])
    return str(created["id"])


async def test_transition_history_and_available_transitions(
    server: LiveServer, settings: Settings, slug: str
) -> None:
    # given
    admin = _token(settings, slug, "admin1", "admin")
    hr = _token(settings, slug, "hr1", "hr")
    case_id = _new_case(server, admin)
    # when: accepted before anyone is assigned
    refused = _post(server, hr, TRANSITION, id=case_id, name="accept")
    # then: the error lists the reason and what is allowed
    error = refused["errors"][0]
    assert error["extensions"]["code"] == "TRANSITION_NOT_ALLOWED"
    assert "field assignee must have a value" in error["extensions"]["reasons"]
    assert error["extensions"]["allowed"] == ["escalate"]
    # when: assigned, then accepted
    _post(server, admin, ASSIGN, id=case_id)
    done = _post(server, hr, TRANSITION, id=case_id, name="accept", v=2)
    assert done["data"]["transitionCase"]["state"] == "investigating"
    # then
    history = _post(server, admin, HISTORY, id=case_id)["data"]["caseHistory"]
    assert [(h["transition"], h["from"], h["to"], h["actor"]) for h in history] == [
        (None, None, "submitted", "admin1"),
        ("accept", "submitted", "investigating", "hr1"),
    ]
    available = {
        t["name"]: t for t in _post(server, admin, AVAILABLE, id=case_id)["data"]["caseTransitions"]
    }
    assert available["resolve"]["allowed"] and available["resolve"]["needsApproval"]
    assert not available["archive"]["allowed"]
    assert available["archive"]["reasons"] == [
        "not allowed from state 'investigating' (it leaves from resolved)"
    ]


async def test_two_concurrent_requests_for_one_transition_succeed_once(
    server: LiveServer, settings: Settings, slug: str
) -> None:
    # given
    admin = _token(settings, slug, "admin1", "admin")
    hr = _token(settings, slug, "hr1", "hr")
    case_id = _new_case(server, admin, assigned=True)
    body = {"query": TRANSITION, "variables": {"id": case_id, "name": "accept"}}
    # when
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        responses = await asyncio.gather(
            *(
                client.post("/graphql", json=body, headers={"Authorization": f"Bearer {hr}"})
                for _ in range(2)
            )
        )
    # then
    answers = [r.json() for r in responses]
    ok = [a for a in answers if "errors" not in a]
    codes = [a["errors"][0]["extensions"]["code"] for a in answers if "errors" in a]
    assert len(ok) == 1 and codes in (["TRANSITION_NOT_ALLOWED"], ["VERSION_CONFLICT"])


async def test_the_approvals_inbox_and_approve(
    server: LiveServer, settings: Settings, slug: str
) -> None:
    # given: an escalation needing two of u1, u2, u3
    admin = _token(settings, slug, "admin1", "admin")
    hr = _token(settings, slug, "hr1", "hr")
    case_id = _new_case(server, admin)
    opened = _post(server, hr, TRANSITION, id=case_id, name="escalate")["data"]["transitionCase"]
    assert opened["approvalRequest"] and opened["state"] == "submitted"
    # when
    decisions = []
    for user in ("u1", "u2"):
        token = _token(settings, slug, user, "staff")
        (task,) = [
            t
            for t in _post(server, token, INBOX)["data"]["myApprovals"]
            if t["recordId"] == case_id
        ]
        assert (task["approver"], task["requestedBy"], task["comment"]) == (user, "hr1", "ok")
        decisions.append(_post(server, token, APPROVE, t=task["id"])["data"]["approve"])
    # then
    assert decisions == [
        {"status": "pending", "state": None},
        {"status": "approved", "state": "resolved"},
    ]
