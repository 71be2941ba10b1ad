"""A workflow document that removes a state records are in: reported, refused, or mapped."""

from __future__ import annotations

import json
import secrets
from typing import Any

import pytest

from rapport.db.database import Database
from rapport.db.tenants import drop_tenant
from rapport.errors import PublishFailed
from rapport.metadata.lifecycle import load_published, plan, publish
from rapport.metadata.tenants import create_tenant
from rapport.workflow import engine
from rapport.workflow.history import read_history
from tests.workflow.conftest import context_for, new_case
from tests.workflow.world import CASE, FLOW, documents


def _renamed(body: dict[str, Any]) -> dict[str, Any]:
    renamed: dict[str, Any] = json.loads(json.dumps(body).replace("investigating", "working"))
    return renamed


async def test_removed_states_holding_records_are_refused_until_mapped(db: Database) -> None:
    # given: a tenant with one case in `investigating` and one in `submitted`
    slug = f"mig{secrets.token_hex(3)}"
    await create_tenant(db, slug)
    await publish(db, slug, documents(), actor="test")
    world = await load_published(db, slug)
    moving = await new_case(db, world, assignee="hr1")
    staying = await new_case(db, world)
    context = context_for(world, "hr1", "hr")
    async with db.transaction() as conn:
        await engine.transition(
            conn, context, context.metadata.model.entity("hr/case"), moving, "accept"
        )
    flow, case = _renamed(FLOW), _renamed(CASE)

    # when: planning a version without `investigating` and without a map
    preview = await plan(db, slug, documents(flow=flow, case=case))
    # then: the plan reports the stranded records as a refused step, and publish refuses
    (refused,) = preview.refused_steps
    assert "1 record(s) of hr/case are in state 'investigating'" in refused.summary
    assert "x-stateMap" in refused.reason
    with pytest.raises(PublishFailed, match="investigating"):
        await publish(db, slug, documents(flow=flow, case=case), actor="test")
    schema = world[0].schema
    assert await db.fetchval(f'SELECT status FROM "{schema}".hr_case WHERE id = $1', moving) == (
        "investigating"
    )

    # when: the new document maps the removed state
    flow["x-stateMap"] = {"investigating": "working"}
    preview = await plan(db, slug, documents(flow=flow, case=case))
    assert not preview.refused_steps and not preview.destructive_steps
    assert any("move 1 record(s) of hr/case" in s.summary for s in preview.steps)
    await publish(db, slug, documents(flow=flow, case=case), actor="test")
    # then: the record moved, with a history entry; the other is untouched
    assert await db.fetchval(f'SELECT status FROM "{schema}".hr_case WHERE id = $1', moving) == (
        "working"
    )
    assert await db.fetchval(f'SELECT status FROM "{schema}".hr_case WHERE id = $1', staying) == (
        "submitted"
    )
    history = await read_history(db, tenant_id=world[0].id, record_id=moving)
    assert (history[-1].transition, history[-1].from_state, history[-1].to_state) == (
        "x-stateMap",
        "investigating",
        "working",
    )
    open_deadlines = await db.fetchval(
        "SELECT count(*) FROM rapport.workflow_deadlines WHERE record_id = $1 "
        "AND state = 'investigating' AND cancelled_at IS NULL AND fired_at IS NULL",
        moving,
    )
    assert open_deadlines == 0


async def test_history_is_append_only(db: Database) -> None:
    row_id = await db.fetchval("SELECT id FROM rapport.workflow_history LIMIT 1")
    assert row_id is not None
    with pytest.raises(Exception, match="append-only"):
        await db.execute("UPDATE rapport.workflow_history SET comment = 'x' WHERE id = $1", row_id)
    with pytest.raises(Exception, match="append-only"):
        await db.execute("DELETE FROM rapport.workflow_history WHERE id = $1", row_id)


async def test_dropping_a_tenant_removes_its_history(db: Database) -> None:
    # given
    slug = f"drop{secrets.token_hex(3)}"
    await create_tenant(db, slug)
    await publish(db, slug, documents(), actor="test")
    world = await load_published(db, slug)
    await new_case(db, world)
    # when
    await drop_tenant(db, slug)
    # then: the cascade passes the append-only trigger
    left = await db.fetchval(
        "SELECT count(*) FROM rapport.workflow_history WHERE tenant_id = $1::uuid", world[0].id
    )
    assert left == 0
