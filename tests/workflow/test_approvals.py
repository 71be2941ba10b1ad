"""Approvals: all-of with relation approvers, quorum, sequential, rejection, self and delegation."""

from __future__ import annotations

import datetime as dt

import pytest

from rapport.db.database import Database
from rapport.db.tenants import Tenant
from rapport.errors import Forbidden, TransitionNotAllowed
from rapport.metadata.bundle import TenantMetadata
from rapport.workflow import approvals, engine
from rapport.workflow.history import read_history
from tests.workflow.conftest import NOW, context_for, new_case, new_person

World = tuple[Tenant, TenantMetadata]


async def _run(
    db: Database, world: World, case_id: str, name: str, subject: str, *roles: str
) -> engine.TransitionOutcome:
    context = context_for(world, subject, *roles)
    entity = context.metadata.model.entity("hr/case")
    async with db.transaction() as conn:
        return await engine.transition(conn, context, entity, case_id, name, comment="please")


async def _inbox(
    db: Database, world: World, subject: str, *roles: str, now: dt.datetime = NOW
) -> list[approvals.InboxTask]:
    return await approvals.inbox(
        db, tenant_id=world[0].id, subject=subject, roles=frozenset(roles), now=now
    )


async def _decide(
    db: Database,
    world: World,
    task: str,
    subject: str,
    *roles: str,
    approve: bool = True,
    now: dt.datetime = NOW,
) -> approvals.Decision:
    context = context_for(world, subject, *roles, now=now)
    async with db.transaction() as conn:
        return await approvals.decide(conn, context, task, approve=approve, comment=f"by {subject}")


async def _state(db: Database, world: World, case_id: str) -> str:
    return str(
        await db.fetchval(f'SELECT status FROM "{world[0].schema}".hr_case WHERE id = $1', case_id)
    )


async def _investigating(db: Database, world: World, **values: object) -> str:
    case_id = await new_case(db, world, assignee="hr1", **values)
    await _run(db, world, case_id, "accept", "hr1", "hr")
    return case_id


async def test_all_of_with_the_submitters_manager_and_a_role(db: Database, world: World) -> None:
    # given: the submitter's manager logs in as "boss"
    boss = await new_person(db, world, name="Boss", login="boss")
    emp = await new_person(db, world, name="Emp", login="emp", managerId=boss)
    case_id = await _investigating(db, world, submitterId=emp)
    # when: hr1 asks for resolve
    outcome = await _run(db, world, case_id, "resolve", "hr1", "hr")
    # then: a request is open, the state has not changed, both approvers see a task
    assert outcome.approval_request is not None and outcome.state == "investigating"
    (boss_task,) = [t for t in await _inbox(db, world, "boss") if t.record_id == case_id]
    (mgr_task,) = [t for t in await _inbox(db, world, "m1", "hr_manager") if t.record_id == case_id]
    assert boss_task.approver == "boss" and mgr_task.approver == "role:hr_manager"
    # the pending request blocks other transitions
    with pytest.raises(TransitionNotAllowed, match="approval request for 'resolve' is pending"):
        await _run(db, world, case_id, "review", "hr1", "hr")
    # when: the first approves, nothing moves; the second approves, the state changes
    first = await _decide(db, world, boss_task.id, "boss")
    assert (first.status, await _state(db, world, case_id)) == ("pending", "investigating")
    second = await _decide(db, world, mgr_task.id, "m1", "hr_manager")
    assert (second.status, second.state) == ("approved", "resolved")
    history = await read_history(db, tenant_id=world[0].id, record_id=case_id)
    assert (history[-1].transition, history[-1].actor, history[-1].comment) == (
        "resolve",
        "m1",
        "please",
    )
    assert history[-1].data["requestedBy"] == "hr1"
    decided = await db.fetch(
        "SELECT decided_by, comment, decided_at FROM rapport.approval_tasks "
        "WHERE request_id = $1::uuid ORDER BY position",
        outcome.approval_request,
    )
    assert [(d["decided_by"], d["comment"]) for d in decided] == [
        ("boss", "by boss"),
        ("m1", "by m1"),
    ]
    assert all(d["decided_at"] == NOW for d in decided)


async def test_an_approver_path_without_a_value_refuses_the_request(
    db: Database, world: World
) -> None:
    case_id = await _investigating(db, world)  # no submitter
    with pytest.raises(TransitionNotAllowed, match=r"submitter\.manager\.login has no value"):
        await _run(db, world, case_id, "resolve", "hr1", "hr")


