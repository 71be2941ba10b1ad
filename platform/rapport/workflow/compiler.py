"""Workflow documents → a frozen :class:`~rapport.workflow.document.WorkflowSet`.

Called by :func:`rapport.metadata.bundle.compile_tenant` with the compiled Model; every problem of
every workflow document (and every entity ``x-workflow`` that names no workflow) is returned,
so an admin fixes them all in one pass.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from importlib import resources
from types import MappingProxyType
from typing import Any

import jsonschema

from rapport.errors import MetadataProblem, ValidationFailed
from rapport.expr.parse import parse_where
from rapport.metadata.documents import Document, DocumentKind
from rapport.metadata.ir import EntityDef, FieldKind, Model, freeze_json
from rapport.workflow.document import (
    Approval,
    ApprovalMode,
    Calendar,
    Effect,
    Reminder,
    StateDef,
    Timer,
    Transition,
    Workflow,
    WorkflowSet,
)
from rapport.workflow.durations import parse_duration, whole_days

__all__ = ["compile_workflows", "workflow_shapes"]

EFFECT_KINDS = ("set", "create", "notify", "webhook", "enqueue")
_DATE_KINDS = frozenset({FieldKind.DATE, FieldKind.DATETIME})


@functools.cache
def _validator() -> jsonschema.Draft202012Validator:
    text = resources.files("rapport").joinpath("_data", "schemas", "workflow.schema.json")
    return jsonschema.Draft202012Validator(json.loads(text.read_text(encoding="utf-8")))


def workflow_shapes(documents: Iterable[Document]) -> list[MetadataProblem]:
    """Meta-schema problems of the workflow documents (for when the entities do not compile)."""
    problems = []
    for doc in documents:
        if doc.kind == DocumentKind.WORKFLOW:
            for error in sorted(_validator().iter_errors(doc.as_json()), key=_path_of):
                problems.append(_shape_problem(doc, error))
    return problems


def _path_of(error: jsonschema.ValidationError) -> list[str]:
    return [str(p) for p in error.absolute_path]


def _shape_problem(doc: Document, error: jsonschema.ValidationError) -> MetadataProblem:
    pointer = "".join(f"/{p}" for p in error.absolute_path)
    return MetadataProblem(doc.id, pointer, error.message, "See schemas/workflow.schema.json.")


def compile_workflows(
    documents: Iterable[Document], model: Model
) -> tuple[WorkflowSet, list[MetadataProblem]]:
    """The compiled workflows and every problem found (the set is only used when there are none)."""
    documents_ = tuple(documents)
    problems: list[MetadataProblem] = []
    workflows: list[Workflow] = []
    for doc in documents_:
        if doc.kind != DocumentKind.WORKFLOW:
            continue
        compiled = _Compiler(doc, model, problems).compile()
        if compiled is not None:
            workflows.append(compiled)
    by_entity: dict[str, str] = {}
    for wf in workflows:
        if wf.entity in by_entity:
            problems.append(
                MetadataProblem(
                    wf.id,
                    "/entity",
                    f"entity {wf.entity} already has workflow {by_entity[wf.entity]}",
                    "An entity has at most one workflow: merge the two documents.",
                )
            )
        by_entity[wf.entity] = wf.id
    # An entity may name its workflow before the workflow document is published (DESIGN.md's
    # example entity does, and a plug-in may ship the workflow later): until a document with
    # that $id exists the entity simply has no workflow, and `transition<Type>` says so.
    for wf in workflows:
        entity = model.entity(wf.entity)
        if entity.workflow != wf.id:
            problems.append(
                MetadataProblem(
                    wf.id,
                    "/entity",
                    f"entity {wf.entity} does not name this workflow in x-workflow",
                    f'Add "x-workflow": "{wf.id}" to the entity document.',
                )
            )
    return WorkflowSet(tuple(sorted(workflows, key=lambda w: w.id))), problems


class _Compiler:
    def __init__(self, doc: Document, model: Model, problems: list[MetadataProblem]) -> None:
        self.doc = doc
        self.model = model
        self.problems = problems
        self.failed = False

    def problem(self, pointer: str, message: str, hint: str) -> None:
        self.failed = True
        self.problems.append(MetadataProblem(self.doc.id, pointer, message, hint))

    def compile(self) -> Workflow | None:
        body = self.doc.as_json()
        errors = sorted(_validator().iter_errors(body), key=_path_of)
        for error in errors:
            self.failed = True
            self.problems.append(_shape_problem(self.doc, error))
        if errors:
            return None
        entity_id = body["entity"]
        if not self.model.has_entity(entity_id):
            self.problem("/entity", f"unknown entity {entity_id!r}", "Name a published entity.")
            return None
        entity = self.model.entity(entity_id)
        states = self.states(body["states"], entity)
        self.state_field(body["field"], entity, states)
        if body["initial"] not in states:
            self.problem("/initial", f"{body['initial']!r} is not a state", _STATE_HINT)
        if states[body["initial"]].final if body["initial"] in states else False:
            self.problem("/initial", "the initial state is final", "Start in a non-final state.")
        transitions = self.transitions(body["transitions"], entity, states, body["field"])
        timers = self.timers(body.get("timers", []), entity, states)
        state_map = dict(body.get("x-stateMap", {}))
        for old, new in state_map.items():
            if new not in states:
                self.problem(f"/x-stateMap/{old}", f"{new!r} is not a state", _STATE_HINT)
        if self.failed:
            return None
        return Workflow(
            id=self.doc.id,
            entity=entity_id,
            field=body["field"],
            initial=body["initial"],
            states=MappingProxyType(states),
            transitions=transitions,
            timers=timers,
            calendar=Calendar(body.get("calendar", "cn")),
            state_map=MappingProxyType(state_map),
        )

    def state_field(self, name: str, entity: EntityDef, states: Mapping[str, StateDef]) -> None:
        if not entity.has_field(name):
            self.problem("/field", f"{entity.id} has no field {name!r}", _FIELD_HINT)
            return
        fdef = entity.field(name)
        if fdef.kind is not FieldKind.ENUM:
            self.problem("/field", f"{name} is a {fdef.kind} field, not an enum", _ENUM_HINT)
            return
        if set(fdef.enum_values) != set(states):
            missing = sorted(set(states) - set(fdef.enum_values))
            extra = sorted(set(fdef.enum_values) - set(states))
            self.problem(
                "/field",
                f"the enum values of {name} must equal the state names "
                f"(states not in the enum: {missing}; enum values that are no state: {extra})",
                _ENUM_HINT,
            )

    def effects(self, items: list[Any], pointer: str, entity: EntityDef) -> tuple[Effect, ...]:
        effects = []
        for index, item in enumerate(items):
            ((kind, value),) = item.items()
            where = f"{pointer}/{index}/{kind}"
            if kind == "set":
                for name in value:
                    if not entity.has_field(name) or not entity.field(name).is_writable:
                        self.problem(f"{where}/{name}", f"no writable field {name!r}", _FIELD_HINT)
            elif kind == "create" and not self.model.has_entity(value["entity"]):
                self.problem(f"{where}/entity", f"unknown entity {value['entity']!r}", _FIELD_HINT)
            effects.append(Effect(kind, freeze_json(value)))
        return tuple(effects)

    def duration(self, text: str, pointer: str) -> Any:
        duration = parse_duration(text)
        if duration is None:
            self.problem(
                pointer,
                f"{text!r} is not an ISO-8601 duration of weeks, days and time",
                'Write e.g. "P2D", "PT4H" or "P1DT12H"; years and months are not allowed.',
            )
        return duration

    def states(self, raw: Mapping[str, Any], entity: EntityDef) -> dict[str, StateDef]:
        states: dict[str, StateDef] = {}
        for name, spec in raw.items():
            where = f"/states/{name}"
            sla = working = None
            if "sla" in spec:
                sla = self.duration(spec["sla"], f"{where}/sla")
                if sla is not None and spec.get("workingDays", False):
                    working = whole_days(sla)
                    if working is None:
                        self.problem(
                            f"{where}/sla", "working-day SLAs count whole days", 'Write "P5D".'
                        )
                    sla = None
            reminders = []
            for index, remind in enumerate(spec.get("remind", [])):
                before = self.duration(remind["before"], f"{where}/remind/{index}/before")
                effects = self.effects(remind["effects"], f"{where}/remind/{index}/effects", entity)
                if before is not None:
                    reminders.append(Reminder(before, effects))
            if (reminders or spec.get("onBreach")) and "sla" not in spec:
                self.problem(where, "reminders and onBreach need an sla", "Add an sla.")
            editable = spec.get("editable")
            for field_name in editable or ():
                if not entity.has_field(field_name):
                    self.problem(f"{where}/editable", f"no field {field_name!r}", _FIELD_HINT)
            states[name] = StateDef(
                name=name,
                sla=sla,
                working_days=working,
                on_breach=self.effects(spec.get("onBreach", []), f"{where}/onBreach", entity),
                remind=tuple(reminders),
                final=bool(spec.get("final", False)),
                editable=None if editable is None else tuple(editable),
            )
        return states

    def transitions(
        self,
        raw: list[Mapping[str, Any]],
        entity: EntityDef,
        states: Mapping[str, StateDef],
        state_field: str,
    ) -> tuple[Transition, ...]:
        seen: set[str] = set()
        out = []
        for index, spec in enumerate(raw):
            where = f"/transitions/{index}"
            name = spec["name"]
            if name in seen:
                self.problem(f"{where}/name", f"transition {name!r} is defined twice", "Rename.")
            seen.add(name)
            for source in spec["from"]:
                if source not in states:
                    self.problem(f"{where}/from", f"{source!r} is not a state", _STATE_HINT)
                elif states[source].final:
                    self.problem(f"{where}/from", f"{source!r} is final", "Final states are ends.")
            if spec["to"] not in states:
                self.problem(f"{where}/to", f"{spec['to']!r} is not a state", _STATE_HINT)
            for field_name in spec.get("requires", []):
                if not entity.has_field(field_name):
                    self.problem(f"{where}/requires", f"no field {field_name!r}", _FIELD_HINT)
            effects = self.effects(spec.get("effects", []), f"{where}/effects", entity)
            for effect in effects:
                if (
                    effect.kind == "set"
                    and isinstance(effect.value, Mapping)
                    and state_field in effect.value
                ):
                    self.problem(
                        f"{where}/effects",
                        "an effect may not set the state field",
                        "The transition itself sets it; use `to`.",
                    )
            guard = None
            if "guard" in spec:
                try:
                    guard = parse_where(spec["guard"], entity, self.model)
                except ValidationFailed as invalid:
                    for error in invalid.errors:
                        pointer = "".join(f"/{p}" for p in error.path)
                        self.problem(f"{where}/guard{pointer}", error.message, _GUARD_HINT)
            approval = None
            if "approval" in spec:
                approval = self.approval(spec["approval"], f"{where}/approval", entity)
            out.append(
                Transition(
                    name=name,
                    sources=tuple(spec["from"]),
                    target=spec["to"],
                    roles=tuple(spec.get("roles", [])),
                    guard=guard,
                    requires=tuple(spec.get("requires", [])),
                    effects=effects,
                    approval=approval,
                )
            )
        return tuple(out)

    def approval(self, spec: Mapping[str, Any], where: str, entity: EntityDef) -> Approval | None:
        mode = ApprovalMode(spec.get("mode", "all"))
        by = tuple(spec["by"])
        quorum = int(spec.get("quorum", 1 if mode is ApprovalMode.ANY else len(by)))
        if mode is ApprovalMode.QUORUM and not 1 <= quorum <= len(by):
            self.problem(f"{where}/quorum", f"quorum {quorum} of {len(by)}", "1 <= quorum <= m.")
        for index, approver in enumerate(by):
            if approver.startswith("$record."):
                self.relation_path(
                    approver.removeprefix("$record.").split("."), entity, where, index
                )
        return Approval(by, mode, quorum, bool(spec.get("allowSelf", False)))

    def relation_path(self, parts: list[str], entity: EntityDef, where: str, index: int) -> None:
        current = entity
        for position, part in enumerate(parts):
            if not current.has_field(part):
                self.problem(
                    f"{where}/by/{index}", f"{current.id} has no field {part!r}", _FIELD_HINT
                )
                return
            fdef = current.field(part)
            last = position == len(parts) - 1
            if fdef.relation is not None and not last:
                current = self.model.entity(fdef.relation.target)
            elif not last:
                self.problem(
                    f"{where}/by/{index}", f"{part} is not a relation", "Follow relation fields."
                )
                return

    def timers(
        self, raw: list[Mapping[str, Any]], entity: EntityDef, states: Mapping[str, StateDef]
    ) -> tuple[Timer, ...]:
        out = []
        for index, spec in enumerate(raw):
            where = f"/timers/{index}"
            name = spec["field"]
            if not entity.has_field(name) or entity.field(name).kind not in _DATE_KINDS:
                self.problem(f"{where}/field", f"{name!r} is no date field", "Name a date field.")
            for state in spec.get("states", []):
                if state not in states:
                    self.problem(f"{where}/states", f"{state!r} is not a state", _STATE_HINT)
            if "before" in spec:
                offset = self.duration(spec["before"], f"{where}/before")
            else:
                after = self.duration(spec.get("after", "P0D"), f"{where}/after")
                offset = None if after is None else -after
            effects = self.effects(spec["effects"], f"{where}/effects", entity)
            if offset is not None:
                out.append(
                    Timer(spec["name"], name, offset, effects, tuple(spec.get("states", [])))
                )
        return tuple(out)


_STATE_HINT = "Use a key of `states`."
_FIELD_HINT = "Use a field name of the entity as written in its document."
_ENUM_HINT = "The state field must be an enum whose values are exactly the state names."
_GUARD_HINT = "Guards are filters of the expression language (DESIGN.md D5)."
