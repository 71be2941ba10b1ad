"""Form documents (``*.form.json``) as frozen values, and the compiled forms of a tenant.

:func:`read_form` turns a document body that passed ``schemas/form.schema.json`` into a
:class:`FormDocument` (what the author wrote). The compiler resolves it against the Model into a
:class:`Form` (fields bound to the entity's :class:`FieldDef`, rules parsed), and a tenant's
forms are one frozen :class:`~rapport.forms.formset.FormSet`, ``forms_of(metadata)``
(the form document kind, :mod:`rapport.forms.kind`).

A text (title, label, help…) is a mapping language tag -> text; a plain string in the document
is stored under :data:`ANY_LOCALE` and matches every locale.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from rapport.expr.ast import Expr
from rapport.metadata.ir import EntityDef, FieldDef, JsonValue, freeze_json

__all__ = [
    "ANY_LOCALE",
    "Form",
    "FormDocument",
    "FormField",
    "FormGroup",
    "FormRule",
    "Text",
    "read_form",
]

ANY_LOCALE = "*"

Text = Mapping[str, str]

_EMPTY_TEXT: Text = MappingProxyType({})


def _text(value: Any) -> Text:
    if isinstance(value, str):
        return MappingProxyType({ANY_LOCALE: value})
    if isinstance(value, Mapping):
        return MappingProxyType({k: v for k, v in value.items() if isinstance(v, str)})
    return _EMPTY_TEXT


def _names(value: Any) -> tuple[str, ...]:
    if isinstance(value, list | tuple):
        return tuple(v for v in value if isinstance(v, str))
    return ()


@dataclass(frozen=True, slots=True)
class FormField:
    """One field as the form document presents it."""

    name: str
    label: Text = field(default_factory=lambda: _EMPTY_TEXT)
    help: Text = field(default_factory=lambda: _EMPTY_TEXT)
    placeholder: Text = field(default_factory=lambda: _EMPTY_TEXT)
    widget: str | None = None
    default: JsonValue = None
    has_default: bool = False
    read_only: bool = False
    hidden: bool = False
    max_size: int | None = None
    accept: tuple[str, ...] = ()
    options: JsonValue = None

    @property
    def fixed(self) -> bool:
        """Read-only and hidden fields accept only their default (the person cannot edit them)."""
        return self.read_only or self.hidden


@dataclass(frozen=True, slots=True)
class FormGroup:
    """A section or a step."""

    id: str
    title: Text
    description: Text
    fields: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FormRule:
    when: JsonValue
    show: tuple[str, ...] = ()
    hide: tuple[str, ...] = ()
    require: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FormDocument:
    """A form document as written (after the meta-schema check)."""

    id: str
    entity: str | None
    questions: JsonValue  # the standalone questionnaire's properties, or None
    required: tuple[str, ...]
    title: Text
    description: Text
    default_locale: str
    retired: bool
    fields: tuple[FormField, ...] | None  # None: every writable field, in document order
    sections: tuple[FormGroup, ...]
    steps: tuple[FormGroup, ...]
    rules: tuple[FormRule, ...]


def _field(item: Any) -> FormField:
    if isinstance(item, str):
        return FormField(item)
    accept = item.get("accept")
    return FormField(
        name=str(item["name"]),
        label=_text(item.get("label")),
        help=_text(item.get("help")),
        placeholder=_text(item.get("placeholder")),
        widget=item.get("widget"),
        default=freeze_json(item.get("default")),
        has_default="default" in item,
        read_only=bool(item.get("readOnly", False)),
        hidden=bool(item.get("hidden", False)),
        max_size=item.get("maxSize"),
        accept=_names(accept),
        options=freeze_json(item.get("options")),
    )


def _group(item: Mapping[str, Any]) -> FormGroup:
    return FormGroup(
        id=str(item["id"]),
        title=_text(item.get("title")),
        description=_text(item.get("description")),
        fields=_names(item.get("fields")),
    )


def read_form(form_id: str, body: Mapping[str, Any]) -> FormDocument:
    """The document as values; ``body`` has passed the form meta-schema."""
    fields = body.get("fields")
    return FormDocument(
        id=form_id,
        entity=body.get("entity"),
        questions=freeze_json(body.get("questions")),
        required=_names(body.get("required")),
        title=_text(body.get("title")),
        description=_text(body.get("description")),
        default_locale=str(body.get("defaultLocale", "en")),
        retired=bool(body.get("retired", False)),
        fields=None if fields is None else tuple(_field(f) for f in fields),
        sections=tuple(_group(g) for g in body.get("sections", ())),
        steps=tuple(_group(g) for g in body.get("steps", ())),
        rules=tuple(
            FormRule(
                when=freeze_json(r["when"]),
                show=_names(r.get("show")),
                hide=_names(r.get("hide")),
                require=_names(r.get("require")),
            )
            for r in body.get("rules", ())
        ),
    )


@dataclass(frozen=True, slots=True)
class BoundField:
    """A form field bound to the entity field it writes."""

    spec: FormField
    field: FieldDef

    @property
    def name(self) -> str:
        """The answer key: the field's GraphQL input name (``trainerId`` for ``trainer``)."""
        return self.field.graphql_input_name


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A rule with its condition parsed, and field names turned into answer keys."""

    when: Expr
    show: tuple[str, ...]
    hide: tuple[str, ...]
    require: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Form:
    """A compiled form: what :mod:`rapport.forms.jsonschema` and ``uischema`` render."""

    id: str
    entity: EntityDef  # the target entity; a questionnaire's own (never stored) entity
    standalone: bool
    document: FormDocument
    fields: tuple[BoundField, ...]
    rules: tuple[CompiledRule, ...]
    fingerprint: str  # sha256 of the documents the form is built from
    default_form: bool = False

    @property
    def retired(self) -> bool:
        return self.document.retired

    def bound(self, answer_key: str) -> BoundField:
        for bound in self.fields:
            if bound.name == answer_key:
                return bound
        raise KeyError(f"form {self.id} shows no field {answer_key!r}")

    def key_of(self, name: str) -> str:
        """The answer key of a field written by its entity name (``trainer`` -> ``trainerId``)."""
        for bound in self.fields:
            if name in (bound.field.name, bound.name):
                return bound.name
        raise KeyError(f"form {self.id} shows no field {name!r}")
