"""The suppression rule, as SQL: which groups of one breakdown are hidden.

For the groups of one breakdown (the departments of a wave, or the departments' cells of one
question) under a total that is shown:

1. a group with fewer than k responses is hidden (primary suppression);
2. when any group is hidden, the smallest shown groups are hidden with it, one by one, until
   at least two groups are hidden *and* together they hold at least k responses (or every
   group is hidden) — complementary suppression. The total (shown once it reaches k) minus the
   shown groups is then the sum of the hidden ones: a figure about at least k people, never
   about the small group alone. With one small group next to two large ones, the next-smallest
   group must be hidden too, so a breakdown with three groups shows only the largest; it takes
   four groups for two large ones to stay visible (docs/surveys.md).

:func:`hidden_cte` renders the rule over a relation with columns ``part`` (the breakdown, e.g.
the question), ``g`` (the group), ``n`` and ``forced`` (hidden whatever its size, e.g. its
department is hidden in the breakdown above); the result has ``part``, ``g``, ``n``, ``hidden``.
"""

from __future__ import annotations

__all__ = ["hidden_cte"]


def hidden_cte(source: str, k: str) -> str:
    """``ranked AS (...), cut AS (...), decided AS (...)`` over the relation ``source``."""
    return f"""
ranked AS (
  SELECT s.part, s.g, s.n, s.forced,
         row_number() OVER w AS rk,
         sum(s.n) OVER w AS cum,
         count(*) FILTER (WHERE s.n < {k} OR s.forced) OVER (PARTITION BY s.part) AS primaries,
         count(*) OVER (PARTITION BY s.part) AS groups
  FROM {source} AS s
  WINDOW w AS (PARTITION BY s.part ORDER BY s.forced DESC, s.n, s.g)
),
cut AS (
  SELECT part, max(primaries) AS primaries,
         coalesce(min(rk) FILTER (WHERE rk >= greatest(primaries, 2) AND cum >= {k}),
                  max(groups)) AS upto
  FROM ranked GROUP BY part
),
decided AS (
  SELECT r.part, r.g, r.n, (c.primaries > 0 AND r.rk <= c.upto) AS hidden
  FROM ranked AS r JOIN cut AS c ON c.part IS NOT DISTINCT FROM r.part
)"""
