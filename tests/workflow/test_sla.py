"""SLA deadlines and date timers: reminders, breaches, cancellation, exactly-once sweeps."""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import secrets

from rapport.composition import KERNEL
from rapport.db.database import Database
from rapport.db.tenants import Tenant
from rapport.metadata.bundle import TenantMetadata
from rapport.metadata.lifecycle import load_published, publish
from rapport.metadata.tenants import create_tenant
from rapport.workflow import engine
from rapport.workflow.document import Effect
from rapport.workflow.effects import apply_effects
from rapport.workflow.sla import SWEEP_SUBJECT, sweep_sla
from tests.workflow.conftest import context_for, new_case
from tests.workflow.world import FLOW, documents

World = tuple[Tenant, TenantMetadata]


async def _row(db: Database, world: World, case_id: str) -> dict[str, object]:
    row = await db.fetchrow(
        f'SELECT status, severity, resolution FROM "{world[0].schema}".hr_case WHERE id = $1',
        case_id,
    )
    assert row is not None
    return dict(row)


async def _deadlines(db: Database, case_id: str) -> list[dict[str, object]]:
    rows = await db.fetch(
        "SELECT kind, name, due_at, fired_at, cancelled_at, error FROM rapport.workflow_deadlines "
        "WHERE record_id = $1 ORDER BY due_at, id",
        case_id,
    )
    return [dict(r) for r in rows]


async def test_a_reminder_then_a_breach_fire_once_each_at_their_time(
    db: Database, world: World
) -> None:
    # given: a case created now, with a 2-day SLA and a reminder 12 h before it
    case_id = await new_case(db, world)
    deadlines = await _deadlines(db, case_id)
    breach = next(d for d in deadlines if d["kind"] == "breach")
    remind = next(d for d in deadlines if d["kind"] == "remind")
    assert breach["due_at"] - remind["due_at"] == dt.timedelta(hours=12)  # type: ignore[operator]
    due = breach["due_at"]
    assert isinstance(due, dt.datetime)
    # when: sweeping before the reminder, at the reminder, and after the breach (twice)
    await sweep_sla(db, due - dt.timedelta(hours=13), participants=KERNEL.participants)
    assert (await _row(db, world, case_id))["resolution"] is None
    await sweep_sla(db, due - dt.timedelta(hours=12), participants=KERNEL.participants)
    assert (await _row(db, world, case_id))["resolution"] == "reminded"
    await sweep_sla(db, due + dt.timedelta(minutes=1), participants=KERNEL.participants)
    await sweep_sla(db, due + dt.timedelta(minutes=2), participants=KERNEL.participants)
    # then: the breach escalated once (severity 9, one notification to role:hr_manager)
    assert (await _row(db, world, case_id))["severity"] == 9
    fired = [d for d in await _deadlines(db, case_id) if d["fired_at"] is not None]
    assert {d["kind"] for d in fired} == {"remind", "breach"} and all(not d["error"] for d in fired)
    notes = await db.fetchval(
        f'SELECT count(*) FROM "{world[0].schema}".core_notification '
        "WHERE recipient = 'role:hr_manager' AND link = $1",
        f"case/{case_id}",
    )
    assert notes == 1


async def test_leaving_the_state_cancels_its_deadlines(db: Database, world: World) -> None:
    # given
    case_id = await new_case(db, world, assignee="hr1")
    context = context_for(world, "hr1", "hr")
    async with db.transaction() as conn:
        await engine.transition(
            conn, context, context.metadata.model.entity("hr/case"), case_id, "accept"
        )
    # when: sweeping long after the submitted SLA
    await sweep_sla(db, context.now + dt.timedelta(days=5), participants=KERNEL.participants)
    # then: nothing of `submitted` fired; severity untouched
    rows = await _deadlines(db, case_id)
    assert all(d["fired_at"] is None for d in rows if d["kind"] == "remind")
    assert (await _row(db, world, case_id))["severity"] is None


async def test_a_date_timer_fires_thirty_days_before_the_date_and_rearms_when_it_moves(
    db: Database, world: World
) -> None:
    # given: a due date far ahead
    case_id = await new_case(db, world, dueDate="2027-06-30")
    (timer,) = [d for d in await _deadlines(db, case_id) if d["kind"] == "timer"]
    assert timer["due_at"] == dt.datetime(2027, 5, 31, tzinfo=dt.UTC)
    # when: the date moves, the timer moves with it
    context = context_for(world, "creator", "admin")
    entity = context.metadata.model.entity("hr/case")
    async with db.transaction() as conn:
        await context.writer.update(
            conn,
            entity,
            case_id,
            {"dueDate": "2027-07-31"},
            expected_version=None,
            principal=context.principal,
        )
    timers = [d for d in await _deadlines(db, case_id) if d["kind"] == "timer"]
    open_ = [d for d in timers if d["cancelled_at"] is None]
    assert [d["due_at"] for d in open_] == [dt.datetime(2027, 7, 1, tzinfo=dt.UTC)]
    # then: it fires at its time
    await sweep_sla(
        db, dt.datetime(2027, 7, 1, 0, 1, tzinfo=dt.UTC), participants=KERNEL.participants
    )
    assert (await _row(db, world, case_id))["severity"] == 7


