"""Separation reasons by department and period, small groups suppressed in SQL.

The figures are counts of separations (not cancelled, with a reason coded) whose last working
day falls in [from, to], grouped by department and period (month, quarter or year), and within
each group by reason. Every decision to hide a figure is made in the query:

- a group (department × period) with fewer than k separations is suppressed; when exactly one
  group of a period is suppressed, the next-smallest group of that period is suppressed with it,
  since the period's total (shown) minus the shown groups would otherwise give it away;
- within a shown group, a reason with fewer than k separations is suppressed, and when exactly
  one is, the next-smallest reason too (the group's total is shown);
- a period's total is shown only when it reaches k.

k is the tenant's ``minGroupSize`` (5 by default; DESIGN.md privacy baseline, ERM.md).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from rapport.db.database import Connection
from rapport.naming import qualified
from rapport_exits.settings import exit_settings

__all__ = ["Analysis", "Group", "Period", "PeriodTotal", "ReasonCount", "analyse"]


class Period(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


@dataclass(frozen=True, slots=True)
class ReasonCount:
    reason: str
    count: int


@dataclass(frozen=True, slots=True)
class Group:
    department: str | None
    department_name: str | None
    period: dt.date
    total: int
    regretted: int
    reasons: tuple[ReasonCount, ...]
    suppressed_reasons: int


@dataclass(frozen=True, slots=True)
class PeriodTotal:
    period: dt.date
    total: int | None  # None: fewer than k


@dataclass(frozen=True, slots=True)
class Analysis:
    min_group_size: int
    groups: tuple[Group, ...]
    suppressed_groups: int
    periods: tuple[PeriodTotal, ...]


_SQL = """
WITH base AS (
  SELECT s.department_id AS dept, date_trunc($3, s.last_working_day)::date AS period,
         s.reason, s.regrettable
  FROM {separations} AS s
  WHERE s.last_working_day BETWEEN $1 AND $2 AND s.status <> 'cancelled' AND s.reason IS NOT NULL
),
cells AS (
  SELECT dept, period, reason, count(*)::int AS n FROM base GROUP BY dept, period, reason
),
groups AS (
  SELECT dept, period, count(*)::int AS total,
         count(*) FILTER (WHERE regrettable = 'regret')::int AS regretted
  FROM base GROUP BY dept, period
),
g_ranked AS (
  SELECT g.*, g.total < $4 AS primary_hidden,
         count(*) FILTER (WHERE g.total < $4) OVER (PARTITION BY g.period) AS hidden_in_period,
         row_number() OVER (PARTITION BY g.period, g.total < $4 ORDER BY g.total, g.dept) AS rank_in_kind
  FROM groups AS g
),
g_final AS (
  SELECT *, primary_hidden OR (hidden_in_period = 1 AND rank_in_kind = 1) AS hidden FROM g_ranked
),
c_ranked AS (
  SELECT c.*, c.n < $4 AS primary_hidden,
         count(*) FILTER (WHERE c.n < $4) OVER (PARTITION BY c.dept, c.period) AS hidden_in_group,
         row_number() OVER (PARTITION BY c.dept, c.period, c.n < $4 ORDER BY c.n, c.reason) AS rank_in_kind
  FROM cells AS c
)
SELECT 'group' AS row_kind, g.dept::text AS dept, d.name AS dept_name, g.period, NULL::text AS reason,
       CASE WHEN g.hidden THEN NULL ELSE g.total END AS n,
       CASE WHEN g.hidden THEN NULL ELSE g.regretted END AS regretted, g.hidden
FROM g_final AS g LEFT JOIN {departments} AS d ON d.id = g.dept
UNION ALL
SELECT 'reason', c.dept::text, NULL, c.period, c.reason,
       CASE WHEN c.primary_hidden OR (c.hidden_in_group = 1 AND c.rank_in_kind = 1) THEN NULL ELSE c.n END,
       NULL, c.primary_hidden OR (c.hidden_in_group = 1 AND c.rank_in_kind = 1)
FROM c_ranked AS c JOIN g_final AS g ON g.dept IS NOT DISTINCT FROM c.dept AND g.period = c.period
WHERE NOT g.hidden
UNION ALL
SELECT 'period', NULL, NULL, period, NULL, CASE WHEN sum(total) < $4 THEN NULL ELSE sum(total)::int END,
       NULL, sum(total) < $4
FROM groups GROUP BY period
ORDER BY 4, 1, 2, 5
"""


async def analyse(
    conn: Connection, schema: str, *, start: dt.date, end: dt.date, period: Period
) -> Analysis:
    k = (await exit_settings(conn, schema)).min_group_size
    sql = _SQL.format(
        separations=qualified(schema, "exits_separation"),
        departments=qualified(schema, "org_department"),
    )
    rows = await conn.fetch(sql, start, end, period.value, k)
    reasons: dict[tuple[str | None, dt.date], list[ReasonCount]] = {}
    hidden_reasons: dict[tuple[str | None, dt.date], int] = {}
    for r in rows:
        if r["row_kind"] != "reason":
            continue
        key = (r["dept"], r["period"])
        if r["hidden"]:
            hidden_reasons[key] = hidden_reasons.get(key, 0) + 1
        else:
            reasons.setdefault(key, []).append(ReasonCount(r["reason"], r["n"]))
    groups = tuple(
        Group(
            r["dept"],
            r["dept_name"],
            r["period"],
            r["n"],
            r["regretted"],
            tuple(
                sorted(
                    reasons.get((r["dept"], r["period"]), []), key=lambda c: (-c.count, c.reason)
                )
            ),
            hidden_reasons.get((r["dept"], r["period"]), 0),
        )
        for r in rows
        if r["row_kind"] == "group" and not r["hidden"]
    )
    return Analysis(
        min_group_size=k,
        groups=groups,
        suppressed_groups=sum(1 for r in rows if r["row_kind"] == "group" and r["hidden"]),
        periods=tuple(PeriodTotal(r["period"], r["n"]) for r in rows if r["row_kind"] == "period"),
    )
