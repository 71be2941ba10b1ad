from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from rapport.errors import MetadataInvalid, MetadataProblem
from rapport.metadata.builder import compile_model
from rapport.metadata.documents import Document, documents_from_json, kernel_documents, read_folder
from rapport.metadata.indexes import index_name
from rapport.metadata.ir import (
    FieldKind,
    IndexDef,
    ManyToManyDef,
    Model,
    OnDelete,
    RelationDef,
    ReverseRelationDef,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "metadata"


def entity(entity_id: str, properties: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    return {"$id": entity_id, "type": "object", "properties": dict(properties), **extra}


def fixtures_and(*bodies: Mapping[str, Any]) -> list[Document]:
    return [*read_folder(FIXTURES), *documents_from_json(bodies)]


def compile_json(*bodies: Mapping[str, Any]) -> Model:
    return compile_model(documents_from_json(bodies))


def problems(documents: list[Document]) -> list[MetadataProblem]:
    with pytest.raises(MetadataInvalid) as caught:
        compile_model(documents)
    return list(caught.value.problems)


EMPLOYEE = entity("org/employee", {"name": {"type": "string"}})

# -- the happy path --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def model() -> Model:
    return compile_model(read_folder(FIXTURES))


def test_fixtures_compile_into_entities_sorted_by_id(model: Model) -> None:
    assert [e.id for e in model] == [
        "complaints/complaint",
        "org/employee",
        "training/course",
        "training/enrollment",
        "training/trainee",
        "training/trainer",
    ]
    course = model.entity("training/course")
    assert (course.namespace, course.name, course.table) == (
        "training",
        "course",
        "training_course",
    )
    assert (course.type_name, course.single_name, course.plural_name) == (
        "Course",
        "course",
        "courses",
    )
    assert course.title == "Course"
    assert course.label == {"en": "Course", "zh": "课程"}
    assert course.description == "A training course that employees enrol in."
    assert course.document == next(d for d in read_folder(FIXTURES) if d.id == course.id).body


def test_fields_keep_document_order_with_kinds_and_columns(model: Model) -> None:
    course = model.entity("training/course")
    trainer = model.entity("training/trainer")

    assert [(f.name, f.kind, f.column) for f in course.fields] == [
        ("title", FieldKind.STRING, "title"),
        ("code", FieldKind.STRING, "code"),
        ("level", FieldKind.ENUM, "level"),
        ("tags", FieldKind.MULTI_ENUM, "tags"),
        ("startDate", FieldKind.DATE, "start_date"),
        ("startsAt", FieldKind.DATETIME, "starts_at"),
        ("capacity", FieldKind.INTEGER, "capacity"),
        ("price", FieldKind.DECIMAL, "price"),
        ("score", FieldKind.FLOAT, "score"),
        ("syllabus", FieldKind.JSON, "syllabus"),
        ("material", FieldKind.FILE, "material"),
        ("website", FieldKind.URL, "website"),
        ("online", FieldKind.BOOLEAN, "online"),
        ("trainer", FieldKind.RELATION, "trainer_id"),
        ("trainees", FieldKind.MANY_TO_MANY, None),
        ("isSmall", FieldKind.COMPUTED, None),
    ]
    assert [(f.name, f.kind) for f in trainer.fields][1:6] == [
        ("email", FieldKind.EMAIL),
        ("phone", FieldKind.PHONE),
        ("bio", FieldKind.TEXT),
        ("hourlyRate", FieldKind.MONEY),
        ("rating", FieldKind.RATING),
    ]
    assert trainer.field("hourlyRate").column == "hourly_rate"


def test_field_attributes_come_from_their_keywords(model: Model) -> None:
    course = model.entity("training/course")
    title, code, level, tags = (course.field(n) for n in ("title", "code", "level", "tags"))

    assert (title.required, title.unique, title.label) == (
        True,
        False,
        {"en": "Title", "zh": "标题"},
    )
    assert title.schema == {
        "type": "string",
        "maxLength": 200,
        "x-label": {"en": "Title", "zh": "标题"},
    }
    assert isinstance(title.schema, MappingProxyType)
    assert (code.required, code.unique) == (False, True)
    assert level.enum_values == ("beginner", "intermediate", "advanced")
    assert level.enum_labels == {"beginner": {"en": "Beginner", "zh": "初级"}}
    assert tags.enum_values == ("safety", "law", "soft_skills", "tech")
    online = course.field("online")
    assert (online.has_default, online.default) == (True, False)
    assert (title.has_default, title.default) == (False, None)
    is_small = course.field("isSmall")
    assert (is_small.read_only, is_small.computed_kind) == (True, FieldKind.BOOLEAN)
    assert is_small.computed == {"capacity": {"_lte": 10}}
    assert not is_small.is_writable
    assert course.unique_fields == (code,)


def test_relations_have_inverses_and_targets_have_reverse_relations(model: Model) -> None:
    course = model.entity("training/course")

    assert course.field("trainer").relation == RelationDef(
        "training/trainer", OnDelete.SET_NULL, "courses"
    )
    assert course.field("trainer").graphql_input_name == "trainerId"
    assert model.entity("training/trainer").reverse_relations == (
        ReverseRelationDef("courses", "training/course", "trainer"),
    )
    assert course.reverse_relations == (
        ReverseRelationDef("enrollments", "training/enrollment", "course"),
    )
    assert model.entity("training/trainee").reverse_relations == (
        ReverseRelationDef("enrollments", "training/enrollment", "trainee"),
    )
    assert course.field("trainees").many_to_many == ManyToManyDef(
        target="training/trainee",
        through="training/enrollment",
        source_field="course",
        target_field="trainee",
    )
    assert course.field("trainees").relation is None


def test_indexes_are_named_after_table_and_columns(model: Model) -> None:
    assert model.entity("training/course").indexes == (
        IndexDef(
            "training_course_level_start_date_idx",
            ("level", "startDate"),
            ("level", "start_date"),
        ),
    )
    assert model.entity("training/enrollment").indexes == (
        IndexDef(
            "training_enrollment_course_id_trainee_id_key",
            ("course", "trainee"),
            ("course_id", "trainee_id"),
            unique=True,
        ),
    )


def test_long_index_names_are_cut_and_end_in_a_hash() -> None:
    columns = ["a_rather_long_column_name", "another_rather_long_column_name"]
    full = "hr_performance_review_" + "_".join(columns) + "_idx"

    name = index_name("hr_performance_review", columns, unique=False)

    assert len(full) > 63
    assert len(name) == 63
    assert name == full[:54] + "_" + hashlib.sha1(full.encode()).hexdigest()[:8]
    assert index_name("hr_performance_review", columns, unique=True) != name
    assert index_name("t", ["a"], unique=False) == "t_a_idx"


def test_explicit_index_names_and_unique_entries() -> None:
    model = compile_json(
        entity(
            "hr/badge",
            {"code": {"type": "string"}, "owner": {"type": "string"}},
            **{"x-indexes": [{"fields": ["code", "owner"], "unique": True, "name": "badge_code"}]},
        )
    )

    assert model.entity("hr/badge").indexes == (
        IndexDef("badge_code", ("code", "owner"), ("code", "owner"), unique=True),
    )


def test_design_md_example_compiles_as_it_stands() -> None:
    # given: the complaint document of DESIGN.md, verbatim, and the employee it points at
    documents = [
        d for d in read_folder(FIXTURES) if d.id in ("complaints/complaint", "org/employee")
    ]

    # when
    model = compile_model(documents)

    # then
    complaint = model.entity("complaints/complaint")
    assert [(f.name, f.kind) for f in complaint.fields] == [
        ("title", FieldKind.STRING),
        ("category", FieldKind.ENUM),
        ("body", FieldKind.TEXT),
        ("anonymous", FieldKind.BOOLEAN),
        ("submitter", FieldKind.RELATION),
        ("salary", FieldKind.DECIMAL),
        ("dueAt", FieldKind.DATETIME),
    ]
    assert complaint.label == {"zh": "投诉", "en": "Complaint"}
    assert complaint.field("body").analyze == ("sentiment", "topics")
    assert complaint.field("salary").sensitive
    assert complaint.field("submitter").relation == RelationDef(
        "org/employee", OnDelete.RESTRICT, "complaints"
    )
    assert complaint.workflow == "complaints/complaint-flow"
    assert [i.name for i in complaint.indexes] == ["complaints_complaint_category_due_at_idx"]
    assert [f.name for f in complaint.fields if f.required] == ["title", "category"]
    assert model.entity("org/employee").reverse_relations == (
        ReverseRelationDef("complaints", "complaints/complaint", "submitter"),
    )


def test_kernel_documents_compile_together_with_the_fixtures() -> None:
    model = compile_model([*kernel_documents(), *read_folder(FIXTURES)])

    task = model.entity("core/task")
    assert [(f.name, f.kind) for f in task.fields] == [
        ("assignee", FieldKind.STRING),
        ("description", FieldKind.TEXT),
        ("dueAt", FieldKind.DATETIME),
        ("status", FieldKind.ENUM),
        ("subjectEntity", FieldKind.STRING),
        ("subjectId", FieldKind.UUID),
        ("title", FieldKind.STRING),
    ]
    assert task.field("status").enum_values == ("open", "in_progress", "done", "cancelled")
    assert task.field("status").default == "open"
    assert model.entity("core/attachment").field("file").kind is FieldKind.FILE
    assert model.entity("core/comment").field("body").kind is FieldKind.TEXT
    for kernel in ("core/task", "core/comment", "core/attachment"):
        assert set(model.entity(kernel).label) == {"en", "zh"}
        assert all(set(f.label) == {"en", "zh"} for f in model.entity(kernel).fields)


def test_compilation_does_not_depend_on_input_order() -> None:
    documents = [*kernel_documents(), *read_folder(FIXTURES)]
    shuffled = documents[:]
    random.Random(7).shuffle(shuffled)

    assert compile_model(shuffled) == compile_model(documents)


def test_x_plural_overrides_the_plural() -> None:
    model = compile_json(
        entity("hr/staff", {"name": {"type": "string"}}, **{"x-plural": "staffMembers"})
    )

    assert model.entity("hr/staff").plural_name == "staffMembers"


def test_automatic_reverse_names_mention_the_field_when_a_target_is_referred_twice() -> None:
    model = compile_json(
        EMPLOYEE,
        entity(
            "hr/exit-interview",
            {
                "employee": {
                    "type": "string",
                    "format": "uuid",
                    "x-relation": {"entity": "org/employee"},
                },
                "interviewer": {
                    "type": "string",
                    "format": "uuid",
                    "x-relation": {"entity": "org/employee"},
                },
                "mentor": {
                    "type": "string",
                    "format": "uuid",
                    "x-relation": {"entity": "org/employee", "inverse": "mentoredExits"},
                },
            },
        ),
    )

    assert [r.name for r in model.entity("org/employee").reverse_relations] == [
        "exitInterviewsByEmployee",
        "exitInterviewsByInterviewer",
        "mentoredExits",
    ]
    exit_interview = model.entity("hr/exit-interview")
    assert exit_interview.field("employee").relation == RelationDef(
        "org/employee", OnDelete.RESTRICT, "exitInterviewsByEmployee"
    )
    assert (exit_interview.table, exit_interview.type_name, exit_interview.plural_name) == (
        "hr_exit_interview",
        "ExitInterview",
        "exitInterviews",
    )


def test_a_relation_may_point_at_its_own_entity() -> None:
    model = compile_json(
        entity(
            "org/employee",
            {
                "name": {"type": "string"},
                "manager": {
                    "type": "string",
                    "format": "uuid",
                    "x-relation": {"entity": "org/employee", "inverse": "reports"},
                },
            },
        )
    )

    assert model.entity("org/employee").reverse_relations == (
        ReverseRelationDef("reports", "org/employee", "manager"),
    )


# -- everything wrong at once ----------------------------------------------------------------


def test_a_broken_document_reports_every_mistake_with_pointer_and_hint() -> None:
    # given: one document with many different mistakes
    broken = entity(
        "hr/review",
        {
            "title": {"type": "string", "maxLength": 5, "default": "far too long"},
            "status": {"enum": ["draft", "in review", "null"]},
            "reviewer": {
                "type": "string",
                "format": "uuid",
                "x-relaton": {"entity": "org/employee"},
            },
            "subject": {
                "type": "string",
                "format": "uuid",
                "x-relation": {"entity": "org/employe", "onDelete": "setNull"},
            },
            "version": {"type": "integer"},
            "score": {"type": "string", "x-kind": "rating"},
            "due": {"type": "string", "format": "datetime"},
            "good": {"type": "boolean", "x-computed": {"scroe": {"_gt": 3}}},
        },
        required=["title", "subject", "summary"],
        **{"x-indexes": [["title", "good"]], "x-workflow": 12, "label": {"en": "Review"}},
    )

    # when
    found = problems([*documents_from_json([broken, EMPLOYEE])])

    # then: each mistake at its place, none hidden behind another
    by_pointer = {p.pointer: p for p in found}
    assert {p.document for p in found} == {"hr/review"}
    expected = {
        "/label": "Did you mean x-label?",
        "/properties/reviewer/x-relaton": "Did you mean x-relation?",
        "/properties/due/format": 'Did you mean "date-time"?',
        "/x-workflow": "Id (namespace/name) of the workflow document that drives this entity's status.",
        "/properties/title/default": "Change the default to a value the field accepts, or remove it.",
        "/properties/status/enum/1": "put the display text in x-enumLabels",
        "/properties/status/enum/2": "not true, false or null",
        "/properties/subject/x-relation/entity": "Did you mean 'org/employee'?",
        "/properties/subject/x-relation/onDelete": '"onDelete": "restrict" or "cascade"',
        "/properties/version": "Rename the field",
        "/properties/score/type": 'Use "type": "integer"',
        "/properties/good/x-computed/scroe": "x-computed is a filter on the record itself",
        "/required/2": "List only names defined in `properties`",
        "/x-indexes/0/1": "Remove 'good' from the index.",
    }
    for pointer, hint in expected.items():
        assert pointer in by_pointer, pointer
        assert hint in by_pointer[pointer].hint, (pointer, by_pointer[pointer].hint)
    assert len(found) == len(expected)
    assert "scroe" in by_pointer["/properties/good/x-computed/scroe"].message
    assert "did you mean score" in by_pointer["/properties/good/x-computed/scroe"].message


def test_metadata_invalid_carries_the_problems_for_clients() -> None:
    with pytest.raises(MetadataInvalid) as caught:
        compile_json(entity("hr/x", {"id": {"type": "string"}}))

    error = caught.value
    assert error.code == "METADATA_INVALID"
    assert error.extensions()["problems"] == [p.as_dict() for p in error.problems]
    assert "hr/x#/properties/id" in error.message


# -- unknown keywords ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "pointer", "hint"),
    [
        (
            entity(
                "hr/a", {"b": {"type": "string", "format": "uuid", "x-relaton": {"entity": "hr/a"}}}
            ),
            "/properties/b/x-relaton",
            "Did you mean x-relation?",
        ),
        (
            entity("hr/a", {"b": {"type": "string", "x-uniqe": True}}),
            "/properties/b/x-uniqe",
            "Did you mean x-unique?",
        ),
        (
            entity("hr/a", {"b": {"type": "string", "lable": {}}}),
            "/properties/b/lable",
            "Did you mean x-label?",
        ),
        (
            entity("hr/a", {"b": {"type": "string", "maxLenght": 3}}),
            "/properties/b/maxLenght",
            "Did you mean maxLength?",
        ),
        (entity("hr/a", {}, **{"x-index": [["b"]]}), "/x-index", "Did you mean x-indexes?"),
        (
            entity(
                "hr/a",
                {"b": {"format": "uuid", "x-relation": {"entity": "hr/a", "ondelete": "cascade"}}},
            ),
            "/properties/b/x-relation/ondelete",
            "Did you mean onDelete?",
        ),
        (
            entity("hr/a", {"b": {"type": "string", "x-kind": "mony"}}),
            "/properties/b/x-kind",
            'Did you mean "money"?',
        ),
        (
            entity("hr/a", {"b": {"type": "string", "x-zzz": 1}}),
            "/properties/b/x-zzz",
            "Rapport keywords here:",
        ),
        (
            entity("hr/a", {"b": {"type": "string", "$ref": "#/x"}}),
            "/properties/b/$ref",
            "write it inline",
        ),
    ],
)
def test_unknown_keywords_suggest_the_closest_known_one(
    body: dict[str, Any], pointer: str, hint: str
) -> None:
    (problem,) = problems(list(documents_from_json([body])))

    assert problem.pointer == pointer
    assert hint in problem.hint


def test_a_keyword_with_two_meta_schema_errors_is_reported_once() -> None:
    (problem,) = problems(list(documents_from_json([entity("hr/a", {"b": {"type": "strng"}})])))

    assert (problem.pointer, problem.hint) == ("/properties/b/type", 'Did you mean "string"?')


def test_missing_keywords_and_bad_names_are_located() -> None:
    found = problems(
        list(
            documents_from_json(
                [
                    {"$id": "Hr/Bad", "type": "object", "properties": {"a b": {"type": "string"}}},
                    {"$id": "hr/empty"},
                ]
            )
        )
    )

    assert [(p.document, p.pointer) for p in found] == [
        ("Hr/Bad", "/$id"),
        ("Hr/Bad", "/properties/a b"),
        ("hr/empty", ""),
        ("hr/empty", ""),
    ]
    assert "missing required keyword 'type'" in found[2].message
    assert "missing required keyword 'properties'" in found[3].message


# -- per-document semantic checks ------------------------------------------------------------


@pytest.mark.parametrize("name", ["id", "createdAt", "updatedAt", "createdBy", "version"])
def test_system_field_names_are_reserved(name: str) -> None:
    (problem,) = problems(list(documents_from_json([entity("hr/a", {name: {"type": "string"}})])))

    assert problem.pointer == f"/properties/{name}"
    assert "reserved" in problem.message


@pytest.mark.parametrize(
    ("properties", "pointer", "message"),
    [
        ({"created_at": {"type": "string"}}, "/properties/created_at", "system field `createdAt`"),
        ({"Id": {"type": "string"}}, "/properties/Id", "system field `id`"),
        (
            {"dueAt": {"type": "string"}, "due_at": {"type": "string"}},
            "/properties/due_at",
            "field `dueAt`",
        ),
        (
            {
                "boss": {"type": "string", "format": "uuid", "x-relation": {"entity": "hr/a"}},
                "boss_id": {"type": "string"},
            },
            "/properties/boss_id",
            "field `boss`",
        ),
    ],
)
def test_fields_that_share_a_column_are_reported(
    properties: dict[str, Any], pointer: str, message: str
) -> None:
    found = problems(list(documents_from_json([entity("hr/a", properties)])))

    assert [p.pointer for p in found] == [pointer]
    assert message in found[0].message


def test_a_relation_and_a_field_named_like_its_id_clash() -> None:
    found = problems(
        list(
            documents_from_json(
                [
                    entity(
                        "hr/a",
                        {
                            "bossId": {
                                "type": "boolean",
                                "x-computed": {"id": {"_is_null": False}},
                            },
                            "boss": {
                                "type": "string",
                                "format": "uuid",
                                "x-relation": {"entity": "hr/a"},
                            },
                        },
                    )
                ]
            )
        )
    )

    assert [p.pointer for p in found] == ["/properties/boss"]
    assert "GraphQL name `bossId`" in found[0].message


def test_identifiers_longer_than_postgresql_takes_are_reported() -> None:
    long_field = "a" + "VeryLong" * 8  # snake_case: 72 bytes
    long_entity = "hr/" + "long-" * 13 + "name"  # table: 72 bytes
    found = problems(
        list(
            documents_from_json(
                [
                    entity("hr/a", {long_field: {"type": "string"}}),
                    entity(long_entity, {"b": {"type": "string"}}),
                ]
            )
        )
    )

    assert [(p.document, p.pointer) for p in found] == [
        ("hr/a", f"/properties/{long_field}"),
        (long_entity, "/$id"),
    ]
    assert "PostgreSQL identifiers hold at most 63" in found[0].message
    assert "Shorten the namespace or the entity name" in found[1].hint


def test_a_long_generated_index_name_is_no_problem() -> None:
    fields = {
        "aRatherLongFieldName": {"type": "string"},
        "anotherRatherLongFieldName": {"type": "string"},
    }
    model = compile_json(entity("hr/performance-review", fields, **{"x-indexes": [list(fields)]}))

    (index,) = model.entity("hr/performance-review").indexes
    assert len(index.name) == 63
    assert index.name.startswith("hr_performance_review_a_rather_long_field_name_")


@pytest.mark.parametrize(
    ("values", "bad"),
    [
        (["ok", "in review"], [1]),
        (["true", "false", "null"], [0, 1, 2]),
        (["__x", "x-y", "1st"], [0, 1, 2]),
    ],
)
def test_enum_values_must_be_graphql_enum_names(values: list[str], bad: list[int]) -> None:
    found = problems(list(documents_from_json([entity("hr/a", {"b": {"enum": values}})])))

    assert [p.pointer for p in found] == [f"/properties/b/enum/{i}" for i in bad]
    assert all("x-enumLabels" in p.hint for p in found)


def test_multi_enum_values_and_labels_are_checked() -> None:
    found = problems(
        list(
            documents_from_json(
                [
                    entity(
                        "hr/a",
                        {
                            "b": {
                                "type": "array",
                                "items": {"enum": ["ok", "not ok"]},
                                "x-enumLabels": {"ok": {"en": "OK"}, "nope": {"en": "No"}},
                            }
                        },
                    )
                ]
            )
        )
    )

    assert [p.pointer for p in found] == [
        "/properties/b/items/enum/1",
        "/properties/b/x-enumLabels/nope",
    ]


@pytest.mark.parametrize(
    ("schema", "ok"),
    [
        ({"type": "string", "maxLength": 2, "default": "abc"}, False),
        ({"enum": ["a", "b"], "default": "c"}, False),
        ({"type": "integer", "minimum": 1, "default": 0}, False),
        ({"type": "boolean", "default": "yes"}, False),
        ({"type": "string", "format": "date-time", "default": "yesterday"}, False),
        ({"type": "string", "format": "date-time", "default": "2026-01-02T03:04:05"}, False),
        ({"type": "string", "format": "date", "default": "2026-13-01"}, False),
        ({"type": "string", "format": "uuid", "default": "not-a-uuid"}, False),
        ({"type": "string", "format": "date-time", "default": "2026-01-02T03:04:05+00:00"}, True),
        ({"type": "string", "format": "date", "default": "2026-01-02"}, True),
        ({"type": "array", "items": {"enum": ["a", "b"]}, "default": ["a"]}, True),
        ({"type": "number", "x-kind": "money", "default": 12.5}, True),
    ],
)
def test_defaults_must_satisfy_the_fields_own_schema(schema: dict[str, Any], ok: bool) -> None:
    documents = list(documents_from_json([entity("hr/a", {"b": schema})]))

    if ok:
        assert compile_model(documents).entity("hr/a").field("b").has_default
    else:
        (problem,) = problems(documents)
        assert problem.pointer == "/properties/b/default"
        assert "does not satisfy the field's own schema" in problem.message


def test_required_must_name_stored_properties() -> None:
    documents = [d for d in read_folder(FIXTURES) if d.id != "training/course"]
    course = next(d for d in read_folder(FIXTURES) if d.id == "training/course").as_json()
    course["required"] = ["title", "titel", "isSmall", "trainees"]

    found = problems([*documents, *documents_from_json([course])])

    assert [(p.pointer, p.hint) for p in found] == [
        ("/required/1", "List only names defined in `properties` (check the spelling)."),
        ("/required/2", "Remove 'isSmall' from `required`."),
        ("/required/3", "Remove 'trainees' from `required`."),
    ]


def test_index_fields_must_be_stored_known_and_not_encrypted() -> None:
    found = problems(
        list(
            documents_from_json(
                [
                    entity(
                        "hr/a",
                        {
                            "b": {"type": "string"},
                            "secret": {"type": "string", "x-sensitive": True},
                            "big": {"type": "boolean", "x-computed": {"b": {"_eq": "x"}}},
                        },
                        **{"x-indexes": [["b", "c"], {"fields": ["big", "secret"]}, ["b", "c"]]},
                    )
                ]
            )
        )
    )

    assert [p.pointer for p in found] == [
        "/x-indexes/0/1",
        "/x-indexes/1/fields/0",
        "/x-indexes/1/fields/1",
        "/x-indexes/2/1",
        "/x-indexes/2",
    ]
    assert "repeats index #0" in found[-1].message


@pytest.mark.parametrize(
    ("schema", "pointer", "text"),
    [
        ({"type": "string", "x-kind": "money"}, "/properties/b/type", "x-kind 'money'"),
        ({"enum": ["a"], "type": "integer"}, "/properties/b/type", "an enum field"),
        (
            {"type": "integer", "x-computed": {"id": {"_is_null": False}}},
            "/properties/b/type",
            "a computed field",
        ),
        (
            {"type": "string", "x-relation": {"entity": "hr/a"}},
            "/properties/b/x-relation",
            '"format": "uuid"',
        ),
        (
            {
                "type": "array",
                "items": {"type": "string", "format": "uuid"},
                "x-relation": {"entity": "hr/a"},
            },
            "/properties/b/x-relation",
            '"through"',
        ),
        (
            {
                "type": "string",
                "format": "uuid",
                "x-relation": {"entity": "hr/a", "through": "hr/a"},
            },
            "/properties/b/x-relation/through",
            "remove `through`",
        ),
        (
            {"type": "string", "x-sensitive": True, "x-unique": True},
            "/properties/b/x-unique",
            "Remove x-unique",
        ),
        (
            {
                "type": "string",
                "format": "uuid",
                "x-sensitive": True,
                "x-relation": {"entity": "hr/a"},
            },
            "/properties/b/x-sensitive",
            "target entity",
        ),
        ({"type": "integer", "x-analyze": ["sentiment"]}, "/properties/b/x-analyze", "string"),
        (
            {"type": "boolean", "x-computed": {"id": {"_is_null": False}}, "x-unique": True},
            "/properties/b/x-unique",
            "Remove x-unique",
        ),
        ({"type": "string", "readOnly": True}, "/properties/b/readOnly", "Give it a default"),
        (
            {"x-enumLabels": {"a": {"en": "A"}}, "type": "string"},
            "/properties/b/x-enumLabels",
            "enum",
        ),
        ({"maxLength": 3}, "/properties/b", 'Add "type"'),
    ],
)
def test_contradicting_keywords_are_reported(
    schema: dict[str, Any], pointer: str, text: str
) -> None:
    (problem,) = problems(
        list(
            documents_from_json(
                [entity("hr/a", {"b": schema}, required=["b"] if "readOnly" in schema else [])]
            )
        )
    )

    assert problem.pointer == pointer
    assert text in problem.hint + problem.message


def test_computed_expressions_are_checked_against_the_model() -> None:
    found = problems(
        fixtures_and(
            entity(
                "hr/a",
                {
                    "n": {"type": "integer"},
                    "trainer": {
                        "type": "string",
                        "format": "uuid",
                        "x-relation": {"entity": "training/trainer"},
                    },
                    "ok": {
                        "type": "boolean",
                        "x-computed": {
                            "_or": [{"n": {"_gt": 1}}, {"trainer": {"active": {"_eq": True}}}]
                        },
                    },
                    "bad": {
                        "type": "boolean",
                        "x-computed": {
                            "_and": [{"m": {"_eq": 1}}, {"trainer": {"nmae": {"_eq": "x"}}}],
                            "_not": {"n": {"_like": 1}},
                        },
                    },
                },
            )
        )
    )

    assert [p.pointer for p in found] == [
        "/properties/bad/x-computed/_and/0/m",
        "/properties/bad/x-computed/_and/1/trainer/nmae",
        "/properties/bad/x-computed/_not/n/_like",
    ]


# -- cross-document checks -------------------------------------------------------------------


def test_duplicate_ids_are_reported() -> None:
    documents = [*read_folder(FIXTURES), *documents_from_json([EMPLOYEE], source="org-plugin")]

    (problem,) = problems(documents)

    assert (problem.document, problem.pointer) == ("org/employee", "/$id")
    assert "org-plugin" in problem.message and "tenant:" in problem.message


def test_a_relation_to_an_unknown_entity_is_reported_with_a_suggestion() -> None:
    found = problems(
        fixtures_and(
            entity(
                "hr/a",
                {
                    "t": {
                        "type": "string",
                        "format": "uuid",
                        "x-relation": {"entity": "training/trainr"},
                    },
                    "u": {
                        "type": "string",
                        "format": "uuid",
                        "x-relation": {"entity": "zzz/unknown"},
                    },
                },
            )
        )
    )

    assert [(p.pointer, p.hint) for p in found] == [
        ("/properties/t/x-relation/entity", "Did you mean 'training/trainer'?"),
        (
            "/properties/u/x-relation/entity",
            "Name an entity defined in these documents (namespace/name), or install the plug-in "
            "that defines it first.",
        ),
    ]


def test_set_null_on_a_required_relation_is_impossible() -> None:
    (problem,) = problems(
        [
            *documents_from_json(
                [
                    EMPLOYEE,
                    entity(
                        "hr/a",
                        {
                            "boss": {
                                "type": "string",
                                "format": "uuid",
                                "x-relation": {"entity": "org/employee", "onDelete": "setNull"},
                            }
                        },
                        required=["boss"],
                    ),
                ]
            )
        ]
    )

    assert (problem.document, problem.pointer) == ("hr/a", "/properties/boss/x-relation/onDelete")


def test_an_inverse_may_not_clash_with_a_field_of_the_target() -> None:
    found = problems(
        fixtures_and(
            entity(
                "hr/a",
                {
                    "t": {
                        "type": "string",
                        "format": "uuid",
                        "x-relation": {"entity": "training/trainer", "inverse": "email"},
                    },
                    "u": {
                        "type": "string",
                        "format": "uuid",
                        "x-relation": {"entity": "training/trainer", "inverse": "createdAt"},
                    },
                },
            )
        )
    )

    assert [p.pointer for p in found] == [
        "/properties/t/x-relation/inverse",
        "/properties/u/x-relation/inverse",
    ]
    assert "clashes with field `email` of training/trainer" in found[0].message


def test_an_inverse_may_not_clash_with_another_inverse() -> None:
    found = problems(
        fixtures_and(
            entity(
                "hr/a",
                {
                    "t": {
                        "type": "string",
                        "format": "uuid",
                        "x-relation": {"entity": "training/trainer", "inverse": "courses"},
                    }
                },
            )
        )
    )

    # both relations are places to fix it, so both are reported
    assert [(p.document, p.pointer) for p in found] == [
        ("hr/a", "/properties/t/x-relation/inverse"),
        ("training/course", "/properties/trainer/x-relation/inverse"),
    ]
    assert "training/course.trainer" in found[0].message
    assert "hr/a.t" in found[1].message


def test_automatic_reverse_names_that_clash_ask_for_an_inverse() -> None:
    relation = {"type": "string", "format": "uuid", "x-relation": {"entity": "org/employee"}}

    found = problems(
        fixtures_and(
            entity("hr/course", {"t": relation}),
            entity("it/course", {"t": relation}, **{"x-plural": "itCourses"}),
        )
    )

    reverse = [(p.document, p.pointer, p.hint) for p in found if "reverse" in p.message]
    assert reverse == [
        (
            "hr/course",
            "/properties/t/x-relation",
            'Set "inverse" in `x-relation` to a name the target does not use yet.',
        ),
        (
            "it/course",
            "/properties/t/x-relation",
            'Set "inverse" in `x-relation` to a name the target does not use yet.',
        ),
    ]


@pytest.mark.parametrize(
    ("link_properties", "missing"),
    [
        (
            {
                "course": {
                    "type": "string",
                    "format": "uuid",
                    "x-relation": {"entity": "training/course"},
                }
            },
            "training/trainee",
        ),
        (
            {
                "course": {
                    "type": "string",
                    "format": "uuid",
                    "x-relation": {"entity": "training/course"},
                },
                "other": {
                    "type": "string",
                    "format": "uuid",
                    "x-relation": {"entity": "training/course"},
                },
                "trainee": {
                    "type": "string",
                    "format": "uuid",
                    "x-relation": {"entity": "training/trainee"},
                },
            },
            "training/course",
        ),
    ],
)
def test_a_many_to_many_link_holds_exactly_one_relation_to_each_side(
    link_properties: dict[str, Any], missing: str
) -> None:
    documents = [d for d in read_folder(FIXTURES) if d.id != "training/enrollment"]
    documents += documents_from_json([entity("training/enrollment", link_properties)])

    found = problems(documents)

    assert [(p.document, p.pointer) for p in found] == [
        ("training/course", "/properties/trainees/x-relation/through")
    ]
    assert f"exactly one relation to {missing}" in found[0].message


def test_a_many_to_many_through_an_unknown_entity_is_reported() -> None:
    found = problems(
        fixtures_and(
            entity(
                "hr/a",
                {
                    "b": {
                        "type": "array",
                        "items": {"type": "string", "format": "uuid"},
                        "x-relation": {
                            "entity": "training/trainee",
                            "through": "training/enrolment",
                            "inverse": "x",
                        },
                    }
                },
            )
        )
    )

    assert [(p.pointer, p.hint) for p in found] == [
        ("/properties/b/x-relation/through", "Did you mean 'training/enrollment'?"),
        (
            "/properties/b/x-relation/inverse",
            "Remove `inverse`; the link entity's relations carry the reverse fields.",
        ),
    ]


def test_two_entities_with_one_name_clash_as_graphql_types() -> None:
    found = problems(
        fixtures_and(entity("hr/course", {"b": {"type": "string"}}, **{"x-plural": "hrCourses"}))
    )

    # one problem: the root fields that clash too would only repeat it
    assert [(p.document, p.pointer) for p in found] == [("training/course", "/$id")]
    assert (
        "GraphQL type name 'Course' of training/course clashes with entity hr/course"
        in found[0].message
    )
    assert "Rename one of the entities" in found[0].hint


def test_root_fields_may_not_clash_between_entities() -> None:
    found = problems(
        list(
            documents_from_json(
                [
                    entity("hr/person", {"b": {"type": "string"}}),
                    entity("hr/people", {"b": {"type": "string"}}, **{"x-plural": "peopleItems"}),
                ]
            )
        )
    )

    # person's plural `people` is people's single; its create mutations clash as well
    assert [(p.document, p.pointer, p.message) for p in found] == [
        (
            "hr/person",
            "/$id",
            "root fields `people`, `createPeople` of hr/person are also root fields of hr/people",
        )
    ]
    assert '"x-plural"' in found[0].hint


def test_an_x_plural_that_clashes_is_pointed_at() -> None:
    found = problems(
        fixtures_and(entity("hr/lesson", {"b": {"type": "string"}}, **{"x-plural": "course"}))
    )

    assert [(p.document, p.pointer) for p in found] == [("training/course", "/$id")]
    assert "`course`" in found[0].message and "hr/lesson" in found[0].message


def test_an_entity_whose_plural_is_its_name_needs_x_plural() -> None:
    found = problems(list(documents_from_json([entity("hr/staff", {"b": {"type": "string"}})])))

    assert [(p.pointer, p.message) for p in found] == [
        (
            "/$id",
            "root fields `staff`, `createStaff` of hr/staff would be defined twice: its single "
            "and plural names are the same",
        ),
    ]
    assert "x-plural" in found[0].hint


def test_built_in_and_enum_type_names_are_taken() -> None:
    found = problems(
        fixtures_and(
            entity("hr/page-info", {"b": {"type": "string"}}),
            entity("training/course-level", {"b": {"type": "string"}}),
        )
    )

    assert [(p.document, p.pointer) for p in found] == [
        ("hr/page-info", "/$id"),
        ("training/course", "/properties/level"),
    ]
    assert "clashes with a built-in type" in found[0].message
    assert "CourseLevel" in found[1].message and "training/course-level" in found[1].message


def test_names_of_generated_types_are_taken() -> None:
    found = problems(
        fixtures_and(
            entity("hr/course-connection", {"b": {"type": "string"}}),
            entity("hr/trainee-where", {"b": {"type": "string"}}),
            entity("hr/x", {"edge": {"enum": ["a"]}}, **{"x-plural": "xItems"}),
        )
    )

    assert [(p.document, p.pointer, p.message) for p in found] == [
        (
            "hr/course-connection",
            "/$id",
            "GraphQL type name 'CourseConnection' of hr/course-connection clashes with the "
            "Connection type of training/course",
        ),
        (
            "hr/trainee-where",
            "/$id",
            "GraphQL type name 'TraineeWhere' of hr/trainee-where clashes with the Where type "
            "of training/trainee",
        ),
        (
            "hr/x",
            "/properties/edge",
            "GraphQL enum type 'XEdge' of `edge` clashes with the Edge type of hr/x",
        ),
    ]


def test_entities_sharing_a_table_or_an_index_name_are_reported() -> None:
    found = problems(
        list(
            documents_from_json(
                [
                    entity(
                        "hr/exit-talk",
                        {"b": {"type": "string"}},
                        **{"x-indexes": [{"fields": ["b"], "name": "talk_b"}]},
                    ),
                    entity(
                        "hr/exit_talk",
                        {"b": {"type": "string"}},
                        **{
                            "x-plural": "exitTalkItems",
                            "x-indexes": [{"fields": ["b"], "name": "talk_b"}],
                        },
                    ),
                ]
            )
        )
    )

    assert ("hr/exit_talk", "/$id") in [(p.document, p.pointer) for p in found]
    messages = [p.message for p in found]
    assert "table 'hr_exit_talk' of hr/exit_talk is also the table of hr/exit-talk" in messages
    assert "index name 'talk_b' is already used by an index of hr/exit-talk" in messages


def test_malformed_index_entries_are_explained_by_the_form_they_were_meant_to_have() -> None:
    body = entity(
        "hr/a",
        {"a": {"type": "string", "x-label": {"EN": "A"}}},
        **{"x-indexes": [{"fields": ["a"], "uniq": True}, [], "a", [1]]},
    )

    found = problems(list(documents_from_json([body])))

    assert [(p.pointer, p.message, p.hint) for p in found] == [
        (
            "/properties/a/x-label/EN",
            "'EN' is not allowed as a name here",
            "A BCP 47 language tag such as zh, en or zh-Hant.",
        ),
        ("/x-indexes/0/uniq", "unknown keyword 'uniq'", "Did you mean unique?"),
        (
            "/x-indexes/1",
            "[] should be non-empty",
            "Names of stored fields of this entity, each at most once.",
        ),
        (
            "/x-indexes/2",
            "a string is not allowed here",
            "An index: a list of field names, or an object with fields, unique and an optional "
            "name.",
        ),
        (
            "/x-indexes/3/0",
            "must be of type string, not an integer",
            "A field name of this entity.",
        ),
    ]


def test_rapport_keywords_inside_nested_schemas_are_refused() -> None:
    body = entity(
        "hr/a",
        {
            "tags": {"type": "array", "items": {"enum": ["a"], "x-enumLabels": {"a": {"en": "A"}}}},
            "address": {
                "type": "object",
                "properties": {"street": {"type": "string", "x-label": {"en": "Street"}}},
                "anyOf": [{"required": ["street"], "x-unique": True}],
            },
        },
    )

    found = problems(list(documents_from_json([body])))

    assert [p.pointer for p in found] == [
        "/properties/tags/items/x-enumLabels",
        "/properties/address/anyOf/0/x-unique",
        "/properties/address/properties/street/x-label",
    ]
    assert found[0].hint == (
        "Rapport keywords apply to the field's own schema: move it to /properties/tags, "
        "or remove it."
    )
