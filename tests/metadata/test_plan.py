from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from rapport.metadata.builder import compile_model
from rapport.metadata.diff import plan_changes
from rapport.metadata.documents import documents_from_json
from rapport.metadata.ir import Model
from rapport.metadata.plan import Plan, PlanStep, count_queries

FIXTURES = Path(__file__).parent.parent / "fixtures" / "metadata"
S = "tenant_x"


def fixture(entity_id: str) -> dict[str, Any]:
    namespace, _, name = entity_id.partition("/")
    body: dict[str, Any] = json.loads((FIXTURES / namespace / f"{name}.json").read_text())
    return body


def training() -> dict[str, dict[str, Any]]:
    ids = ["training/trainer", "training/trainee", "training/course", "training/enrollment"]
    return {i: fixture(i) for i in ids}


def compile_bodies(bodies: Mapping[str, dict[str, Any]]) -> Model:
    return compile_model(documents_from_json(list(bodies.values())))


def diff(
    old: Mapping[str, dict[str, Any]] | None,
    new: Mapping[str, dict[str, Any]],
    rows: Mapping[str, int] | None = None,
    values: Mapping[str, int] | None = None,
) -> Plan:
    old_model = compile_bodies(old) if old is not None else None
    return plan_changes(S, old_model, compile_bodies(new), rows or {}, values)


def changed(edit: Any) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    old = training()
    new = copy.deepcopy(old)
    edit(new)
    return old, new


