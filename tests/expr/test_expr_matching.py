"""LIKE, ILIKE and jsonb @> in Python against PostgreSQL itself, on many generated pairs."""

from __future__ import annotations

import json
import random
from typing import Any

from rapport.db.database import Database
from rapport.expr.matching import ascii_lower, escape_like, jsonb_contains, like_matches
from rapport.expr.operands import like_pattern_problem

ALPHABET = ["a", "A", "b", "%", "_", "\\", "é", "É", "中", " ", "\n", "ß", "İ"]


def random_text(rng: random.Random, size: int) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, size)))


async def test_like_ilike_and_escaping_agree_with_postgresql(database: Database) -> None:
    # given random texts and patterns over an alphabet of wildcards, escapes and cased letters
    rng = random.Random(7)
    texts: list[str] = []
    patterns: list[str] = []
    while len(texts) < 3000:
        text = random_text(rng, 6)
        pattern = random_text(rng, 5) if rng.random() < 0.7 else text
        if like_pattern_problem(pattern) is None:
            texts.append(text)
            patterns.append(pattern)

    # when PostgreSQL matches them (ILIKE under COLLATE "C", LIKE of the escaped text)
    rows = await database.fetch(
        'SELECT t LIKE p AS like, (t COLLATE "C") ILIKE p AS ilike, '
        "t LIKE (p_escaped || '%') AS starts "
        "FROM unnest($1::text[], $2::text[], $3::text[]) AS x(t, p, p_escaped)",
        texts,
        patterns,
        [escape_like(p) for p in patterns],
    )

    # then Python answers the same for every pair
    for text, pattern, row in zip(texts, patterns, rows, strict=True):
        assert like_matches(text, pattern) == row["like"], (text, pattern)
        assert like_matches(ascii_lower(text), ascii_lower(pattern)) == row["ilike"], (
            text,
            pattern,
        )
        assert text.startswith(pattern) == row["starts"], (text, pattern)


def test_a_trailing_lone_backslash_is_refused_like_postgresql_does() -> None:
    assert like_pattern_problem("a\\") is not None
    assert like_pattern_problem("a\\\\") is None
    assert like_pattern_problem("a\\\\\\") is not None
    assert like_pattern_problem("\\%") is None


JSON_SAMPLES: list[Any] = [
    None,
    True,
    False,
    0,
    1,
    1.0,
    1.5,
    "a",
    "1",
    "",
    [],
    {},
    [1],
    [1.0, 2],
    ["a", "b"],
    [[1, 2], 3],
    [[1]],
    [{"a": 1}],
    [None],
    [True, 1],
    {"a": 1},
    {"a": 1.0, "b": [1, 2]},
    {"a": {"b": {"c": None}}},
    {"a": [1, [2]]},
    {"a": {}},
    {"a": []},
    {"b": "x", "a": 1},
]


def random_json(rng: random.Random, depth: int) -> Any:
    if depth <= 0 or rng.random() < 0.4:
        return rng.choice([None, True, False, 0, 1, 1.0, 2.5, "a", "b", ""])
    if rng.random() < 0.5:
        return [random_json(rng, depth - 1) for _ in range(rng.randint(0, 3))]
    return {rng.choice("abc"): random_json(rng, depth - 1) for _ in range(rng.randint(0, 3))}


async def test_jsonb_containment_agrees_with_postgresql(database: Database) -> None:
    # given every pair of hand-picked values plus random nested ones
    rng = random.Random(11)
    pairs = [(a, b) for a in JSON_SAMPLES for b in JSON_SAMPLES]
    for _ in range(2000):
        container = random_json(rng, 3)
        contained = random_json(rng, 3) if rng.random() < 0.5 else _part_of(rng, container)
        pairs.append((container, contained))

    # when PostgreSQL decides @>
    rows = await database.fetch(
        "SELECT a::jsonb @> b::jsonb AS contains FROM unnest($1::text[], $2::text[]) AS x(a, b)",
        [json.dumps(a) for a, _ in pairs],
        [json.dumps(b) for _, b in pairs],
    )

    # then so does Python
    disagreements = [
        (a, b, row["contains"])
        for (a, b), row in zip(pairs, rows, strict=True)
        if jsonb_contains(a, b) != row["contains"]
    ]
    assert disagreements == []
    assert sum(row["contains"] for row in rows) > len(rows) // 10  # many true cases, not only false


def _part_of(rng: random.Random, value: Any) -> Any:
    if isinstance(value, dict) and value:
        keys = rng.sample(sorted(value), rng.randint(0, len(value)))
        return {k: _part_of(rng, value[k]) for k in keys}
    if isinstance(value, list) and value:
        return [_part_of(rng, rng.choice(value)) for _ in range(rng.randint(0, 2))]
    return value
