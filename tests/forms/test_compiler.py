"""Form documents compile into the FormSet; every problem is reported through compile_tenant."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from rapport.errors import MetadataInvalid
from rapport.forms.compiler import form_meta_schema
from rapport.metadata.bundle import compile_tenant
from rapport.metadata.documents import Document, documents_from_json, kernel_documents
from tests.forms.conftest import fixture_documents

INTAKE: dict[str, Any] = next(
    d.as_json() for d in fixture_documents() if d.id == "complaints/intake"
)


def compile_with(*forms: dict[str, Any], entities: tuple[Document, ...] | None = None) -> Any:
    base = [d for d in fixture_documents() if d.kind.value != "form"]
    if entities is not None:
        base = list(entities)
    extra = documents_from_json([{"kind": "form", "body": f} for f in forms])
    return compile_tenant([*kernel_documents(), *base, *extra])


def problems_of(
    *forms: dict[str, Any], entities: tuple[Document, ...] | None = None
) -> list[tuple[str, str, str]]:
    with pytest.raises(MetadataInvalid) as raised:
        compile_with(*forms, entities=entities)
    return [(p.document, p.pointer, p.message) for p in raised.value.problems]


def intake(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(INTAKE)
    body.update(changes)
    return body


def test_fixture_forms_and_default_forms_compile() -> None:
    # when
    metadata = compile_tenant(fixture_documents())
    # then
    ids = [f.id for f in metadata.forms]
    assert {"complaints/intake", "complaints/quick", "surveys/exit", "training/course"} <= set(ids)
    course = metadata.forms.get("training/course")
    exit_form = metadata.forms.get("surveys/exit")
    intake_form = metadata.forms.get("complaints/intake")
    assert course is not None and exit_form is not None and intake_form is not None
    assert course.default_form and not intake_form.default_form
    assert exit_form.standalone and not intake_form.standalone
    assert [b.name for b in intake_form.fields][:3] == ["title", "category", "body"]
    assert metadata.forms.get("core/form_submission") is None


def test_the_meta_schema_is_2020_12_with_a_description_on_every_property() -> None:
    schema = form_meta_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            for name, sub in node.get("properties", {}).items():
                assert "description" in sub, f"{where}/properties/{name}"
            for value in node.values():
                walk(value, where)
        elif isinstance(node, list):
            for item in node:
                walk(item, where)

    walk(schema, "")


def test_unknown_fields_bad_widgets_and_meta_schema_errors_are_all_reported() -> None:
    # given
    form = intake(
        fields=[
            "title",
            "category",
            "colour",
            {"name": "anonymous", "widget": "date"},
            {"name": "body", "readOnly": True},
            {"name": "title"},
        ]
    )
    broken_meta = {"$id": "complaints/other", "entity": "complaints/complaint", "fieldz": []}
    # when
    problems = problems_of({**form, "rules": [], "sections": []}, broken_meta)
    # then
    messages = [m for _, _, m in problems]
    assert any("has no field colour" in m for m in messages)
    assert any("date widget cannot edit the boolean field anonymous" in m for m in messages)
    assert any("read-only field body has no default" in m for m in messages)
    assert any("shows title twice" in m for m in messages)
    assert (
        "complaints/other",
        "",
        "Additional properties are not allowed ('fieldz' was unexpected)",
    ) in problems


def test_rules_refuse_operators_json_schema_cannot_express() -> None:
    # given
    form = intake(
        rules=[
            {"when": {"title": {"_ilike": "%pay%"}}, "require": ["body"]},
            {"when": {"title": {"_gt": "m"}}, "require": ["body"]},
            {"when": {"title": {"_eq": "$user.id"}}, "require": ["body"]},
            {"when": {"category": {"_eq": "nonsense"}}, "require": ["body"]},
            {"when": {"internalNote": {"_eq": "x"}}, "require": ["body"]},
            {"when": {"category": {"_eq": "pay"}}, "require": ["nothing"]},
        ]
    )
    # when
    problems = problems_of(form)
    # then
    by_pointer = {p: m for _, p, m in problems}
    assert "cannot be checked by a JSON Schema client" in by_pointer["/rules/0/when"]
    assert "only numbers can be ordered" in by_pointer["/rules/1/when"]
    assert "uses a variable" in by_pointer["/rules/2/when"]
    assert "/rules/3/when/category/_eq" in by_pointer
    assert "which the form does not show" in by_pointer["/rules/4/when"]
    assert "nothing is not a field of this form" in by_pointer["/rules/5/require/0"]


def test_required_entity_fields_must_be_shown_unconditionally() -> None:
    # given
    missing = intake(fields=["title", "body"], rules=[], sections=[])
    hidden = intake(
        **{"$id": "complaints/hidden"},
        rules=[{"when": {"anonymous": {"_eq": True}}, "hide": ["category"]}],
    )
    # when
    problems = problems_of(missing, hidden)
    # then
    assert (
        "complaints/intake",
        "/fields",
        "the form does not show category, which complaints/complaint requires",
    ) in problems
    assert ("complaints/hidden", "/rules", "rules may hide category, which is required") in problems


def test_sections_and_steps_name_shown_fields_once() -> None:
    form = intake(
        sections=[{"id": "a", "fields": ["title", "ghost"]}, {"id": "b", "fields": ["title"]}],
        steps=[{"id": "one", "fields": ["title"]}],
    )
    messages = [m for _, _, m in problems_of(form)]
    assert "ghost is not a field of this form" in messages
    assert "title is already in a" in messages
    assert any(m.startswith("fields in no step: category") for m in messages)


def test_a_questionnaire_is_checked_like_an_entity() -> None:
    form = {
        "$id": "surveys/pulse",
        "questions": {
            "mood": {"enum": ["good", "bad"]},
            "boss": {
                "type": "string",
                "format": "uuid",
                "x-relation": {"entity": "training/trainer"},
            },
            "score": {"type": "integer", "maximum": "ten"},
        },
        "required": ["mood", "ghost"],
    }
    problems = problems_of(form)
    pointers = {p for _, p, _ in problems}
    assert "/questions/boss" in pointers
    assert "/questions/score/maximum" in pointers
    assert any(p.startswith("/required") for p in pointers)


def test_a_form_of_a_missing_entity_suggests_the_close_one() -> None:
    problems = problems_of({"$id": "complaints/x", "entity": "complaints/complain"})
    assert problems == [
        ("complaints/x", "/entity", "the form's entity complaints/complain does not exist")
    ]


def test_a_form_broken_by_an_entity_change_is_reported() -> None:
    # given: the complaint entity loses `evidence` and `severity` becomes text
    entities = []
    for doc in fixture_documents():
        if doc.kind.value != "entity":
            continue
        body = doc.as_json()
        if doc.id == "complaints/complaint":
            del body["properties"]["evidence"]
            body["properties"]["severity"] = {"type": "string"}
        entities.append({"kind": "entity", "body": body})
    # when
    problems = problems_of(INTAKE, entities=documents_from_json(entities))
    # then
    messages = [m for _, _, m in problems]
    assert "complaints/complaint has no field evidence (was it removed or renamed?)" in messages
    assert "the rating widget cannot edit the string field severity" in messages
