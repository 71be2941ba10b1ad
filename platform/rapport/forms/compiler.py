"""Form documents -> the tenant's frozen :class:`FormSet`, checked against the Model.

:func:`compile_forms` is called by :func:`rapport.metadata.bundle.compile_tenant` and returns
every problem of every form document together with the entity problems, so ``rapport metadata
plan`` shows a form broken by an entity change (a field it shows was removed, or changed kind so
its widget, default or rule no longer fits) before anything is published.

Checks, in order: the meta-schema (``schemas/form.schema.json``); duplicate ids; the target
(an existing entity, or well-formed ``questions`` for a standalone questionnaire); each field
(exists, writable, shown once, widget fits its kind, a read-only or hidden field has a valid
default, file settings only on files); sections and steps (known fields, each field in at most
one section and one step, every field in a step when there are steps); rules (``when`` parses
against the entity, uses only the operators JSON Schema can express, reads only fields the form
shows; ``show``/``hide``/``require`` name shown fields); and that every required entity field
without a default is shown unconditionally, so a valid submission can always create a record.
Every entity without a form document of its own id gets its default form
(:mod:`rapport.forms.default`).
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import json
from collections.abc import Iterable, Mapping
from importlib import resources
from types import MappingProxyType
from typing import Any

import jsonschema_rs
from jsonschema import Draft202012Validator

from rapport.errors import MetadataProblem, ValidationFailed
from rapport.expr.parse import parse_where
from rapport.forms.conditions import FORM_OPERATORS, Unsupported, condition_schema, fields_of
from rapport.forms.default import SUBMISSION_ENTITY, default_fields, default_form
from rapport.forms.document import (
    BoundField,
    CompiledRule,
    Form,
    FormDocument,
    FormGroup,
    read_form,
)
from rapport.forms.formset import FormSet
from rapport.forms.validation import FormValidator
from rapport.forms.widgets import WIDGETS, allowed_widgets
from rapport.metadata.checks import check_entity
from rapport.metadata.dialect import check_dialect
from rapport.metadata.documents import Document, DocumentKind
from rapport.metadata.draft import draft_entity
from rapport.metadata.ir import EntityDef, FieldKind, Model, freeze_json, thaw_json
from rapport.metadata.problems import Problems, pointer
from rapport.metadata.record_schema import record_schema

__all__ = ["compile_forms", "fingerprint", "form_meta_schema"]

_NOT_IN_QUESTIONS = frozenset({FieldKind.RELATION, FieldKind.MANY_TO_MANY, FieldKind.COMPUTED})


@functools.cache
def form_meta_schema() -> dict[str, Any]:
    """The form meta-schema (JSON Schema 2020-12) as shipped in the package (do not mutate)."""
    text = resources.files("rapport").joinpath("_data", "schemas", "form.schema.json")
    schema: dict[str, Any] = json.loads(text.read_text(encoding="utf-8"))
    return schema


@functools.cache
def _meta_validator() -> Draft202012Validator:
    return Draft202012Validator(form_meta_schema())


def fingerprint(form_body: Any, entity: EntityDef) -> str:
    """What a form is built from, hashed: equal fingerprints, equal compiled forms."""
    text = json.dumps(
        {"form": form_body, "entity": thaw_json(entity.document)},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(text.encode()).hexdigest()


def compile_forms(
    documents: Iterable[Document], model: Model
) -> tuple[FormSet, list[MetadataProblem]]:
    """Every form of the tenant (documents + default forms) and every problem found."""
    problems = Problems()
    forms: dict[str, Form] = {}
    seen: set[str] = set()
    for doc in sorted(
        (d for d in documents if d.kind == DocumentKind.FORM), key=lambda d: (d.id, d.location)
    ):
        if doc.id in seen:
            problems.add(
                doc.id,
                "/$id",
                f"two form documents have the id {doc.id}",
                "Give each form its own `$id` (namespace/name).",
            )
            continue
        seen.add(doc.id)
        form = _compile_one(doc, model, problems)
        if form is not None:
            forms[form.id] = form
    for entity in model:
        if entity.id not in forms and entity.id != SUBMISSION_ENTITY:
            forms[entity.id] = default_form(entity, fingerprint(None, entity))
    if problems:
        return FormSet(), problems.as_list()
    ordered = dict(sorted(forms.items()))
    validators = {form_id: FormValidator(form) for form_id, form in ordered.items()}
    return FormSet(MappingProxyType(ordered), MappingProxyType(validators)), []


def _meta_problems(doc: Document, problems: Problems) -> bool:
    body = doc.as_json()
    errors = sorted(
        _meta_validator().iter_errors(body), key=lambda e: [str(p) for p in e.absolute_path]
    )
    for error in errors:
        description = error.schema.get("description") if isinstance(error.schema, dict) else None
        hint = description.partition(". ")[0] if isinstance(description, str) else ""
        problems.add(doc.id, pointer(*error.absolute_path), error.message, hint)
    return not errors


def _compile_one(doc: Document, model: Model, problems: Problems) -> Form | None:
    if not _meta_problems(doc, problems):
        return None
    body = doc.as_json()
    spec = read_form(doc.id, body)
    before = len(problems)
    entity, form_model = _target(doc, spec, model, problems)
    if entity is None:
        return None
    checker = _Checker(doc.id, spec, entity, form_model, problems)
    fields = checker.fields()
    if len(problems) > before:
        return None
    checker.groups(spec.sections, "sections")
    checker.groups(spec.steps, "steps")
    rules = checker.rules()
    checker.required_shown(rules)
    if len(problems) > before:
        return None
    return Form(
        id=doc.id,
        entity=entity,
        standalone=spec.entity is None,
        document=spec,
        fields=fields,
        rules=rules,
        fingerprint=fingerprint(body, entity),
    )


def _target(
    doc: Document, spec: FormDocument, model: Model, problems: Problems
) -> tuple[EntityDef | None, Model]:
    if spec.entity is not None:
        if spec.questions is not None or spec.required:
            problems.add(
                doc.id,
                "/questions" if spec.questions is not None else "/required",
                "a form of an entity takes its fields from the entity",
                "Remove `questions` and `required`, or remove `entity` to make a standalone "
                "questionnaire.",
            )
        if not model.has_entity(spec.entity):
            close = difflib.get_close_matches(spec.entity, [e.id for e in model], n=1)
            problems.add(
                doc.id,
                "/entity",
                f"the form's entity {spec.entity} does not exist",
                f"Did you mean {close[0]}?" if close else "Name an entity the tenant has.",
            )
            return None, model
        return model.entity(spec.entity), model
    if spec.questions is None:
        problems.add(
            doc.id,
            "",
            "a form needs an `entity`, or `questions` for a standalone questionnaire",
            'Add "entity": "namespace/name", or "questions": {"name": {"type": "string"}}.',
        )
        return None, model
    return _questionnaire(doc, spec, problems)


def _questionnaire(
    doc: Document, spec: FormDocument, problems: Problems
) -> tuple[EntityDef | None, Model]:
    """A standalone questionnaire's questions, checked as an entity of their own (never
    stored: the answers go to core/form_submission)."""
    body: dict[str, Any] = {
        "$id": doc.id,
        "type": "object",
        "properties": thaw_json(spec.questions),
    }
    if spec.required:
        body["required"] = list(spec.required)
    synthetic = Document(doc.id, freeze_json(body), doc.source, doc.location)
    local = Problems()
    local.extend(check_dialect(synthetic))
    entity = draft_entity(synthetic)
    if entity is not None:
        check_entity(entity, local)
        for field in entity.fields:
            if field.kind in _NOT_IN_QUESTIONS:
                local.add(
                    doc.id,
                    pointer("properties", field.name),
                    f"a questionnaire cannot have a {field.kind} question",
                    "Questions hold answers only: no relations, many-to-many or computed "
                    "fields. Use an entity form for those.",
                )
    for problem in local.as_list():
        where = problem.pointer
        if where.startswith("/properties"):
            where = "/questions" + where[len("/properties") :]
        problems.add(doc.id, where, problem.message, problem.hint)
    if local or entity is None:
        return None, Model(())
    return entity, Model((entity,))


class _Checker:
    def __init__(
        self,
        form_id: str,
        spec: FormDocument,
        entity: EntityDef,
        model: Model,
        problems: Problems,
    ) -> None:
        self.id = form_id
        self.spec = spec
        self.entity = entity
        self.model = model
        self.problems = problems
        self.properties: Mapping[str, Any] = record_schema(entity, mode="create")["properties"]
        self.shown: dict[str, BoundField] = {}  # by field name and by answer key

    def add(self, where: str, message: str, hint: str) -> None:
        self.problems.add(self.id, where, message, hint)

    def fields(self) -> tuple[BoundField, ...]:
        specs = self.spec.fields if self.spec.fields is not None else default_fields(self.entity)
        bound: list[BoundField] = []
        for index, item in enumerate(specs):
            at = pointer("fields", index)
            if item.name in self.shown:
                self.add(at, f"the form shows {item.name} twice", "List each field once.")
                continue
            field = next(
                (f for f in self.entity.fields if item.name in (f.name, f.graphql_input_name)),
                None,
            )
            if field is None:
                names = [f.name for f in self.entity.fields if f.is_writable]
                close = difflib.get_close_matches(item.name, names, n=1)
                self.add(
                    at,
                    f"{self.entity.id} has no field {item.name} (was it removed or renamed?)",
                    f"Did you mean {close[0]}?"
                    if close
                    else f"Show one of: {', '.join(names)}; or remove it from the form.",
                )
                continue
            if not field.is_writable:
                self.add(
                    at,
                    f"{field.name} of {self.entity.id} is {field.kind} or read-only: "
                    f"it cannot be entered in a form",
                    "Remove it from the form; the system or an expression sets it.",
                )
                continue
            one = BoundField(item, field)
            self._check_field(one, at)
            self.shown[field.name] = one
            self.shown[one.name] = one
            bound.append(one)
        return tuple(bound)

    def _check_field(self, bound: BoundField, at: str) -> None:
        item, field = bound.spec, bound.field
        if item.widget is not None and field.kind not in WIDGETS[item.widget]:
            self.add(
                f"{at}/widget",
                f"the {item.widget} widget cannot edit the {field.kind} field {field.name}",
                f"Use one of: {', '.join(allowed_widgets(field.kind))}.",
            )
        has_default = item.has_default or field.has_default
        if item.fixed and not has_default:
            what = "read-only" if item.read_only else "hidden"
            self.add(
                at,
                f"the {what} field {field.name} has no default, so it could never hold a value",
                'Add "default": … to the field (or to the entity field), or make it editable.',
            )
        if item.has_default:
            schema = self.properties[bound.name]
            if not jsonschema_rs.validator_for(schema, validate_formats=True).is_valid(
                thaw_json(item.default)
            ):
                self.add(
                    f"{at}/default",
                    f"the default {json.dumps(thaw_json(item.default), ensure_ascii=False)} is "
                    f"not a valid value of the {field.kind} field {field.name}",
                    "Give a default the field accepts (its type, enum and limits).",
                )
        if (item.max_size is not None or item.accept) and field.kind is not FieldKind.FILE:
            self.add(
                at,
                f"maxSize and accept apply to file fields; {field.name} is {field.kind}",
                "Remove them, or show a file field.",
            )

    def groups(self, groups: tuple[FormGroup, ...], key: str) -> None:
        owner: dict[str, str] = {}
        ids: set[str] = set()
        for index, group in enumerate(groups):
            at = pointer(key, index)
            if group.id in ids:
                self.add(f"{at}/id", f"two {key} have the id {group.id}", "Make the ids unique.")
            ids.add(group.id)
            for j, name in enumerate(group.fields):
                if name not in self.shown:
                    self.add(
                        pointer(key, index, "fields", j),
                        f"{name} is not a field of this form",
                        "List only fields the form shows (see `fields`).",
                    )
                    continue
                canonical = self.shown[name].name
                if canonical in owner:
                    self.add(
                        pointer(key, index, "fields", j),
                        f"{name} is already in {owner[canonical]}",
                        f"Put each field in one of the {key}.",
                    )
                owner[canonical] = group.id
        if key == "steps" and groups:
            missing = [b.field.name for b in self._bound() if b.name not in owner]
            if missing:
                self.add(
                    "/steps",
                    f"fields in no step: {', '.join(missing)}",
                    "A multi-page form shows every field on some page: add them to a step.",
                )

    def _bound(self) -> list[BoundField]:
        unique: dict[str, BoundField] = {}
        for bound in self.shown.values():
            unique.setdefault(bound.name, bound)
        return list(unique.values())

    def rules(self) -> tuple[CompiledRule, ...]:
        compiled: list[CompiledRule] = []
        for index, rule in enumerate(self.spec.rules):
            at = ("rules", index)
            when = thaw_json(rule.when)
            try:
                expr = parse_where(when, self.entity, self.model)
            except ValidationFailed as failed:
                for error in failed.errors:
                    self.add(
                        pointer(*at, "when", *error.path),
                        error.message,
                        "Write the condition over this form's fields with the expression "
                        "language's operators.",
                    )
                continue
            try:
                condition_schema(expr)
            except Unsupported as exc:
                self.add(
                    pointer(*at, "when"),
                    exc.message,
                    f"Form conditions support {', '.join(FORM_OPERATORS)}, _and, _or and "
                    f"_not (the operators a JSON Schema client can check).",
                )
                continue
            unseen = sorted(k for k in fields_of(expr) if k not in self.shown)
            if unseen:
                self.add(
                    pointer(*at, "when"),
                    f"the condition reads {', '.join(unseen)}, which the form does not show",
                    "A condition can only look at answers: show the field, or drop the test.",
                )
            keys: dict[str, tuple[str, ...]] = {}
            for action in ("show", "hide", "require"):
                names: tuple[str, ...] = getattr(rule, action)
                for j, name in enumerate(names):
                    if name not in self.shown:
                        self.add(
                            pointer(*at, action, j),
                            f"{name} is not a field of this form",
                            "Name fields the form shows (see `fields`).",
                        )
                keys[action] = tuple(self.shown[n].name for n in names if n in self.shown)
            compiled.append(CompiledRule(expr, keys["show"], keys["hide"], keys["require"]))
        return tuple(compiled)

    def required_shown(self, rules: tuple[CompiledRule, ...]) -> None:
        """A required entity field without a default must always be shown and editable."""
        conditional = {k for r in rules for k in (*r.show, *r.hide)}
        for field in self.entity.fields:
            if not (field.is_writable and field.required) or field.has_default:
                continue
            bound = self.shown.get(field.name)
            if bound is None:
                if self.spec.entity is not None:
                    self.add(
                        "/fields",
                        f"the form does not show {field.name}, which {self.entity.id} requires",
                        f"Add {field.name} to `fields` (or give the entity field a default): "
                        "otherwise no submission could create a record.",
                    )
                else:
                    self.add(
                        "/fields",
                        f"the form does not show the required question {field.name}",
                        "Add it to `fields`, or remove it from `required`.",
                    )
            elif bound.name in conditional:
                self.add(
                    "/rules",
                    f"rules may hide {field.name}, which is required",
                    "A required field must always be shown; hide only optional fields.",
                )
