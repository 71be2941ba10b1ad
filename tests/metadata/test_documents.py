from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from types import MappingProxyType

import pytest

from rapport.errors import MetadataInvalid
from rapport.metadata.documents import (
    Document,
    documents_from_json,
    kernel_documents,
    read_folder,
    write_folder,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "metadata"
REPO_METADATA = Path(__file__).parent.parent.parent / "metadata"

FIXTURE_IDS = [
    "complaints/complaint",
    "org/employee",
    "training/course",
    "training/enrollment",
    "training/trainee",
    "training/trainer",
]


def test_read_folder_reads_every_document_sorted_by_id() -> None:
    # when
    documents = read_folder(FIXTURES)

    # then
    assert [d.id for d in documents] == FIXTURE_IDS
    assert {d.source for d in documents} == {"tenant"}
    course = next(d for d in documents if d.id == "training/course")
    assert course.location == str(FIXTURES / "training" / "course.json")
    assert course.as_json() == json.loads((FIXTURES / "training" / "course.json").read_text())


def test_document_bodies_are_deep_frozen() -> None:
    course = next(d for d in read_folder(FIXTURES) if d.id == "training/course")

    assert isinstance(course.body, MappingProxyType)
    assert isinstance(course.body["properties"], MappingProxyType)
    assert isinstance(course.body["required"], tuple)
    with pytest.raises(TypeError):
        course.body["title"] = "changed"  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        course.id = "x/y"  # type: ignore[misc]
    # as_json hands out a fresh, mutable copy every time
    thawed = course.as_json()
    thawed["required"].append("code")
    assert course.as_json()["required"] == ["title", "level"]


def test_read_folder_takes_the_source() -> None:
    documents = read_folder(FIXTURES / "org", source="org-plugin")

    assert [(d.id, d.source) for d in documents] == [("org/employee", "org-plugin")]


def test_read_folder_reports_every_broken_file_at_once(tmp_path: Path) -> None:
    # given: a syntax error on line 3, a duplicate key, a document without $id, an array
    (tmp_path / "hr").mkdir()
    (tmp_path / "hr" / "a.json").write_text('{\n  "$id": "hr/a",\n  "type" "object"\n}\n')
    (tmp_path / "hr" / "b.json").write_text('{"$id": "hr/b", "title": "B", "title": "C"}')
    (tmp_path / "c.json").write_text('{"type": "object"}')
    (tmp_path / "d.json").write_text("[1, 2]")
    (tmp_path / "fine.json").write_text('{"$id": "hr/fine"}')
    (tmp_path / "notes.txt").write_text("not a document")

    # when
    with pytest.raises(MetadataInvalid) as caught:
        read_folder(tmp_path)

    # then
    problems = {p.document: p for p in caught.value.problems}
    assert sorted(problems) == ["c.json", "d.json", "hr/a.json", "hr/b.json"]
    syntax = problems["hr/a.json"]
    assert "line 3, column 10" in syntax.message
    assert "Expecting ':' delimiter" in syntax.message
    assert syntax.hint
    assert "'title'" in problems["hr/b.json"].message
    assert (problems["c.json"].pointer, problems["c.json"].message) == (
        "/$id",
        "the document has no `$id`",
    )
    assert "must be a JSON object" in problems["d.json"].message
    assert caught.value.code == "METADATA_INVALID"


def test_read_folder_rejects_text_that_is_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "latin.json").write_bytes('{"$id": "hr/caf\xe9"}'.encode("latin-1"))

    with pytest.raises(MetadataInvalid) as caught:
        read_folder(tmp_path)

    assert [(p.document, p.hint) for p in caught.value.problems] == [
        ("latin.json", "Save the file as UTF-8.")
    ]


def test_read_folder_needs_a_folder(tmp_path: Path) -> None:
    with pytest.raises(MetadataInvalid) as caught:
        read_folder(tmp_path / "missing")

    assert caught.value.problems[0].message == "not a folder"


def test_documents_from_json_takes_the_id_from_the_body() -> None:
    # when
    documents = documents_from_json(
        [{"$id": "b/two", "type": "object"}, {"$id": "a/one", "type": "object"}],
        source="admin",
    )

    # then
    assert [(d.id, d.source, d.location) for d in documents] == [
        ("a/one", "admin", ""),
        ("b/two", "admin", ""),
    ]
    assert documents[0].as_json() == {"$id": "a/one", "type": "object"}


def test_documents_from_json_reports_missing_and_invalid_ids_together() -> None:
    with pytest.raises(MetadataInvalid) as caught:
        documents_from_json([{"$id": "a/one"}, {"type": "object"}, {"$id": 7}, {"$id": ""}])

    assert [(p.document, p.pointer, p.message) for p in caught.value.problems] == [
        ("document #1", "/$id", "the document has no `$id`"),
        ("document #2", "/$id", "`$id` must be a string"),
        ("document #3", "/$id", "`$id` must be a string"),
    ]


def test_write_folder_then_read_folder_round_trips(tmp_path: Path) -> None:
    # given
    documents = read_folder(FIXTURES) + kernel_documents()

    # when
    written = write_folder(documents, tmp_path)
    again = read_folder(tmp_path)

    # then
    assert sorted(written) == sorted(
        tmp_path / d.id.split("/")[0] / f"{d.id.split('/')[1]}.json" for d in documents
    )
    assert [(d.id, d.body) for d in again] == sorted((d.id, d.body) for d in documents)


def test_write_folder_writes_sorted_keys_two_space_indent_and_unescaped_text(
    tmp_path: Path,
) -> None:
    document = documents_from_json(
        [{"type": "object", "$id": "hr/note", "x-label": {"zh": "备注", "en": "Note"}}]
    )[0]

    (path,) = write_folder([document], tmp_path)

    assert path == tmp_path / "hr" / "note.json"
    assert path.read_text(encoding="utf-8") == (
        "{\n"
        '  "$id": "hr/note",\n'
        '  "type": "object",\n'
        '  "x-label": {\n'
        '    "en": "Note",\n'
        '    "zh": "备注"\n'
        "  }\n"
        "}\n"
    )


def test_write_folder_refuses_ids_that_are_not_entity_ids(tmp_path: Path) -> None:
    escaping = Document("../evil", MappingProxyType({"$id": "../evil"}))

    with pytest.raises(MetadataInvalid) as caught:
        write_folder([escaping], tmp_path / "out")

    assert caught.value.problems[0].document == "../evil"
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / "evil.json").exists()


def test_kernel_documents_ship_as_package_data() -> None:
    # when
    documents = kernel_documents()

    # then
    assert [d.id for d in documents] == [
        "core/attachment",
        "core/comment",
        "core/form_submission",
        "core/notification",
        "core/task",
    ]
    assert {d.source for d in documents} == {"kernel"}
    assert documents[0].location == "rapport/_data/metadata/core/attachment.json"
    assert kernel_documents() is documents  # read once
    # the top-level metadata/ folder is the same data
    assert [(d.id, d.body) for d in read_folder(REPO_METADATA)] == [
        (d.id, d.body) for d in documents
    ]
