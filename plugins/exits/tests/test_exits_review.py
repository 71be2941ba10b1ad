"""The legal review of an art. 39 dismissal of a protected employee, as a plain function."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from rapport_exits.protections import Ground, ProtectionFacts, check_protections
from rapport_exits.review import reviewed

from rapport.errors import ValidationFailed
from rapport.principal import Principal

DAY = dt.date(2026, 6, 1)
NOW = dt.datetime(2026, 5, 20, 9, 30, tzinfo=dt.UTC)
HRM = Principal(tenant="t", subject="u-hrm", roles=frozenset({"hr_manager"}))
HR = Principal(tenant="t", subject="u-hr", roles=frozenset({"hr", "admin"}))
PREGNANT = check_protections(ProtectionFacts(pregnancy="pregnant"), on=DAY, ground=Ground.FAULT)
REVIEW = {"confirmed": True, "reason": "Proven theft: CCTV, two witnesses, her statement."}


def _review(given: Any, stored: Any = None, **kwargs: Any) -> dict[str, Any] | None:
    options: dict[str, Any] = {"principal": HRM, "via": "graphql", **kwargs}
    return reviewed(
        options.pop("findings", PREGNANT),
        given=given,
        stored=stored,
        ground=Ground.FAULT,
        path=("input",),
        now=NOW,
        **options,
    )


def _codes(failed: pytest.ExceptionInfo[ValidationFailed]) -> list[tuple[str, str | None]]:
    return [(".".join(map(str, e.path)), e.code) for e in failed.value.errors]


def test_without_a_review_the_dismissal_is_refused_saying_what_to_give() -> None:
    with pytest.raises(ValidationFailed) as failed:
        _review(None)
    assert _codes(failed) == [("input.protectionReview", "PROTECTION_REVIEW_REQUIRED")]
    assert "LCL art. 42(4)" in failed.value.errors[0].message
    assert "FP-1" in failed.value.errors[0].message
    assert "protectionReview: {confirmed: true" in str(failed.value.hint)
    # nothing to review: nothing asked
    assert _review(None, findings=()) is None


def test_an_hr_manager_review_is_stamped_by_the_server() -> None:
    stamped = _review({**REVIEW, "reviewedBy": "forged", "findings": []})
    assert stamped == {
        "confirmed": True,
        "reason": REVIEW["reason"],
        "reviewedBy": "u-hrm",
        "reviewedAt": NOW.isoformat(),
        "ground": "art39",
        "findings": [
            {
                "code": "TM-2.4",
                "article": "LCL art. 42(4)",
                "zh": PREGNANT[0].zh,
                "en": PREGNANT[0].en,
            }
        ],
    }
    # a stored review covering the findings still counts; a new circumstance needs a new one
    assert _review(None, stored=stamped) is None
    both = check_protections(
        ProtectionFacts(pregnancy="pregnant", medical_treatment_until=DAY),
        on=DAY,
        ground=Ground.FAULT,
    )
    with pytest.raises(ValidationFailed) as failed:
        _review(None, stored=stamped, findings=both)
    assert [e.code for e in failed.value.errors] == ["PROTECTION_REVIEW_REQUIRED"] * 2


def test_only_hr_management_confirms_a_complete_review() -> None:
    with pytest.raises(ValidationFailed) as failed:
        _review(REVIEW, principal=HR)  # not even an admin without the hr_manager role
    assert _codes(failed) == [("input.protectionReview", "PROTECTION_REVIEW_FORBIDDEN")]
    with pytest.raises(ValidationFailed) as failed:
        _review({"confirmed": False, "reason": "fine"})
    assert _codes(failed) == [
        ("input.protectionReview.confirmed", "PROTECTION_REVIEW_INCOMPLETE"),
        ("input.protectionReview.reason", "PROTECTION_REVIEW_INCOMPLETE"),
    ]


def test_a_plugin_write_carries_a_stamped_review_only_if_it_covers_the_findings() -> None:
    stamped = _review(REVIEW)
    system = Principal(tenant="t", subject="system:discipline", roles=frozenset({"admin"}))
    assert _review(stamped, principal=system, via="discipline") == stamped
    with pytest.raises(ValidationFailed):  # unstamped, even through the trusted path
        _review(REVIEW, principal=system, via="discipline")
    with pytest.raises(ValidationFailed):  # a stamped review is re-stamped on a user's path
        _review(stamped, principal=system, via="graphql")
