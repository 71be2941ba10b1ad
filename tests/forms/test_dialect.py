"""The draft-07 rendition of a form's JSON Schema keeps every constraint or refuses."""

from __future__ import annotations

import pytest
from jsonschema import Draft7Validator, Draft202012Validator

from rapport.errors import BadRequest
from rapport.forms.dialect import DRAFT_07, FormDialect, render

SCHEMA_2020 = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "$defs": {"code": {"type": "string", "pattern": "^[A-Z]{3}$"}},
    "properties": {
        "currency": {"$ref": "#/$defs/code"},
        "pair": {
            "type": "array",
            "prefixItems": [{"type": "integer"}, {"type": "string"}],
            "items": False,
        },
        "tags": {"type": "array", "items": {"type": "string"}},
        "card": {"type": "string"},
        "billing": {"type": "string"},
    },
    "dependentRequired": {"card": ["billing"]},
    "dependentSchemas": {"billing": {"properties": {"card": {"minLength": 4}}}},
    "allOf": [
        {"if": {"properties": {"currency": {"const": "CNY"}}}, "then": {"required": ["tags"]}}
    ],
    "additionalProperties": False,
}

INSTANCES = [
    {},
    {"currency": "CNY", "tags": ["a"]},
    {"currency": "CNY"},
    {"currency": "cny", "tags": []},
    {"pair": [1, "a"]},
    {"pair": [1, "a", 3]},
    {"pair": ["a", 1]},
    {"card": "1234", "billing": "x"},
    {"card": "1234"},
    {"card": "12", "billing": "x"},
    {"tags": [1]},
    {"other": 1},
]


def test_the_2020_12_dialect_is_the_schema_as_compiled() -> None:
    assert render(SCHEMA_2020, FormDialect.DRAFT_2020_12) == SCHEMA_2020


def test_the_draft_07_rendition_is_a_valid_draft_07_schema_with_the_same_verdicts() -> None:
    # given
    rendered = render(SCHEMA_2020, FormDialect.DRAFT_07)
    # then
    assert rendered["$schema"] == DRAFT_07
    Draft7Validator.check_schema(rendered)
    assert rendered["properties"]["currency"] == {"$ref": "#/definitions/code"}
    assert rendered["properties"]["pair"]["additionalItems"] is False
    assert rendered["dependencies"]["card"] == ["billing"]
    new, old = Draft7Validator(rendered), Draft202012Validator(SCHEMA_2020)
    verdicts = [old.is_valid(i) for i in INSTANCES]
    assert [new.is_valid(i) for i in INSTANCES] == verdicts
    assert True in verdicts and False in verdicts


def test_the_source_schema_is_not_changed() -> None:
    before = repr(SCHEMA_2020)
    render(SCHEMA_2020, FormDialect.DRAFT_07)
    assert repr(SCHEMA_2020) == before


@pytest.mark.parametrize("keyword", ["unevaluatedProperties", "minContains", "$dynamicRef"])
def test_a_keyword_draft_07_cannot_express_is_refused_with_its_pointer(keyword: str) -> None:
    schema = {"type": "object", "properties": {"a": {"type": "array", keyword: 1}}}
    with pytest.raises(BadRequest) as caught:
        render(schema, FormDialect.DRAFT_07)
    assert f"/properties/a/{keyword}" in caught.value.message
    assert caught.value.hint and "Ajv2020" in caught.value.hint
