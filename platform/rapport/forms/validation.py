"""Validating answers against a form's compiled JSON Schema, with jsonschema-rs.

The schema is :func:`rapport.forms.jsonschema.form_json_schema` — the very schema clients get —
so the server refuses exactly what a client-side validator refuses. Errors are the record
validator's (:meth:`RecordValidator.translate`, same words and codes), plus the form's own:

- ``NOT_IN_FORM`` — a field of the entity the form does not show (refused, not stored);
- ``UNKNOWN_FIELD`` — a name that is no field at all;
- ``HIDDEN_FIELD`` — a field a rule hides for these answers;
- ``REQUIRED`` — also a field a rule requires for these answers, given as null;
- ``READ_ONLY`` — a read-only or hidden field given another value than its default.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jsonschema_rs

from rapport.errors import FieldError, PathSegment
from rapport.forms.document import Form
from rapport.forms.jsonschema import form_json_schema
from rapport.metadata.validation import RecordValidator

__all__ = ["FormValidator"]

_Kind = jsonschema_rs.ValidationErrorKind


class FormValidator:
    """Validates answers of one form; build once per tenant version, call from any task."""

    __slots__ = ("_compiled", "_entity_fields", "_fixed", "_order", "_record", "form", "schema")

    def __init__(self, form: Form) -> None:
        self.form = form
        self.schema: Mapping[str, Any] = form_json_schema(form)
        self._compiled = jsonschema_rs.validator_for(dict(self.schema), validate_formats=True)
        self._record = RecordValidator(form.entity, "create")
        self._order = {b.name: i for i, b in enumerate(form.fields)}
        self._fixed = frozenset(b.name for b in form.fields if b.spec.fixed)
        self._entity_fields = frozenset(
            name for f in form.entity.fields for name in (f.name, f.graphql_input_name)
        )

    def validate(
        self, answers: Any, *, path_prefix: tuple[PathSegment, ...] = ()
    ) -> list[FieldError]:
        """Every problem of ``answers`` (JSON values); empty when the form accepts them."""
        if not isinstance(answers, Mapping):
            return [FieldError(path_prefix, "must be an object of answers", "TYPE")]
        errors: list[FieldError] = []
        for error in self._compiled.iter_errors(dict(answers)):
            errors.extend(self._translate(error, path_prefix))
        return self._tidy(errors, len(path_prefix))

    def _translate(
        self, error: jsonschema_rs.ValidationError, prefix: tuple[PathSegment, ...]
    ) -> list[FieldError]:
        path = (*prefix, *error.instance_path)
        kind = error.kind
        at_root = not error.instance_path
        if isinstance(kind, _Kind.AdditionalProperties) and at_root:
            return [
                FieldError(
                    (*path, name),
                    f"is not part of the form {self.form.id}",
                    "NOT_IN_FORM" if name in self._entity_fields else "UNKNOWN_FIELD",
                )
                for name in kind.unexpected
            ]
        if isinstance(kind, _Kind.FalseSchema) and len(error.instance_path) == 1:
            return [
                FieldError(
                    path, "is hidden by the form for these answers: leave it out", "HIDDEN_FIELD"
                )
            ]
        if isinstance(kind, _Kind.Not) and error.instance is None:
            return [
                FieldError(path, "is required for these answers and cannot be null", "REQUIRED")
            ]
        fixed = len(error.instance_path) == 1 and str(error.instance_path[0]) in self._fixed
        if isinstance(kind, _Kind.Constant) and fixed:
            return [
                FieldError(
                    path, f"is set by the form: it must be {kind.expected_value}", "READ_ONLY"
                )
            ]
        return self._record.translate(error, prefix)

    def _tidy(self, errors: list[FieldError], depth: int) -> list[FieldError]:
        typed = {e.path for e in errors if e.code in ("TYPE", "REQUIRED")}
        kept: dict[tuple[tuple[PathSegment, ...], str], FieldError] = {}
        for e in errors:
            if e.path in typed and e.code not in ("TYPE", "REQUIRED"):
                continue
            kept.setdefault((e.path, e.code), e)

        def position(e: FieldError) -> tuple[int, str]:
            head = str(e.path[depth]) if len(e.path) > depth else ""
            return (self._order.get(head, len(self._order)), head)

        return sorted(kept.values(), key=position)