async def test_quorum_two_of_three_and_one_person_decides_one_slot(
    db: Database, world: World
) -> None:
    case_id = await new_case(db, world)
    outcome = await _run(db, world, case_id, "escalate", "hr1", "hr")
    tasks = {t.approver: t for t in await _inbox(db, world, "u1") if t.record_id == case_id}
    assert set(tasks) == {"u1"}
    u2 = next(t for t in await _inbox(db, world, "u2") if t.record_id == case_id)
    assert (await _decide(db, world, tasks["u1"].id, "u1")).status == "pending"
    with pytest.raises(Forbidden, match="not for you"):
        await _decide(db, world, u2.id, "u1")
    decision = await _decide(db, world, u2.id, "u2")
    assert (decision.status, decision.state) == ("approved", "resolved")
    skipped = await db.fetchval(
        "SELECT status FROM rapport.approval_tasks WHERE request_id = $1::uuid AND approver = 'u3'",
        outcome.approval_request,
    )
    assert skipped == "skipped"


async def test_sequential_opens_the_next_slot_after_each_approval(
    db: Database, world: World
) -> None:
    case_id = await _investigating(db, world)
    await _run(db, world, case_id, "review", "hr1", "hr")
    assert not [t for t in await _inbox(db, world, "u2") if t.record_id == case_id]
    (first,) = [t for t in await _inbox(db, world, "u1") if t.record_id == case_id]
    await _decide(db, world, first.id, "u1")
    (second,) = [t for t in await _inbox(db, world, "u2") if t.record_id == case_id]
    assert (await _decide(db, world, second.id, "u2")).state == "resolved"


async def test_rejection_ends_the_request_with_its_comment(db: Database, world: World) -> None:
    case_id = await new_case(db, world)
    outcome = await _run(db, world, case_id, "escalate", "hr1", "hr")
    (task,) = [t for t in await _inbox(db, world, "u3") if t.record_id == case_id]
    decision = await _decide(db, world, task.id, "u3", approve=False)
    assert decision.status == "rejected" and await _state(db, world, case_id) == "submitted"
    row = await db.fetchrow(
        "SELECT r.status, t.comment FROM rapport.approval_requests r JOIN rapport.approval_tasks t "
        "ON t.request_id = r.id WHERE r.id = $1::uuid AND t.approver = 'u3'",
        outcome.approval_request,
    )
    assert row is not None and (row["status"], row["comment"]) == ("rejected", "by u3")
    # the record is free for another transition again
    assert (await _run(db, world, case_id, "escalate", "hr1", "hr")).approval_request


async def test_self_approval_is_forbidden_unless_allowed(db: Database, world: World) -> None:
    # u1 requests an escalation in which u1 is an approver slot
    case_id = await new_case(db, world)
    with pytest.raises(TransitionNotAllowed, match="self-approval is not allowed"):
        await _run(db, world, case_id, "escalate", "u1", "hr")
    # a role slot the requester holds: the requester may not decide it
    boss = await new_person(db, world, name="B", login="boss2")
    emp = await new_person(db, world, name="E", login="e", managerId=boss)
    other = await _investigating(db, world, submitterId=emp)
    await _run(db, world, other, "resolve", "m9", "hr_manager")
    assert not [t for t in await _inbox(db, world, "m9", "hr_manager") if t.record_id == other]
    task = next(t for t in await _inbox(db, world, "m8", "hr_manager") if t.record_id == other)
    with pytest.raises(Forbidden, match="self-approval"):
        await _decide(db, world, task.id, "m9", "hr_manager")


async def test_delegation_hands_tasks_over_for_a_period(db: Database, world: World) -> None:
    # given: u2 is away and delegates to deputy for three days
    context = context_for(world, "u2")
    async with db.transaction() as conn:
        await approvals.delegate(
            conn, context, to="deputy", starts_at=NOW, ends_at=NOW + dt.timedelta(days=3)
        )
    case_id = await new_case(db, world)
    await _run(db, world, case_id, "escalate", "hr1", "hr")
    # then: the deputy sees u2's task during the period, not after it
    (task,) = [t for t in await _inbox(db, world, "deputy") if t.record_id == case_id]
    assert task.approver == "u2"
    later = NOW + dt.timedelta(days=4)
    assert not [t for t in await _inbox(db, world, "deputy", now=later) if t.record_id == case_id]
    with pytest.raises(Forbidden):
        await _decide(db, world, task.id, "deputy", now=later)
    await _decide(db, world, task.id, "deputy")
    on_behalf = await db.fetchval(
        "SELECT on_behalf_of FROM rapport.approval_tasks WHERE id = $1::uuid", task.id
    )
    assert on_behalf == "u2"
