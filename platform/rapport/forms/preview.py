"""The compiled output of a form, for people: ``rapport form preview`` and ``formPreview``.

A published form is previewed from the tenant's compiled metadata; a form document being
written is previewed by compiling the tenant's published documents with it (replacing a form of
the same id), so every problem ``publish`` would report shows up now.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rapport.errors import BadRequest, NotFound
from rapport.forms.dialect import FormDialect, render
from rapport.forms.jsonschema import form_json_schema
from rapport.forms.kind import forms_of
from rapport.forms.locale import best_locale, fallback_chain, form_locales
from rapport.forms.uischema import form_ui_schema
from rapport.metadata.bundle import TenantMetadata, compile_tenant
from rapport.metadata.documents import DocumentKind, documents_from_json

__all__ = ["preview", "preview_document"]


def preview(
    metadata: TenantMetadata,
    form_id: str,
    locale: str | None,
    dialect: FormDialect = FormDialect.DRAFT_2020_12,
) -> dict[str, Any]:
    """``{"id", "locale", "retired", "jsonSchema", "uiSchema"}`` of a compiled form."""
    form = forms_of(metadata).get(form_id)
    if form is None:
        raise NotFound(
            f"There is no form {form_id}.",
            hint="Forms are form documents (*.form.json) and every entity's default form "
            "(its entity id).",
        )
    chain = fallback_chain(locale, form.document.default_locale)
    return {
        "id": form.id,
        "locale": best_locale(form_locales(form), chain),
        "retired": form.retired,
        "jsonSchema": render(form_json_schema(form, locale), dialect),
        "uiSchema": form_ui_schema(form, locale),
    }


def preview_document(
    published: TenantMetadata,
    body: Any,
    locale: str | None,
    dialect: FormDialect = FormDialect.DRAFT_2020_12,
) -> dict[str, Any]:
    """Preview a form document against the published metadata; MetadataInvalid lists every
    problem it would cause."""
    if not isinstance(body, Mapping):
        raise BadRequest("A form document is a JSON object.", hint='Pass {"$id": …, …}.')
    (document,) = documents_from_json([{"kind": DocumentKind.FORM.value, "body": body}])
    others = tuple(
        d for d in published.documents if not (d.kind == DocumentKind.FORM and d.id == document.id)
    )
    metadata = compile_tenant((*others, document))
    return preview(metadata, document.id, locale, dialect)
