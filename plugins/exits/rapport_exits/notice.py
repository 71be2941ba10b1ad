"""Notice periods of a separation (ERM.md RS-1, TM-1), checked when it is recorded or changed.

- A resignation needs written notice 30 days before the last working day, 3 days in probation
  (LCL art. 37). An earlier release the company agrees to is a mutual agreement (art. 36).
- A dismissal names its ground. With notice (art. 40) it needs 30 days' written notice or one
  month's pay in lieu (代通知金); a fault dismissal (art. 39) needs none.

The rules are plain functions of the separation's fields: they return the problems (each naming
the field to fix and the article), so a caller refuses the write with all of them at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from rapport.errors import FieldError, PathSegment

__all__ = ["NOTICE_DAYS", "PROBATION_NOTICE_DAYS", "notice_problems"]

NOTICE_DAYS = 30  # LCL art. 37 (resignation) and art. 40 (dismissal with notice)
PROBATION_NOTICE_DAYS = 3  # LCL art. 37, during probation


def notice_problems(
    separation: Mapping[str, Any], path: tuple[PathSegment, ...]
) -> list[FieldError]:
    """Every notice-period problem of ``separation`` (GraphQL field names, dates as ISO strings)."""
    kind = separation.get("type")
    notice = _date(separation.get("noticeGivenOn"))
    last = _date(separation.get("lastWorkingDay"))
    problems: list[FieldError] = []
    if notice is not None and last is not None and last < notice:
        problems.append(
            FieldError(
                (*path, "lastWorkingDay"),
                f"最后工作日 {last} 早于书面通知日 {notice} / "
                f"the last working day {last} is before the written notice of {notice}",
                "NOTICE_PERIOD",
            )
        )
        return problems
    if kind == "resignation":
        probation = bool(separation.get("inProbation"))
        days = PROBATION_NOTICE_DAYS if probation else NOTICE_DAYS
        during = "试用期内" if probation else ""
        if notice is None:
            problems.append(
                FieldError(
                    (*path, "noticeGivenOn"),
                    f"劳动合同法第37条：辞职须{during}提前{days}日书面通知，请填写通知日期 / "
                    f"LCL art. 37: a resignation needs written notice {days} days ahead; "
                    "give the date of the notice",
                    "NOTICE_PERIOD",
                )
            )
        elif last is not None and (last - notice).days < days:
            problems.append(
                FieldError(
                    (*path, "lastWorkingDay"),
                    f"劳动合同法第37条：{during}辞职须提前{days}日书面通知，"
                    f"{notice} 通知至 {last} 仅 {(last - notice).days} 日，"
                    f"最后工作日最早为 {notice + dt.timedelta(days=days)} / "
                    f"LCL art. 37: a resignation{' in probation' if probation else ''} needs "
                    f"{days} days' written notice; {notice} to {last} is "
                    f"{(last - notice).days} days, so the last working day is "
                    f"{notice + dt.timedelta(days=days)} at the earliest "
                    "(an earlier release the company agrees to is a mutual agreement, art. 36)",
                    "NOTICE_PERIOD",
                )
            )
    if kind == "dismissal":
        ground = separation.get("dismissalGround")
        if ground is None:
            problems.append(
                FieldError(
                    (*path, "dismissalGround"),
                    "解除劳动合同须注明依据（第39、40或41条） / a dismissal needs its ground: "
                    "LCL art. 39 (fault), 40 (with notice) or 41 (redundancy)",
                    "REQUIRED",
                )
            )
        elif (
            ground == "art40"
            and not separation.get("payInLieuOfNotice")
            and (notice is None or (last is not None and (last - notice).days < NOTICE_DAYS))
        ):
            problems.append(
                FieldError(
                    (*path, "noticeGivenOn"),
                    f"劳动合同法第40条：须提前{NOTICE_DAYS}日书面通知或额外支付一个月工资 / "
                    f"LCL art. 40: give {NOTICE_DAYS} days' written notice before the last "
                    "working day, or one month's pay in lieu (payInLieuOfNotice)",
                    "NOTICE_PERIOD",
                )
            )
    return problems


def _date(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])
