"""The tenant GraphQL schema built from the IR: names, types, nullability, filters, inputs,
descriptions — the contract a frontend codes against — and how fast it builds."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLObjectType,
    GraphQLSchema,
    print_schema,
    validate_schema,
)

from rapport.composition import KERNEL
from rapport.errors import MetadataInvalid
from rapport.graphql.schema_builder import build_schema
from rapport.metadata.builder import compile_model
from rapport.metadata.bundle import TenantMetadata
from rapport.metadata.documents import documents_from_json, read_folder
from rapport.metadata.ir import FieldKind, Model
from tests.sql.irfactory import entity, field, model

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "metadata"


@pytest.fixture(scope="module")
def schema() -> GraphQLSchema:
    return build_schema(
        TenantMetadata.of(compile_model(read_folder(FIXTURES))),
        version=7,
        contributors=KERNEL.contributors,
    )


def obj(schema: GraphQLSchema, name: str) -> GraphQLObjectType:
    type_ = schema.get_type(name)
    assert isinstance(type_, GraphQLObjectType), name
    return type_


def inp(schema: GraphQLSchema, name: str) -> GraphQLInputObjectType:
    type_ = schema.get_type(name)
    assert isinstance(type_, GraphQLInputObjectType), name
    return type_


def field_types(type_: GraphQLObjectType | GraphQLInputObjectType) -> dict[str, str]:
    return {name: str(f.type) for name, f in type_.fields.items()}


def args(schema: GraphQLSchema, root: str, name: str) -> dict[str, str]:
    root_type = schema.query_type if root == "Query" else schema.mutation_type
    assert root_type is not None
    return {n: str(a.type) for n, a in root_type.fields[name].args.items()}


def test_schema_is_valid_and_deterministic(schema: GraphQLSchema) -> None:
    assert validate_schema(schema) == []
    again = build_schema(
        TenantMetadata.of(compile_model(read_folder(FIXTURES))),
        version=7,
        contributors=KERNEL.contributors,
    )
    assert print_schema(again) == print_schema(schema)


def test_query_fields_follow_the_contract(schema: GraphQLSchema) -> None:
    assert schema.query_type is not None
    query = schema.query_type.fields
    assert str(query["course"].type) == "Course"
    assert args(schema, "Query", "course") == {"id": "ID!"}
    assert str(query["courses"].type) == "CourseConnection!"
    assert args(schema, "Query", "courses") == {
        "where": "CourseWhere",
        "orderBy": "[CourseOrderBy!]",
        "first": "Int",
        "after": "String",
        "last": "Int",
        "before": "String",
    }
    assert str(query["coursesAggregate"].type) == "CourseAggregate!"
    assert args(schema, "Query", "coursesAggregate") == {
        "where": "CourseWhere",
        "groupBy": "[CourseGroupField!]",
    }
    assert str(query["metadataVersion"].type) == "Int!"
    for name in (
        "trainer",
        "trainers",
        "trainersAggregate",
        "enrollments",
        "employees",
        "complaints",
    ):
        assert name in query


def test_mutation_fields_follow_the_contract(schema: GraphQLSchema) -> None:
    assert schema.mutation_type is not None
    mutation = schema.mutation_type.fields
    assert str(mutation["createCourse"].type) == "Course"
    assert args(schema, "Mutation", "createCourse") == {"input": "CourseCreateInput!"}
    assert str(mutation["createCourses"].type) == "[Course!]!"
    assert args(schema, "Mutation", "createCourses") == {"inputs": "[CourseCreateInput!]!"}
    assert args(schema, "Mutation", "updateCourse") == {
        "id": "ID!",
        "input": "CourseUpdateInput!",
        "expectedVersion": "Int",
    }
    assert str(mutation["deleteCourse"].type) == "ID"
    assert args(schema, "Mutation", "deleteCourse") == {"id": "ID!"}
    assert args(schema, "Mutation", "upsertCourse") == {
        "input": "CourseCreateInput!",
        "onConflict": "CourseUniqueKey!",
    }
    unique_key = schema.get_type("CourseUniqueKey")
    assert isinstance(unique_key, GraphQLEnumType)
    assert list(unique_key.values) == ["code"]
    # upsert only where a unique field exists
    assert "upsertTrainer" in mutation and "upsertEmployee" in mutation
    assert "upsertTrainee" not in mutation and "upsertEnrollment" not in mutation


def test_object_type_fields_and_nullability(schema: GraphQLSchema) -> None:
    course = field_types(obj(schema, "Course"))
    assert course == {
        "id": "ID!",
        "title": "String!",
        "code": "String",
        "level": "CourseLevel!",
        "tags": "[CourseTags!]",
        "startDate": "Date",
        "startsAt": "DateTime",
        "capacity": "Int",
        "price": "Decimal",
        "score": "Float",
        "syllabus": "JSON",
        "material": "FileRef",
        "website": "String",
        "online": "Boolean",
        "trainer": "Trainer",
        "trainerId": "ID",
        "trainees": "TraineeConnection!",
        "isSmall": "Boolean",  # null where the caller may not read what it is computed from
        "enrollments": "EnrollmentConnection!",
        "createdAt": "DateTime!",
        "updatedAt": "DateTime!",
        "createdBy": "String",
        "version": "Int!",
    }
    assert field_types(obj(schema, "Enrollment"))["course"] == "Course!"
    assert field_types(obj(schema, "Enrollment"))["courseId"] == "ID!"
    assert field_types(obj(schema, "Trainer"))["courses"] == "CourseConnection!"
    assert field_types(obj(schema, "Trainer"))["hourlyRate"] == "Decimal"
    assert field_types(obj(schema, "Employee"))["complaints"] == "ComplaintConnection!"
    reverse_args = {
        n: str(a.type) for n, a in obj(schema, "Trainer").fields["courses"].args.items()
    }
    assert reverse_args == args(schema, "Query", "courses")
    assert field_types(obj(schema, "FileRef")) == {
        "key": "String!",
        "name": "String!",
        "size": "Int!",
        "contentType": "String!",
        "sha256": "String",
    }


def test_connections(schema: GraphQLSchema) -> None:
    assert field_types(obj(schema, "CourseConnection")) == {
        "edges": "[CourseEdge!]!",
        "pageInfo": "PageInfo!",
        "totalCount": "Int!",
    }
    assert field_types(obj(schema, "CourseEdge")) == {"cursor": "String!", "node": "Course!"}
    assert field_types(obj(schema, "PageInfo")) == {
        "hasNextPage": "Boolean!",
        "hasPreviousPage": "Boolean!",
        "startCursor": "String",
        "endCursor": "String",
    }


def test_where_inputs(schema: GraphQLSchema) -> None:
    where = field_types(inp(schema, "CourseWhere"))
    assert {k: where[k] for k in ("_and", "_or", "_not")} == {
        "_and": "[CourseWhere!]",
        "_or": "[CourseWhere!]",
        "_not": "CourseWhere",
    }
    assert {
        k: where[k]
        for k in (
            "id",
            "createdAt",
            "version",
            "title",
            "level",
            "tags",
            "startDate",
            "startsAt",
            "capacity",
            "price",
            "score",
            "syllabus",
            "material",
            "online",
            "trainer",
            "trainerId",
            "trainees",
            "isSmall",
            "enrollments",
        )
    } == {
        "id": "IDFilter",
        "createdAt": "DateTimeFilter",
        "version": "IntFilter",
        "title": "StringFilter",
        "level": "CourseLevelFilter",
        "tags": "CourseTagsFilter",
        "startDate": "DateFilter",
        "startsAt": "DateTimeFilter",
        "capacity": "IntFilter",
        "price": "DecimalFilter",
        "score": "FloatFilter",
        "syllabus": "JSONFilter",
        "material": "FileFilter",
        "online": "BooleanFilter",
        "trainer": "TrainerWhere",
        "trainerId": "IDFilter",
        "trainees": "TraineeListWhere",
        "isSmall": "ComputedFilter",
        "enrollments": "EnrollmentListWhere",
    }
    assert field_types(inp(schema, "TraineeListWhere")) == {
        "_some": "TraineeWhere",
        "_none": "TraineeWhere",
        "_every": "TraineeWhere",
    }


def test_operator_inputs_per_kind(schema: GraphQLSchema) -> None:
    assert field_types(inp(schema, "StringFilter")) == {
        "_eq": "String", "_neq": "String", "_gt": "String", "_gte": "String", "_lt": "String",
        "_lte": "String", "_in": "[String!]", "_nin": "[String!]", "_is_null": "Boolean",
        "_like": "String", "_ilike": "String", "_starts_with": "String", "_contains": "String",
        "_between": "[String!]",
    }  # fmt: skip
    assert set(field_types(inp(schema, "IntFilter"))) == {
        "_eq", "_neq", "_gt", "_gte", "_lt", "_lte", "_in", "_nin", "_is_null", "_between"
    }  # fmt: skip
    assert field_types(inp(schema, "DecimalFilter"))["_between"] == "[Decimal!]"
    assert field_types(inp(schema, "DateTimeFilter"))["_gte"] == "DateTime"
    assert field_types(inp(schema, "BooleanFilter")) == {
        "_eq": "Boolean",
        "_neq": "Boolean",
        "_is_null": "Boolean",
    }
    assert field_types(inp(schema, "IDFilter")) == {
        "_eq": "ID", "_neq": "ID", "_in": "[ID!]", "_nin": "[ID!]", "_is_null": "Boolean"
    }  # fmt: skip
    assert field_types(inp(schema, "CourseLevelFilter")) == {
        "_eq": "CourseLevel", "_neq": "CourseLevel", "_in": "[CourseLevel!]",
        "_nin": "[CourseLevel!]", "_is_null": "Boolean",
    }  # fmt: skip
    assert field_types(inp(schema, "CourseTagsFilter")) == {
        "_contains": "[CourseTags!]",
        "_is_null": "Boolean",
    }
    assert field_types(inp(schema, "JSONFilter")) == {"_contains": "JSON", "_is_null": "Boolean"}
    assert field_types(inp(schema, "ComputedFilter")) == {"_eq": "Boolean"}


def test_order_by_and_group_by(schema: GraphQLSchema) -> None:
    order = field_types(inp(schema, "CourseOrderBy"))
    assert set(order.values()) == {"OrderDirection"}
    assert {
        "id",
        "createdAt",
        "updatedAt",
        "version",
        "title",
        "startDate",
        "price",
        "trainerId",
    } <= set(order)
    assert not {"tags", "syllabus", "material", "trainer", "isSmall", "trainees"} & set(order)
    direction = schema.get_type("OrderDirection")
    assert isinstance(direction, GraphQLEnumType)
    assert list(direction.values) == ["ASC", "DESC"]
    group_field = schema.get_type("CourseGroupField")
    assert isinstance(group_field, GraphQLEnumType)
    assert {"level", "online", "trainerId", "startDate", "createdBy"} <= set(group_field.values)
    assert "syllabus" not in group_field.values


def test_aggregate_types(schema: GraphQLSchema) -> None:
    assert field_types(obj(schema, "CourseAggregate")) == {
        "count": "Int!",
        "sum": "CourseSumFields!",
        "avg": "CourseAvgFields!",
        "min": "CourseMinFields!",
        "max": "CourseMaxFields!",
        "groups": "[CourseAggregateGroup!]!",
    }
    assert field_types(obj(schema, "CourseSumFields")) == {
        "capacity": "Int",
        "price": "Decimal",
        "score": "Float",
    }
    assert field_types(obj(schema, "CourseAvgFields")) == {
        "capacity": "Float",
        "price": "Float",
        "score": "Float",
    }
    assert field_types(obj(schema, "CourseMinFields"))["startDate"] == "Date"
    assert field_types(obj(schema, "CourseMinFields"))["createdAt"] == "DateTime"
    assert field_types(obj(schema, "CourseAggregateGroup"))["key"] == "CourseGroupKey!"
    assert field_types(obj(schema, "CourseGroupKey"))["level"] == "CourseLevel"
    assert field_types(obj(schema, "CourseGroupKey"))["trainerId"] == "ID"
    # an entity without numeric fields has no sum/avg types
    assert "sum" not in obj(schema, "TraineeAggregate").fields


def test_mutation_inputs(schema: GraphQLSchema) -> None:
    create = field_types(inp(schema, "CourseCreateInput"))
    assert create == {
        "title": "String!",
        "code": "String",
        "level": "CourseLevel!",
        "tags": "[CourseTags!]",
        "startDate": "Date",
        "startsAt": "DateTime",
        "capacity": "Int",
        "price": "Decimal",
        "score": "Float",
        "syllabus": "JSON",
        "material": "FileRefInput",
        "website": "String",
        "online": "Boolean",
        "trainerId": "ID",
    }
    update = field_types(inp(schema, "CourseUpdateInput"))
    assert set(update) == set(create)
    assert not any(t.endswith("!") for t in update.values())
    assert field_types(inp(schema, "EnrollmentCreateInput"))["courseId"] == "ID!"
    assert field_types(inp(schema, "FileRefInput"))["key"] == "String!"


def test_descriptions_explain_fields(schema: GraphQLSchema) -> None:
    course = obj(schema, "Course")
    assert course.description is not None
    assert "课程" in course.description and "employees enrol in" in course.description
    assert "标题" in (course.fields["title"].description or "")
    assert "Required" in (course.fields["title"].description or "")
    assert "Unique" in (course.fields["code"].description or "")
    assert "capacity" in (course.fields["isSmall"].description or "")
    level = schema.get_type("CourseLevel")
    assert isinstance(level, GraphQLEnumType)
    assert "初级" in (level.values["beginner"].description or "")
    assert schema.query_type is not None
    first = schema.query_type.fields["courses"].args["first"].description or ""
    assert "Default: 100" in first and "1000" in first
    online = inp(schema, "CourseCreateInput").fields["online"].description or ""
    assert "Default: `false`" in online


def test_empty_model_has_only_the_version_field() -> None:
    # (capabilities' contributed root fields left out: this is about the entity generators)
    schema = build_schema(TenantMetadata.of(Model(entities=())), version=0, contributors=())
    assert validate_schema(schema) == []
    assert schema.query_type is not None
    assert list(schema.query_type.fields) == ["metadataVersion"]
    assert schema.mutation_type is None


def test_read_only_entity_has_no_create_or_update() -> None:
    audit = entity("ops/note", field("text", FieldKind.STRING, read_only=True))
    schema = build_schema(TenantMetadata.of(model(audit)), contributors=())
    assert validate_schema(schema) == []
    assert schema.mutation_type is not None
    assert list(schema.mutation_type.fields) == ["deleteNote"]


def test_type_name_clash_is_a_metadata_error() -> None:
    # an enum field `where` on Course would be named CourseWhere, like the filter input
    course = entity("training/course", field("where", FieldKind.ENUM, enum_values=["a", "b"]))
    with pytest.raises(MetadataInvalid) as raised:
        build_schema(TenantMetadata.of(model(course)), contributors=KERNEL.contributors)
    assert "CourseWhere" in str(raised.value)


def _wide_documents(count: int) -> list[dict[str, Any]]:
    documents = []
    for i in range(count):
        properties: dict[str, Any] = {
            "name": {"type": "string", "maxLength": 100, "x-label": {"en": "Name", "zh": "名称"}},
            "code": {"type": "string", "x-unique": True},
            "amount": {"type": "number", "x-kind": "money"},
            "count": {"type": "integer"},
            "ratio": {"type": "number", "x-kind": "float"},
            "day": {"type": "string", "format": "date"},
            "at": {"type": "string", "format": "date-time"},
            "state": {"enum": ["open", "closed", "archived"]},
            "flags": {"type": "array", "items": {"enum": ["a", "b", "c"]}},
            "extra": {"type": "object"},
            "active": {"type": "boolean", "default": True},
        }
        if i:
            properties["parent"] = {
                "type": "string",
                "format": "uuid",
                "x-relation": {"entity": f"bulk/thing{i - 1}", "inverse": "children"},
            }
        documents.append(
            {
                "$id": f"bulk/thing{i}",
                "title": f"Thing {i}",
                "type": "object",
                "properties": properties,
                "required": ["name"],
            }
        )
    return documents


def test_two_hundred_entities_build_fast() -> None:
    # given 200 entities of 12 fields, each related to the previous one
    model_200 = compile_model(documents_from_json(_wide_documents(200)))
    # when (CPU time: the machine running the tests may be busy)
    started = time.process_time()
    schema = build_schema(TenantMetadata.of(model_200), contributors=KERNEL.contributors)
    assert validate_schema(schema) == []  # done on the first request: count it too
    spent = time.process_time() - started
    # then (about 0.6 s here; the bound catches a quadratic slip, not noise)
    assert len(model_200) == 200
    assert spent < 3.0, f"building and validating the schema took {spent:.2f}s of CPU"


def test_the_loader_knows_every_type_name_the_builder_derives(schema: GraphQLSchema) -> None:
    # The metadata loader reports clashes with derived type names before the schema is built
    # (metadata/clashes.py keeps its own list of suffixes); this keeps the two from drifting.
    from rapport.metadata.clashes import GENERATED_TYPE_SUFFIXES

    model = compile_model(read_folder(FIXTURES))
    entity_types = {e.type_name for e in model}
    enum_types = {f"{e.type_name}{f.name[:1].upper()}{f.name[1:]}" for e in model for f in e.fields}
    derived = {
        name[len(prefix) :]
        for name in schema.type_map
        for prefix in entity_types
        if name.startswith(prefix)
        and name not in entity_types
        and name not in enum_types
        and name[len(prefix) :][:1].isupper()
    }
    # CourseLevelFilter & co. are enum filters (enum types + "Filter"), covered by enum names.
    derived = {
        d
        for d in derived
        if not any(
            d == e[len(p) :] + "Filter" for p in entity_types for e in enum_types if e.startswith(p)
        )
    }
    assert {"Where", "Edge", "Connection", "CreateInput", "GroupKey"} <= derived  # not vacuous
    assert derived <= set(GENERATED_TYPE_SUFFIXES), derived - set(GENERATED_TYPE_SUFFIXES)
