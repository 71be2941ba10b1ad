"""parse_where: what it builds, and every way a filter can be wrong (exact paths and messages)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from rapport.errors import ValidationFailed
from rapport.expr import (
    FALSE,
    TRUE,
    And,
    Compare,
    Literal,
    Not,
    Or,
    Related,
    Variable,
    parse_where,
)
from rapport.metadata.builder import compile_model
from rapport.metadata.documents import read_folder
from rapport.metadata.ir import FieldKind, Model, freeze_json

MODEL = compile_model(read_folder(Path(__file__).resolve().parents[1] / "fixtures" / "metadata"))
COURSE = MODEL.entity("training/course")
TRAINER = MODEL.entity("training/trainer")

INTEGER_OPS = "_eq, _neq, _gt, _gte, _lt, _lte, _in, _nin, _is_null, _between"
COURSE_KEYS = (
    "_and, _or, _not, id, createdAt, updatedAt, createdBy, version, title, code, level, tags, "
    "startDate, startsAt, capacity, price, score, syllabus, material, website, online, trainer, "
    "trainerId, trainees, isSmall, enrollments"
)
VARIABLE_HELP = "use $user.id, $user.roles, $user.<attribute> or $now (write $$ for a literal $)"


def compare(field: str, op: str, value: Any) -> Compare:
    """The Compare node for a course field, to keep expected ASTs short."""
    system = {"id": ("id", FieldKind.UUID), "createdAt": ("created_at", FieldKind.DATETIME)}
    if field in system:
        column, kind = system[field]
    elif field == "trainerId":
        column, kind = "trainer_id", FieldKind.UUID
    else:
        definition = COURSE.field(field)
        column, kind = definition.column or "", definition.kind
    wrapped = value if isinstance(value, Variable) else Literal(value)
    return Compare(field, column, kind, op, wrapped)


def errors(doc: Any, entity: Any = COURSE, model: Model = MODEL) -> list[tuple[Any, str, str]]:
    with pytest.raises(ValidationFailed) as caught:
        parse_where(doc, entity, model, path=("where",))
    return [(e.path, e.code, e.message) for e in caught.value.errors]


# -- what a filter becomes ------------------------------------------------------------------------


def test_empty_filters_are_true_and_false() -> None:
    assert parse_where({}, COURSE, MODEL) == TRUE
    assert parse_where({"_and": []}, COURSE, MODEL) == And(())
    assert parse_where({"_or": []}, COURSE, MODEL) == FALSE
    assert parse_where({"capacity": {}}, COURSE, MODEL) == TRUE


def test_entries_and_operators_are_anded() -> None:
    # given two fields, one with two operators
    doc = {"capacity": {"_gt": 1, "_lt": 9}, "title": {"_eq": "x"}}

    # when
    expr = parse_where(doc, COURSE, MODEL)

    # then
    assert expr == And(
        (
            And((compare("capacity", "_gt", 1), compare("capacity", "_lt", 9))),
            compare("title", "_eq", "x"),
        )
    )


def test_logical_operators() -> None:
    doc = {"_or": [{"online": {"_eq": True}}, {"_not": {"code": {"_is_null": True}}}]}
    assert parse_where(doc, COURSE, MODEL) == Or(
        (compare("online", "_eq", True), Not(compare("code", "_is_null", True)))
    )


@pytest.mark.parametrize(
    ("field", "op", "raw", "expected"),
    [
        ("capacity", "_eq", 3, 3),
        ("capacity", "_eq", "3", 3),
        ("capacity", "_eq", 3.0, 3),
        ("capacity", "_in", [1, "2", Decimal("3")], (1, 2, 3)),
        ("price", "_eq", 0.1, Decimal("0.1")),
        ("price", "_eq", "12.50", Decimal("12.50")),
        ("price", "_eq", Decimal("7"), Decimal("7")),
        ("price", "_between", [0, "1e2"], (Decimal(0), Decimal("1e2"))),
        ("score", "_gt", 1, 1.0),
        ("score", "_gt", "2.5", 2.5),
        ("startDate", "_eq", "2026-01-02", dt.date(2026, 1, 2)),
        ("startDate", "_eq", dt.date(2026, 1, 2), dt.date(2026, 1, 2)),
        (
            "startsAt",
            "_gt",
            "2026-01-02T03:04:05Z",
            dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
        ),
        (
            "startsAt",
            "_gt",
            "2026-01-02T11:04:05.5+08:00",
            dt.datetime(2026, 1, 2, 3, 4, 5, 500000, tzinfo=dt.UTC),
        ),
        ("startsAt", "_gt", "2026-01-02 03:04", dt.datetime(2026, 1, 2, 3, 4, tzinfo=dt.UTC)),
        ("startsAt", "_gt", "2026-01-02", dt.datetime(2026, 1, 2, tzinfo=dt.UTC)),
        ("level", "_eq", "advanced", "advanced"),
        ("level", "_like", "adv%", "adv%"),
        ("tags", "_contains", "law", ("law",)),
        ("tags", "_contains", ["law", "tech"], ("law", "tech")),
        ("syllabus", "_contains", {"a": [1, Decimal("2.5")]}, {"a": [1, 2.5]}),
        ("syllabus", "_contains", freeze_json({"a": [1]}), {"a": [1]}),
        ("title", "_eq", "$$5", "$5"),
        ("title", "_in", ["$$a", "b"], ("$a", "b")),
        ("title", "_contains", "100%", "100%"),
        ("code", "_is_null", False, False),
    ],
)
def test_values_are_coerced_by_kind(field: str, op: str, raw: Any, expected: Any) -> None:
    expr = parse_where({field: {op: raw}}, COURSE, MODEL)

    assert isinstance(expr, Compare)
    assert expr.value == Literal(expected)
    assert type(expr.value.value) is type(expected)


def test_uuids_are_canonical_and_enums_may_arrive_as_python_enums() -> None:
    class Level(enum.Enum):
        ADVANCED = "advanced"

    upper = "6F1C2A9E-1D4B-4C7E-9A53-2B8E7D0C4F11"
    assert parse_where({"trainerId": {"_eq": upper}}, COURSE, MODEL) == compare(
        "trainerId", "_eq", upper.lower()
    )
    assert parse_where({"level": {"_eq": Level.ADVANCED}}, COURSE, MODEL) == compare(
        "level", "_eq", "advanced"
    )


def test_system_fields() -> None:
    expr = parse_where({"createdAt": {"_lt": "2026-01-01T00:00:00Z"}}, COURSE, MODEL)
    assert expr == compare("createdAt", "_lt", dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    version = parse_where({"version": {"_gte": 2}}, COURSE, MODEL)
    assert version == Compare("version", "version", FieldKind.INTEGER, "_gte", Literal(2))
    by = parse_where({"createdBy": {"_eq": "$user.id"}}, COURSE, MODEL)
    assert by == Compare("createdBy", "created_by", FieldKind.STRING, "_eq", Variable("user.id"))


def test_variables() -> None:
    doc = {
        "title": {"_in": "$user.departments"},
        "startDate": {"_lt": "$now"},
        "trainerId": {"_eq": "$user.id"},
    }
    assert parse_where(doc, COURSE, MODEL) == And(
        (
            compare("title", "_in", Variable("user.departments")),
            compare("startDate", "_lt", Variable("now")),
            compare("trainerId", "_eq", Variable("user.id")),
        )
    )


def test_relations() -> None:
    doc = {
        "trainer": {"name": {"_eq": "王伟"}},
        "trainees": {"_every": {"department": {"_eq": "Sales"}}},
        "enrollments": {"_some": {}, "_none": {"grade": {"_lt": 60}}},
    }
    trainee = MODEL.entity("training/trainee")
    enrollment = MODEL.entity("training/enrollment")
    assert parse_where(doc, COURSE, MODEL) == And(
        (
            Related(
                "trainer",
                "many_to_one",
                "training/trainer",
                "some",
                Compare("name", "name", FieldKind.STRING, "_eq", Literal("王伟")),
                source="training/course",
            ),
            Related(
                "trainees",
                "many_to_many",
                trainee.id,
                "every",
                Compare("department", "department", FieldKind.STRING, "_eq", Literal("Sales")),
                source="training/course",
            ),
            And(
                (
                    Related(
                        "enrollments", "reverse", enrollment.id, "some", TRUE, source=COURSE.id
                    ),
                    Related(
                        "enrollments",
                        "reverse",
                        enrollment.id,
                        "none",
                        Compare("grade", "grade", FieldKind.INTEGER, "_lt", Literal(60)),
                        source=COURSE.id,
                    ),
                )
            ),
        )
    )


def test_computed_fields_inline_their_expression() -> None:
    small = compare("capacity", "_lte", 10)
    assert parse_where({"isSmall": {"_eq": True}}, COURSE, MODEL) == small
    assert parse_where({"isSmall": {"_eq": False}}, COURSE, MODEL) == Not(small)
    nested = parse_where({"courses": {"_some": {"isSmall": {"_eq": True}}}}, TRAINER, MODEL)
    assert isinstance(nested, Related) and nested.inner == small


# -- what is wrong, all at once ---------------------------------------------------------------------


def test_all_problems_are_reported_at_once_in_document_order() -> None:
    # given a filter with three independent mistakes, one nested
    doc = {
        "capacity": {"_like": "1%"},
        "_or": [{"title": {"_eq": "ok"}}, {"levl": {"_eq": "beginner"}}],
        "price": {"_gt": "cheap"},
    }

    # when
    with pytest.raises(ValidationFailed) as caught:
        parse_where(doc, COURSE, MODEL, path=("where",))

    # then
    error = caught.value
    assert [e.path for e in error.errors] == [
        ("where", "capacity", "_like"),
        ("where", "_or", 1, "levl"),
        ("where", "price", "_gt"),
    ]
    assert error.code == "VALIDATION_FAILED"
    assert error.message == (
        "Input is invalid at where.capacity._like: operator _like is not available on integer "
        f"field capacity; use one of {INTEGER_OPS} (and 2 more)"
    )
    assert error.extensions()["errors"][1]["path"] == ["where", "_or", 1, "levl"]


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        (
            {"capacity": {"_like": "1%"}},
            (
                ("where", "capacity", "_like"),
                "OPERATOR_NOT_ALLOWED",
                f"operator _like is not available on integer field capacity; use one of {INTEGER_OPS}",
            ),
        ),
        (
            {"capacity": {"_foo": 1}},
            (
                ("where", "capacity", "_foo"),
                "UNKNOWN_OPERATOR",
                f"unknown operator _foo on integer field capacity; use one of {INTEGER_OPS}",
            ),
        ),
        (
            {"capcity": {"_eq": 1}},
            (
                ("where", "capcity"),
                "UNKNOWN_FIELD",
                f"unknown field capcity on Course (did you mean capacity?); filter on one of: {COURSE_KEYS}",
            ),
        ),
        (
            {"zzz": {"_eq": 1}},
            (
                ("where", "zzz"),
                "UNKNOWN_FIELD",
                f"unknown field zzz on Course; filter on one of: {COURSE_KEYS}",
            ),
        ),
        (
            {"capacity": {"_eq": None}},
            (
                ("where", "capacity", "_eq"),
                "NULL_VALUE",
                '_eq null is not allowed on field capacity; use {"_is_null": true} to match '
                'records without a value (or {"_is_null": false} for the others)',
            ),
        ),
        (
            {"capacity": 5},
            (
                ("where", "capacity"),
                "EXPECTED_OBJECT",
                'field capacity takes an object of operators such as {"_eq": …}, not the number '
                f"5; operators for integer fields: {INTEGER_OPS}",
            ),
        ),
        (
            {"capacity": {"_eq": True}},
            (
                ("where", "capacity", "_eq"),
                "INVALID_VALUE",
                "invalid value for _eq on integer field capacity: expected a whole number, got true",
            ),
        ),
        (
            {"capacity": {"_gt": 1.5}},
            (
                ("where", "capacity", "_gt"),
                "INVALID_VALUE",
                "invalid value for _gt on integer field capacity: expected a whole number, "
                "got the number 1.5",
            ),
        ),
        (
            {"capacity": {"_gt": 2**31}},
            (
                ("where", "capacity", "_gt"),
                "INVALID_VALUE",
                "invalid value for _gt on integer field capacity: expected a whole number from "
                "-2147483648 to 2147483647, got 2147483648",
            ),
        ),
        (
            {"capacity": {"_between": [1]}},
            (
                ("where", "capacity", "_between"),
                "INVALID_VALUE",
                "invalid value for _between on integer field capacity: _between takes a list "
                "[low, high] of two values, not a list of 1 value",
            ),
        ),
        (
            {"capacity": {"_in": 3}},
            (
                ("where", "capacity", "_in"),
                "INVALID_VALUE",
                "invalid value for _in on integer field capacity: _in takes a list, not the number 3",
            ),
        ),
        (
            {"price": {"_gt": "cheap"}},
            (
                ("where", "price", "_gt"),
                "INVALID_VALUE",
                "invalid value for _gt on decimal field price: expected a decimal number (a JSON "
                'number or a numeric string such as "12.50"), got the string "cheap"',
            ),
        ),
        (
            {"price": {"_gt": "1_000"}},
            (
                ("where", "price", "_gt"),
                "INVALID_VALUE",
                "invalid value for _gt on decimal field price: expected a decimal number (a JSON "
                'number or a numeric string such as "12.50"), got the string "1_000"',
            ),
        ),
        (
            {"score": {"_gt": "NaN"}},
            (
                ("where", "score", "_gt"),
                "INVALID_VALUE",
                'invalid value for _gt on float field score: expected a number, got the string "NaN"',
            ),
        ),
        (
            {"level": {"_in": ["beginner", "expert"]}},
            (
                ("where", "level", "_in", 1),
                "INVALID_VALUE",
                "invalid value for _in on enum field level: expected one of beginner, "
                'intermediate, advanced; got the string "expert"',
            ),
        ),
        (
            {"level": {"_in": ["beginner", None]}},
            (
                ("where", "level", "_in", 1),
                "INVALID_VALUE",
                "invalid value for _in on enum field level: _in takes no null elements; "
                "use _is_null to test for null",
            ),
        ),
        (
            {"level": {"_gt": "beginner"}},
            (
                ("where", "level", "_gt"),
                "OPERATOR_NOT_ALLOWED",
                "operator _gt is not available on enum field level; use one of _eq, _neq, _in, "
                "_nin, _is_null, _like, _ilike, _starts_with, _contains",
            ),
        ),
        (
            {"tags": {"_contains": ["law", "cooking"]}},
            (
                ("where", "tags", "_contains", 1),
                "INVALID_VALUE",
                "invalid value for _contains on multi-enum field tags: expected one of safety, "
                'law, soft_skills, tech; got the string "cooking"',
            ),
        ),
        (
            {"tags": {"_eq": ["law"]}},
            (
                ("where", "tags", "_eq"),
                "OPERATOR_NOT_ALLOWED",
                "operator _eq is not available on multi-enum field tags; use one of _is_null, "
                "_contains",
            ),
        ),
        (
            {"startDate": {"_eq": "2026-13-01"}},
            (
                ("where", "startDate", "_eq"),
                "INVALID_VALUE",
                "invalid value for _eq on date field startDate: expected a date as YYYY-MM-DD, "
                'got the string "2026-13-01"',
            ),
        ),
        (
            {"startDate": {"_eq": "2026-01-02T00:00:00Z"}},
            (
                ("where", "startDate", "_eq"),
                "INVALID_VALUE",
                "invalid value for _eq on date field startDate: expected a date as YYYY-MM-DD, "
                'got the string "2026-01-02T00:00:00Z"',
            ),
        ),
        (
            {"startsAt": {"_gt": "yesterday"}},
            (
                ("where", "startsAt", "_gt"),
                "INVALID_VALUE",
                "invalid value for _gt on datetime field startsAt: expected a date-time in ISO "
                '8601 such as 2026-01-02T03:04:05Z, got the string "yesterday"',
            ),
        ),
        (
            {"trainerId": {"_eq": "not-a-uuid"}},
            (
                ("where", "trainerId", "_eq"),
                "INVALID_VALUE",
                "invalid value for _eq on uuid field trainerId: expected a uuid such as "
                '0b6c5a3e-8f2d-4c1a-9e7b-3d5f6a7b8c9d, got the string "not-a-uuid"',
            ),
        ),
        (
            {"id": {"_gt": "x"}},
            (
                ("where", "id", "_gt"),
                "OPERATOR_NOT_ALLOWED",
                "operator _gt is not available on uuid field id; use one of _eq, _neq, _in, "
                "_nin, _is_null",
            ),
        ),
        (
            {"online": {"_in": [True]}},
            (
                ("where", "online", "_in"),
                "OPERATOR_NOT_ALLOWED",
                "operator _in is not available on boolean field online; use one of _eq, _neq, "
                "_is_null",
            ),
        ),
        (
            {"title": {"_eq": "a\x00b"}},
            (
                ("where", "title", "_eq"),
                "INVALID_VALUE",
                "invalid value for _eq on string field title: text cannot contain the NUL "
                "character (\\u0000)",
            ),
        ),
        (
            {"title": {"_like": "abc\\"}},
            (
                ("where", "title", "_like"),
                "INVALID_VALUE",
                "invalid value for _like on string field title: the pattern ends with a lone "
                "backslash; write \\\\ for a literal backslash",
            ),
        ),
        (
            {"syllabus": {"_contains": {"a": float("inf")}}},
            (
                ("where", "syllabus", "_contains"),
                "INVALID_VALUE",
                "invalid value for _contains on json field syllabus: JSON has no inf",
            ),
        ),
        (
            {"material": {"_eq": {}}},
            (
                ("where", "material", "_eq"),
                "OPERATOR_NOT_ALLOWED",
                "operator _eq is not available on file field material; use one of _is_null, "
                "_contains",
            ),
        ),
    ],
)
def test_field_errors(doc: dict[str, Any], expected: tuple[Any, str, str]) -> None:
    assert errors(doc) == [expected]


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        (
            {"title": {"_eq": "$user"}},
            (
                ("where", "title", "_eq"),
                "UNKNOWN_VARIABLE",
                f"unknown variable $user; {VARIABLE_HELP}",
            ),
        ),
        (
            {"title": {"_eq": "$record.owner"}},
            (
                ("where", "title", "_eq"),
                "UNKNOWN_VARIABLE",
                f"unknown variable $record.owner; {VARIABLE_HELP}",
            ),
        ),
        (
            {"title": {"_eq": "$user.manager.id"}},
            (
                ("where", "title", "_eq"),
                "UNKNOWN_VARIABLE",
                f"unknown variable $user.manager.id; {VARIABLE_HELP}",
            ),
        ),
        (
            {"title": {"_eq": "$now"}},
            (
                ("where", "title", "_eq"),
                "INVALID_VALUE",
                "$now is a date-time; compare it with date or date-time fields, not string field title",
            ),
        ),
        (
            {"title": {"_in": ["a", "$user.id"]}},
            (
                ("where", "title", "_in", 1),
                "INVALID_VALUE",
                'a variable stands for the whole operand: write "_in": "$user.id" (a list-valued '
                "variable), not a list holding it; write $$ for a literal $",
            ),
        ),
        (
            {"capacity": {"_between": "$user.range"}},
            (
                ("where", "capacity", "_between"),
                "INVALID_VALUE",
                "_between takes a written value, not the variable $user.range",
            ),
        ),
        (
            {"code": {"_is_null": "$user.flag"}},
            (
                ("where", "code", "_is_null"),
                "INVALID_VALUE",
                "_is_null takes a written value, not the variable $user.flag",
            ),
        ),
    ],
)
def test_variable_errors(doc: dict[str, Any], expected: tuple[Any, str, str]) -> None:
    assert errors(doc) == [expected]


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        (
            "nope",
            (
                ("where",),
                "EXPECTED_OBJECT",
                'a filter on Course is an object such as {"id": {"_eq": "…"}}, not the string "nope"',
            ),
        ),
        (
            {"_and": {"title": {"_eq": "x"}}},
            (
                ("where", "_and"),
                "EXPECTED_LIST",
                '_and takes a list of filters such as [{"id": {"_eq": "…"}}], not an object',
            ),
        ),
        (
            {"_or": "x"},
            (
                ("where", "_or"),
                "EXPECTED_LIST",
                '_or takes a list of filters such as [{"id": {"_eq": "…"}}], not the string "x"',
            ),
        ),
        (
            {"_not": [{"title": {"_eq": "x"}}]},
            (
                ("where", "_not"),
                "EXPECTED_OBJECT",
                'a filter on Course is an object such as {"id": {"_eq": "…"}}, not a list of 1 value',
            ),
        ),
        (
            {"_and": [{"title": {"_eq": "x"}}, 3]},
            (
                ("where", "_and", 1),
                "EXPECTED_OBJECT",
                'a filter on Course is an object such as {"id": {"_eq": "…"}}, not the number 3',
            ),
        ),
        (
            {"trainer": {"_is_null": True}},
            (
                ("where", "trainer", "_is_null"),
                "UNKNOWN_FIELD",
                "trainer is a relation: filter the Trainer's fields "
                '({"trainer": {"id": {"_eq": "…"}}}) or compare its id with trainerId '
                '({"trainerId": {"_is_null": …}})',
            ),
        ),
        (
            {"trainer": {"nme": {"_eq": "x"}}},
            (
                ("where", "trainer", "nme"),
                "UNKNOWN_FIELD",
                "unknown field nme on Trainer (did you mean name?); filter on one of: _and, _or, "
                "_not, id, createdAt, updatedAt, createdBy, version, name, email, phone, bio, "
                "hourlyRate, rating, active, courses",
            ),
        ),
        (
            {"enrollments": {"grade": {"_eq": 1}}},
            (
                ("where", "enrollments", "grade"),
                "UNKNOWN_OPERATOR",
                "enrollments is a list of records: use _some, _none or _every, not grade, "
                'e.g. {"enrollments": {"_some": {"id": {"_eq": "…"}}}}',
            ),
        ),
        (
            {"trainees": True},
            (
                ("where", "trainees"),
                "EXPECTED_OBJECT",
                "trainees is a list of records: filter it with _some, _none or _every, "
                'e.g. {"trainees": {"_some": {"id": {"_eq": "…"}}}}; not true',
            ),
        ),
        (
            {"enrollments": {"_some": {"grade": {"_like": "1"}}}},
            (
                ("where", "enrollments", "_some", "grade", "_like"),
                "OPERATOR_NOT_ALLOWED",
                f"operator _like is not available on integer field grade; use one of {INTEGER_OPS}",
            ),
        ),
        (
            {"isSmall": {"_eq": "yes"}},
            (
                ("where", "isSmall", "_eq"),
                "INVALID_VALUE",
                'computed field isSmall takes _eq true or false, not the string "yes"',
            ),
        ),
        (
            {"isSmall": {"_neq": True}},
            (
                ("where", "isSmall", "_neq"),
                "OPERATOR_NOT_ALLOWED",
                "operator _neq is not available on computed field isSmall; use one of _eq",
            ),
        ),
        (
            {"isSmall": True},
            (
                ("where", "isSmall"),
                "EXPECTED_OBJECT",
                'computed field isSmall takes {"_eq": true} or {"_eq": false}, not true',
            ),
        ),
    ],
)
def test_structure_errors(doc: Any, expected: tuple[Any, str, str]) -> None:
    assert errors(doc) == [expected]


def test_paths_start_at_the_callers_path() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_where({"capacity": {"_eq": "x"}}, COURSE, MODEL, path=("courses", "where"))
    assert caught.value.errors[0].path == ("courses", "where", "capacity", "_eq")


def test_computed_fields_that_refer_to_each_other_are_refused() -> None:
    # given two computed fields defined through each other (the builder refuses such documents;
    # the parser must not loop on a hand-made model either)
    small = dataclasses.replace(
        COURSE.field("isSmall"), computed=freeze_json({"isBig": {"_eq": False}})
    )
    big = dataclasses.replace(
        small, name="isBig", computed=MappingProxyType({"isSmall": {"_eq": False}})
    )
    fields = (*(f for f in COURSE.fields if f.name != "isSmall"), small, big)
    course = dataclasses.replace(COURSE, fields=fields)
    model = Model(tuple(course if e.id == COURSE.id else e for e in MODEL))

    # then
    assert errors({"isSmall": {"_eq": True}}, course, model) == [
        (
            ("where", "isSmall", "_eq"),
            "INVALID_COMPUTED",
            "computed field isSmall has an invalid expression at isBig/_eq: computed field isBig "
            "has an invalid expression at isSmall/_eq: computed fields refer to each other: "
            "training/course.isSmall -> training/course.isBig -> training/course.isSmall",
        )
    ]
