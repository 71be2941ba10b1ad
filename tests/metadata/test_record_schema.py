from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from rapport.metadata.builder import compile_model
from rapport.metadata.documents import documents_from_json, read_folder
from rapport.metadata.ir import EntityDef, Model
from rapport.metadata.record_schema import FILE_REF_SCHEMA, record_schema

FIXTURES = Path(__file__).parents[1] / "fixtures" / "metadata"

EXTRA = {
    "$id": "hr/extra",
    "title": "Extra",
    "description": "Edge cases of the dialect.",
    "type": "object",
    "properties": {
        "status": {"enum": ["open", "closed"], "default": "open"},
        "ref": {"type": "string", "readOnly": True},
        "fee": {"type": "number", "x-kind": "money", "multipleOf": 0.05},
        "tip": {"type": "number", "x-kind": "money", "multipleOf": 0.001},
        "stars": {"type": "integer", "x-kind": "rating", "maximum": 5},
        "extra": {
            "type": "object",
            "x-kind": "json",
            "properties": {"x-note": {"type": "string"}},
            "x-sensitive": True,
        },
        "notes": {"type": "string", "x-kind": "text", "x-analyze": ["sentiment"]},
        "token": {"type": "string", "format": "uuid", "description": "An opaque token."},
        "secret": {"type": "string", "x-sensitive": True, "minLength": 2},
    },
    "required": ["status", "token"],
}


@pytest.fixture(scope="module")
def model() -> Model:
    return compile_model(read_folder(FIXTURES))


@pytest.fixture(scope="module")
def course(model: Model) -> EntityDef:
    return model.entity("training/course")


@pytest.fixture(scope="module")
def extra() -> EntityDef:
    return compile_model(documents_from_json([EXTRA])).entity("hr/extra")


def _keywords(schema: Any, *, inside_values: bool = False) -> Iterator[str]:
    """Every keyword used anywhere in a schema (property names are not keywords)."""
    if isinstance(schema, dict):
        for key, value in schema.items():
            if not inside_values:
                yield key
            if key in ("properties", "$defs"):
                for sub in value.values():
                    yield from _keywords(sub)
            elif key in ("enum", "const", "default", "examples", "x-label", "x-enumLabels"):
                continue
            else:
                yield from _keywords(value)
    elif isinstance(schema, list):
        for item in schema:
            yield from _keywords(item)


@pytest.mark.parametrize("mode", ["create", "update"])
def test_every_record_schema_is_valid_json_schema_2020_12(model: Model, mode: Any) -> None:
    extra_model = compile_model(documents_from_json([EXTRA]))
    for entity in (*model, *extra_model):
        # given / when
        schema = record_schema(entity, mode=mode)
        # then
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        jsonschema.Draft202012Validator.check_schema(schema)


def test_properties_are_the_graphql_input_names_of_writable_fields(course: EntityDef) -> None:
    schema = record_schema(course, mode="create")

    assert list(schema["properties"]) == [
        "title",
        "code",
        "level",
        "tags",
        "startDate",
        "startsAt",
        "capacity",
        "price",
        "score",
        "syllabus",
        "material",
        "website",
        "online",
        "trainerId",
    ]
    assert schema["additionalProperties"] is False
    assert schema["type"] == "object"


def test_system_computed_many_to_many_and_read_only_fields_are_absent(
    course: EntityDef, extra: EntityDef
) -> None:
    props = record_schema(course, mode="create")["properties"]
    for name in ("id", "createdAt", "updatedAt", "createdBy", "version", "isSmall", "trainees"):
        assert name not in props
    assert "trainer" not in props
    assert "ref" not in record_schema(extra, mode="create")["properties"]


def test_create_requires_required_fields_without_default(
    course: EntityDef, extra: EntityDef
) -> None:
    assert record_schema(course, mode="create")["required"] == ["title", "level"]
    # status is required but has a default, so a client may leave it out.
    assert record_schema(extra, mode="create")["required"] == ["token"]


