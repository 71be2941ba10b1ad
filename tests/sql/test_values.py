from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from rapport.metadata.ir import FieldKind
from rapport.sql.values import (
    INT32_MAX,
    ValueRejected,
    db_value,
    input_fields,
    json_text,
    to_columns,
)
from tests.sql.irfactory import entity, field, relation

CST = timezone(timedelta(hours=8))


@pytest.mark.parametrize(
    ("kind", "value", "stored"),
    [
        (FieldKind.STRING, "张三", "张三"),
        (FieldKind.INTEGER, 7, 7),
        (FieldKind.INTEGER, 7.0, 7),
        (FieldKind.RATING, Decimal("3"), 3),
        (FieldKind.DECIMAL, Decimal("12.50"), Decimal("12.50")),
        (FieldKind.DECIMAL, 0.1, Decimal("0.1")),
        (FieldKind.DECIMAL, 3, Decimal(3)),
        (FieldKind.MONEY, Decimal("12.5"), Decimal("12.5")),
        (FieldKind.FLOAT, Decimal("0.5"), 0.5),
        (FieldKind.BOOLEAN, False, False),
        (FieldKind.DATE, "2026-03-01", date(2026, 3, 1)),
        (FieldKind.DATE, date(2026, 3, 1), date(2026, 3, 1)),
        (FieldKind.DATETIME, "2026-03-01T09:00:00Z", datetime(2026, 3, 1, 9, tzinfo=UTC)),
        (
            FieldKind.DATETIME,
            datetime(2026, 3, 1, 9, tzinfo=CST),
            datetime(2026, 3, 1, 1, tzinfo=UTC),
        ),
        (FieldKind.MULTI_ENUM, ("a", "b"), ["a", "b"]),
        (FieldKind.JSON, {"名": [1, Decimal("2.5"), None]}, '{"名": [1, 2.5, null]}'),
        (FieldKind.STRING, None, None),
    ],
)
def test_db_value(kind: FieldKind, value: Any, stored: Any) -> None:
    assert db_value(field("f", kind), value) == stored


def test_uuid_text_becomes_a_uuid() -> None:
    ident = uuid.uuid4()
    assert db_value(relation("trainer", "training/trainer"), str(ident)) == ident
    assert db_value(field("token", FieldKind.UUID), ident) == ident


@pytest.mark.parametrize(
    ("kind", "value", "code", "message"),
    [
        (FieldKind.DATETIME, datetime(2026, 3, 1, 9), "FORMAT", "must include a time zone"),
        (FieldKind.DATETIME, "2026-03-01T09:00:00", "FORMAT", "must include a time zone"),
        (FieldKind.DATETIME, "2016-12-31T23:59:60Z", "FORMAT", "with a time zone"),
        (FieldKind.DATE, datetime(2026, 3, 1, tzinfo=CST), "FORMAT", "without a time"),
        (FieldKind.INTEGER, INT32_MAX + 1, "RANGE", "must be between"),
        (FieldKind.INTEGER, 1.5, "TYPE", "whole number"),
        (FieldKind.INTEGER, True, "TYPE", "whole number"),
        (FieldKind.MONEY, Decimal("0.001"), "PRECISION", "2 decimal places"),
        (FieldKind.MONEY, Decimal("1E16"), "RANGE", "less than 10000000000000000"),
        (FieldKind.DECIMAL, Decimal("NaN"), "TYPE", "finite"),
        (FieldKind.DECIMAL, "abc", "TYPE", "number"),
        (FieldKind.UUID, "abc", "FORMAT", "must be a UUID"),
        (FieldKind.STRING, "a\x00b", "INVALID", "NUL"),
        (FieldKind.JSON, {"a": "b\x00"}, "INVALID", "NUL"),
        (FieldKind.JSON, {"a": b"x"}, "TYPE", "JSON value"),
        (FieldKind.MULTI_ENUM, "a", "TYPE", "list"),
        (FieldKind.BOOLEAN, 1, "TYPE", "true or false"),
    ],
)
def test_values_the_column_cannot_take(
    kind: FieldKind, value: Any, code: str, message: str
) -> None:
    with pytest.raises(ValueRejected, match=message) as caught:
        db_value(field("f", kind), value)
    assert caught.value.code == code


def test_json_text_keeps_chinese_readable() -> None:
    assert json_text({"标题": "课程"}) == '{"标题": "课程"}'
    assert json.loads(json_text({"d": date(2026, 1, 2)})) == {"d": "2026-01-02"}


def test_to_columns_maps_input_names_and_collects_every_rejection() -> None:
    course = entity(
        "training/course",
        field("title", FieldKind.STRING),
        field("capacity", FieldKind.INTEGER),
        relation("trainer", "training/trainer"),
        field("isSmall", FieldKind.COMPUTED, read_only=True),
    )
    assert list(input_fields(course)) == ["title", "capacity", "trainerId"]

    values, errors = to_columns(
        course,
        {"title": "t", "capacity": 2**40, "trainerId": "x", "isSmall": True},
        path_prefix=("input",),
    )

    assert [(f.name, v) for f, v in values] == [("title", "t")]
    assert [(e.path, e.code) for e in errors] == [
        (("input", "capacity"), "RANGE"),
        (("input", "trainerId"), "FORMAT"),
    ]
