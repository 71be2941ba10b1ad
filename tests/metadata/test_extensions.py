from __future__ import annotations

import pytest

from rapport.errors import MetadataInvalid
from rapport.metadata.builder import compile_model
from rapport.metadata.documents import documents_from_json
from rapport.metadata.extensions import apply_extensions

BASE = {
    "$id": "org/employee",
    "type": "object",
    "properties": {"name": {"type": "string"}},
    "required": ["name"],
}


def test_an_extension_adds_fields_required_names_and_indexes() -> None:
    # given
    docs = documents_from_json(
        [
            BASE,
            {
                "$id": "acme/employee-extra",
                "x-extends": "org/employee",
                "properties": {"badge": {"type": "string", "maxLength": 20}},
                "required": ["badge"],
                "x-indexes": [["badge"]],
            },
        ]
    )

    # when
    merged = apply_extensions(docs)
    model = compile_model(docs)

    # then the extension is gone and its fields are the target's
    assert [d.id for d in merged] == ["org/employee"]
    body = merged[0].as_json()
    assert body["required"] == ["name", "badge"]
    assert body["x-indexes"] == [["badge"]]
    assert model.entity("org/employee").has_field("badge")


def test_every_problem_of_extensions_is_reported() -> None:
    docs = documents_from_json(
        [
            BASE,
            {"$id": "acme/a", "x-extends": "org/nothing", "properties": {}},
            {"$id": "acme/b", "x-extends": "org/employee", "properties": {"name": {}}},
            {"$id": "acme/c", "x-extends": "org/employee", "title": "Renamed"},
        ]
    )
    with pytest.raises(MetadataInvalid) as invalid:
        apply_extensions(docs)
    found = {(p.document, p.pointer) for p in invalid.value.problems}
    assert found == {
        ("acme/a", "/x-extends"),
        ("acme/b", "/properties/name"),
        ("acme/c", "/title"),
    }