def test_relation_is_written_as_id_with_uuid_format(course: EntityDef) -> None:
    prop = record_schema(course, mode="create")["properties"]["trainerId"]

    assert prop["format"] == "uuid"
    assert prop["type"] == ["string", "null"]
    assert "x-relation" not in prop


def test_x_keywords_are_removed_except_presentation_annotations(
    model: Model, extra: EntityDef
) -> None:
    for entity in (*model, extra):
        for mode in ("create", "update"):
            used = set(_keywords(record_schema(entity, mode=mode)))
            assert {k for k in used if k.startswith("x-")} <= {"x-label", "x-enumLabels"}


def test_a_nested_property_named_like_a_keyword_stays(extra: EntityDef) -> None:
    # (x- keywords inside nested schemas are refused by the loader, so none reach this point.)
    prop = record_schema(extra, mode="create")["properties"]["extra"]

    assert prop["properties"] == {"x-note": {"type": "string"}}
    assert "x-sensitive" not in prop
    assert record_schema(extra, mode="create")["properties"]["notes"] == {
        "type": ["string", "null"]
    }


def test_title_is_the_english_label_and_x_label_is_kept(course: EntityDef) -> None:
    schema = record_schema(course, mode="create")

    assert schema["title"] == "Course"
    assert schema["x-label"] == {"en": "Course", "zh": "课程"}
    assert schema["description"] == "A training course that employees enrol in."
    title = schema["properties"]["title"]
    assert title["title"] == "Title"
    assert title["x-label"] == {"en": "Title", "zh": "标题"}
    assert schema["properties"]["level"]["x-enumLabels"] == {
        "beginner": {"en": "Beginner", "zh": "初级"}
    }


def test_constraints_are_copied(course: EntityDef) -> None:
    props = record_schema(course, mode="create")["properties"]

    assert props["title"]["maxLength"] == 200
    assert props["code"]["pattern"] == "^[A-Z]{2,4}-[0-9]{3}$"
    assert props["capacity"]["minimum"] == 1
    assert props["capacity"]["maximum"] == 500
    assert props["level"]["enum"] == ["beginner", "intermediate", "advanced"]
    assert props["startDate"]["format"] == "date"
    assert props["startsAt"]["format"] == "date-time"
    assert props["website"]["format"] == "uri"


def test_numbers_are_numbers_and_money_counts_cents(
    model: Model, course: EntityDef, extra: EntityDef
) -> None:
    props = record_schema(course, mode="create")["properties"]
    assert props["price"]["type"] == ["number", "null"]
    assert props["score"]["type"] == ["number", "null"]
    assert "multipleOf" not in props["price"]

    rate = record_schema(model.entity("training/trainer"), mode="create")["properties"]
    assert rate["hourlyRate"]["type"] == ["number", "null"]
    assert rate["hourlyRate"]["multipleOf"] == 0.01
    assert rate["hourlyRate"]["minimum"] == 0

    extra_props = record_schema(extra, mode="create")["properties"]
    assert extra_props["fee"]["multipleOf"] == 0.05  # a whole number of cents: kept
    assert extra_props["tip"]["multipleOf"] == 0.01  # finer than the column: one cent


def test_rating_starts_at_one_unless_the_document_says_otherwise(
    model: Model, extra: EntityDef
) -> None:
    rating = record_schema(model.entity("training/trainer"), mode="create")["properties"]["rating"]
    assert rating["type"] == ["integer", "null"]
    assert rating["minimum"] == 1
    assert rating["maximum"] == 5


def test_file_is_a_file_ref_object(course: EntityDef) -> None:
    prop = record_schema(course, mode="create")["properties"]["material"]

    assert prop["type"] == ["object", "null"]
    assert set(prop["properties"]) == {"key", "name", "size", "contentType", "sha256"}
    assert prop["required"] == list(FILE_REF_SCHEMA["required"])
    assert prop["additionalProperties"] is False


