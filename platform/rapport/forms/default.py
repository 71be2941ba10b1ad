"""The default form of an entity: every writable field, in document order, no rules.

Its form id is the entity id (``form(id: "training/course")``), its title and labels are the
entity's ``x-label``/``title`` and each field's ``x-label``; widgets follow the field kinds. A
form document with the entity's id replaces it. ``core/form_submission`` has none: submissions
are made by submitting a form.
"""

from __future__ import annotations

from types import MappingProxyType

from rapport.forms.document import (
    ANY_LOCALE,
    BoundField,
    Form,
    FormDocument,
    FormField,
    Text,
)
from rapport.metadata.ir import EntityDef

__all__ = ["SUBMISSION_ENTITY", "default_fields", "default_form"]

SUBMISSION_ENTITY = "core/form_submission"


def default_fields(entity: EntityDef) -> tuple[FormField, ...]:
    return tuple(FormField(f.name) for f in entity.fields if f.is_writable)


def _entity_title(entity: EntityDef) -> Text:
    if entity.label:
        return entity.label
    return MappingProxyType({ANY_LOCALE: entity.title or entity.type_name})


def default_form(entity: EntityDef, fingerprint: str) -> Form:
    description = (
        MappingProxyType({ANY_LOCALE: entity.description})
        if entity.description
        else MappingProxyType({})
    )
    spec = FormDocument(
        id=entity.id,
        entity=entity.id,
        questions=None,
        required=(),
        title=_entity_title(entity),
        description=description,
        default_locale="en",
        retired=False,
        fields=None,
        sections=(),
        steps=(),
        rules=(),
    )
    fields = tuple(BoundField(item, entity.field(item.name)) for item in default_fields(entity))
    return Form(
        id=entity.id,
        entity=entity,
        standalone=False,
        document=spec,
        fields=fields,
        rules=(),
        fingerprint=fingerprint,
        default_form=True,
    )
