"""A compiled form as plain JSON Schema: fields in order, rules as if/then/else."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from rapport.forms.jsonschema import form_json_schema
from rapport.forms.uischema import form_ui_schema
from rapport.metadata.bundle import TenantMetadata, compile_tenant
from tests.forms.conftest import fixture_documents


@pytest.fixture(scope="module")
def metadata() -> TenantMetadata:
    return compile_tenant(fixture_documents())


def schema_of(metadata: TenantMetadata, form_id: str, locale: str | None = None) -> dict[str, Any]:
    form = metadata.forms.get(form_id)
    assert form is not None
    return form_json_schema(form, locale)


def test_the_schema_is_valid_2020_12_and_shows_only_the_form_fields(
    metadata: TenantMetadata,
) -> None:
    schema = schema_of(metadata, "complaints/intake", "en")
    jsonschema.Draft202012Validator.check_schema(schema)
    assert list(schema["properties"]) == [
        "title",
        "category",
        "body",
        "anonymous",
        "contact",
        "evidence",
        "severity",
        "amount",
        "channel",
    ]
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["title", "category"]
    assert not any(k.startswith("x-") for p in schema["properties"].values() for k in p)


def test_fixed_fields_accept_only_their_default_and_files_have_a_max_size(
    metadata: TenantMetadata,
) -> None:
    schema = schema_of(metadata, "complaints/intake")
    channel = schema["properties"]["channel"]
    assert channel["const"] == "form" and channel["readOnly"] is True
    assert schema["properties"]["evidence"]["properties"]["size"]["maximum"] == 1048576


def test_rules_compile_to_conditionals(metadata: TenantMetadata) -> None:
    conditionals = schema_of(metadata, "complaints/intake")["allOf"]
    harassment = {"required": ["category"], "properties": {"category": {"const": "harassment"}}}
    # show evidence only for harassment, and require it then
    assert {"if": harassment, "else": {"properties": {"evidence": False}}} in conditionals
    assert {
        "if": harassment,
        "then": {"required": ["evidence"], "properties": {"evidence": {"not": {"type": "null"}}}},
    } in conditionals
    # anonymous hides contact
    anonymous = {"required": ["anonymous"], "properties": {"anonymous": {"const": True}}}
    assert {"if": {"not": anonymous}, "else": {"properties": {"contact": False}}} in conditionals


def test_labels_follow_the_locale(metadata: TenantMetadata) -> None:
    zh = schema_of(metadata, "complaints/intake", "zh-CN")
    en = schema_of(metadata, "complaints/intake", "en")
    assert (zh["title"], zh["properties"]["category"]["title"]) == ("投诉登记", "类别")
    assert (en["title"], en["properties"]["category"]["title"]) == ("Complaint intake", "Category")


def test_ui_schema_in_the_rjsf_convention(metadata: TenantMetadata) -> None:
    intake = metadata.forms.get("complaints/intake")
    quick = metadata.forms.get("complaints/quick")
    assert intake is not None and quick is not None
    ui = form_ui_schema(intake, "en")
    assert ui["ui:order"] == list(form_json_schema(intake)["properties"])
    assert ui["category"] == {
        "ui:widget": "radio",
        "ui:title": "Category",
        "ui:enumNames": ["Pay", "workload", "manager", "Harassment", "other"],
    }
    assert ui["body"]["ui:options"] == {"rows": 6}
    assert ui["body"]["ui:placeholder"] == "Describe it"
    assert ui["anonymous"]["ui:help"] == "We will not record who you are."
    assert ui["channel"] == {"ui:widget": "hidden"}
    assert ui["evidence"]["ui:options"] == {"maxSize": 1048576, "accept": ["image/*", ".pdf"]}
    assert ui["severity"] == {"ui:widget": "rating", "ui:options": {"max": 5}}
    assert ui["amount"]["ui:widget"] == "updown"
    assert ui["ui:groups"][0] == {
        "id": "about",
        "title": "About",
        "fields": ["title", "category", "body"],
    }
    steps = form_ui_schema(quick, "zh")["ui:steps"]
    assert [(s["id"], s["title"], s["fields"]) for s in steps] == [
        ("what", "什么", ["title", "category"]),
        ("details", "详情", ["anonymous", "body"]),
    ]
    assert form_ui_schema(quick)["anonymous"]["ui:readonly"] is True


def test_ui_visible_if_says_when_rule_governed_fields_are_shown(metadata: TenantMetadata) -> None:
    # given
    intake = metadata.forms.get("complaints/intake")
    assert intake is not None
    visible = form_ui_schema(intake)["ui:visibleIf"]

    def shown(field: str, answers: dict[str, Any]) -> bool:
        return bool(jsonschema.Draft202012Validator(visible[field]).is_valid(answers))

    # then: only the fields rules show or hide are listed
    assert set(visible) == {"evidence", "contact", "severity"}
    assert shown("evidence", {"category": "harassment"})
    assert not shown("evidence", {"category": "pay"})
    assert shown("contact", {"anonymous": False}) and shown("contact", {})
    assert not shown("contact", {"anonymous": True})
    assert not shown("severity", {}) and shown("severity", {"amount": 3})