def test_multi_enum_is_an_array_of_unique_enum_strings(course: EntityDef) -> None:
    prop = record_schema(course, mode="create")["properties"]["tags"]

    assert prop["type"] == ["array", "null"]
    assert prop["items"] == {"type": "string", "enum": ["safety", "law", "soft_skills", "tech"]}
    assert prop["uniqueItems"] is True


def test_update_requires_nothing_but_keeps_required_fields_non_null(
    course: EntityDef, extra: EntityDef
) -> None:
    schema = record_schema(course, mode="update")
    props = schema["properties"]

    assert "required" not in schema
    assert schema["minProperties"] == 1
    assert props["title"]["type"] == "string"
    assert props["level"]["enum"] == ["beginner", "intermediate", "advanced"]
    assert props["code"]["type"] == ["string", "null"]
    assert "default" not in props["online"]
    assert "default" not in record_schema(extra, mode="update")["properties"]["status"]


def test_optional_enum_accepts_null(extra: EntityDef, model: Model) -> None:
    props = record_schema(model.entity("complaints/complaint"), mode="create")["properties"]
    assert None not in props["category"]["enum"]  # required
    assert record_schema(extra, mode="create")["properties"]["status"]["default"] == "open"


def test_each_call_returns_a_fresh_schema(course: EntityDef) -> None:
    first = record_schema(course, mode="create")
    first["properties"]["title"]["maxLength"] = 1
    first["properties"]["tags"]["items"]["enum"].append("oops")

    again = record_schema(course, mode="create")
    assert again["properties"]["title"]["maxLength"] == 200
    assert "oops" not in again["properties"]["tags"]["items"]["enum"]


def test_unknown_mode_is_refused(course: EntityDef) -> None:
    with pytest.raises(ValueError, match="mode"):
        record_schema(course, mode="delete")  # type: ignore[arg-type]


# --- the schema as a portable contract: a standard validator agrees with it -----------------------

VALID_COURSE = {
    "title": "Fire safety 101",
    "code": "FS-101",
    "level": "beginner",
    "tags": ["safety", "law"],
    "startDate": "2026-03-01",
    "startsAt": "2026-03-01T09:00:00+08:00",
    "capacity": 20,
    "price": 99.5,
    "syllabus": {"weeks": 2},
    "material": {"key": "k/1", "name": "slides.pdf", "size": 10, "contentType": "application/pdf"},
    "online": False,
    "trainerId": "123e4567-e89b-12d3-a456-426614174000",
}


@pytest.mark.parametrize(
    ("patch", "wanted"),
    [
        ({}, True),
        ({"title": "x" * 201}, False),
        ({"level": "expert"}, False),
        ({"code": "bad"}, False),
        ({"capacity": 0}, False),
        ({"capacity": 1.5}, False),
        ({"tags": ["safety", "safety"]}, False),
        ({"tags": ["cooking"]}, False),
        ({"startDate": "2026-02-30"}, False),
        ({"material": {"key": "k"}}, False),
        ({"material": {**VALID_COURSE["material"], "extra": 1}}, False),  # type: ignore[dict-item]
        ({"trainer": "123e4567-e89b-12d3-a456-426614174000"}, False),
        ({"id": "123e4567-e89b-12d3-a456-426614174000"}, False),
        ({"code": None, "trainerId": None, "tags": None}, True),
        ({"title": None}, False),
    ],
)
def test_a_standard_validator_accepts_and_rejects_samples(
    course: EntityDef, patch: dict[str, Any], wanted: bool
) -> None:
    validator = jsonschema.Draft202012Validator(
        record_schema(course, mode="create"),
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
    )
    assert validator.is_valid({**VALID_COURSE, **patch}) is wanted


def test_a_standard_validator_sees_missing_required_fields(course: EntityDef) -> None:
    create = jsonschema.Draft202012Validator(record_schema(course, mode="create"))
    update = jsonschema.Draft202012Validator(record_schema(course, mode="update"))

    assert not create.is_valid({"title": "only a title"})
    assert update.is_valid({"title": "only a title"})
    assert not update.is_valid({})
    assert not update.is_valid({"level": None})
