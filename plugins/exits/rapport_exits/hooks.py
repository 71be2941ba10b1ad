"""The exits plug-in's hooks: the rules every write of a separation obeys, whatever its path.

Recording or changing a separation checks its notice period (:mod:`rapport_exits.notice`) and,
for a dismissal or a contract expiry, the employee's protections
(:mod:`rapport_exits.protections`): arts. 40/41 and expiry are refused, an art. 39 dismissal
needs HR management's recorded legal review (:mod:`rapport_exits.review`), stored on the
separation. Every problem is reported at once and nothing is written.
Recording one schedules the exit interview, the handover tasks and the questionnaire
(:mod:`rapport_exits.scheduling`). An interview completed with the outcome *retained* cancels
its separation and the open handover tasks. A questionnaire answer is tied to the leaver's own
interview.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rapport.db.database import Connection
from rapport.errors import FieldError, ValidationFailed
from rapport.naming import qualified
from rapport.plugins import Hooks
from rapport.records.change import Change, PendingChange
from rapport.workflow.context import WorkflowContext
from rapport.workflow.engine import transition
from rapport_exits.notice import notice_problems
from rapport_exits.protections import (
    Finding,
    Ground,
    ProtectionFacts,
    check_protections,
    load_facts,
    refuse_if_protected,
)
from rapport_exits.review import FIELD as REVIEW
from rapport_exits.review import reviewed
from rapport_exits.scheduling import schedule_exit, system_writer

if TYPE_CHECKING:
    from rapport.graphql.contributions import Contributor

__all__ = ["ExitHooks", "protected_findings", "protection_check"]

SEPARATION = "exits/separation"
INTERVIEW = "exits/interview"
RESPONSE = "exits/questionnaire_response"
CHECKED = (
    "type",
    "dismissalGround",
    "noticeGivenOn",
    "lastWorkingDay",
    "inProbation",
    "payInLieuOfNotice",
    "protectionReview",  # a review changed alone is checked (and stamped) again
)


class ExitHooks(Hooks):
    async def before_create(self, conn: Connection, change: PendingChange) -> PendingChange:
        if change.entity.id == SEPARATION:
            return await _check_separation(conn, change, await _defaults(conn, change))
        if change.entity.id == RESPONSE:
            return await _own_interview(conn, change)
        return change

    async def before_update(self, conn: Connection, change: PendingChange) -> PendingChange:
        if change.entity.id != SEPARATION or change.before is None:
            return change
        if not any(
            name in change.input and change.input[name] != change.before.get(name)
            for name in CHECKED
        ):
            return change
        return await _check_separation(conn, change, {**change.before, **change.input})

    async def after_create(self, conn: Connection, change: Change) -> None:
        if change.entity.id == SEPARATION:
            await schedule_exit(conn, change)
        elif change.entity.id == RESPONSE and change.after is not None:
            writer, system = system_writer(change)
            interview = str(change.after["interviewId"])
            version = await conn.fetchval(
                f"SELECT version FROM {qualified(change.tenant.schema, 'exits_interview')} WHERE id = $1::uuid",
                interview,
            )
            await writer.update(
                conn,
                change.metadata.model.entity(INTERVIEW),
                interview,
                {"questionnaireAnsweredAt": dt.datetime.now(dt.UTC).isoformat()},
                expected_version=version,
                principal=system,
                via="exits",
            )

    async def after_update(self, conn: Connection, change: Change) -> None:
        after, before = change.after or {}, change.before or {}
        if (
            change.entity.id == INTERVIEW
            and after.get("status") == "completed"
            and before.get("status") != "completed"
            and after.get("outcome") == "retained"
        ):
            await _retained(conn, change, str(after["separationId"]))

    def graphql(self) -> tuple[Contributor, ...]:
        # Imported here: the GraphQL layer imports the plug-in registry, which imports us.
        from rapport_exits.graphql import contribute

        return (contribute,)


async def protected_findings(
    conn: Connection, schema: str, employee_id: str, ground: Ground, last_day: dt.date | None
) -> tuple[Any, ...]:
    """The protections standing against a termination now or on ``last_day`` (deduplicated)."""
    return (await protection_check(conn, schema, employee_id, ground, last_day))[1]


async def protection_check(
    conn: Connection, schema: str, employee_id: str, ground: Ground, last_day: dt.date | None
) -> tuple[ProtectionFacts, tuple[Finding, ...], tuple[dt.date, ...]]:
    """What the check read and found: (the facts, the findings, the days checked)."""
    facts = await load_facts(conn, schema, employee_id)
    days = tuple(sorted({dt.date.today(), *([last_day] if last_day else [])}))
    found = {f.code: f for day in days for f in check_protections(facts, on=day, ground=ground)}
    return facts, tuple(found[c] for c in sorted(found)), days


async def _defaults(conn: Connection, change: PendingChange) -> dict[str, Any]:
    input = dict(change.input)
    employee = input.get("employeeId")
    if employee is None:
        return input
    row = await conn.fetchrow(
        f"SELECT status, department_id::text AS department FROM {qualified(change.tenant.schema, 'org_employee')}"
        " WHERE id = $1::uuid",
        str(employee),
    )
    if row is not None:
        input.setdefault("departmentId", row["department"])
        if input.get("inProbation") is None:
            input["inProbation"] = row["status"] == "probation"
    if input.get("rehireEligibility") is None:
        fault = input.get("type") == "dismissal" and input.get("dismissalGround") == "art39"
        input["rehireEligibility"] = "not_eligible" if fault else "conditional"
    return {k: v for k, v in input.items() if v is not None}


async def _check_separation(
    conn: Connection, change: PendingChange, record: Mapping[str, Any]
) -> PendingChange:
    problems = notice_problems(record, change.path)
    if problems:
        raise ValidationFailed(
            problems,
            hint="Correct the notice date or the last working day (the articles are cited); "
            "nothing was saved.",
        )
    kind, employee = record.get("type"), record.get("employeeId")
    if employee is not None and kind in ("dismissal", "contract_expiry"):
        ground = (
            Ground.EXPIRY
            if kind == "contract_expiry"
            else Ground(str(record.get("dismissalGround")))
        )
        last = record.get("lastWorkingDay")
        last_day = dt.date.fromisoformat(str(last)[:10]) if last else None
        findings = await protected_findings(
            conn, change.tenant.schema, str(employee), ground, last_day
        )
        refuse_if_protected(findings, (*change.path, "type"))
        review = reviewed(
            findings,
            given=change.input.get(REVIEW),
            stored=(change.before or {}).get(REVIEW),
            principal=change.principal,
            via=change.via,
            ground=ground,
            path=change.path,
        )
        if review is not None:
            return change.with_input({**_written(change, record), REVIEW: review})
    elif change.input.get(REVIEW) is not None:
        # Only a termination that needs one carries a review; anything else would mislead.
        raise ValidationFailed(
            [FieldError((*change.path, REVIEW), "only an art. 39 dismissal takes a legal review")],
            hint="Leave protectionReview out; nothing was saved.",
        )
    return change.with_input(_written(change, record))


def _written(change: PendingChange, record: Mapping[str, Any]) -> dict[str, Any]:
    return dict(record) if change.before is None else dict(change.input)


async def _own_interview(conn: Connection, change: PendingChange) -> PendingChange:
    input = dict(change.input)
    employee = change.principal.attributes.get("employee") or input.get("employeeId")
    interviews = qualified(change.tenant.schema, "exits_interview")
    if input.get("interviewId") is None and employee:
        input["interviewId"] = await conn.fetchval(
            f"SELECT id::text FROM {interviews} WHERE employee_id = $1::uuid AND status = 'scheduled'"
            " ORDER BY created_at DESC LIMIT 1",
            str(employee),
        )
    row = None
    if input.get("interviewId") is not None:
        row = await conn.fetchrow(
            f"SELECT employee_id::text AS employee FROM {interviews} WHERE id = $1::uuid",
            str(input["interviewId"]),
        )
    if row is None or (employee and row["employee"] != str(employee)):
        raise ValidationFailed(
            [FieldError((*change.path, "interview"), "no exit interview of yours is open")],
            hint="The questionnaire is answered by the leaver, for their own exit interview.",
        )
    input["employeeId"] = row["employee"]
    return change.with_input(input)


async def _retained(conn: Connection, change: Change, separation_id: str) -> None:
    writer, system = system_writer(change)
    schema = change.tenant.schema
    row = await conn.fetchrow(
        f"SELECT status FROM {qualified(schema, 'exits_separation')} WHERE id = $1::uuid",
        separation_id,
    )
    if row is None or row["status"] in ("completed", "cancelled"):
        return
    context = WorkflowContext(
        change.tenant, change.metadata, writer, system, dt.datetime.now(dt.UTC)
    )
    await transition(
        conn,
        context,
        change.metadata.model.entity(SEPARATION),
        separation_id,
        "cancel",
        comment="员工已挽留 / retained at the exit interview",
    )
    tasks = await conn.fetch(
        f"SELECT id::text, version FROM {qualified(schema, 'core_task')}"
        " WHERE subject_entity = $1 AND subject_id = $2::uuid AND status IN ('open', 'in_progress')",
        SEPARATION,
        separation_id,
    )
    for task in tasks:
        await writer.update(
            conn,
            change.metadata.model.entity("core/task"),
            task["id"],
            {"status": "cancelled"},
            expected_version=task["version"],
            principal=system,
            via="exits",
        )
