"""Dates a contract derives from its terms, and the LCL checks of those terms.

- ``signDeadline`` = start date + one month (LCL art. 10: a written contract within one month
  of the start of employment; art. 82: double wages after that);
- ``firstReminderOn``/``secondReminderOn`` = end date minus the tenant's reminder days
  (default 60 and 30, ``contracts/contract_settings``);
- ``probationEndDate`` = start date + probation months.

Checks (refused with the article): a fixed-term, task-based or internship contract needs an end
date after its start; a non-fixed-term one has none; probation within LCL art. 19 (none under
three months or for task-based work, at most one month under a year, two under three years,
six otherwise); none for part-time work (art. 70).
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Mapping
from typing import Any

from rapport.errors import FieldError, ValidationFailed

__all__ = ["add_months", "derived_dates", "parse_date"]


def parse_date(value: Any) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _full_months(start: dt.date, until: dt.date) -> int:
    """Whole months from ``start`` to ``until`` (exclusive): a term's length in months."""
    return (until.year - start.year) * 12 + until.month - start.month - (until.day < start.day)


def _check(values: Mapping[str, Any], path: tuple[str | int, ...]) -> None:
    kind = values.get("contractType")
    start, end = parse_date(values.get("startDate")), parse_date(values.get("endDate"))
    probation = int(values.get("probationMonths") or 0)
    errors: list[FieldError] = []
    if kind in ("fixed_term", "task_based", "internship") and (
        end is None or start is None or end <= start
    ):
        errors.append(
            FieldError(
                (*path, "endDate"), "this contract type needs an end date after the start date"
            )
        )
    if kind == "open_ended" and end is not None:
        errors.append(
            FieldError(
                (*path, "endDate"), "a non-fixed-term contract (LCL art. 14) has no end date"
            )
        )
    if probation and start is not None:
        months = None if end is None else _full_months(start, end + dt.timedelta(days=1))
        limit = 6
        if kind in ("task_based", "part_time") or (months is not None and months < 3):
            limit = 0
        elif months is not None and months < 12:
            limit = 1
        elif months is not None and months < 36:
            limit = 2
        if probation > limit:
            article = "art. 70" if kind == "part_time" else "art. 19"
            errors.append(
                FieldError(
                    (*path, "probationMonths"),
                    f"at most {limit} months of probation for this term (LCL {article})",
                )
            )
    if errors:
        raise ValidationFailed(
            errors, hint="Correct the contract's dates or probation; the message names the article."
        )


def _iso(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()


def derived_dates(
    values: Mapping[str, Any], first_days: int, second_days: int, path: tuple[str | int, ...]
) -> dict[str, str | None]:
    """The dates derived from ``values`` (the contract as it will be), after checking it."""
    _check(values, path)
    start, end = parse_date(values.get("startDate")), parse_date(values.get("endDate"))
    probation = int(values.get("probationMonths") or 0)
    return {
        "signDeadline": _iso(None if start is None else add_months(start, 1)),
        "probationEndDate": _iso(
            None
            if start is None or not probation
            else add_months(start, probation) - dt.timedelta(days=1)
        ),
        "firstReminderOn": _iso(None if end is None else end - dt.timedelta(days=first_days)),
        "secondReminderOn": _iso(None if end is None else end - dt.timedelta(days=second_days)),
    }
