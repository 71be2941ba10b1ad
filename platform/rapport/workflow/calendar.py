"""Working days: PRC statutory holidays and 调休 make-up workdays, or plain weekdays.

``chinesecalendar`` (LKI/chinese-calendar) knows the State Council's holiday arrangement for
each year it ships; outside those years it raises, and we fall back to Monday–Friday rather than
stop every SLA — the next release of the package extends the range.
"""

from __future__ import annotations

import datetime as dt

import chinese_calendar

from rapport.workflow.document import Calendar

__all__ = ["add_working_days", "is_workday"]


def is_workday(day: dt.date, calendar: Calendar) -> bool:
    if calendar is Calendar.CN:
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            pass
    return day.weekday() < 5


def add_working_days(start: dt.datetime, days: int, calendar: Calendar) -> dt.datetime:
    """The moment ``days`` working days after ``start`` (same time of day).

    Counting starts the day after ``start``: a complaint filed on Friday evening with a 2-day
    working SLA is due on Tuesday evening, and a holiday week adds its length.
    """
    current = start
    remaining = days
    while remaining > 0:
        current += dt.timedelta(days=1)
        if is_workday(current.date(), calendar):
            remaining -= 1
    return current
