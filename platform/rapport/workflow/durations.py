"""ISO-8601 durations as workflow documents write them (``P2D``, ``PT4H``, ``P1W2DT30M``).

Years and months are refused: their length depends on the date they start from, and an SLA
whose length changes with the calendar month is a surprise nobody asked for; write days.
"""

from __future__ import annotations

import datetime as dt
import re

__all__ = ["parse_duration", "whole_days"]

_DURATION = re.compile(
    r"^P(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+)S)?)?$",
    re.ASCII,
)


def parse_duration(text: str) -> dt.timedelta | None:
    """The duration, or None when ``text`` is not a week/day/time ISO-8601 duration."""
    match = _DURATION.match(text)
    if match is None or text in ("P", "PT") or text.endswith("T"):
        return None
    parts = {k: int(v) for k, v in match.groupdict().items() if v is not None}
    return dt.timedelta(
        weeks=parts.get("w", 0),
        days=parts.get("d", 0),
        hours=parts.get("h", 0),
        minutes=parts.get("m", 0),
        seconds=parts.get("s", 0),
    )


def whole_days(duration: dt.timedelta) -> int | None:
    """The number of days when the duration is a whole number of days, else None."""
    if duration.seconds or duration.microseconds:
        return None
    return duration.days
