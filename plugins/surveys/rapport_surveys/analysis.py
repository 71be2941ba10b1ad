"""Results of a wave, computed in SQL, every figure under the campaign's thresholds.

- **Scope**: one wave (default: the latest that opened), grouped by department, tenure band or
  not at all, optionally filtered to departments or tenure bands. A filter is refused when it
  leaves fewer than k1 responses, and also when it leaves out fewer than k1 (the unfiltered
  result minus the filtered one would describe those few): ``BELOW_THRESHOLD``.
- **Groups** are hidden by :mod:`rapport_surveys.suppression` (fewer than k1, plus
  complementary suppression); the company row is shown from k1 responses.
- **Cells** (question × group): n, mean, the distribution, favourable / neutral / unfavourable
  (above, at, below the scale's midpoint) and, for 0–10 questions, eNPS (% promoters 9–10 minus
  % detractors 0–6) with the three counts. Per question the rule runs again, with the hidden
  groups forced hidden: an optional question answered by few people in a shown group is hidden
  there, and its next-smallest neighbour with it.
- **Response rate** from participation (invited, answered), by group under the same rule.
- **Trend** across the campaign's waves and **driver impact** (Pearson correlation and slope of
  each driver's per-respondent mean against the outcome question, with n) use the same floors.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rapport.db.database import Connection
from rapport.errors import FieldError, NotFound, ValidationFailed
from rapport.naming import qualified
from rapport_surveys.builder import CompiledSurvey, compile_definition
from rapport_surveys.suppression import hidden_cte

__all__ = [
    "GROUP_KEYS",
    "RESPONSE_FILTER",
    "Scope",
    "check_filter",
    "driver_impact",
    "load_scope",
    "response_rate",
    "results",
    "trend",
]

GROUP_KEYS = {
    "department": "coalesce(r.department_id::text, 'none')",
    "tenure": "r.tenure_band",
    "none": "'all'",
}
RESPONSE_FILTER = (
    "(cardinality($2::uuid[]) = 0 OR r.department_id = ANY($2::uuid[]))"
    " AND (cardinality($3::text[]) = 0 OR r.tenure_band = ANY($3::text[]))"
)


@dataclass(frozen=True, slots=True)
class Scope:
    schema: str
    campaign_id: str
    wave_id: str
    wave_number: int
    survey: CompiledSurvey
    outcome: str | None
    k1: int
    k2: int
    group_by: str = "department"
    departments: tuple[str, ...] = ()
    tenure_bands: tuple[str, ...] = ()

    def table(self, name: str) -> str:
        return qualified(self.schema, name)


async def load_scope(
    conn: Connection,
    schema: str,
    campaign_id: str,
    wave_id: str | None,
    *,
    group_by: str = "department",
    departments: Sequence[str] = (),
    tenure_bands: Sequence[str] = (),
) -> Scope:
    row = await conn.fetchrow(
        f"SELECT c.min_responses, c.min_comments, s.definition, s.outcome_question,"
        " w.id::text AS wave, w.number"
        f" FROM {qualified(schema, 'surveys_campaign')} AS c"
        f" JOIN {qualified(schema, 'surveys_survey')} AS s ON s.id = c.survey_id"
        f" LEFT JOIN LATERAL (SELECT id, number FROM {qualified(schema, 'surveys_wave')} AS w"
        "   WHERE w.campaign_id = c.id"
        "     AND (w.id = $2::uuid OR ($2 IS NULL AND w.status <> 'scheduled'))"
        "   ORDER BY w.number DESC LIMIT 1) AS w ON true"
        " WHERE c.id = $1::uuid",
        campaign_id,
        wave_id,
    )
    if row is None or row["wave"] is None:
        raise NotFound(
            "No such campaign, or it has no wave that opened yet.",
            hint="Give the id of a launched campaign (and of one of its waves).",
        )
    definition = row["definition"]
    survey = compile_definition(
        json.loads(definition) if isinstance(definition, str) else definition
    )
    return Scope(
        schema,
        campaign_id,
        row["wave"],
        row["number"],
        survey,
        row["outcome_question"],
        int(row["min_responses"] or 5),
        int(row["min_comments"] or 10),
        group_by,
        tuple(departments),
        tuple(tenure_bands),
    )


async def check_filter(conn: Connection, scope: Scope, wave_id: str, floor: int) -> None:
    """Refuse a filter that narrows below ``floor``, or leaves out fewer than ``floor``."""
    if not scope.departments and not scope.tenure_bands:
        return
    row = await conn.fetchrow(
        f"SELECT count(*) AS everyone, count(*) FILTER (WHERE {RESPONSE_FILTER}) AS kept"
        f" FROM {scope.table('surveys_response')} AS r WHERE r.wave_id = $1::uuid",
        wave_id,
        list(scope.departments),
        list(scope.tenure_bands),
    )
    everyone, kept = (int(row["everyone"]), int(row["kept"])) if row else (0, 0)
    left_out = everyone - kept
    if kept < floor or 0 < left_out < floor:
        raise ValidationFailed(
            [
                FieldError(
                    ("filter",), f"narrows the results below {floor} responses", "BELOW_THRESHOLD"
                )
            ],
            hint=f"Filters must keep at least {floor} responses and leave out none or at least "
            f"{floor}; widen the filter or remove it.",
        )


def _items_sql(scope: Scope) -> str:
    g = GROUP_KEYS[scope.group_by]
    return f"""
