"""The form document kind (``*.form.json``), registered by the forms capability.

:data:`FORMS_KIND` is what :func:`rapport.metadata.bundle.compile_tenant` runs for form
documents; :func:`forms_of` is the typed way to a tenant version's compiled forms.
"""

from __future__ import annotations

from collections.abc import Sequence

from rapport.errors import MetadataProblem
from rapport.forms.compiler import compile_forms
from rapport.forms.formset import FormSet
from rapport.metadata.bundle import TenantMetadata
from rapport.metadata.document_kinds import Compiled, KindCompiler
from rapport.metadata.documents import Document, DocumentKind
from rapport.metadata.ir import Model

__all__ = ["FORMS_KIND", "forms_of"]


def _compile(
    documents: Sequence[Document], model: Model, compiled: Compiled
) -> tuple[FormSet, Sequence[MetadataProblem]]:
    return compile_forms(documents, model)


FORMS_KIND: KindCompiler[FormSet] = KindCompiler(
    kind=DocumentKind.FORM, meta_schema="form.schema.json", compile=_compile, empty=FormSet
)


def forms_of(metadata: TenantMetadata) -> FormSet:
    """The tenant version's forms (every entity's default form included)."""
    return metadata.compiled(FORMS_KIND)
