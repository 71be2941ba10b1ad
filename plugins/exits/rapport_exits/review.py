"""The legal review an art. 39 dismissal of a protected employee needs (ERM.md TM-2, FP-1).

LCL art. 42 does not bar a fault dismissal, so :func:`rapport_exits.protections.check_protections`
returns its findings with severity ``REVIEW``: the dismissal proceeds only with a review that
HR management (role ``hr_manager``) confirms on the record, as the field ``protectionReview``
``{"confirmed": true, "reason": "…"}``. :func:`reviewed` checks it and stamps who reviewed,
when, under which ground and against which findings, so the stored value (and the audit entry
of the write that stores it) says exactly what was weighed. The reviewer, time and findings are
always the server's, never the client's.

A review stored earlier still counts while it covers every current finding (facts may change
while a case runs: a new circumstance needs a new review). A write made by plug-in code on
behalf of a review already recorded elsewhere (``via`` in :data:`TRUSTED_VIAS`: the discipline
decision that records the separation) carries that stamped review unchanged.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

from rapport.errors import FieldError, PathSegment, ValidationFailed
from rapport.principal import Principal
from rapport_exits.protections import Finding, Ground, Severity

__all__ = ["FIELD", "REVIEW_ROLE", "TRUSTED_VIAS", "reviewed"]

FIELD = "protectionReview"
REVIEW_ROLE = "hr_manager"
TRUSTED_VIAS = frozenset({"discipline"})
MIN_REASON = 10  # a word or two is not a legal review

_WHY = (
    "劳动合同法第42条不禁止依第39条过失性解除，但不得因孕期、产期、哺乳期等情形解除（女职工劳动保护特别规定"
    "第5条），须经人力资源经理书面法律审核 / LCL art. 42 does not bar a fault dismissal (art. 39), "
    "but it must not be because of the protected circumstance (FP art. 5, FP-1): it needs a "
    "recorded legal review by HR management"
)
_HOW = (
    "An HR manager (role hr_manager) confirms the legal review in the same request: "
    'protectionReview: {confirmed: true, reason: "<the proven misconduct and why it, not the '
    'circumstance, is the ground>"}. Nothing was saved.'
)


def reviewed(
    findings: Sequence[Finding],
    *,
    given: Any,
    stored: Any,
    principal: Principal,
    via: str,
    ground: Ground,
    path: tuple[PathSegment, ...],
    now: dt.datetime | None = None,
) -> dict[str, Any] | None:
    """The review to store, or None to leave the field as it is; raises when one is missing.

    ``given`` is the client's ``protectionReview`` of this write, ``stored`` the record's."""
    field = (*path, FIELD)
    due = [f for f in findings if f.severity is Severity.REVIEW]
    if given is not None:
        if via in TRUSTED_VIAS:
            review = _mapping(given)
            if _covers(review, due):
                return dict(review)
        else:
            return _stamp(_mapping(given), due, principal, ground, field, now)
    elif _covers(_mapping(stored), due):
        return None
    raise ValidationFailed(
        [FieldError(field, f"{f.message} — {_WHY}", "PROTECTION_REVIEW_REQUIRED") for f in due],
        hint="The employee is protected (" + ", ".join(f.article for f in due) + "). " + _HOW,
    )


def _stamp(
    given: Mapping[str, Any],
    due: Sequence[Finding],
    principal: Principal,
    ground: Ground,
    field: tuple[PathSegment, ...],
    now: dt.datetime | None,
) -> dict[str, Any]:
    if REVIEW_ROLE not in principal.roles:
        raise ValidationFailed(
            [
                FieldError(
                    field,
                    "只有人力资源经理可以确认法律审核 / only HR management (role hr_manager) "
                    "may confirm the legal review",
                    "PROTECTION_REVIEW_FORBIDDEN",
                )
            ],
            hint="Ask an HR manager to record the review; nothing was saved.",
        )
    reason = str(given.get("reason") or "").strip()
    problems = []
    if given.get("confirmed") is not True:
        problems.append(
            FieldError(
                (*field, "confirmed"),
                "the reviewer confirms the review: confirmed must be true",
                "PROTECTION_REVIEW_INCOMPLETE",
            )
        )
    if len(reason) < MIN_REASON:
        problems.append(
            FieldError(
                (*field, "reason"),
                f"give the reason of the review (at least {MIN_REASON} characters)",
                "PROTECTION_REVIEW_INCOMPLETE",
            )
        )
    if problems:
        raise ValidationFailed(problems, hint=_HOW)
    return {
        "confirmed": True,
        "reason": reason,
        "reviewedBy": principal.subject,
        "reviewedAt": (now or dt.datetime.now(dt.UTC)).isoformat(),
        "ground": ground.value,
        "findings": [{"code": f.code, "article": f.article, "zh": f.zh, "en": f.en} for f in due],
    }


def _covers(review: Mapping[str, Any], due: Sequence[Finding]) -> bool:
    if not due:
        return True
    if review.get("confirmed") is not True or not review.get("reviewedBy"):
        return False
    codes = {str(f.get("code")) for f in review.get("findings") or () if isinstance(f, Mapping)}
    return all(f.code in codes for f in due)


def _mapping(value: Any) -> Mapping[str, Any]:
    if isinstance(value, str):  # a JSON column may come back as text
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, Mapping) else {}
