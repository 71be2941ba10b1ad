"""Protections against termination (ERM.md TM-2): facts in, findings out.

:func:`check_protections` is a pure function — the compliance plug-in can take it over with
rule data — of the facts of one employee on one date and the ground of the termination. Each
finding names its rule and article:

- LCL art. 42(1): an occupational-hazard worker without the pre-departure health examination,
  or a suspected occupational disease under diagnosis or medical observation;
- art. 42(2): an occupational disease or a work injury with capacity (partly) lost;
- art. 42(3): within the medical treatment period;
- art. 42(4): pregnancy, maternity or nursing (also 女职工劳动保护特别规定 art. 5);
- art. 42(5): 15 or more years' continuous service and within 5 years of statutory retirement.

Art. 42 bars terminations on the grounds of arts. 40 and 41, and at the end of a fixed term
art. 45 extends the contract until the circumstance ends: those findings have severity
``BLOCK``. A fault dismissal (art. 39) is not barred by art. 42 — a pregnant employee who
commits serious misconduct may lawfully be dismissed — but it must not be *because of* the
circumstance (女职工劳动保护特别规定 art. 5, ERM.md FP-1) and courts scrutinise exactly these
cases, so under art. 39 the same findings have severity ``REVIEW``: the dismissal proceeds once
HR management has recorded a legal review (:mod:`rapport_exits.review`).
:func:`load_facts` reads the facts (``exits/employee_protection``, the org hire date) and
:func:`refuse_if_protected` turns the blocking findings into a validation error citing the
articles.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from enum import StrEnum

from rapport.db.database import Connection
from rapport.errors import FieldError, PathSegment, ValidationFailed
from rapport.naming import qualified

__all__ = [
    "Finding",
    "Ground",
    "ProtectionFacts",
    "Severity",
    "check_protections",
    "load_facts",
    "refuse_if_protected",
]


class Ground(StrEnum):
    FAULT = "art39"
    NOTICE = "art40"
    REDUNDANCY = "art41"
    EXPIRY = "expiry"


class Severity(StrEnum):
    BLOCK = "block"  # the law bars the termination (arts. 40/41 via art. 42; expiry via art. 45)
    REVIEW = "review"  # lawful but high-risk (art. 39): needs a recorded legal review


@dataclass(frozen=True, slots=True)
class ProtectionFacts:
    pregnancy: str = "none"  # none | pregnant | maternity_leave | nursing
    pregnancy_until: dt.date | None = None
    medical_treatment_until: dt.date | None = None
    work_injury_capacity_loss: str = "none"  # none | partial | total
    occupational_hazard_exposure: bool = False
    exit_health_exam_done: bool = False
    occupational_disease_suspected: bool = False
    continuous_service_from: dt.date | None = None
    statutory_retirement_on: dt.date | None = None


@dataclass(frozen=True, slots=True)
class Finding:
    code: str  # the rule, e.g. "TM-2.4"
    article: str  # "LCL art. 42(4)"
    zh: str
    en: str
    severity: Severity = Severity.BLOCK

    @property
    def message(self) -> str:
        return f"{self.zh} / {self.en}"


def check_protections(
    facts: ProtectionFacts, *, on: dt.date, ground: Ground
) -> tuple[Finding, ...]:
    """The protections that stand against a termination on ``ground`` taking effect ``on``:
    blocking for arts. 40/41 and expiry, to be reviewed for art. 39."""
    found = _found(facts, on=on, ground=ground)
    if ground is not Ground.FAULT:
        return found
    return tuple(replace(f, severity=Severity.REVIEW) for f in found)


def _found(facts: ProtectionFacts, *, on: dt.date, ground: Ground) -> tuple[Finding, ...]:
    article = "LCL art. 45" if ground is Ground.EXPIRY else "LCL art. 42"
    cn = "劳动合同法第45条、第42条" if ground is Ground.EXPIRY else "劳动合同法第42条"
    found: list[Finding] = []
    if facts.occupational_disease_suspected or (
        facts.occupational_hazard_exposure and not facts.exit_health_exam_done
    ):
        found.append(
            Finding(
                "TM-2.1",
                f"{article}(1)",
                f"{cn}第（一）项：从事接触职业病危害作业未进行离岗前职业健康检查，或疑似职业病病人在诊断或者医学观察期间",
                f"{article}(1): an occupational-hazard worker without the pre-departure "
                "health examination, or a suspected occupational disease under diagnosis "
                "or observation",
            )
        )
    if facts.work_injury_capacity_loss != "none":
        found.append(
            Finding(
                "TM-2.2",
                f"{article}(2)",
                f"{cn}第（二）项：患职业病或者因工负伤并被确认丧失或者部分丧失劳动能力",
                f"{article}(2): an occupational disease or work injury with working "
                "capacity lost or partly lost",
            )
        )
    if facts.medical_treatment_until is not None and facts.medical_treatment_until >= on:
        found.append(
            Finding(
                "TM-2.3",
                f"{article}(3)",
                f"{cn}第（三）项：患病或者非因工负伤，在规定的医疗期内（至 {facts.medical_treatment_until}）",
                f"{article}(3): within the medical treatment period (until "
                f"{facts.medical_treatment_until})",
            )
        )
    if facts.pregnancy != "none" and (facts.pregnancy_until is None or facts.pregnancy_until >= on):
        found.append(
            Finding(
                "TM-2.4",
                f"{article}(4)",
                f"{cn}第（四）项：女职工在孕期、产期、哺乳期",
                f"{article}(4): the employee is in pregnancy, maternity or nursing "
                f"({facts.pregnancy.replace('_', ' ')})",
            )
        )
    service = facts.continuous_service_from
    retirement = facts.statutory_retirement_on
    if (
        service is not None
        and retirement is not None
        and _years_later(service, 15) <= on
        and _years_later(retirement, -5) <= on
    ):
        found.append(
            Finding(
                "TM-2.5",
                f"{article}(5)",
                f"{cn}第（五）项：在本单位连续工作满十五年，且距法定退休年龄不足五年",
                f"{article}(5): 15 or more years' continuous service and less than 5 years "
                "to statutory retirement",
            )
        )
    return tuple(found)


async def load_facts(conn: Connection, schema: str, employee_id: str) -> ProtectionFacts:
    """The protection facts of an employee; defaults (no protection) where nothing is recorded."""
    row = await conn.fetchrow(
        "SELECT p.pregnancy, p.pregnancy_until, p.medical_treatment_until,"
        " p.work_injury_capacity_loss, p.occupational_hazard_exposure, p.exit_health_exam_done,"
        " p.occupational_disease_suspected, coalesce(p.continuous_service_from, e.hired_on)"
        " AS service_from, p.statutory_retirement_on"
        f" FROM {qualified(schema, 'org_employee')} AS e"
        f" LEFT JOIN {qualified(schema, 'exits_employee_protection')} AS p ON p.employee_id = e.id"
        " WHERE e.id = $1::uuid",
        employee_id,
    )
    if row is None:
        return ProtectionFacts()
    return ProtectionFacts(
        pregnancy=row["pregnancy"] or "none",
        pregnancy_until=row["pregnancy_until"],
        medical_treatment_until=row["medical_treatment_until"],
        work_injury_capacity_loss=row["work_injury_capacity_loss"] or "none",
        occupational_hazard_exposure=bool(row["occupational_hazard_exposure"]),
        exit_health_exam_done=bool(row["exit_health_exam_done"]),
        occupational_disease_suspected=bool(row["occupational_disease_suspected"]),
        continuous_service_from=row["service_from"],
        statutory_retirement_on=row["statutory_retirement_on"],
    )


def refuse_if_protected(findings: tuple[Finding, ...], field: tuple[PathSegment, ...]) -> None:
    """Raise VALIDATION_FAILED listing every blocking finding (code ``PROTECTED_EMPLOYEE``), if
    any; findings to be reviewed are left to :func:`rapport_exits.review.reviewed`."""
    blocking = [f for f in findings if f.severity is Severity.BLOCK]
    if not blocking:
        return
    raise ValidationFailed(
        [FieldError(field, f.message, "PROTECTED_EMPLOYEE") for f in blocking],
        hint="The employee is protected (" + ", ".join(f.article for f in blocking) + "): "
        "the termination is refused while the circumstance lasts. Correct the facts in "
        "exits/employee_protection if they are wrong.",
    )


def _years_later(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)
