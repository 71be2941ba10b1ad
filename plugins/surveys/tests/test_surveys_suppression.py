"""The suppression rule, run by PostgreSQL on hand-made breakdowns."""

from __future__ import annotations

import pytest
from rapport_surveys.suppression import hidden_cte

from rapport.db.database import Database


async def _hidden(
    db: Database, groups: dict[str, int], forced: frozenset[str] = frozenset()
) -> set[str]:
    values = ", ".join(f"('q', '{g}', {n}, {str(g in forced).lower()})" for g, n in groups.items())
    rows = await db.fetch(
        f"WITH src(part, g, n, forced) AS (VALUES {values}), {hidden_cte('src', '$1')} "
        "SELECT g FROM decided WHERE hidden",
        5,
    )
    return {r["g"] for r in rows}


@pytest.mark.parametrize(
    ("groups", "hidden"),
    [
        ({"eng": 8, "sales": 7, "platform": 6, "legal": 4}, {"legal", "platform"}),
        # three groups, one small: the next-smallest goes too, so only the largest shows
        ({"eng": 8, "sales": 7, "legal": 4}, {"legal", "sales"}),
        ({"eng": 8, "sales": 7}, set()),
        # two small groups together under k: a third is hidden until the hidden hold ≥ k
        ({"a": 9, "b": 8, "c": 2, "d": 1}, {"c", "d", "b"}),
        ({"a": 9, "b": 2, "c": 3}, {"b", "c"}),
        ({"only": 3}, {"only"}),
    ],
)
async def test_small_groups_and_their_complements_are_hidden(
    database: Database, groups: dict[str, int], hidden: set[str]
) -> None:
    assert await _hidden(database, groups) == hidden


async def test_a_group_hidden_above_is_hidden_in_every_question_with_a_partner(
    database: Database,
) -> None:
    # a large group forced hidden (its department is hidden in the breakdown) takes the
    # next-smallest with it, so the two together are what the total reveals
    assert await _hidden(database, {"a": 9, "b": 8, "c": 7}, frozenset({"a"})) == {"a", "c"}
