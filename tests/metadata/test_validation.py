from __future__ import annotations

import enum
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from rapport.errors import FieldError
from rapport.metadata.builder import compile_model
from rapport.metadata.documents import read_folder
from rapport.metadata.ir import Model
from rapport.metadata.validation import RecordValidator, Validators, to_json_value

FIXTURES = Path(__file__).parents[1] / "fixtures" / "metadata"
CST = timezone(timedelta(hours=8))


class Level(enum.Enum):
    BEGINNER = "beginner"


@pytest.fixture(scope="module")
def model() -> Model:
    return compile_model(read_folder(FIXTURES))


@pytest.fixture(scope="module")
def validators(model: Model) -> Validators:
    return Validators(model)


@pytest.fixture(scope="module")
def create(validators: Validators) -> RecordValidator:
    return validators.get("training/course", "create")


@pytest.fixture(scope="module")
def update(validators: Validators) -> RecordValidator:
    return validators.get("training/course", "update")


@pytest.fixture(scope="module")
def trainer(validators: Validators) -> RecordValidator:
    return validators.get("training/trainer", "create")


def _by_path(errors: list[FieldError]) -> dict[tuple[Any, ...], tuple[str, str]]:
    return {e.path: (e.code, e.message) for e in errors}


def test_graphql_coerced_values_are_valid(create: RecordValidator) -> None:
    # given: what strawberry hands a resolver
    data = {
        "title": "消防安全培训",
        "code": "FS-101",
        "level": Level.BEGINNER,
        "tags": ("safety", "law"),
        "startDate": date(2026, 3, 1),
        "startsAt": datetime(2026, 3, 1, 9, 0, tzinfo=CST),
        "capacity": 20,
        "price": Decimal("12.50"),
        "score": 4.5,
        "syllabus": {"weeks": [1, 2], "note": "第一周"},
        "material": {
            "key": "k/1",
            "name": "课件.pdf",
            "size": 10,
            "contentType": "application/pdf",
        },
        "website": "https://example.com/course",
        "online": True,
        "trainerId": uuid.uuid4(),
    }
    # when / then
    assert create.validate(data) == []


def test_every_error_is_reported_with_a_code_path_and_plain_message(
    create: RecordValidator,
) -> None:
    data = {
        "title": "x" * 201,
        "code": "ab",
        "level": "expert",
        "tags": ["law", "law", "cooking"],
        "startDate": "2026-13-01",
        "startsAt": datetime(2026, 3, 1, 9, 0),  # naive
        "capacity": 0,
        "price": Decimal("-1"),
        "material": {"key": "k", "size": -1},
        "website": "example.com",
        "online": "yes",
        "trainerId": "not-a-uuid",
        "colour": "red",
    }

    errors = _by_path(create.validate(data, path_prefix=("input",)))

    assert errors == {
        ("input", "title"): ("TOO_LONG", "must be at most 200 characters"),
        ("input", "code"): ("PATTERN", "must match the pattern ^[A-Z]{2,4}-[0-9]{3}$"),
        ("input", "level"): ("NOT_IN_ENUM", "must be one of: beginner, intermediate, advanced"),
        ("input", "tags"): ("DUPLICATE", "must not list the same value twice"),
        ("input", "tags", 2): ("NOT_IN_ENUM", "must be one of: safety, law, soft_skills, tech"),
        ("input", "startDate"): ("FORMAT", "must be a date written YYYY-MM-DD"),
        ("input", "startsAt"): (
            "FORMAT",
            "must be a date and time with a time zone, e.g. 2026-01-02T03:04:05Z",
        ),
        ("input", "capacity"): ("RANGE", "must be at least 1"),
        ("input", "price"): ("RANGE", "must be at least 0"),
        ("input", "material", "name"): ("REQUIRED", "is required"),
        ("input", "material", "contentType"): ("REQUIRED", "is required"),
        ("input", "material", "size"): ("RANGE", "must be at least 0"),
        ("input", "website"): (
            "FORMAT",
            "must be an absolute URL, e.g. https://example.com/page",
        ),
        ("input", "online"): ("TYPE", "must be true or false"),
        ("input", "trainerId"): (
            "FORMAT",
            "must be a UUID, e.g. 123e4567-e89b-12d3-a456-426614174000",
        ),
        ("input", "colour"): ("UNKNOWN_FIELD", "is not a field of Course"),
    }


