"""compile_sql: placeholders, casts, aliases and variables (agreement itself is in test_expr_agreement)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from rapport.errors import ValidationFailed
from rapport.expr import ParamList, SqlContext, compile_sql, parse_where
from rapport.metadata.builder import compile_model
from rapport.metadata.documents import read_folder

MODEL = compile_model(read_folder(Path(__file__).resolve().parents[1] / "fixtures" / "metadata"))
COURSE = MODEL.entity("training/course")
NOW = dt.datetime(2026, 1, 15, 12, 0, tzinfo=dt.UTC)


def compiled(
    doc: dict[str, Any], variables: dict[str, Any] | None = None, params: ParamList | None = None
) -> tuple[str, list[Any]]:
    params = params if params is not None else ParamList()
    ctx = SqlContext("tenant_acme", "c", params, variables or {}, MODEL)
    return compile_sql(parse_where(doc, COURSE, MODEL), ctx), params.values


@pytest.mark.parametrize(
    ("doc", "sql", "values"),
    [
        ({}, "true", []),
        ({"_or": []}, "false", []),
        ({"capacity": {"_eq": 3}}, '"c"."capacity" = $1::integer', [3]),
        ({"capacity": {"_neq": 3}}, '"c"."capacity" IS DISTINCT FROM $1::integer', [3]),
        ({"price": {"_in": ["1.5"]}}, '"c"."price" = ANY($1::numeric[])', [[Decimal("1.5")]]),
        (
            {"score": {"_nin": [1]}},
            '("c"."score" IS NULL OR NOT ("c"."score" = ANY($1::double precision[])))',
            [[1.0]],
        ),
        ({"title": {"_gt": "m"}}, '("c"."title" COLLATE "C") > $1::text', ["m"]),
        (
            {"startDate": {"_between": ["2026-01-01", "2026-12-31"]}},
            '"c"."start_date" BETWEEN $1::date AND $2::date',
            [dt.date(2026, 1, 1), dt.date(2026, 12, 31)],
        ),
        ({"startsAt": {"_lt": "$now"}}, '"c"."starts_at" < $1::timestamptz', [NOW]),
        ({"startDate": {"_lt": "$now"}}, '"c"."start_date" < $1::date', [NOW.date()]),
        ({"trainerId": {"_is_null": True}}, '"c"."trainer_id" IS NULL', []),
        ({"code": {"_is_null": False}}, '"c"."code" IS NOT NULL', []),
        (
            {"syllabus": {"_is_null": False}},
            """NOT ("c"."syllabus" IS NULL OR jsonb_typeof("c"."syllabus") = 'null')""",
            [],
        ),
        ({"syllabus": {"_contains": {"a": 1}}}, '"c"."syllabus" @> $1::jsonb', ['{"a": 1}']),
        ({"tags": {"_contains": "law"}}, '"c"."tags" @> $1::text[]', [["law"]]),
        ({"title": {"_like": "a%"}}, '"c"."title" LIKE $1::text', ["a%"]),
        ({"title": {"_ilike": "a%"}}, '("c"."title" COLLATE "C") ILIKE $1::text', ["a%"]),
        ({"title": {"_starts_with": "50%_"}}, '"c"."title" LIKE $1::text', ["50\\%\\_%"]),
        ({"title": {"_contains": "a\\b"}}, '"c"."title" LIKE $1::text', ["%a\\\\b%"]),
        ({"online": {"_eq": True}}, '"c"."online" = $1::boolean', [True]),
        (
            {"_not": {"capacity": {"_gt": 1}}},
            'NOT COALESCE("c"."capacity" > $1::integer, false)',
            [1],
        ),
        (
            {"trainer": {"name": {"_eq": "x"}}},
            'EXISTS (SELECT 1 FROM "tenant_acme"."training_trainer" AS "_e1" '
            'WHERE "_e1"."id" = "c"."trainer_id" AND "_e1"."name" = $1::text)',
            ["x"],
        ),
        (
            {"enrollments": {"_every": {"grade": {"_gte": 60}}}},
            'NOT EXISTS (SELECT 1 FROM "tenant_acme"."training_enrollment" AS "_e1" '
            'WHERE "_e1"."course_id" = "c"."id" AND NOT COALESCE("_e1"."grade" >= $1::integer, false))',
            [60],
        ),
        (
            {"trainees": {"_none": {}}},
            'NOT EXISTS (SELECT 1 FROM "tenant_acme"."training_enrollment" AS "_e2" '
            'JOIN "tenant_acme"."training_trainee" AS "_e1" ON "_e1"."id" = "_e2"."trainee_id" '
            'WHERE "_e2"."course_id" = "c"."id" AND true)',
            [],
        ),
    ],
)
def test_compiled_sql(doc: dict[str, Any], sql: str, values: list[Any]) -> None:
    assert compiled(doc, {"now": NOW}) == (sql, values)


def test_values_never_reach_the_sql_text() -> None:
    sql, values = compiled({"title": {"_eq": "'; DROP TABLE x; --"}, "code": {"_in": ['"q"']}})
    assert "DROP" not in sql and '"q"' not in sql
    assert values == ["'; DROP TABLE x; --", ['"q"']]


def test_numbering_and_aliases_continue_across_pieces_of_one_statement() -> None:
    # given a statement that already holds two parameters
    params = ParamList(["tenant-filter", 10])

    # when two expressions are compiled into it
    first, _ = compiled({"trainer": {"name": {"_eq": "a"}}}, params=params)
    second, values = compiled({"trainer": {"name": {"_eq": "b"}}}, params=params)

    # then placeholders and aliases never repeat
    assert '"_e1"' in first and "$3::text" in first
    assert '"_e2"' in second and "$4::text" in second
    assert values == ["tenant-filter", 10, "a", "b"]
    assert params.add(5) == "$5"
    assert params.add(6, "integer") == "$6::integer"


def test_a_variable_missing_from_the_context_is_an_error() -> None:
    with pytest.raises(ValidationFailed) as caught:
        compiled({"title": {"_in": "$user.departments"}}, {"user.id": "u1"})
    error = caught.value.errors[0]
    assert (error.path, error.code) == (("$user.departments",), "UNKNOWN_VARIABLE")
    assert error.message == "variable $user.departments has no value here"


def test_a_variable_of_the_wrong_type_is_an_error() -> None:
    with pytest.raises(ValidationFailed) as caught:
        compiled({"trainerId": {"_eq": "$user.id"}}, {"user.id": "api-client-7"})
    error = caught.value.errors[0]
    assert (error.path, error.code) == (("$user.id",), "INVALID_VARIABLE")
    assert error.message == (
        "variable $user.id does not fit _eq on uuid field trainerId: expected a uuid such as "
        '0b6c5a3e-8f2d-4c1a-9e7b-3d5f6a7b8c9d, got the string "api-client-7"'
    )


@pytest.mark.parametrize(
    ("variables", "values"),
    [
        ({"user.departments": ["a", None, "b"]}, [["a", "b"]]),  # null elements dropped
        ({"user.departments": None}, [[]]),  # null list: nothing is in it
        ({"user.departments": "a"}, [["a"]]),  # one value: a one-element list
    ],
)
def test_list_variables(variables: dict[str, Any], values: list[Any]) -> None:
    assert compiled({"title": {"_in": "$user.departments"}}, variables)[1] == values


def test_variables_are_coerced_like_literals() -> None:
    _, values = compiled({"price": {"_gt": "$user.limit"}}, {"user.limit": "12.50"})
    assert values == [Decimal("12.50")]
    _, values = compiled({"level": {"_eq": "$user.level"}}, {"user.level": "not-a-level"})
    assert values == ["not-a-level"]  # variables are data: an unknown value just matches nothing
