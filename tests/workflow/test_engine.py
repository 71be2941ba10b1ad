"""Transitions: checks with every reason, the state change and its evidence, concurrency."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from rapport.db.database import Connection, Database
from rapport.db.tenants import Tenant
from rapport.errors import NotFound, TransitionNotAllowed, ValidationFailed, VersionConflict
from rapport.metadata.bundle import TenantMetadata
from rapport.workflow import engine
from rapport.workflow.history import read_history
from rapport.workflow.rules import RuleVerdict, TransitionCheck
from tests.workflow.conftest import NOW, context_for, new_case

World = tuple[Tenant, TenantMetadata]


async def _state(db: Database, world: World, case_id: str) -> str:
    tenant, _ = world
    return str(
        await db.fetchval(f'SELECT status FROM "{tenant.schema}".hr_case WHERE id = $1', case_id)
    )


async def _run(
    db: Database, world: World, case_id: str, name: str, subject: str, *roles: str, **kwargs: object
) -> engine.TransitionOutcome:
    context = context_for(world, subject, *roles)
    entity = context.metadata.model.entity("hr/case")
    async with db.transaction() as conn:
        return await engine.transition(conn, context, entity, case_id, name, **kwargs)  # type: ignore[arg-type]


async def test_a_new_record_starts_in_the_initial_state_and_the_client_cannot_choose(
    db: Database, world: World
) -> None:
    # given / when
    case_id = await new_case(db, world)
    # then
    assert await _state(db, world, case_id) == "submitted"
    history = await read_history(db, tenant_id=world[0].id, record_id=case_id)
    assert [(h.transition, h.from_state, h.to_state) for h in history] == [
        (None, None, "submitted")
    ]
    with pytest.raises(ValidationFailed) as refused:
        await new_case(db, world, status="resolved")
    assert refused.value.errors[0].code == "WORKFLOW_STATE"


async def test_update_cannot_write_the_state_nor_fields_the_state_does_not_let_edit(
    db: Database, world: World
) -> None:
    # given
    case_id = await new_case(db, world, assignee="hr1")
    await _run(db, world, case_id, "accept", "hr1", "hr")
    context = context_for(world, "creator", "admin")
    entity = context.metadata.model.entity("hr/case")
    # when / then: investigating has no editable list, but the state stays the workflow's
    async with db.transaction() as conn:
        with pytest.raises(ValidationFailed, match="set by the workflow"):
            await context.writer.update(
                conn,
                entity,
                case_id,
                {"status": "archived"},
                expected_version=None,
                principal=context.principal,
            )
    # and in `submitted` only the fields it lists may change
    other = await new_case(db, world)
    async with db.transaction() as conn:
        with pytest.raises(ValidationFailed) as refused:
            await context.writer.update(
                conn,
                entity,
                other,
                {"resolution": "done", "assignee": "x"},
                expected_version=None,
                principal=context.principal,
            )
    assert [(e.path, e.code) for e in refused.value.errors] == [
        (("input", "resolution"), "NOT_EDITABLE")
    ]
    async with db.transaction() as conn:
        await context.writer.update(
            conn,
            entity,
            other,
            {"assignee": "x"},
            expected_version=None,
            principal=context.principal,
        )


async def test_a_refused_transition_lists_every_reason_and_what_is_allowed(
    db: Database, world: World
) -> None:
    # given: no assignee, severity above the guard's limit, and a user without role hr
    case_id = await new_case(db, world, severity=8)
    # when
    with pytest.raises(TransitionNotAllowed) as refused:
        await _run(db, world, case_id, "accept", "emp1", "employee")
    # then
    reasons = refused.value.details["reasons"]
    assert "only roles hr may run it" in reasons
    assert "its guard does not hold for this record" in reasons
    assert "field assignee must have a value" in reasons
    assert refused.value.code == "TRANSITION_NOT_ALLOWED"
    assert refused.value.details["allowed"] == ["escalate"]
    assert "archive" in refused.value.details["notAllowed"]
    assert await _state(db, world, case_id) == "submitted"


async def test_a_transition_permission_grants_a_role_the_document_does_not_name(
    db: Database, world: World
) -> None:
    # given: clerk holds `transition:accept` through a permission document
    case_id = await new_case(db, world, assignee="hr1")
    # when
    outcome = await _run(db, world, case_id, "accept", "c1", "clerk")
    # then: accepted; but escalation (no grant needed: no roles) and archive stay as they are
    assert outcome.state == "investigating"
    other = await new_case(db, world, assignee="hr1")
    context = context_for(world, "c1", "clerk")
    entity = context.metadata.model.entity("hr/case")
    async with db.acquire() as conn:
        items = {a.name: a for a in await engine.available(conn, context, entity, other)}
    assert items["accept"].allowed


async def test_a_record_the_user_cannot_read_looks_missing(db: Database, world: World) -> None:
    case_id = await new_case(db, world, assignee="hr1")
    with pytest.raises(NotFound):
        await _run(db, world, case_id, "accept", "o1", "outsider", "hr_reader_elsewhere")


async def test_a_transition_from_the_wrong_state_is_refused(db: Database, world: World) -> None:
    case_id = await new_case(db, world)
    with pytest.raises(TransitionNotAllowed, match="not allowed from state 'submitted'"):
        await _run(db, world, case_id, "archive", "admin1", "admin")
    with pytest.raises(TransitionNotAllowed, match="no transition 'fly'"):
        await _run(db, world, case_id, "fly", "admin1", "admin")


async def test_a_transition_changes_state_logs_history_applies_effects_and_moves_slas(
    db: Database, world: World
) -> None:
    # given
    case_id = await new_case(db, world, assignee="hr1", severity=3)
    # when
    outcome = await _run(db, world, case_id, "accept", "hr1", "hr", comment="taking it")
    # then
    assert (outcome.state, outcome.approval_request) == ("investigating", None)
    tenant, _ = world
    row = await db.fetchrow(
        f'SELECT status, resolution, version FROM "{tenant.schema}".hr_case WHERE id = $1', case_id
    )
    assert row is not None and row["status"] == "investigating"
    assert row["resolution"] == "hr1"  # the set effect ($user.id)
    history = await read_history(db, tenant_id=tenant.id, record_id=case_id)
    last = history[-1]
    assert (last.transition, last.from_state, last.to_state, last.actor, last.comment) == (
        "accept",
        "submitted",
        "investigating",
        "hr1",
        "taking it",
    )
    deadlines = await db.fetch(
        "SELECT state, kind, due_at, cancelled_at FROM rapport.workflow_deadlines "
        "WHERE record_id = $1 ORDER BY id",
        case_id,
    )
    submitted = [d for d in deadlines if d["state"] == "submitted"]
    assert submitted and all(d["cancelled_at"] is not None for d in submitted)
    (breach,) = [d for d in deadlines if d["state"] == "investigating"]
    # 15 working days from Monday 2026-03-02: three weeks later, Monday 2026-03-23
    assert breach["due_at"] == dt.datetime(2026, 3, 23, 9, 0, tzinfo=dt.UTC)
    assert breach["cancelled_at"] is None
    topics = [
        r["topic"]
        for r in await db.fetch(
            "SELECT topic FROM rapport.outbox WHERE tenant_id = $1::uuid AND payload->>'recordId' = $2",
            tenant.id,
            case_id,
        )
    ]
    assert "workflow.transition" in topics
    audit = await db.fetchval(
        "SELECT count(*) FROM rapport.audit_entries WHERE action = 'workflow.transition' "
        "AND record_id = $1",
        case_id,
    )
    assert audit == 1
    notified = await db.fetchval(
        f'SELECT count(*) FROM "{tenant.schema}".core_notification WHERE recipient = $1',
        "creator",
    )
    assert notified >= 1  # {"notify": "submitter"}: the record's creator


async def test_expected_version_must_match(db: Database, world: World) -> None:
    case_id = await new_case(db, world, assignee="hr1")
    with pytest.raises(VersionConflict):
        await _run(db, world, case_id, "accept", "hr1", "hr", expected_version=99)


async def test_the_same_transition_submitted_twice_concurrently_succeeds_once(
    db: Database, world: World
) -> None:
    # given
    case_id = await new_case(db, world, assignee="hr1")
    # when: two requests race for the row lock
    results = await asyncio.gather(
        _run(db, world, case_id, "accept", "hr1", "hr"),
        _run(db, world, case_id, "accept", "hr2", "hr"),
        return_exceptions=True,
    )
    # then
    successes = [r for r in results if isinstance(r, engine.TransitionOutcome)]
    failures = [r for r in results if isinstance(r, TransitionNotAllowed | VersionConflict)]
    assert len(successes) == 1 and len(failures) == 1, results
    history = await read_history(db, tenant_id=world[0].id, record_id=case_id)
    assert [h.transition for h in history].count("accept") == 1


class _Compliance:
    name = "compliance"

    async def check(self, conn: Connection, check: TransitionCheck) -> RuleVerdict:
        if check.record.get("title") == "blocked":
            return RuleVerdict(blocks=("LCL-42: pregnancy protection",))
        return RuleVerdict(warnings=(f"checked {check.transition.name}",))


async def test_rule_hooks_block_with_reasons_or_attach_warnings(db: Database, world: World) -> None:
    # given
    blocked = await new_case(db, world, title="blocked", assignee="hr1")
    fine = await new_case(db, world, title="fine", assignee="hr1")
    # when / then
    with pytest.raises(TransitionNotAllowed, match="compliance: LCL-42"):
        await _run(db, world, blocked, "accept", "hr1", "hr", rules=(_Compliance(),))
    outcome = await _run(db, world, fine, "accept", "hr1", "hr", rules=(_Compliance(),))
    assert outcome.warnings == ("checked accept",)


async def test_available_transitions_answer_for_the_current_user(
    db: Database, world: World
) -> None:
    case_id = await new_case(db, world, assignee="hr1")
    context = context_for(world, "hr1", "hr", now=NOW)
    entity = context.metadata.model.entity("hr/case")
    async with db.acquire() as conn:
        items = {a.name: a for a in await engine.available(conn, context, entity, case_id)}
    assert items["accept"].allowed and not items["accept"].needs_approval
    assert not items["archive"].allowed
    assert items["escalate"].needs_approval