def test_errors_follow_the_field_order_of_the_entity(create: RecordValidator) -> None:
    errors = create.validate({"online": 1, "colour": 1, "title": 2, "level": 3})

    assert [e.path[0] for e in errors] == ["title", "level", "online", "colour"]


def test_missing_required_fields(create: RecordValidator) -> None:
    errors = create.validate({}, path_prefix=("inputs", 3))

    assert _by_path(errors) == {
        ("inputs", 3, "title"): ("REQUIRED", "is required"),
        ("inputs", 3, "level"): ("REQUIRED", "is required"),
    }


def test_null_on_a_required_field_is_required_not_a_type_error(
    create: RecordValidator, update: RecordValidator
) -> None:
    for validator in (create, update):
        errors = validator.validate({"title": None, "level": None, "code": None})
        assert _by_path(errors) == {
            ("title",): ("REQUIRED", "is required and cannot be null"),
            ("level",): ("REQUIRED", "is required and cannot be null"),
        }


def test_update_accepts_a_partial_patch_and_null_for_optional_fields(
    update: RecordValidator,
) -> None:
    assert update.validate({"title": "New"}) == []
    assert update.validate({"trainerId": None, "tags": None, "material": None}) == []


def test_an_empty_update_is_an_error(update: RecordValidator) -> None:
    assert _by_path(update.validate({}, path_prefix=("input",))) == {
        ("input",): ("EMPTY", "nothing to update: give at least one field")
    }


def test_system_computed_and_many_to_many_fields_are_read_only(create: RecordValidator) -> None:
    errors = _by_path(
        create.validate(
            {
                "title": "t",
                "level": "beginner",
                "id": str(uuid.uuid4()),
                "version": 3,
                "isSmall": True,
                "trainees": [],
                "trainer": str(uuid.uuid4()),
            }
        )
    )

    assert errors == {
        ("id",): ("READ_ONLY", "is set by the system and cannot be written"),
        ("version",): ("READ_ONLY", "is set by the system and cannot be written"),
        ("isSmall",): ("READ_ONLY", "is computed and cannot be written"),
        ("trainees",): (
            "READ_ONLY",
            "cannot be written here: create or delete Enrollment records instead",
        ),
        ("trainer",): ("UNKNOWN_FIELD", "is not an input field: write trainerId instead"),
    }


def test_wrong_types_report_one_error_per_value(create: RecordValidator) -> None:
    errors = create.validate({"title": 5, "level": 3, "capacity": "many", "tags": "law"})

    assert _by_path(errors) == {
        ("title",): ("TYPE", "must be text"),
        ("level",): ("TYPE", "must be text"),
        ("capacity",): ("TYPE", "must be a whole number"),
        ("tags",): ("TYPE", "must be a list"),
    }


def test_money_is_checked_exactly_in_cents(trainer: RecordValidator) -> None:
    for ok in (Decimal("0.07"), Decimal("19.99"), Decimal("12.5"), 12, Decimal("1E+2")):
        assert trainer.validate({"name": "n", "hourlyRate": ok}) == [], ok
    errors = trainer.validate({"name": "n", "hourlyRate": Decimal("12.505")})
    assert _by_path(errors) == {
        ("hourlyRate",): ("PRECISION", "must have at most 2 decimal places")
    }


def test_formats_email_and_rating(trainer: RecordValidator) -> None:
    errors = trainer.validate({"name": "n", "email": "nope", "rating": 6})
    assert _by_path(errors) == {
        ("email",): ("FORMAT", "must be an email address"),
        ("rating",): ("RANGE", "must be at most 5"),
    }
    assert _by_path(trainer.validate({"name": "n", "rating": 0})) == {
        ("rating",): ("RANGE", "must be at least 1")
    }


