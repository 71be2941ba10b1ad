from __future__ import annotations

from pathlib import Path

import pytest

from rapport.errors import MetadataInvalid
from rapport.metadata.bundle import TenantMetadata, compile_tenant
from rapport.metadata.documents import (
    DocumentKind,
    documents_from_json,
    read_folder,
    write_folder,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "metadata"
COURSE_FLOW = {"$id": "training/course-flow", "entity": "training/course", "states": {}}


def test_the_file_name_says_the_kind_and_writing_keeps_it(tmp_path: Path) -> None:
    # given a folder with an entity and a workflow document
    (tmp_path / "training").mkdir()
    (tmp_path / "training" / "trainee.json").write_text(
        (FIXTURES / "training" / "trainee.json").read_text()
    )
    (tmp_path / "training" / "course-flow.workflow.json").write_text(
        '{"$id": "training/course-flow"}'
    )

    # when it is read and written back
    documents = read_folder(tmp_path)
    out = tmp_path / "out"
    written = write_folder(documents, out)

    # then each document has its kind, and the kind survives the round trip
    assert {(d.id, d.kind) for d in documents} == {
        ("training/trainee", DocumentKind.ENTITY),
        ("training/course-flow", DocumentKind.WORKFLOW),
    }
    assert sorted(p.relative_to(out).as_posix() for p in written) == [
        "training/course-flow.workflow.json",
        "training/trainee.json",
    ]
    assert read_folder(out) == tuple(d for d in read_folder(out))
    assert {(d.id, d.kind) for d in read_folder(out)} == {(d.id, d.kind) for d in documents}


def test_json_items_name_their_kind_in_a_wrapper() -> None:
    documents = documents_from_json(
        [{"kind": "workflow", "body": COURSE_FLOW}, {"$id": "a/b", "type": "object"}]
    )
    assert [(d.id, d.kind) for d in documents] == [
        ("a/b", DocumentKind.ENTITY),
        ("training/course-flow", DocumentKind.WORKFLOW),
    ]
    with pytest.raises(MetadataInvalid, match="'Screen!' is not a document kind name") as caught:
        documents_from_json([{"kind": "Screen!", "body": COURSE_FLOW}])
    assert caught.value.problems[0].pointer == "/kind"


def test_a_kind_nothing_declares_is_refused_when_compiled() -> None:
    # given a well-formed kind name that no installed package declares
    (screen,) = documents_from_json([{"kind": "screen", "body": {"$id": "a/screen"}}])

    # when / then
    with pytest.raises(MetadataInvalid) as caught:
        compile_tenant((*read_folder(FIXTURES), screen))
    assert [(p.document, p.message) for p in caught.value.problems] == [
        ("a/screen", "screen documents are not compiled by Rapport or any installed plug-in")
    ]


def test_compile_tenant_compiles_entities_and_checks_the_other_kinds() -> None:
    entities = read_folder(FIXTURES)
    metadata = compile_tenant(entities)
    assert metadata.model.has_entity("training/course")
    assert metadata.documents_of(DocumentKind.ENTITY) == entities

    workflow = documents_from_json([{"kind": "workflow", "body": COURSE_FLOW}])
    with pytest.raises(MetadataInvalid) as caught:
        compile_tenant(entities + workflow)
    assert {p.document for p in caught.value.problems} == {"training/course-flow"}
    assert "'field' is a required property" in {p.message for p in caught.value.problems}


def test_problems_of_every_kind_are_reported_together() -> None:
    broken = documents_from_json([{"$id": "a/b", "type": "object", "x-lable": {}}])
    workflow = documents_from_json([{"kind": "workflow", "body": COURSE_FLOW}])
    with pytest.raises(MetadataInvalid) as caught:
        compile_tenant(broken + workflow)
    assert {p.document for p in caught.value.problems} == {"a/b", "training/course-flow"}


def test_metadata_of_a_model_alone() -> None:
    model = compile_tenant(read_folder(FIXTURES)).model
    assert TenantMetadata.of(model).model is model
    assert TenantMetadata.of(model).documents == ()
