"""Working days with the PRC holiday calendar (调休 included) or plain weekdays."""

from __future__ import annotations

import datetime as dt

from rapport.workflow.calendar import add_working_days, is_workday
from rapport.workflow.document import Calendar


def test_national_day_is_no_workday_and_a_makeup_saturday_is_one() -> None:
    # 2025-10-01 is National Day; Saturday 2025-09-28 was a 调休 make-up workday.
    assert not is_workday(dt.date(2025, 10, 1), Calendar.CN)
    assert is_workday(dt.date(2025, 9, 28), Calendar.CN)
    # The tenant's opt-out: weekdays only
    assert is_workday(dt.date(2025, 10, 1), Calendar.WEEKDAYS)
    assert not is_workday(dt.date(2025, 9, 28), Calendar.WEEKDAYS)


def test_adding_working_days_skips_the_golden_week() -> None:
    start = dt.datetime(2025, 9, 30, 10, tzinfo=dt.UTC)  # Tuesday before National Day
    # CN: Oct 1–8 are holidays, Sat Oct 11 is a make-up workday: Oct 9, 10, 11
    assert add_working_days(start, 3, Calendar.CN) == dt.datetime(2025, 10, 11, 10, tzinfo=dt.UTC)
    assert add_working_days(start, 3, Calendar.WEEKDAYS) == dt.datetime(
        2025, 10, 3, 10, tzinfo=dt.UTC
    )


def test_years_the_calendar_does_not_know_fall_back_to_weekdays() -> None:
    assert is_workday(dt.date(2099, 1, 1), Calendar.CN)  # a Thursday
    assert not is_workday(dt.date(2099, 1, 3), Calendar.CN)  # a Saturday
