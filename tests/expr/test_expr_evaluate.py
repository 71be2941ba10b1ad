"""evaluate on hand-made records: record shapes, wire formats and record errors."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from rapport.errors import RapportError, ValidationFailed
from rapport.expr import evaluate, parse_where, variables_for, variables_in
from rapport.metadata.builder import compile_model
from rapport.metadata.documents import read_folder
from rapport.principal import Principal

MODEL = compile_model(read_folder(Path(__file__).resolve().parents[1] / "fixtures" / "metadata"))
COURSE = MODEL.entity("training/course")
TRAINER_ID = "6f1c2a9e-1d4b-4c7e-9a53-2b8e7d0c4f11"


def matches(doc: dict[str, Any], record: dict[str, Any], **variables: Any) -> bool:
    names = {k.replace("__", "."): v for k, v in variables.items()}
    return evaluate(parse_where(doc, COURSE, MODEL), record, names)


def test_relation_ids_come_from_the_id_field_or_the_nested_record() -> None:
    doc = {"trainerId": {"_eq": TRAINER_ID}}
    assert matches(doc, {"trainerId": uuid.UUID(TRAINER_ID)})
    assert matches(doc, {"trainer": {"id": TRAINER_ID.upper()}})
    assert not matches(doc, {"trainer": None})
    assert matches({"trainerId": {"_is_null": True}}, {"trainer": None})


def test_wire_format_values_are_understood() -> None:
    record = {
        "price": "12.50",
        "startDate": "2026-01-02",
        "startsAt": "2026-01-02T03:04:05.123456+00:00",
        "id": TRAINER_ID.upper(),
    }
    assert matches({"price": {"_eq": 12.5}}, record)
    assert matches({"startDate": {"_gt": "2026-01-01"}}, record)
    assert matches({"startsAt": {"_lt": "2026-01-02T11:04:06+08:00"}}, record)
    assert matches({"id": {"_in": [TRAINER_ID]}}, record)
    assert matches({"price": {"_eq": Decimal("12.5")}}, {"price": 12.5})


def test_now_against_a_date_field_is_todays_date_in_utc() -> None:
    late = dt.datetime(2026, 1, 2, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))  # Jan 3 UTC
    assert matches({"startDate": {"_eq": "$now"}}, {"startDate": dt.date(2026, 1, 3)}, now=late)


def test_a_field_missing_from_the_record_is_an_error_not_a_null() -> None:
    with pytest.raises(ValidationFailed) as caught:
        matches({"enrollments": {"_none": {}}}, {"title": "x"})
    error = caught.value.errors[0]
    assert (error.path, error.code) == (("enrollments",), "MISSING_FIELD")
    assert error.message == "the record has no value for enrollments"


@pytest.mark.parametrize(
    ("doc", "record", "message"),
    [
        ({"capacity": {"_gt": 1}}, {"capacity": "many"}, 'expected a whole number, got the string "many"'),
        ({"title": {"_eq": "x"}}, {"title": 5}, "expected a string, got the number 5"),
        ({"trainer": {}}, {"trainer": "someone"}, 'expected the related record (an object), got the string "someone"'),
        ({"enrollments": {"_some": {}}}, {"enrollments": {}}, "expected a list of records, got an object"),
        ({"tags": {"_contains": "law"}}, {"tags": "law"}, 'expected a list of values, got the string "law"'),
        ({"startDate": {"_is_null": False}}, {"startDate": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)},
         "expected a date, got the date-time 2026-01-01T00:00:00+00:00"),
    ],
)  # fmt: skip
def test_a_record_value_of_the_wrong_type_is_an_error(
    doc: dict[str, Any], record: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        matches(doc, record)
    error = caught.value.errors[0]
    assert error.code == "INVALID_RECORD"
    assert error.message.endswith(f"does not fit: {message}")


def test_variables_for_a_principal() -> None:
    principal = Principal(
        tenant="acme",
        subject="u-1",
        roles=frozenset({"hr", "admin"}),
        attributes={"departments": ["Sales"], "id": "ignored"},
    )
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

    variables = variables_for(principal, now=now)

    assert variables == {
        "user.id": "u-1",
        "user.roles": ["admin", "hr"],
        "user.departments": ["Sales"],
        "now": now,
    }
    with pytest.raises(RapportError):
        variables_for(principal, now=dt.datetime(2026, 1, 1))


def test_variables_in_an_expression() -> None:
    expr = parse_where(
        {
            "title": {"_eq": "$user.name"},
            "trainer": {"name": {"_in": "$user.names"}},
            "_not": {"startsAt": {"_lt": "$now"}},
            "code": {"_eq": "$$literal"},
        },
        COURSE,
        MODEL,
    )
    assert variables_in(expr) == {"user.name", "user.names", "now"}