async def test_concurrent_sweeps_fire_each_deadline_exactly_once(
    db: Database, world: World
) -> None:
    # given: several cases whose SLA breaches are due
    ids = [await new_case(db, world, title=f"c{i}") for i in range(6)]
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=3)
    # when: three workers sweep at once, in small batches
    results = await asyncio.gather(
        *(sweep_sla(db, later, batch=2, participants=KERNEL.participants) for _ in range(3))
    )
    # then
    fired = await db.fetchval(
        "SELECT count(*) FROM rapport.workflow_deadlines WHERE record_id = ANY($1::uuid[]) "
        "AND fired_at IS NOT NULL",
        ids,
    )
    assert fired == 12  # a reminder and a breach per case
    assert sum(r.fired for r in results) >= 12
    notes = await db.fetchval(
        f'SELECT count(*) FROM "{world[0].schema}".core_notification WHERE link = ANY($1::text[])',
        [f"case/{i}" for i in ids],
    )
    assert notes == 6


def test_the_worker_runs_the_sweep_as_a_cron_job_every_minute() -> None:
    from rapport.composition import KERNEL
    from rapport.workflow.sla import sla_cron

    (spec,) = [c for c in KERNEL.cron_jobs if c.name == "workflow.sla"]
    assert spec.handler is sla_cron and spec.minute is None


async def test_a_notify_effect_with_its_own_text_writes_it_in_every_language(
    db: Database, world: World
) -> None:
    # given the breach of a case flow whose escalation carries its own zh/en text
    tenant, metadata = world
    case_id = await new_case(db, world)
    context = context_for(world, "system", "admin")
    entity = metadata.model.entity("hr/case")
    effect = Effect("notify", {"to": "role:hr_manager",
                               "title": {"en": "Case overdue", "zh": "案件已超时"},
                               "body": {"en": "Please act.", "zh": "请处理。"}})  # fmt: skip

    # when the effect is applied
    async with db.transaction() as conn:
        await apply_effects(conn, context, entity, case_id, (effect,), event={"kind": "breach"})

    # then the notification reads in Chinese, then English
    row = await db.fetchrow(
        f'SELECT title, body FROM "{tenant.schema}".core_notification '
        "WHERE link = $1 AND title LIKE '案件%'",
        f"case/{case_id}",
    )
    assert row is not None
    assert (row["title"], row["body"]) == ("案件已超时 / Case overdue", "请处理。 / Please act.")


async def test_a_timer_that_sets_the_state_moves_the_record_as_a_transition_would(
    db: Database,
) -> None:
    # given: cases whose due date moves them to `investigating` by itself, where a follow-up
    # timer of that state waits ten days after the date
    flow = copy.deepcopy(FLOW)
    flow["timers"] = [
        {
            "name": "lapse",
            "field": "dueDate",
            "after": "P0D",
            "states": ["submitted"],
            "effects": [{"set": {"status": "investigating"}}],
        },
        {
            "name": "follow-up",
            "field": "dueDate",
            "after": "P10D",
            "states": ["investigating"],
            "effects": [{"set": {"severity": 3}}],
        },
    ]
    slug = f"wt{secrets.token_hex(3)}"
    await create_tenant(db, slug)
    await publish(db, slug, documents(flow=flow), actor="test")
    world = await load_published(db, slug)
    # due tomorrow: before submitted's reminder (36 h from now) and its breach (48 h)
    tomorrow = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)
    case_id = await new_case(db, world, dueDate=tomorrow.isoformat())
    armed = {d["name"] for d in await _deadlines(db, case_id) if d["kind"] == "timer"}
    assert armed == {"lapse"}  # follow-up belongs to a state the case is not in yet
    # when: the due date passes
    lapsed = dt.datetime.combine(tomorrow, dt.time(0, 1), dt.UTC)
    await sweep_sla(db, lapsed, participants=KERNEL.participants)
    # then: the move is in the history, submitted's SLA ended, investigating's began, and the
    # follow-up timer is armed while `lapse` is not armed again
    assert (await _row(db, world, case_id))["status"] == "investigating"
    history = await db.fetch(
        "SELECT from_state, to_state, actor FROM rapport.workflow_history "
        "WHERE record_id = $1 ORDER BY at, id",
        case_id,
    )
    assert [tuple(h) for h in history][-1] == ("submitted", "investigating", SWEEP_SUBJECT)
    rows = await _deadlines(db, case_id)
    open_ = {(d["kind"], d["name"]) for d in rows if not d["fired_at"] and not d["cancelled_at"]}
    assert open_ == {("breach", "investigating"), ("timer", "follow-up")}
    assert all(d["cancelled_at"] for d in rows if d["name"] == "submitted" and not d["fired_at"])
    assert [d["name"] for d in rows if d["fired_at"]] == ["lapse"]
    # and when the follow-up is due it fires once
    later = lapsed + dt.timedelta(days=10)
    await sweep_sla(db, later, participants=KERNEL.participants)
    await sweep_sla(db, later + dt.timedelta(minutes=1), participants=KERNEL.participants)
    assert (await _row(db, world, case_id))["severity"] == 3
    fired = [d["name"] for d in await _deadlines(db, case_id) if d["fired_at"]]
    assert sorted(fired) == ["follow-up", "lapse"]
