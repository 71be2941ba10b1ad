"""What recording a separation sets going, in the same transaction (all or nothing).

- The exit interview (``exits/interview``), ``interviewWorkingDaysBefore`` working days before
  the last day at 10:00 China time (or the next working day, should that have passed), held by
  the leaver's HR business partner, else the tenant's default interviewer, else whoever
  recorded the separation.
- The handover checklist as ``core/task`` records about the separation: one per active
  ``exits/handover_item`` (the built-in list when the tenant has none), assigned to the leaver,
  the line manager or HR, due the given days before the last day. Each assignee is notified.
- The exit questionnaire pushed to the leaver (:mod:`rapport_exits.questionnaire`).

Records are written through the RecordWriter as the system principal ``system:exits``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rapport.composition import KERNEL
from rapport.crypto.sealing import KeyRingSealers
from rapport.db.database import Connection
from rapport.naming import qualified
from rapport.notify import notify
from rapport.principal import ADMIN_ROLE, Principal
from rapport.records.change import Change
from rapport.records.writer import RecordWriter
from rapport.workflow.calendar import is_workday
from rapport.workflow.document import Calendar
from rapport_exits.questionnaire import PushTarget, questionnaire_push
from rapport_exits.settings import exit_settings

__all__ = ["DEFAULT_CHECKLIST", "SUBJECT", "schedule_exit", "system_writer"]

SUBJECT = "system:exits"
SEPARATION = "exits/separation"
CHINA = dt.timezone(dt.timedelta(hours=8))


@dataclass(frozen=True, slots=True)
class ChecklistItem:
    title: str
    assign_to: str  # leaver | manager | hr
    days_before: int
    description: str | None = None


DEFAULT_CHECKLIST = (
    ChecklistItem("工作交接 / Hand over ongoing work and documents", "leaver", 2),
    ChecklistItem("归还公司资产 / Return equipment, badge and keys", "leaver", 0),
    ChecklistItem("确认交接完成 / Confirm the handover is complete", "manager", 0),
    ChecklistItem("停用系统账号与权限 / Revoke system accounts and access", "hr", 0),
    ChecklistItem(
        "结算工资、补偿与社保公积金减员 / Final pay, compensation and social insurance", "hr", 0
    ),
    ChecklistItem(
        "出具离职证明（劳动合同法第50条） / Issue the separation certificate (LCL art. 50)", "hr", 0
    ),
)


def system_writer(change: Change) -> tuple[RecordWriter, Principal]:
    writer = RecordWriter(
        change.tenant, change.metadata, participants=KERNEL.participants, sealers=KeyRingSealers()
    )
    principal = Principal(tenant=change.tenant.slug, subject=SUBJECT, roles=frozenset({ADMIN_ROLE}))
    return writer, principal


async def schedule_exit(conn: Connection, change: Change) -> None:
    separation = change.after
    if separation is None:
        return
    schema = change.tenant.schema
    people = await _people(conn, schema, str(separation["employeeId"]))
    settings = await exit_settings(conn, schema)
    interviewer = people.get("hr_user") or settings.default_interviewer or change.principal.subject
    last_day = _date(separation["lastWorkingDay"])
    now = dt.datetime.now(dt.UTC)
    writer, system = system_writer(change)
    calendar = _calendar(change)
    form_push = questionnaire_push(change.metadata)
    interview = {
        "separationId": change.record_id,
        "employeeId": separation["employeeId"],
        "interviewerUserId": interviewer,
        "scheduledAt": _interview_time(
            last_day, settings.interview_working_days_before, now, calendar
        ).isoformat(),
    }
    leaver = people.get("user_id")
    if leaver:
        interview["questionnaireSentAt"] = now.isoformat()
    interview_id = await writer.create(
        conn,
        change.metadata.model.entity("exits/interview"),
        interview,
        principal=system,
        via="exits",
    )
    if leaver:
        target = PushTarget(
            change.tenant, change.metadata, leaver, interview_id, last_day.isoformat()
        )
        form = await form_push.push(conn, target)
        await writer.update(
            conn,
            change.metadata.model.entity("exits/interview"),
            interview_id,
            {"questionnaireForm": form},
            expected_version=1,
            principal=system,
            via="exits",
        )
    await _notify(
        conn,
        change,
        [interviewer],
        "离职面谈已安排 / An exit interview is scheduled",
        f"{people['name']}: {interview['scheduledAt']}",
        f"exits/interview/{interview_id}",
    )
    await _handover(conn, change, writer, system, people, interviewer, last_day)


async def _handover(
    conn: Connection,
    change: Change,
    writer: RecordWriter,
    system: Principal,
    people: Mapping[str, Any],
    interviewer: str,
    last_day: dt.date,
) -> None:
    items = await _checklist(conn, change.tenant.schema)
    owners = {
        "leaver": people.get("user_id"),
        "manager": people.get("manager_user"),
        "hr": people.get("hr_user"),
    }
    tasks = []
    for item in items:
        # Nobody who can sign in for the role: HR (the interviewer) does it or hands it on.
        assignee = owners.get(item.assign_to) or interviewer
        due = dt.datetime.combine(
            last_day - dt.timedelta(days=item.days_before), dt.time(18), CHINA
        )
        task = {
            "title": item.title,
            "assignee": assignee,
            "dueAt": due.isoformat(),
            "subjectEntity": SEPARATION,
            "subjectId": change.record_id,
        }
        if item.description:
            task["description"] = item.description
        tasks.append(task)
    await writer.create_many(
        conn,
        change.metadata.model.entity("core/task"),
        tasks,
        principal=system,
        paths=[("handover", i) for i in range(len(tasks))],
        via="exits",
    )
    for assignee in sorted({str(t["assignee"]) for t in tasks}):
        titles = "; ".join(str(t["title"]) for t in tasks if t["assignee"] == assignee)
        await _notify(
            conn,
            change,
            [assignee],
            f"离职交接任务 / Handover tasks: {people['name']}",
            titles,
            f"exits/separation/{change.record_id}",
        )


async def _checklist(conn: Connection, schema: str) -> tuple[ChecklistItem, ...]:
    rows = await conn.fetch(
        "SELECT title, assign_to, days_before_last_day, description"
        f" FROM {qualified(schema, 'exits_handover_item')}"
        " WHERE coalesce(active, true) ORDER BY position, created_at"
    )
    if not rows:
        return DEFAULT_CHECKLIST
    return tuple(
        ChecklistItem(
            r["title"], r["assign_to"] or "hr", r["days_before_last_day"] or 0, r["description"]
        )
        for r in rows
    )


async def _people(conn: Connection, schema: str, employee_id: str) -> dict[str, Any]:
    employees = qualified(schema, "org_employee")
    row = await conn.fetchrow(
        "SELECT e.name, e.user_id, m.user_id AS manager_user, h.user_id AS hr_user"
        f" FROM {employees} AS e LEFT JOIN {employees} AS m ON m.id = e.manager_id"
        f" LEFT JOIN {employees} AS h ON h.id = e.hr_partner_id WHERE e.id = $1::uuid",
        employee_id,
    )
    return dict(row) if row is not None else {"name": employee_id}


def _interview_time(
    last_day: dt.date, working_days_before: int, now: dt.datetime, calendar: Calendar
) -> dt.datetime:
    day, remaining = last_day, working_days_before
    while remaining > 0:
        day -= dt.timedelta(days=1)
        if is_workday(day, calendar):
            remaining -= 1
    at = dt.datetime.combine(day, dt.time(10), CHINA)
    if at < now + dt.timedelta(days=1):  # too late to prepare: the next working day but one
        day = now.astimezone(CHINA).date() + dt.timedelta(days=1)
        while not is_workday(day, calendar):
            day += dt.timedelta(days=1)
        at = dt.datetime.combine(day, dt.time(10), CHINA)
    return at


def _calendar(change: Change) -> Calendar:
    workflow = change.metadata.workflows.for_entity("exits/interview")
    return workflow.calendar if workflow is not None else Calendar.CN


async def _notify(
    conn: Connection, change: Change, recipients: list[str], title: str, body: str, link: str
) -> None:
    await notify(
        conn,
        tenant_id=change.tenant.id,
        recipients=recipients,
        title=title,
        body=body,
        link=link,
        metadata=(change.tenant, change.metadata),
        participants=KERNEL.participants,
    )


def _date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])
