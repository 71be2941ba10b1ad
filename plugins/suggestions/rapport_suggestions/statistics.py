"""Suggestion statistics with small groups suppressed (k-anonymity, DESIGN.md privacy baseline).

Counts by status, category or department; the median elapsed hours to the first response and to
closing (from ``createdAt``, which is cut to the day for anonymous suggestions); the
adoption rate among closed suggestions. A group with fewer than k suggestions (the tenant's
``minGroupSize``, 5 by default) is left out and only counted in ``suppressedGroups``, and each
figure is given only when at least k suggestions contribute to it: a count of one or two would
point at the person who wrote them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from rapport.db.database import Connection
from rapport.naming import qualified
from rapport_suggestions.settings import box_settings

__all__ = ["Group", "GroupBy", "Statistics", "statistics"]


class GroupBy(StrEnum):
    STATUS = "status"
    CATEGORY = "category"
    DEPARTMENT = "department"


@dataclass(frozen=True, slots=True)
class Group:
    key: str | None  # the status, category or department id; None: no department
    label: str | None  # the department's name
    count: int


@dataclass(frozen=True, slots=True)
class Statistics:
    min_group_size: int
    groups: tuple[Group, ...]
    suppressed_groups: int
    median_hours_to_first_response: float | None
    median_hours_to_close: float | None
    adoption_rate: float | None


_KEY = {
    GroupBy.STATUS: "s.status",
    GroupBy.CATEGORY: "s.category",
    GroupBy.DEPARTMENT: "s.department_id::text",
}


async def statistics(conn: Connection, schema: str, by: GroupBy) -> Statistics:
    k = (await box_settings(conn, schema)).min_group_size
    suggestions = qualified(schema, "suggestions_suggestion")
    departments = qualified(schema, "org_department")
    rows = await conn.fetch(
        f"SELECT {_KEY[by]} AS key, min(d.name) AS label, count(*) AS n "
        f"FROM {suggestions} AS s LEFT JOIN {departments} AS d ON d.id = s.department_id "
        "GROUP BY 1 ORDER BY 3 DESC, 1"
    )
    (figures,) = await conn.fetch(
        f"""
        SELECT count(first_response_at) AS responded,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY
                   extract(epoch FROM first_response_at - created_at) / 3600) AS to_response,
               count(closed_at) AS closed,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY
                   extract(epoch FROM closed_at - created_at) / 3600) AS to_close,
               count(*) FILTER (WHERE status = 'adopted') AS adopted
        FROM {suggestions}
        """
    )
    shown = [
        Group(r["key"], r["label"] if by is GroupBy.DEPARTMENT else None, r["n"])
        for r in rows
        if r["n"] >= k
    ]
    closed = int(figures["closed"])
    return Statistics(
        min_group_size=k,
        groups=tuple(shown),
        suppressed_groups=len(rows) - len(shown),
        median_hours_to_first_response=_rounded(figures["to_response"])
        if figures["responded"] >= k
        else None,
        median_hours_to_close=_rounded(figures["to_close"]) if closed >= k else None,
        adoption_rate=round(int(figures["adopted"]) / closed, 4) if closed >= k else None,
    )


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(float(value), 2)
