"""The notice-period and protection rules as plain functions: facts in, problems out."""

from __future__ import annotations

import datetime as dt

from rapport_exits.notice import notice_problems
from rapport_exits.protections import Ground, ProtectionFacts, Severity, check_protections

DAY = dt.date(2026, 6, 1)


def _messages(separation: dict[str, object]) -> list[str]:
    return [
        f"{'.'.join(map(str, p.path))}: {p.message}"
        for p in notice_problems(separation, ("input",))
    ]


def test_a_resignation_needs_30_days_notice_and_3_in_probation() -> None:
    base = {"type": "resignation", "noticeGivenOn": "2026-05-01"}
    assert _messages({**base, "lastWorkingDay": "2026-05-31"}) == []
    (short,) = _messages({**base, "lastWorkingDay": "2026-05-20"})
    assert short.startswith("input.lastWorkingDay: 劳动合同法第37条")
    assert "LCL art. 37" in short and "2026-05-31 at the earliest" in short
    assert _messages({**base, "lastWorkingDay": "2026-05-04", "inProbation": True}) == []
    (probation,) = _messages({**base, "lastWorkingDay": "2026-05-03", "inProbation": True})
    assert "3 days' written notice" in probation
    (missing,) = _messages({"type": "resignation", "lastWorkingDay": "2026-05-03"})
    assert missing.startswith("input.noticeGivenOn: 劳动合同法第37条")


def test_a_dismissal_names_its_ground_and_art_40_needs_notice_or_pay_in_lieu() -> None:
    (ground,) = _messages({"type": "dismissal", "lastWorkingDay": "2026-05-03"})
    assert ground.startswith("input.dismissalGround")
    art40 = {"type": "dismissal", "dismissalGround": "art40", "lastWorkingDay": "2026-05-10"}
    (notice,) = _messages({**art40, "noticeGivenOn": "2026-05-01"})
    assert "LCL art. 40" in notice
    assert _messages({**art40, "payInLieuOfNotice": True}) == []
    assert (
        _messages({"type": "dismissal", "dismissalGround": "art39", "lastWorkingDay": "2026-05-03"})
        == []
    )
    (backwards,) = _messages(
        {"type": "mutual_agreement", "noticeGivenOn": "2026-05-09", "lastWorkingDay": "2026-05-03"}
    )
    assert backwards.startswith("input.lastWorkingDay")


def test_each_protection_of_art_42_is_found_with_its_article() -> None:
    assert check_protections(ProtectionFacts(), on=DAY, ground=Ground.NOTICE) == ()
    everything = ProtectionFacts(
        pregnancy="nursing",
        medical_treatment_until=DAY,
        work_injury_capacity_loss="partial",
        occupational_hazard_exposure=True,
        continuous_service_from=dt.date(2010, 1, 1),
        statutory_retirement_on=dt.date(2030, 1, 1),
    )
    found = check_protections(everything, on=DAY, ground=Ground.NOTICE)
    assert [(f.code, f.article) for f in found] == [
        ("TM-2.1", "LCL art. 42(1)"),
        ("TM-2.2", "LCL art. 42(2)"),
        ("TM-2.3", "LCL art. 42(3)"),
        ("TM-2.4", "LCL art. 42(4)"),
        ("TM-2.5", "LCL art. 42(5)"),
    ]
    assert found[3].zh == "劳动合同法第42条第（四）项：女职工在孕期、产期、哺乳期"
    # at the end of a fixed term the contract is extended (art. 45)
    (expiry,) = check_protections(
        ProtectionFacts(pregnancy="pregnant"), on=DAY, ground=Ground.EXPIRY
    )
    assert expiry.article == "LCL art. 45(4)" and expiry.severity is Severity.BLOCK


def test_art_42_blocks_arts_40_and_41_but_an_art_39_dismissal_is_reviewed() -> None:
    pregnant = ProtectionFacts(pregnancy="pregnant")
    for ground in (Ground.NOTICE, Ground.REDUNDANCY, Ground.EXPIRY):
        (found,) = check_protections(pregnant, on=DAY, ground=ground)
        assert found.severity is Severity.BLOCK
    # LCL art. 42 bars only terminations under arts. 40/41: a fault dismissal is lawful but
    # high-risk (FP-1), so the same finding asks for a review instead of blocking
    (fault,) = check_protections(pregnant, on=DAY, ground=Ground.FAULT)
    assert (fault.code, fault.article, fault.severity) == (
        "TM-2.4",
        "LCL art. 42(4)",
        Severity.REVIEW,
    )


def test_protections_end_when_their_period_ends() -> None:
    over = ProtectionFacts(
        pregnancy="nursing",
        pregnancy_until=DAY - dt.timedelta(days=1),
        medical_treatment_until=DAY - dt.timedelta(days=1),
        occupational_hazard_exposure=True,
        exit_health_exam_done=True,
        # 15 years' service reached, but more than 5 years to retirement
        continuous_service_from=dt.date(2010, 1, 1),
        statutory_retirement_on=dt.date(2031, 6, 2),
    )
    assert check_protections(over, on=DAY, ground=Ground.REDUNDANCY) == ()
    # 5 years to retirement, but not yet 15 years' service
    young = ProtectionFacts(
        continuous_service_from=dt.date(2011, 6, 2), statutory_retirement_on=dt.date(2030, 1, 1)
    )
    assert check_protections(young, on=DAY, ground=Ground.NOTICE) == ()
