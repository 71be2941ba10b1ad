"""What a disciplinary case must respect at each step (run by the hooks on every write).

- The rule must be in force, and a sanction must be one the rule allows; a dismissal only under
  a serious rule (LCL art. 39(2): 严重违反用人单位的规章制度).
- A dismissal of a protected employee (:func:`rapport_exits.protections.check_protections`)
  is a fault dismissal, which LCL art. 42 does not bar, but it needs HR management's recorded
  legal review (:mod:`rapport_exits.review`, ``protectionReview`` on the case): checked when it
  is proposed and again when the decision takes effect (facts may change while the approval
  runs; a new circumstance needs a new review). The decision passes the review on to the
  separation it records, and seals what its final check read and found into the case's
  evidence (:mod:`rapport_discipline.protection_record`).
- Asking for the statement sets its deadline (``statementWorkingDays`` working days); the case
  cannot proceed without a statement before the deadline: the right to respond.
- A decision needs the rule's minimum of evidence files; it sets the appeal deadline and the
  sanction's dates. An appeal is refused after its deadline; a decided case is archived only
  once the appeal period is over. A varied appeal names the new sanction.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from rapport_exits.hooks import protection_check
from rapport_exits.protections import Ground, refuse_if_protected
from rapport_exits.review import FIELD as REVIEW
from rapport_exits.review import reviewed

from rapport.db.database import Connection
from rapport.errors import FieldError, ValidationFailed
from rapport.naming import qualified
from rapport.records.change import PendingChange
from rapport.workflow.calendar import add_working_days
from rapport.workflow.document import Calendar
from rapport_discipline.protection_record import check_record, seal_check
from rapport_discipline.settings import discipline_settings

__all__ = ["check_case"]

DISMISSAL = "dismissal"


async def check_case(conn: Connection, change: PendingChange) -> PendingChange:
    before = change.before or {}
    record = {**before, **change.input}
    input = dict(change.input)
    now = dt.datetime.now(dt.UTC)
    moving_to = input.get("status") if input.get("status") != before.get("status") else None
    schema = change.tenant.schema
    if (
        change.before is None
        or "ruleId" in input
        or "proposedSanction" in input
        or REVIEW in input
        or moving_to == "decided"
    ):
        review, sealed = await _sanction_allowed(
            conn, change, record, decided=moving_to == "decided"
        )
        if review is not None:
            input[REVIEW] = review
        input.update(sealed)
    if change.before is None and not input.get("reportedByUserId"):
        input["reportedByUserId"] = change.principal.subject
    settings = await discipline_settings(conn, schema)
    if moving_to == "awaiting_statement":
        statement_due = add_working_days(now, settings.statement_working_days, Calendar.CN)
        input["statementDueAt"] = statement_due.isoformat()
    elif moving_to == "deciding" and not record.get("statement"):
        due = _time(record.get("statementDueAt"))
        if due is not None and now < due:
            raise _refused(
                change,
                "status",
                f"员工有权在 {due.isoformat()} 前陈述和申辩，期限届满前不能作出决定 / the employee "
                f"may respond until {due.isoformat()}; the case cannot proceed before then",
                "Wait for the statement or for the deadline to pass.",
            )
    elif moving_to == "decided":
        input["appealDueAt"] = (now + dt.timedelta(days=settings.appeal_days)).isoformat()
        start = _day(record.get("sanctionFrom")) or now.date()
        input["sanctionFrom"] = start.isoformat()
        if record.get("proposedSanction") != DISMISSAL and not record.get("sanctionUntil"):
            input["sanctionUntil"] = _months_later(start, settings.sanction_months).isoformat()
    elif moving_to == "appealed":
        due = _time(record.get("appealDueAt"))
        if due is not None and now > due:
            raise _refused(
                change,
                "appealText",
                f"申诉期限已于 {due.isoformat()} 届满 / the appeal period ended on {due.isoformat()}",
                "An appeal is made within the appeal period.",
            )
    elif moving_to == "archived" and before.get("status") == "decided":
        due = _time(record.get("appealDueAt"))
        if due is not None and now < due:
            raise _refused(
                change,
                "status",
                f"申诉期限至 {due.isoformat()} 尚未届满 / the appeal period runs until {due.isoformat()}",
                "Archive the case once the appeal period is over.",
            )
    elif (
        moving_to == "appeal_decided"
        and record.get("appealOutcome") == "varied"
        and not record.get("variedSanction")
    ):
        raise _refused(
            change,
            "variedSanction",
            "变更处分须注明新处分 / a varied appeal names the new sanction",
            "Set variedSanction, or uphold or overturn the decision.",
        )
    return change.with_input(input)


async def _sanction_allowed(
    conn: Connection, change: PendingChange, record: Mapping[str, Any], *, decided: bool
) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """Refuse a sanction the rule does not allow; the legal review to store, if one is given,
    and — for a dismissal taking effect — the sealed record of the protection check."""
    rule = await conn.fetchrow(
        f"SELECT code, severity, sanctions_allowed, minimum_evidence, active"
        f" FROM {qualified(change.tenant.schema, 'discipline_handbook_rule')} WHERE id = $1::uuid",
        str(record.get("ruleId")),
    )
    if rule is None:
        raise _refused(change, "rule", "no such handbook rule", "Choose a rule of the handbook.")
    if rule["active"] is False:
        raise _refused(
            change,
            "rule",
            f"rule {rule['code']} is no longer in force",
            "Report the case under a rule in force.",
        )
    sanction = record.get("proposedSanction")
    review = None
    if sanction != DISMISSAL and change.input.get(REVIEW) is not None:
        raise _refused(
            change,
            REVIEW,
            "only a proposed dismissal takes a legal review",
            "Propose the dismissal in the same request, or leave protectionReview out.",
        )
    if sanction is None:
        return None, {}
    sealed: dict[str, str] = {}
    allowed = rule["sanctions_allowed"]
    allowed = json.loads(allowed) if isinstance(allowed, str) else list(allowed or [])
    if sanction not in allowed:
        raise _refused(
            change,
            "proposedSanction",
            f"条款 {rule['code']} 不允许该处分 / rule {rule['code']} does not allow {sanction}",
            "Choose one of the sanctions the rule allows: " + ", ".join(allowed) + ".",
        )
    if sanction == DISMISSAL:
        if rule["severity"] != "gross":
            raise _refused(
                change,
                "proposedSanction",
                "劳动合同法第39条第（二）项：仅严重违反规章制度方可解除劳动合同 / LCL art. 39(2): "
                f"only a serious breach allows dismissal, and rule {rule['code']} is {rule['severity']}",
                "Choose a lesser sanction, or a rule the handbook marks as serious.",
            )
        last = _day(record.get("sanctionFrom"))
        employee = str(record["employeeId"])
        facts, findings, days = await protection_check(
            conn, change.tenant.schema, employee, Ground.FAULT, last
        )
        refuse_if_protected(findings, (*change.path, "proposedSanction"))  # none under art. 39
        review = reviewed(
            findings,
            given=change.input.get(REVIEW),
            stored=(change.before or {}).get(REVIEW),
            principal=change.principal,
            via=change.via,
            ground=Ground.FAULT,
            path=change.path,
        )
        if decided:
            covering = review or _mapping((change.before or {}).get(REVIEW))
            checked = check_record(change, employee, Ground.FAULT, days, facts, findings, covering)
            sealed = await seal_check(conn, change, checked)
    if decided:
        evidence = await conn.fetchval(
            f"SELECT count(*) FROM {qualified(change.tenant.schema, 'discipline_case_evidence')}"
            " WHERE case_id = $1::uuid",
            change.record_id,
        )
        needed = rule["minimum_evidence"] or 0
        if evidence < needed:
            raise _refused(
                change,
                "evidence",
                f"条款 {rule['code']} 至少需要 {needed} 份证据，现有 {evidence} 份 / rule "
                f"{rule['code']} needs {needed} evidence file(s), the case has {evidence}",
                "Add the evidence the rule asks for before the decision.",
            )
    return review, sealed


def _refused(change: PendingChange, field: str, message: str, hint: str) -> ValidationFailed:
    return ValidationFailed([FieldError((*change.path, field), message)], hint=hint)


def _mapping(value: Any) -> dict[str, Any] | None:
    if isinstance(value, str):
        value = json.loads(value)
    return dict(value) if isinstance(value, Mapping) else None


def _time(value: Any) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value))


def _day(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _months_later(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")  # every month has 28 days