WITH r AS (
  SELECT {g} AS g, r.answers FROM {scope.table("surveys_response")} AS r
  WHERE r.wave_id = $1::uuid AND {RESPONSE_FILTER}
),
vals AS (
  SELECT i.key AS part, r.g, (r.answers->>i.key)::numeric AS v, i.mid
  FROM r CROSS JOIN unnest($5::text[], $6::numeric[]) AS i(key, mid)
  WHERE jsonb_typeof(r.answers->i.key) = 'number'
),
cells AS (
  SELECT part, g, count(*)::int AS n, g = ANY($7::text[]) AS forced FROM vals GROUP BY part, g
),
{hidden_cte("cells", "$4")},
stats AS (
  SELECT part, g, count(*)::int AS n, avg(v)::float AS mean,
         count(*) FILTER (WHERE v > mid)::int AS fav, count(*) FILTER (WHERE v = mid)::int AS neu,
         count(*) FILTER (WHERE v < mid)::int AS unf, count(*) FILTER (WHERE v >= 9)::int AS prom,
         count(*) FILTER (WHERE v BETWEEN 7 AND 8)::int AS pas,
         count(*) FILTER (WHERE v <= 6)::int AS det
  FROM vals GROUP BY GROUPING SETS ((part, g), (part))
),
dist AS (
  SELECT part, g, jsonb_object_agg(v::text, c ORDER BY v) AS d FROM (
    SELECT part, g, v, count(*)::int AS c FROM vals GROUP BY GROUPING SETS ((part, g, v), (part, v))
  ) AS x GROUP BY part, g
)
SELECT s.part, s.g, (s.g IS NULL AND s.n < $4) OR coalesce(d.hidden, false) AS hidden,
       s.n, s.mean, s.fav, s.neu, s.unf, s.prom, s.pas, s.det, x.d::text AS dist