def test_length_counts_characters_not_bytes(trainer: RecordValidator) -> None:
    assert trainer.validate({"name": "张" * 100}) == []
    assert _by_path(trainer.validate({"name": "张" * 101})) == {
        ("name",): ("TOO_LONG", "must be at most 100 characters")
    }


def test_values_json_cannot_hold_are_a_type_error_not_a_crash(create: RecordValidator) -> None:
    errors = create.validate(
        {"title": b"bytes", "level": "beginner", "syllabus": {"when": object()}},
        path_prefix=("input",),
    )

    assert _by_path(errors) == {
        ("input", "title"): ("TYPE", "cannot take a value of Python type bytes"),
        ("input", "syllabus", "when"): ("TYPE", "cannot take a value of Python type object"),
    }


def test_non_finite_numbers_are_rejected(create: RecordValidator) -> None:
    errors = create.validate(
        {"title": "t", "level": "beginner", "price": Decimal("NaN"), "score": float("inf")}
    )
    assert {e.path: e.code for e in errors} == {("price",): "TYPE", ("score",): "TYPE"}


def test_input_that_is_not_an_object(create: RecordValidator) -> None:
    errors = create.validate(["title"], path_prefix=("input",))  # type: ignore[arg-type]
    assert _by_path(errors) == {("input",): ("TYPE", "must be an object")}


def test_to_json_value() -> None:
    when = datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)
    ident = uuid.uuid4()
    assert to_json_value(
        {
            "d": date(2026, 1, 2),
            "t": when,
            "u": ident,
            "e": Level.BEGINNER,
            "l": (1, Decimal("2.50")),
        }
    ) == {
        "d": "2026-01-02",
        "t": "2026-01-02T03:04:05.123456+00:00",
        "u": str(ident),
        "e": "beginner",
        "l": [1, Decimal("2.50")],
    }
    with pytest.raises(ValueError, match="bytes"):
        to_json_value(b"x")


def test_validators_cover_every_entity_in_both_modes(model: Model, validators: Validators) -> None:
    assert len(validators) == len(model)
    for entity in model:
        assert entity.id in validators
        for mode in ("create", "update"):
            validator = validators.get(entity.id, mode)
            assert validator.entity is entity
            assert validator.mode == mode
    assert "nope/nothing" not in validators
    with pytest.raises(KeyError, match="nope/nothing"):
        validators.get("nope/nothing", "create")


def test_validators_are_read_only(validators: Validators) -> None:
    with pytest.raises(AttributeError):
        validators.extra = 1  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        validators._entities["x/y"] = None  # type: ignore[index]


def test_a_validator_is_compiled_on_first_use_and_kept(model: Model) -> None:
    # given: a fresh set, nothing compiled yet
    fresh = Validators(model)
    assert fresh._by_key == {} and "training/course" in fresh

    # when
    first = fresh.get("training/course", "create")

    # then: only that one is compiled, and asked again it is the same object
    assert list(fresh._by_key) == [("training/course", "create")]
    assert fresh.get("training/course", "create") is first
    with pytest.raises(KeyError, match="no record validator"):
        fresh.get("training/nothing", "create")


def test_file_ref_sha256_may_be_null_but_not_malformed(create: RecordValidator) -> None:
    material = {"key": "k", "name": "a.pdf", "size": 1, "contentType": "application/pdf"}
    base = {"title": "t", "level": "beginner"}

    assert create.validate({**base, "material": {**material, "sha256": None}}) == []
    assert create.validate({**base, "material": {**material, "sha256": "f" * 64}}) == []
    assert _by_path(create.validate({**base, "material": {**material, "sha256": "XYZ"}})) == {
        ("material", "sha256"): ("PATTERN", "must match the pattern ^[0-9a-f]{64}$")
    }
