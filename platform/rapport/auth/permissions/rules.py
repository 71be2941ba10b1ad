"""Permission documents → frozen :class:`Rule` objects, checked against the meta-schema and Model.

One document is one rule: a role, an entity, actions, an optional row rule (``where``), field
grants and conditional visibility (``when`` + ``hide``). Every problem of every document is
collected (unknown entity, field, action or transition, bad expressions) so an admin fixes a
folder in one pass; :func:`rapport.metadata.bundle.compile_tenant` reports them with the others.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import jsonschema

from rapport.errors import MetadataProblem, ValidationFailed
from rapport.expr.ast import Expr
from rapport.expr.parse import parse_where
from rapport.metadata.documents import Document, DocumentKind
from rapport.metadata.ir import SYSTEM_FIELDS, EntityDef, Model
from rapport.principal import ADMIN_ROLE

__all__ = ["ALL", "READ_ACTIONS", "Rule", "compile_rules", "field_names"]

ALL = "*"
# Actions whose rules shape what is read (rows and fields), each on its own path.
READ_ACTIONS = ("read", "export", "aggregate")
_SYSTEM_NAMES = tuple(f.name for f in SYSTEM_FIELDS)


@dataclass(frozen=True, slots=True)
class Rule:
    """One compiled permission document."""

    document: str  # the document's $id, for messages
    role: str
    entity: str
    actions: frozenset[str]
    where: Expr | None  # None: every record
    read: frozenset[str]  # field names readable in clear (ALL expanded)
    write: frozenset[str]  # field names writable (ALL expanded)
    mask: frozenset[str]  # field names shown masked
    when: Expr | None
    hide: frozenset[str]  # hidden where `when` holds

    def allows(self, action: str) -> bool:
        if action in self.actions:
            return True
        return action.startswith("transition:") and "transition:*" in self.actions


def field_names(entity: EntityDef) -> tuple[str, ...]:
    """Every name a rule may grant on ``entity``: its fields and the system fields."""
    return (*_SYSTEM_NAMES, *(f.name for f in entity.fields))


def _writable(entity: EntityDef) -> frozenset[str]:
    return frozenset(f.name for f in entity.fields if f.is_writable)


@functools.cache
def _validator() -> jsonschema.Draft202012Validator:
    text = resources.files("rapport").joinpath("_data", "schemas", "permission.schema.json")
    return jsonschema.Draft202012Validator(json.loads(text.read_text(encoding="utf-8")))


def compile_rules(
    documents: Iterable[Document],
    model: Model,
    transitions: Mapping[str, frozenset[str]] | None = None,
) -> tuple[tuple[Rule, ...], list[MetadataProblem]]:
    """The rules of every permission document, and every problem found in them.

    ``transitions``: the transition names of each entity's workflow, to check
    ``transition:<name>`` actions (None: not checked)."""
    problems: list[MetadataProblem] = []
    rules: list[Rule] = []
    for doc in documents:
        if doc.kind == DocumentKind.PERMISSION:
            rule = _RuleCompiler(doc, model, problems, transitions).compile()
            if rule is not None:
                rules.append(rule)
    return tuple(rules), problems


class _RuleCompiler:
    def __init__(
        self,
        doc: Document,
        model: Model,
        problems: list[MetadataProblem],
        transitions: Mapping[str, frozenset[str]] | None,
    ) -> None:
        self.doc = doc
        self.model = model
        self.problems = problems
        self.transitions = transitions
        self.failed = False

    def problem(self, pointer: str, message: str, hint: str) -> None:
        self.failed = True
        self.problems.append(MetadataProblem(self.doc.id, pointer, message, hint))

    def compile(self) -> Rule | None:
        body = self.doc.as_json()
        errors = sorted(_validator().iter_errors(body), key=lambda e: list(e.absolute_path))
        for error in errors:
            pointer = "".join(f"/{p}" for p in error.absolute_path)
            self.problem(pointer, error.message, "See schemas/permission.schema.json.")
        if errors:
            return None
        if body["role"] == ADMIN_ROLE:
            self.problem(
                "/role",
                "the admin role already has full access to its tenant",
                "Grant another role; admins need no permission documents.",
            )
        entity_id = body["entity"]
        if not self.model.has_entity(entity_id):
            known = ", ".join(e.id for e in self.model) or "none"
            self.problem(
                "/entity", f"unknown entity {entity_id!r}", f"Name a published entity: {known}."
            )
            return None
        entity = self.model.entity(entity_id)
        actions = frozenset(body["actions"])
        self.check_transitions(actions, entity)
        fields = body.get("fields", {})
        names = frozenset(field_names(entity))
        read = self.names(fields.get("read", [ALL]), entity, "/fields/read", names)
        write = self.names(fields.get("write", []), entity, "/fields/write", _writable(entity))
        mask = self.names(fields.get("mask", []), entity, "/fields/mask", names, star=False)
        hide = self.names(body.get("hide", []), entity, "/hide", names, star=False)
        if write and not actions & {"create", "update"}:
            self.problem(
                "/fields/write",
                "fields are writable only with the create or update action",
                'Add "create" or "update" to actions, or drop fields.write.',
            )
        where = self.expression(body.get("where"), entity, "/where")
        when = self.expression(body.get("when"), entity, "/when")
        if self.failed:
            return None
        return Rule(
            document=self.doc.id,
            role=body["role"],
            entity=entity.id,
            actions=actions,
            where=where,
            read=read - mask,
            write=write,
            mask=mask,
            when=when,
            hide=hide,
        )

    def check_transitions(self, actions: frozenset[str], entity: EntityDef) -> None:
        if any(a.startswith("transition:") for a in actions) and entity.workflow is None:
            self.problem(
                "/actions",
                f"entity {entity.id} has no workflow, so it has no transitions",
                "Drop the transition actions, or attach a workflow (x-workflow) to the entity.",
            )
            return
        if self.transitions is None or entity.id not in self.transitions:
            return
        known = self.transitions[entity.id]
        for index, action in enumerate(self.doc.as_json()["actions"]):
            name = action.removeprefix("transition:")
            if action.startswith("transition:") and name != "*" and name not in known:
                self.problem(
                    f"/actions/{index}",
                    f"the workflow of {entity.id} has no transition {name!r}",
                    f"Use one of: {', '.join(sorted(known)) or 'none'}, or transition:*.",
                )

    def names(
        self,
        raw: Sequence[str],
        entity: EntityDef,
        pointer: str,
        allowed: frozenset[str],
        *,
        star: bool = True,
    ) -> frozenset[str]:
        if star and ALL in raw:
            if len(raw) > 1:
                self.problem(pointer, '"*" already names every field', 'Write ["*"] alone.')
            # "*" never includes x-sensitive fields: a salary or a health note is granted only
            # by a rule that names it, so widening a rule to "*" cannot expose one by accident.
            return allowed - {f.name for f in entity.fields if f.sensitive}
        names: set[str] = set()
        for index, name in enumerate(raw):
            if name in allowed:
                names.add(name)
            elif name in field_names(entity):
                self.problem(
                    f"{pointer}/{index}",
                    f"field {name} of {entity.id} cannot be written",
                    "System, computed and many-to-many fields are set by Rapport, not by writes.",
                )
            else:
                self.problem(
                    f"{pointer}/{index}",
                    f"unknown field {name!r} on {entity.id}",
                    f"Use one of: {', '.join(sorted(allowed))}.",
                )
        return frozenset(names)

    def expression(self, raw: Any, entity: EntityDef, pointer: str) -> Expr | None:
        if raw is None:
            return None
        try:
            return parse_where(raw, entity, self.model)
        except ValidationFailed as invalid:
            for error in invalid.errors:
                at = "".join(f"/{p}" for p in error.path)
                self.problem(
                    f"{pointer}{at}",
                    error.message,
                    "Write the rule in the filter language of `where` (DESIGN.md D5).",
                )
            return None
