"""The entity meta-schema is a public contract: editors validate documents with it as it is."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from jsonschema import Draft202012Validator

from rapport.metadata.documents import kernel_documents, read_folder

ROOT = Path(__file__).parent.parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "metadata"


def _schema() -> dict[str, Any]:
    text = resources.files("rapport").joinpath("_data", "schemas", "entity.schema.json")
    schema: dict[str, Any] = json.loads(text.read_text(encoding="utf-8"))
    return schema


def _errors(document: Mapping[str, Any]) -> list[tuple[str, str]]:
    validator = Draft202012Validator(_schema())
    return sorted(
        ("/" + "/".join(map(str, e.absolute_path)), str(e.validator))
        for e in validator.iter_errors(document)
    )


def _entity(**fields: Any) -> dict[str, Any]:
    return {"$id": "hr/thing", "type": "object", "properties": fields}


def test_schema_is_valid_2020_12_and_the_repository_symlink_shows_it() -> None:
    schema = _schema()

    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert json.loads((ROOT / "schemas" / "entity.schema.json").read_text()) == schema


def _keywords(schema: Any, path: str) -> Iterator[tuple[str, Any]]:
    if isinstance(schema, Mapping):
        for name, sub in schema.get("properties", {}).items():
            yield f"{path}/properties/{name}", sub
        for key, sub in schema.items():
            if key != "properties":
                yield from _keywords(sub, f"{path}/{key}")
        for name, sub in schema.get("properties", {}).items():
            yield from _keywords(sub, f"{path}/properties/{name}")
    elif isinstance(schema, list):
        for i, sub in enumerate(schema):
            yield from _keywords(sub, f"{path}/{i}")


def test_every_keyword_has_a_description() -> None:
    undescribed = [
        path
        for path, sub in _keywords(_schema(), "")
        if not (isinstance(sub, Mapping) and isinstance(sub.get("description"), str))
    ]

    assert undescribed == []


@pytest.mark.parametrize("validator", ["jsonschema", "jsonschema_rs"])
def test_fixtures_and_kernel_documents_conform(validator: str) -> None:
    documents = [*read_folder(FIXTURES), *kernel_documents()]
    check = (
        Draft202012Validator(_schema()).is_valid
        if validator == "jsonschema"
        else jsonschema_rs.validator_for(_schema()).is_valid
    )

    assert [d.id for d in documents if not check(d.as_json())] == []


def test_every_field_kind_keyword_is_accepted() -> None:
    document = _entity(
        name={"type": "string", "maxLength": 10, "minLength": 1, "pattern": "^[A-Z]"},
        notes={"type": "string", "x-kind": "text", "x-analyze": ["sentiment", "embedding"]},
        count={"type": "integer", "minimum": 0, "multipleOf": 2, "examples": [2, 4]},
        amount={"type": "number", "x-kind": "money", "exclusiveMinimum": 0},
        ratio={"type": "number", "x-kind": "float"},
        exact={"type": "number", "x-kind": "decimal"},
        stars={"type": "integer", "x-kind": "rating", "maximum": 5},
        phone={"type": "string", "x-kind": "phone", "x-sensitive": True},
        mail={"type": "string", "format": "email", "x-unique": True},
        site={"type": "string", "format": "uri", "readOnly": True},
        day={"type": "string", "format": "date", "deprecated": True},
        at={"type": "string", "format": "date-time", "$comment": "UTC"},
        ref={"type": "string", "format": "uuid"},
        kind={
            "enum": ["a", "b"],
            "default": "a",
            "x-enumLabels": {"a": {"zh": "甲", "zh-Hant": "甲", "en": "A"}},
        },
        kinds={"type": "array", "items": {"enum": ["a", "b"]}, "uniqueItems": True},
        data={
            "type": "object",
            "x-kind": "json",
            "properties": {"street": {"type": "string"}},
            "additionalProperties": False,
        },
        file={"x-kind": "file", "description": "A scan", "title": "Scan"},
        boss={
            "type": "string",
            "format": "uuid",
            "x-label": {"en": "Boss"},
            "x-relation": {"entity": "org/employee", "onDelete": "setNull", "inverse": "staff"},
        },
        peers={
            "type": "array",
            "items": {"type": "string", "format": "uuid"},
            "x-relation": {"entity": "org/employee", "through": "hr/peer"},
        },
        flag={"type": "boolean", "x-computed": {"count": {"_gt": 3}}},
    )
    document.update(
        {
            "$schema": "https://rapport.dev/schemas/entity.schema.json",
            "title": "Thing",
            "description": "A thing.",
            "x-label": {"zh": "东西", "en": "Thing"},
            "required": ["name"],
            "x-plural": "thingies",
            "x-indexes": [["name"], {"fields": ["day", "at"], "unique": True, "name": "thing_at"}],
            "x-workflow": "hr/thing-flow",
        }
    )

    assert _errors(document) == []


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({**_entity(), "x-lable": {"en": "x"}}, [("/", "additionalProperties")]),
        (
            _entity(a={"type": "string", "x-unqiue": True}),
            [("/properties/a", "additionalProperties")],
        ),
        (
            _entity(a={"type": "string", "x-ui": "wide"}),
            [("/properties/a", "additionalProperties")],
        ),
        (
            _entity(a={"format": "uuid", "x-relation": {"entity": "a/b", "ondelete": "cascade"}}),
            [("/properties/a/x-relation", "additionalProperties")],
        ),
        (
            {**_entity(), "x-indexes": [{"fields": ["a"], "uniq": True}]},
            [("/x-indexes/0", "oneOf")],
        ),
        (
            _entity(a={"type": "string", "maxLenght": 3}),
            [("/properties/a", "additionalProperties")],
        ),
    ],
)
def test_unknown_keywords_are_rejected(
    document: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    assert _errors(document) == expected


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"type": "object", "properties": {}}, [("/", "required")]),
        ({**_entity(), "$id": "Training/Course"}, [("/$id", "pattern")]),
        ({**_entity(), "type": "array"}, [("/type", "const")]),
        # the standard meta-schema and Rapport's keyword definition both catch this one
        (
            _entity(a={"type": "strng"}),
            [("/properties/a/type", "anyOf"), ("/properties/a/type", "enum")],
        ),
        (_entity(a={"type": ["string", "null"]}), [("/properties/a/type", "enum")]),
        (_entity(a={"type": "string", "format": "datetime"}), [("/properties/a/format", "enum")]),
        (_entity(a={"type": "string", "x-kind": "txt"}), [("/properties/a/x-kind", "enum")]),
        (_entity(a={"type": "string", "maxLength": "3"}), [("/properties/a/maxLength", "type")]),
        (
            _entity(a={"type": "string", "x-label": {"EN": "A"}}),
            [("/properties/a/x-label", "pattern")],
        ),
        (
            _entity(a={"type": "string", "x-label": {}}),
            [("/properties/a/x-label", "minProperties")],
        ),
        (
            _entity(a={"format": "uuid", "x-relation": {"entity": "a/b", "onDelete": "null"}}),
            [("/properties/a/x-relation/onDelete", "enum")],
        ),
        (
            _entity(a={"format": "uuid", "x-relation": {}}),
            [("/properties/a/x-relation", "required")],
        ),
        (_entity(**{"bad name": {"type": "string"}}), [("/properties", "pattern")]),
        (_entity(_hidden={"type": "string"}), [("/properties", "pattern")]),
        ({**_entity(), "x-workflow": 5}, [("/x-workflow", "type")]),
        ({**_entity(), "x-plural": "Things"}, [("/x-plural", "pattern")]),
        ({**_entity(), "required": ["a", "a"]}, [("/required", "uniqueItems")]),
        ({**_entity(), "x-indexes": [[]]}, [("/x-indexes/0", "oneOf")]),
        (
            {**_entity(), "x-indexes": [{"fields": ["a"], "name": "x" * 64}]},
            [("/x-indexes/0", "oneOf")],
        ),
    ],
)
def test_malformed_keywords_are_rejected(
    document: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    assert _errors(document) == expected
