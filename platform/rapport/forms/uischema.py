"""A compiled form + a locale -> a uiSchema in the react-jsonschema-form convention.

Root: ``ui:order`` (the form's field order), ``ui:title``/``ui:description``, and two
extensions plain RJSF ignores (it reads only the ``ui:`` keys it knows):

- ``ui:groups`` — the sections, ``[{"id", "title", "description", "fields": [answer keys]}]``;
- ``ui:steps`` — the pages of a multi-page form, same shape, in order. A step-aware frontend
  renders one page at a time and validates the whole schema before the last page is sent.
- ``ui:visibleIf`` — for each field the rules show or hide, the JSON Schema condition (over
  the whole answer object) under which it is shown: the very ``if`` of the JSON Schema's
  ``allOf``. A frontend validates the current answers against it with the validator it already
  has and hides the widget (and drops its value) when it fails; plain RJSF renders every field
  and reports a hidden one that was filled in as an error.

Per field (keyed by answer key): ``ui:widget`` (see :mod:`rapport.forms.widgets`; ``hidden``
for hidden fields), ``ui:title``, ``ui:help``, ``ui:placeholder``, ``ui:readonly``,
``ui:enumNames`` (localized enum labels, in enum order), and ``ui:options`` (the document's
``options``, plus ``maxSize``/``accept`` for files, ``inputType: "tel"`` for phones and
``max`` for ratings with a maximum).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rapport.forms.document import ANY_LOCALE, BoundField, Form, FormGroup
from rapport.forms.jsonschema import shown_condition
from rapport.forms.locale import fallback_chain, localize
from rapport.forms.widgets import RJSF_NAMES, default_widget
from rapport.metadata.ir import FieldKind, thaw_json

__all__ = ["form_ui_schema"]


def form_ui_schema(form: Form, locale: str | None = None) -> dict[str, Any]:
    chain = fallback_chain(locale, form.document.default_locale)
    ui: dict[str, Any] = {"ui:order": [b.name for b in form.fields]}
    title = localize(form.document.title, chain)
    if title:
        ui["ui:title"] = title
    description = localize(form.document.description, chain)
    if description:
        ui["ui:description"] = description
    if form.document.sections:
        ui["ui:groups"] = [_group(form, g, chain) for g in form.document.sections]
    if form.document.steps:
        ui["ui:steps"] = [_group(form, g, chain) for g in form.document.steps]
    visible = {
        b.name: condition
        for b in form.fields
        if (condition := shown_condition(form, b.name)) is not None
    }
    if visible:
        ui["ui:visibleIf"] = visible
    for bound in form.fields:
        ui[bound.name] = _field(bound, chain)
    return ui


def _group(form: Form, group: FormGroup, chain: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {"id": group.id}
    title = localize(group.title, chain)
    if title:
        out["title"] = title
    description = localize(group.description, chain)
    if description:
        out["description"] = description
    out["fields"] = [form.key_of(n) for n in group.fields]
    return out


def _field(bound: BoundField, chain: tuple[str, ...]) -> dict[str, Any]:
    spec, field = bound.spec, bound.field
    widget = "hidden" if spec.hidden else spec.widget or default_widget(field.kind)
    ui: dict[str, Any] = {"ui:widget": RJSF_NAMES.get(widget, widget)}
    label = localize(spec.label, chain) or localize(field.label, chain)
    if label:
        ui["ui:title"] = label
    for key, text in (("ui:help", spec.help), ("ui:placeholder", spec.placeholder)):
        value = localize(text, chain)
        if value:
            ui[key] = value
    if spec.read_only:
        ui["ui:readonly"] = True
    if field.enum_labels and field.kind in (FieldKind.ENUM, FieldKind.MULTI_ENUM):
        ui["ui:enumNames"] = [_enum_label(field.enum_labels, v, chain) for v in field.enum_values]
    options = _options(bound, widget)
    if options:
        ui["ui:options"] = options
    return ui


def _enum_label(labels: Mapping[str, Mapping[str, str]], value: str, chain: tuple[str, ...]) -> str:
    per_locale = labels.get(value)
    if not per_locale:
        return value
    return localize(per_locale, chain) or per_locale.get(ANY_LOCALE, value)


def _options(bound: BoundField, widget: str) -> dict[str, Any]:
    spec, field = bound.spec, bound.field
    options: dict[str, Any] = {}
    written = thaw_json(spec.options)
    if isinstance(written, dict):
        options.update(written)
    if spec.max_size is not None:
        options["maxSize"] = spec.max_size
    if spec.accept:
        options["accept"] = list(spec.accept)
    if widget == "phone":
        options.setdefault("inputType", "tel")
    if widget == "rating" and isinstance(field.schema, Mapping) and "maximum" in field.schema:
        options.setdefault("max", field.schema["maximum"])
    return options
