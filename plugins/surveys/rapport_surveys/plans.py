"""Action plans: from a result, a plan with an owner, a due date and ``core/task`` records.

:func:`create_plan` writes the plan and its tasks through the RecordWriter as the HR user (their
permission documents grant ``core/task`` for ``surveys/action_plan``), all or nothing, and
notifies the owner and each assignee. :func:`track` gives each plan of a campaign with its
tasks done and the question's company favourable (or eNPS) in the plan's wave and in the
latest wave — under the same k1 floor as every result — so the next wave shows whether it
moved.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from rapport.composition import KERNEL
from rapport.db.database import Connection
from rapport.errors import FieldError, ValidationFailed
from rapport.notify import notify
from rapport.principal import Principal
from rapport.records.writer import RecordWriter
from rapport_surveys.analysis import Scope, trend

__all__ = ["create_plan", "track"]

PLAN = "surveys/action_plan"
_PLAN_FIELDS = (
    "campaignId",
    "waveId",
    "question",
    "driver",
    "departmentId",
    "title",
    "description",
    "ownerUserId",
    "dueAt",
)


async def create_plan(
    conn: Connection,
    writer: RecordWriter,
    principal: Principal,
    input: Mapping[str, Any],
    tasks: Sequence[Mapping[str, Any]],
) -> str:
    errors = [
        FieldError(("tasks", i, name), "required for an action-plan task")
        for i, task in enumerate(tasks)
        for name in ("title", "assignee", "dueAt")
        if not task.get(name)
    ]
    if errors:
        raise ValidationFailed(errors, hint="Every task needs a title, an assignee and a due date.")
    plan_id = await writer.create(
        conn,
        writer.metadata.model.entity(PLAN),
        {k: input[k] for k in _PLAN_FIELDS if input.get(k) is not None},
        principal=principal,
        path=("input",),
    )
    if tasks:
        await writer.create_many(
            conn,
            writer.metadata.model.entity("core/task"),
            [
                {
                    **{k: t[k] for k in ("title", "assignee", "dueAt", "description") if t.get(k)},
                    "subjectEntity": PLAN,
                    "subjectId": plan_id,
                }
                for t in tasks
            ],
            principal=principal,
            paths=[("tasks", i) for i in range(len(tasks))],
        )
    people = [str(input["ownerUserId"]), *(str(t["assignee"]) for t in tasks)]
    await notify(
        conn,
        tenant_id=writer.tenant.id,
        recipients=people,
        title=f"调查改进计划 / Survey action plan: {input['title']}"[:200],
        body=f"截止 / Due {input['dueAt']}",
        link=f"surveys/action-plans/{plan_id}",
        metadata=(writer.tenant, writer.metadata),
        participants=KERNEL.participants,
    )
    return plan_id


async def track(conn: Connection, scope: Scope) -> list[dict[str, Any]]:
    plans = await conn.fetch(
        f"""SELECT p.id::text AS id, p.title, p.status, p.owner_user_id, p.due_at, p.question,
               p.driver, p.department_id::text AS department, p.wave_id::text AS wave,
               count(t.id)::int AS tasks, count(t.id) FILTER (WHERE t.status = 'done')::int AS done
        FROM {scope.table("surveys_action_plan")} AS p
        LEFT JOIN {scope.table("core_task")} AS t
          ON t.subject_entity = 'surveys/action_plan' AND t.subject_id = p.id
        WHERE p.campaign_id = $1::uuid GROUP BY p.id ORDER BY p.due_at, p.id""",
        scope.campaign_id,
    )
    found = []
    for p in plans:
        moved: dict[str, Any] = {}
        if p["question"] and scope.survey.item(p["question"]) is not None:
            series = await trend(conn, scope, p["question"])
            item = scope.survey.item(p["question"])
            key = "enps" if item is not None and item.type == "nps" else "favourable"
            at_plan = next((w for w in series if w["waveId"] == p["wave"]), None)
            latest = series[-1] if series else None
            moved = {
                "baseline": at_plan.get(key) if at_plan else None,
                "latest": latest.get(key) if latest else None,
                "latestWave": latest["waveNumber"] if latest else None,
            }
        found.append(
            {
                "id": p["id"],
                "title": p["title"],
                "status": p["status"],
                "ownerUserId": p["owner_user_id"],
                "dueAt": p["due_at"].isoformat() if isinstance(p["due_at"], dt.datetime) else None,
                "question": p["question"],
                "driver": p["driver"],
                "departmentId": p["department"],
                "tasks": p["tasks"],
                "tasksDone": p["done"],
                **moved,
            }
        )
    return found
