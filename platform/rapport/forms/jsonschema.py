"""A compiled form + a locale -> plain JSON Schema 2020-12 of its answers.

The schema is what the server validates a submission against (:mod:`rapport.forms.submit`)
and what a client validates with before sending (ajv, RJSF, jsonschema…): one schema, one
answer. It is built on the entity's record schema
(:func:`~rapport.metadata.record_schema.record_schema`, create mode), so every constraint of the
entity holds, and narrows it to the form:

- ``properties`` are the fields the form shows, in the form's order, keyed by answer key (the
  GraphQL input name: ``trainerId`` for the relation ``trainer``); ``additionalProperties:
  false`` refuses anything else;
- ``title``/``description`` are localized (see :mod:`rapport.forms.locale`); ``x-`` annotations
  are dropped (enum labels go to the uiSchema);
- a form ``default`` replaces the entity's; a read-only or hidden field accepts only its default
  (``const``) and is ``readOnly``; a file widget's ``maxSize`` is the FileRef's
  ``properties.size.maximum``;
- ``required`` is the entity's required fields without a default (for a questionnaire, its
  ``required`` questions);
- rules become ``allOf`` conditionals: a field some rule shows, or any rule hides, is forbidden
  (``properties: {f: false}``) unless it is shown — ``{"if": <shown>, "else": {...}}``; a field
  some rule requires must then be present and not null — ``{"if": <any require rule>, "then":
  {"required": [f], "properties": {f: {"not": {"type": "null"}}}}}``. Conditions are compiled by
  :mod:`rapport.forms.conditions`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rapport.forms.conditions import Schema, condition_schema
from rapport.forms.document import BoundField, Form
from rapport.forms.locale import fallback_chain, localize
from rapport.metadata.ir import thaw_json
from rapport.metadata.record_schema import JSON_SCHEMA_DIALECT, record_schema

__all__ = ["form_json_schema", "shown_condition"]


def form_json_schema(form: Form, locale: str | None = None) -> dict[str, Any]:
    """The JSON Schema of ``form``'s answers, with texts in ``locale`` (fresh dict each call)."""
    chain = fallback_chain(locale, form.document.default_locale)
    base = record_schema(form.entity, mode="create")
    base_properties: Mapping[str, Any] = base["properties"]
    properties = {
        bound.name: _property(bound, base_properties[bound.name], chain) for bound in form.fields
    }
    schema: dict[str, Any] = {"$schema": JSON_SCHEMA_DIALECT}
    title = localize(form.document.title, chain)
    if title:
        schema["title"] = title
    description = localize(form.document.description, chain)
    if description:
        schema["description"] = description
    schema["type"] = "object"
    schema["properties"] = properties
    required = [n for n in base.get("required", ()) if n in properties]
    if required:
        schema["required"] = required
    conditionals = _conditionals(form)
    if conditionals:
        schema["allOf"] = conditionals
    schema["additionalProperties"] = False
    return schema


def _property(bound: BoundField, base: Mapping[str, Any], chain: tuple[str, ...]) -> Any:
    spec, field = bound.spec, bound.field
    prop = {k: v for k, v in base.items() if not k.startswith("x-")}
    label = localize(spec.label, chain) or localize(field.label, chain)
    if label:
        prop["title"] = label
    if spec.has_default:
        prop["default"] = thaw_json(spec.default)
    if spec.fixed:
        prop["const"] = prop.get("default", thaw_json(field.default))
        prop["readOnly"] = True
    if spec.max_size is not None and isinstance(prop.get("properties"), dict):
        size = dict(prop["properties"]["size"])
        size["maximum"] = spec.max_size
        prop["properties"] = {**prop["properties"], "size": size}
    return prop


def _any(conditions: list[Schema]) -> Schema:
    return conditions[0] if len(conditions) == 1 else {"anyOf": conditions}


def shown_condition(form: Form, key: str) -> Schema | None:
    """The condition under which the rules show field ``key``; None when no rule touches it
    (the field is always shown). A field some rule shows is shown while one of those rules
    holds; a field some rule hides is shown while none of those holds."""
    shows = [condition_schema(r.when) for r in form.rules if key in r.show]
    hides = [condition_schema(r.when) for r in form.rules if key in r.hide]
    if not shows and not hides:
        return None
    parts: list[Schema] = []
    if shows:
        parts.append(_any(shows))
    if hides:
        parts.append({"not": _any(hides)})
    return parts[0] if len(parts) == 1 else {"allOf": parts}


def _conditionals(form: Form) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for bound in form.fields:
        key = bound.name
        shown = shown_condition(form, key)
        if shown is not None:
            out.append({"if": shown, "else": {"properties": {key: False}}})
        requires = [condition_schema(r.when) for r in form.rules if key in r.require]
        if requires:
            out.append(
                {
                    "if": _any(requires),
                    "then": {"required": [key], "properties": {key: {"not": {"type": "null"}}}},
                }
            )
    return out