FROM stats AS s
LEFT JOIN decided AS d ON d.part = s.part AND d.g IS NOT DISTINCT FROM s.g AND s.g IS NOT NULL
LEFT JOIN dist AS x ON x.part = s.part AND x.g IS NOT DISTINCT FROM s.g
ORDER BY s.part, s.g NULLS FIRST
"""


async def _groups(conn: Connection, scope: Scope, wave_id: str) -> list[Any]:
    g = GROUP_KEYS[scope.group_by]
    return await conn.fetch(
        f"""
        WITH r AS (SELECT {g} AS g FROM {scope.table("surveys_response")} AS r
                   WHERE r.wave_id = $1::uuid AND {RESPONSE_FILTER}),
        groups AS (SELECT 'respondents'::text AS part, g, count(*)::int AS n, false AS forced
                   FROM r GROUP BY g),
        {hidden_cte("groups", "$4")}
        SELECT g, n, hidden FROM decided ORDER BY n DESC, g
        """,
        wave_id,
        list(scope.departments),
        list(scope.tenure_bands),
        scope.k1,
    )


def _cell(row: Any, k1: int, nps: bool = False) -> dict[str, Any]:
    """One figure; for a 0–10 question favourable / neutral / unfavourable are the promoters,
    passives and detractors."""
    if row["hidden"] or row["n"] < k1:
        return {"suppressed": True}
    n = row["n"]
    fav, neu, unf = ("prom", "pas", "det") if nps else ("fav", "neu", "unf")
    return {
        "suppressed": False,
        "n": n,
        "mean": round(row["mean"], 2),
        "favourable": round(100 * row[fav] / n, 1),
        "neutral": round(100 * row[neu] / n, 1),
        "unfavourable": round(100 * row[unf] / n, 1),
        "promoters": row["prom"],
        "passives": row["pas"],
        "detractors": row["det"],
        "enps": round(100 * (row["prom"] - row["det"]) / n, 1),
        "distribution": json.loads(row["dist"]) if row["dist"] else {},
    }


async def results(conn: Connection, scope: Scope) -> dict[str, Any]:
    await check_filter(conn, scope, scope.wave_id, scope.k1)
    groups = await _groups(conn, scope, scope.wave_id)
    hidden = [r["g"] for r in groups if r["hidden"]]
    items = [i for i in scope.survey.items if i.midpoint is not None]
    rows = await conn.fetch(
        _items_sql(scope),
        scope.wave_id,
        list(scope.departments),
        list(scope.tenure_bands),
        scope.k1,
        [i.key for i in items],
        [i.midpoint for i in items],
        hidden,
    )
    by_item: dict[str, dict[str, Any]] = {}
    nps = {i.key for i in items if i.type == "nps"}
    for row in rows:
        entry = by_item.setdefault(row["part"], {"company": {"suppressed": True}, "groups": {}})
        cell = _cell(row, scope.k1, row["part"] in nps)
        if row["g"] is None:
            entry["company"] = cell
        else:
            entry["groups"][row["g"]] = cell
    total = sum(r["n"] for r in groups)
    questions = []
    for item in items:
        entry = by_item.get(item.key, {"company": {"suppressed": True}, "groups": {}})
        company = entry["company"]
        cells = []
        for group in groups:
            cell = entry["groups"].get(group["g"], {"suppressed": True})
            if group["hidden"]:
                cell = {"suppressed": True}
            if not cell["suppressed"] and not company["suppressed"]:
                key = "enps" if item.type == "nps" else "favourable"
                cell = {**cell, "vsCompany": round(cell[key] - company[key], 1)}
            cells.append({"group": group["g"], **cell})
        questions.append(
            {
                "key": item.key,
                "question": item.question,
                "type": item.type,
                "driver": item.driver,
                "company": company,
                "groups": cells,
            }
        )
    return {
        "waveId": scope.wave_id,
        "waveNumber": scope.wave_number,
        "minResponses": scope.k1,
        "minComments": scope.k2,
        "respondents": total if total >= scope.k1 else None,
        "groups": [
            {
                "group": r["g"],
                "suppressed": r["hidden"],
                "respondents": None if r["hidden"] else r["n"],
            }
            for r in groups
        ],
        "questions": questions,
    }


async def response_rate(conn: Connection, scope: Scope) -> dict[str, Any]:
    """Invited and answered (participation), overall and by group under the same rule."""
    g = GROUP_KEYS[scope.group_by]
    rows = await conn.fetch(
        f"""
        WITH r AS (SELECT {g} AS g, r.status FROM {scope.table("surveys_participation")} AS r
                   WHERE r.wave_id = $1::uuid AND {RESPONSE_FILTER}),
        groups AS (SELECT 'rate'::text AS part, g, count(*) FILTER (WHERE status = 'answered')::int AS n,
                          false AS forced, count(*)::int AS invited FROM r GROUP BY g),
        {hidden_cte("groups", "$4")}
        SELECT d.g, d.n AS answered, d.hidden, g.invited
        FROM decided AS d JOIN groups AS g ON g.g IS NOT DISTINCT FROM d.g ORDER BY g.invited DESC, d.g
        """,
        scope.wave_id,
        list(scope.departments),
        list(scope.tenure_bands),
        scope.k1,
    )
    invited = sum(r["invited"] for r in rows)
    answered = sum(r["answered"] for r in rows)
    return {
        "invited": invited,
        "answered": answered if answered >= scope.k1 else None,
        "rate": round(100 * answered / invited, 1) if invited and answered >= scope.k1 else None,
        "groups": [
            {
                "group": r["g"],
                "invited": r["invited"],
                "suppressed": r["hidden"],
                "answered": None if r["hidden"] else r["answered"],
                "rate": None if r["hidden"] else round(100 * r["answered"] / r["invited"], 1),
            }
            for r in rows
        ],
    }


async def trend(conn: Connection, scope: Scope, key: str) -> list[dict[str, Any]]:
    """The company figure of one question in every wave that opened, oldest first."""
    item = scope.survey.item(key)
    if item is None or item.midpoint is None:
        raise ValidationFailed(
            [FieldError(("question",), f"{key!r} is not a scored question of the survey")],
            hint="Name a Likert, rating, matrix row or 0–10 question.",
        )
    waves = await conn.fetch(
        f"SELECT id::text AS id, number FROM {scope.table('surveys_wave')}"
        " WHERE campaign_id = $1::uuid AND status <> 'scheduled' ORDER BY number",
        scope.campaign_id,
    )
    found = []
    for wave in waves:
        row = await conn.fetchrow(
            f"""
            WITH vals AS (SELECT (r.answers->>$4)::numeric AS v FROM {scope.table("surveys_response")} AS r
                          WHERE r.wave_id = $1::uuid AND {RESPONSE_FILTER} AND jsonb_typeof(r.answers->$4) = 'number')
            SELECT count(*)::int AS n, avg(v)::float AS mean,
                   count(*) FILTER (WHERE v > $5)::int AS fav, count(*) FILTER (WHERE v = $5)::int AS neu,
                   count(*) FILTER (WHERE v < $5)::int AS unf, count(*) FILTER (WHERE v >= 9)::int AS prom,
                   count(*) FILTER (WHERE v BETWEEN 7 AND 8)::int AS pas,
                   count(*) FILTER (WHERE v <= 6)::int AS det, NULL::text AS dist, false AS hidden
            FROM vals
            """,
            wave["id"],
            list(scope.departments),
            list(scope.tenure_bands),
            item.key,
            item.midpoint,
        )
        try:
            await check_filter(conn, scope, wave["id"], scope.k1)
            cell = _cell(row, scope.k1, item.type == "nps")
        except ValidationFailed:
            cell = {"suppressed": True}
        cell.pop("distribution", None)
        found.append({"waveId": wave["id"], "waveNumber": wave["number"], **cell})
    return found


async def driver_impact(conn: Connection, scope: Scope) -> list[dict[str, Any]]:
    """Each driver's correlation with the outcome question over respondents (n ≥ k1 shown)."""
    outcome = scope.survey.item(scope.outcome) if scope.outcome else None
    if outcome is None or outcome.midpoint is None:
        return []
    drivers = [i for i in scope.survey.items if i.driver and i.key != outcome.key and i.midpoint]
    if not drivers:
        return []
    await check_filter(conn, scope, scope.wave_id, scope.k1)
    rows = await conn.fetch(
        f"""
        WITH r AS (SELECT r.id, r.answers FROM {scope.table("surveys_response")} AS r
                   WHERE r.wave_id = $1::uuid AND {RESPONSE_FILTER}),
        x AS (SELECT r.id, i.driver, avg((r.answers->>i.key)::numeric)::float AS x
              FROM r CROSS JOIN unnest($4::text[], $5::text[]) AS i(key, driver)
              WHERE jsonb_typeof(r.answers->i.key) = 'number' GROUP BY r.id, i.driver),
        y AS (SELECT r.id, (r.answers->>$6)::float AS y FROM r WHERE jsonb_typeof(r.answers->$6) = 'number')
        SELECT x.driver, count(*)::int AS n, corr(y.y, x.x) AS r, regr_slope(y.y, x.x) AS slope,
               avg(x.x) AS mean
        FROM x JOIN y USING (id) GROUP BY x.driver ORDER BY x.driver
        """,
        scope.wave_id,
        list(scope.departments),
        list(scope.tenure_bands),
        [i.key for i in drivers],
        [i.driver for i in drivers],
        outcome.key,
    )
    return [
        {
            "driver": r["driver"],
            "outcome": outcome.key,
            "n": r["n"] if r["n"] >= scope.k1 else None,
            "suppressed": r["n"] < scope.k1,
            "correlation": None if r["n"] < scope.k1 or r["r"] is None else round(r["r"], 3),
            "slope": None if r["n"] < scope.k1 or r["slope"] is None else round(r["slope"], 3),
            "mean": None if r["n"] < scope.k1 else round(r["mean"], 2),
        }
        for r in rows
    ]