def course(bodies: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return bodies["training/course"]


def props(bodies: dict[str, dict[str, Any]], entity_id: str = "training/course") -> Any:
    return bodies[entity_id]["properties"]


def only(plan: Plan) -> PlanStep:
    assert len(plan.steps) == 1, plan.as_text()
    return plan.steps[0]


FULL = {"training_course": 5, "training_trainer": 3, "training_enrollment": 2}


# --- whole models -------------------------------------------------------------------------------


def test_first_plan_creates_tables_then_foreign_keys_then_indexes() -> None:
    plan = diff(None, training())
    kinds = [s.sql.split(" ", 2)[:2] for s in plan.steps]
    first_alter = kinds.index(["ALTER", "TABLE"])
    first_index = next(i for i, k in enumerate(kinds) if k[0] == "CREATE" and k[1] != "TABLE")
    assert all(k == ["CREATE", "TABLE"] for k in kinds[:first_alter])
    assert first_alter < first_index
    assert all("FOREIGN KEY" in s.sql for s in plan.steps[first_alter:first_index])
    assert not plan.destructive_steps


def test_identical_models_give_an_empty_plan() -> None:
    plan = diff(training(), training(), FULL)
    assert plan.is_empty
    assert plan.as_text() == "-- No schema changes.\n"
    assert plan.as_dict() == []


def test_label_description_computed_and_many_to_many_changes_need_no_ddl() -> None:
    def edit(b: dict[str, dict[str, Any]]) -> None:
        course(b)["x-label"] = {"en": "Class"}
        course(b)["description"] = "changed"
        props(b)["title"]["x-label"] = {"en": "Name"}
        props(b)["isSmall"]["x-computed"] = {"capacity": {"_lte": 20}}
        del props(b)["trainees"]

    assert diff(*changed(edit), FULL).is_empty


# --- entities -----------------------------------------------------------------------------------


def test_new_entity_creates_its_table_foreign_keys_and_indexes() -> None:
    old = training()
    del old["training/enrollment"]
    del old["training/course"]["properties"]["trainees"]
    plan = diff(old, training(), FULL)
    summaries = [s.summary for s in plan.steps]
    assert summaries == [
        "create table training_enrollment for entity training/enrollment",
        "add foreign key training_enrollment.course_id -> training_course.id (ON DELETE CASCADE)",
        "add foreign key training_enrollment.trainee_id -> training_trainee.id (ON DELETE CASCADE)",
        "create unique index training_enrollment_course_id_trainee_id_key on "
        "training_enrollment (course_id, trainee_id)",
        "create index training_enrollment_trainee_id_idx on training_enrollment (trainee_id)",
    ]
    assert not plan.destructive_steps


def test_dropped_entity_is_destructive_and_says_how_many_rows_go() -> None:
    new = training()
    del new["training/enrollment"]
    del new["training/course"]["properties"]["trainees"]
    plan = diff(training(), new, FULL)
    # its foreign keys go first, then the table
    assert [s.sql.split(" DROP ")[1].split(" ")[0] for s in plan.steps[:2]] == [
        "CONSTRAINT",
        "CONSTRAINT",
    ]
    drop = plan.steps[-1]
    assert drop.sql == 'DROP TABLE "tenant_x"."training_enrollment"'
    assert drop.destructive
    assert "2 row(s) will be lost" in drop.reason
    assert plan.destructive_steps == (drop,)


def test_renamed_entity_is_a_drop_and_an_add_with_a_hint() -> None:
    old = {"org/employee": fixture("org/employee")}
    renamed = copy.deepcopy(old["org/employee"])
    renamed["$id"] = "org/staff_member"
    plan = diff(old, {"org/staff_member": renamed}, {"org_employee": 7})
    (drop,) = plan.destructive_steps
    assert "7 row(s) will be lost" in drop.reason
    assert "renamed to org/staff_member" in drop.reason
    assert any(s.sql.startswith('CREATE TABLE "tenant_x"."org_staff_member"') for s in plan.steps)


# --- fields -------------------------------------------------------------------------------------


def test_new_optional_field_is_one_safe_step() -> None:
    step = only(diff(*changed(lambda b: props(b).update(room={"type": "string"})), FULL))
    assert step.sql == 'ALTER TABLE "tenant_x"."training_course" ADD COLUMN "room" text'
    assert not step.destructive


def test_new_required_field_without_default_on_a_filled_table_is_refused() -> None:
    def edit(b: dict[str, dict[str, Any]]) -> None:
        props(b)["room"] = {"type": "string"}
        course(b)["required"].append("room")

    step = only(diff(*changed(edit), FULL))
    assert step.refused and step.destructive
    assert "5 row(s)" in step.reason
    assert "give the field a default or make it optional first" in step.reason
    text = diff(*changed(edit), FULL).as_text()
    assert "-- REFUSED: NOT NULL column without default" in text


def test_new_required_field_is_safe_on_an_empty_table_or_with_a_default() -> None:
    def required(b: dict[str, dict[str, Any]]) -> None:
        props(b)["room"] = {"type": "string"}
        course(b)["required"].append("room")

    def with_default(b: dict[str, dict[str, Any]]) -> None:
        props(b)["room"] = {"type": "string", "default": "A-1"}
        course(b)["required"].append("room")

    empty = only(diff(*changed(required), {**FULL, "training_course": 0}))
    assert not empty.destructive
    assert empty.sql.endswith('"room" text NOT NULL')
    defaulted = only(diff(*changed(with_default), FULL))
    assert not defaulted.destructive
    assert defaulted.sql.endswith("\"room\" text NOT NULL DEFAULT 'A-1'::text")


def test_unknown_row_count_never_makes_a_step_look_safer() -> None:
    def required(b: dict[str, dict[str, Any]]) -> None:
        props(b)["room"] = {"type": "string"}
        course(b)["required"].append("room")

    step = only(diff(*changed(required), {}))
    assert step.destructive and not step.refused


def test_dropped_field_is_destructive_with_a_rename_hint() -> None:
    def edit(b: dict[str, dict[str, Any]]) -> None:
        props(b)["venue"] = props(b).pop("website")

    plan = diff(*changed(edit), FULL)
    drop = plan.destructive_steps[0]
    assert drop.sql == 'ALTER TABLE "tenant_x"."training_course" DROP COLUMN "website"'
    assert "5 row(s)" in drop.reason
    assert "renamed to venue" in drop.reason
    assert "-- DESTRUCTIVE: the values of 5 row(s) will be lost" in plan.as_text()
    assert plan.as_dict()[0] == {
        "summary": drop.summary,
        "sql": drop.sql,
        "destructive": True,
        "reason": drop.reason,
        "refused": False,
    }


@pytest.mark.parametrize(
    ("before", "after", "sql_type"),
    [
        ({"type": "integer"}, {"type": "number"}, "numeric"),
        ({"type": "integer"}, {"type": "number", "x-kind": "float"}, "double precision"),
        ({"type": "integer"}, {"type": "string"}, "text"),
        ({"type": "number", "x-kind": "money"}, {"type": "number"}, "numeric"),
        (
            {"type": "string", "format": "date"},
            {"type": "string", "format": "date-time"},
            "timestamptz",
        ),
        ({"enum": ["a", "b"]}, {"type": "array", "items": {"enum": ["a", "b"]}}, "text[]"),
    ],
)
def test_widening_type_changes_are_safe(
    before: dict[str, Any], after: dict[str, Any], sql_type: str
) -> None:
    old = training()
    props(old)["extra"] = before
    new = copy.deepcopy(old)
    props(new)["extra"] = after
    step = only(diff(old, new, FULL))
    assert f"TYPE {sql_type} USING" in step.sql
    assert not step.destructive


def test_same_column_type_kind_changes_need_no_ddl() -> None:
    def edit(b: dict[str, dict[str, Any]]) -> None:
        props(b, "training/trainer")["phone"] = {"type": "string", "format": "email"}
        props(b, "training/trainer")["bio"] = {"type": "string"}

    assert diff(*changed(edit), FULL).is_empty


def test_narrowing_type_change_on_a_filled_table_is_flagged() -> None:
    def edit(b: dict[str, dict[str, Any]]) -> None:
        props(b)["price"] = {"type": "integer"}

    step = only(diff(*changed(edit), FULL))
    assert step.destructive and not step.refused
    assert 'TYPE integer USING "price"::integer' in step.sql
    assert "narrowing" in step.reason and "5 row(s)" in step.reason
    # the same change on an empty table loses nothing
    assert not only(diff(*changed(edit), {"training_course": 0})).destructive


def test_type_change_drops_the_old_default_and_sets_the_new_one() -> None:
    def edit(b: dict[str, dict[str, Any]]) -> None:
        props(b)["online"] = {"type": "integer", "default": 0}

    plan = diff(*changed(edit), FULL)
    assert [s.summary.split(" of ")[0] for s in plan.steps] == ["change type", "set default"]
    assert 'ALTER COLUMN "online" DROP DEFAULT, ALTER COLUMN "online" TYPE integer' in (
        plan.steps[0].sql
    )
    assert plan.steps[1].sql.endswith("SET DEFAULT '0'::integer")


def test_default_changes_are_safe() -> None:
    def edit(b: dict[str, dict[str, Any]]) -> None:
        props(b)["online"]["default"] = True
        props(b)["capacity"]["default"] = 20
        del props(b, "training/trainer")["active"]["default"]

    plan = diff(*changed(edit), FULL)
    assert sorted(s.sql.rsplit(" ", 2)[-2:][-1] for s in plan.steps) == [
        "'20'::integer",
        "DEFAULT",
        "true",
    ]
    assert not plan.destructive_steps


def test_required_added_counts_rows_without_a_value() -> None:
    def edit(b: dict[str, dict[str, Any]]) -> None:
        course(b)["required"].append("capacity")

    old, new = changed(edit)
    queries = count_queries(S, compile_bodies(old), compile_bodies(new))
    assert {q.key for q in queries} == {"training_course", "nulls:training_course.capacity"}
    # no empty values: safe
    ok = only(diff(old, new, FULL, {"nulls:training_course.capacity": 0}))
    assert ok.sql.endswith('ALTER COLUMN "capacity" SET NOT NULL')
    assert not ok.destructive
    # empty values and no default: refused with a hint
    refused = only(diff(old, new, FULL, {"nulls:training_course.capacity": 3}))
    assert refused.refused
    assert "3 row(s) have no value" in refused.reason
    assert "default" in refused.reason


def test_required_added_with_a_default_fills_empty_values_first() -> None:
    def edit(b: dict[str, dict[str, Any]]) -> None:
        course(b)["required"].append("online")

    plan = diff(*changed(edit), FULL, {"nulls:training_course.online": 2})
    assert [s.sql.split(" ")[0] for s in plan.steps] == ["UPDATE", "ALTER"]
    assert plan.steps[0].sql == (
        'UPDATE "tenant_x"."training_course" SET "online" = false WHERE "online" IS NULL'
    )
    assert not plan.destructive_steps


def test_required_dropped_is_safe() -> None:
    step = only(diff(*changed(lambda b: course(b)["required"].remove("title")), FULL))
    assert step.sql.endswith('ALTER COLUMN "title" DROP NOT NULL')
    assert not step.destructive


def test_unique_added_and_removed() -> None:
    def edit(b: dict[str, dict[str, Any]]) -> None:
        props(b)["title"]["x-unique"] = True
        del props(b)["code"]["x-unique"]

    plan = diff(*changed(edit), FULL)
    assert [s.sql for s in plan.steps] == [
        'ALTER TABLE "tenant_x"."training_course" DROP CONSTRAINT "training_course_code_key"',
        'ALTER TABLE "tenant_x"."training_course" ADD CONSTRAINT "training_course_title_key" '
        'UNIQUE ("title")',
    ]
    assert not plan.destructive_steps
    assert "two rows share a value" in plan.steps[1].reason


def test_index_added_and_dropped() -> None:
    def edit(b: dict[str, dict[str, Any]]) -> None:
        course(b)["x-indexes"] = [["startsAt"]]

    plan = diff(*changed(edit), FULL)
    assert [s.sql for s in plan.steps] == [
        'DROP INDEX "tenant_x"."training_course_level_start_date_idx"',
        'CREATE INDEX "training_course_starts_at_idx" ON "tenant_x"."training_course" '
        '("starts_at")',
    ]


def test_on_delete_change_replaces_the_foreign_key_safely() -> None:
    def edit(b: dict[str, dict[str, Any]]) -> None:
        props(b)["trainer"]["x-relation"]["onDelete"] = "restrict"

    plan = diff(*changed(edit), FULL)
    assert [s.sql.split(" CONSTRAINT ")[0].rsplit(" ", 1)[-1] for s in plan.steps] == [
        "DROP",
        "ADD",
    ]
    assert plan.steps[1].sql.endswith("ON DELETE RESTRICT")
    assert not plan.destructive_steps


def test_relation_target_change_is_destructive_on_a_filled_table() -> None:
    def edit(b: dict[str, dict[str, Any]]) -> None:
        props(b)["trainer"]["x-relation"] = {"entity": "training/trainee", "inverse": "courses"}

    plan = diff(*changed(edit), FULL)
    add = plan.steps[-1]
    assert 'REFERENCES "tenant_x"."training_trainee"' in add.sql
    assert add.destructive
    assert "now points at training_trainee" in add.reason
    assert not diff(*changed(edit), {"training_course": 0}).destructive_steps


def test_removed_enum_values_are_counted() -> None:
    def edit(b: dict[str, dict[str, Any]]) -> None:
        props(b)["level"]["enum"] = ["beginner", "advanced"]
        props(b)["tags"]["items"]["enum"] = ["safety", "law"]

    old, new = changed(edit)
    queries = {q.key: q for q in count_queries(S, compile_bodies(old), compile_bodies(new))}
    assert queries["values:training_course.level"].args == (["intermediate"],)
    assert "= ANY($1::text[])" in queries["values:training_course.level"].sql
    assert queries["values:training_course.tags"].args == (["soft_skills", "tech"],)
    assert "&& $1::text[]" in queries["values:training_course.tags"].sql

    plan = diff(
        old,
        new,
        FULL,
        {"values:training_course.level": 4, "values:training_course.tags": 0},
    )
    level, tags = plan.steps
    assert level.sql == "" and level.destructive
    assert "intermediate are no longer allowed; 4 row(s) hold them and keep them" in level.reason
    assert not tags.destructive
    assert "-- (no DDL)" in plan.as_text()


def test_count_queries_skip_unchanged_tables() -> None:
    def edit(b: dict[str, dict[str, Any]]) -> None:
        props(b, "training/trainee")["room"] = {"type": "string"}

    old, new = changed(edit)
    assert [q.key for q in count_queries(S, compile_bodies(old), compile_bodies(new))] == [
        "training_trainee"
    ]
    assert count_queries(S, None, compile_bodies(new)) == ()


def test_steps_are_ordered_for_one_transaction() -> None:
    # given a change that drops a relation, a column and an index, and adds some
    def edit(b: dict[str, dict[str, Any]]) -> None:
        del props(b)["trainer"]
        del props(b)["startDate"]
        course(b)["x-indexes"] = []
        props(b)["room"] = {"type": "string"}
        props(b)["mentor"] = {
            "type": "string",
            "format": "uuid",
            "x-relation": {"entity": "training/trainer", "inverse": "mentored"},
        }

    plan = diff(*changed(edit), FULL)
    order = [s.sql.split('"', 1)[0] + s.sql.split('" ', 1)[-1][:20] for s in plan.steps]
    summaries = [s.summary.split(" ")[0:2] for s in plan.steps]
    assert summaries[0] == ["drop", "foreign"]
    assert summaries[1:3] == [["drop", "index"], ["drop", "index"]]
    fk_add = next(i for i, s in enumerate(summaries) if s == ["add", "foreign"])
    columns = [i for i, s in enumerate(summaries) if s[1] == "column"]
    assert max(columns) < fk_add
    assert summaries[-1] == ["create", "index"]
    assert len(order) == len(plan.steps)


def test_plan_round_trips_through_its_dict_form() -> None:
    plan = diff(*changed(lambda b: props(b).pop("website")), FULL)
    assert Plan.from_dict(plan.as_dict()) == plan
