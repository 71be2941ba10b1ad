"""``metadataDocuments``: every document of a version, or of the draft, with its kind and owner.

``export`` and ``draft`` answer bare bodies (the shape ``rapport metadata import`` reads), which
loses what a form, permission or workflow document is; an editor needs the kind to send a
document back (``saveDraft`` takes ``{"kind", "body"}`` items) and the owner to know what it may
not edit (kernel and plug-in documents are read-only: a tenant extends them with ``x-extends``).
"""

from __future__ import annotations

from enum import Enum
from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from rapport.metadata import lifecycle
from rapport.metadata.documents import Document

__all__ = ["DocumentsQuery", "MetadataDocument"]

AnyInfo = Info[Any, None]


@strawberry.enum(
    description="What a metadata document describes: one of the kernel's kinds, or OTHER for a "
    "kind a plug-in declares (its name is in `kindName`)."
)
class MetadataDocumentKind(Enum):
    ENTITY = "entity"
    FORM = "form"
    PERMISSION = "permission"
    WORKFLOW = "workflow"
    OTHER = "other"


KERNEL_KINDS = {k.value: k for k in MetadataDocumentKind if k is not MetadataDocumentKind.OTHER}


@strawberry.type(description="One metadata document with its kind and owner.")
class MetadataDocument:
    id: str
    kind: MetadataDocumentKind
    kind_name: str = strawberry.field(
        description='The kind as file names and `saveDraft` items write it ("form", a plug-in\'s '
        '"checklist"…).'
    )
    source: str = strawberry.field(
        description='Who owns it: "tenant" (editable), "kernel", or a plug-in name (read-only).'
    )
    body: JSON

    @classmethod
    def of(cls, document: Document) -> MetadataDocument:
        return cls(
            id=document.id,
            kind=KERNEL_KINDS.get(document.kind.value, MetadataDocumentKind.OTHER),
            kind_name=document.kind.value,
            source=document.source,
            body=JSON(document.as_json()),
        )


async def _metadata_documents(
    info: AnyInfo, version: int | None = None, draft: bool = False
) -> list[MetadataDocument]:
    ctx = info.context
    slug = ctx.tenant_slug()
    db = ctx.services.db
    if draft:
        stored = await lifecycle.get_draft(db, slug)
        if stored is None:
            return []
        # The draft holds the tenant's documents; the kernel's and plug-ins' come from the
        # current version, so the editor sees the whole world the draft will publish into.
        _tenant, published = await lifecycle.load_published(db, slug)
        owned = tuple(d for d in published.documents if d.source != "tenant")
        documents: tuple[Document, ...] = (*owned, *stored)
    elif version is None:
        _tenant, metadata = await lifecycle.load_published(db, slug)
        documents = metadata.documents
    else:
        # An earlier version: the tenant's own documents (what a diff or a rollback concerns).
        documents = await lifecycle.export(db, slug, version)
    # Entities first, then the kernel's kinds, then plug-ins' kinds by name.
    order = {kind: i for i, kind in enumerate(KERNEL_KINDS)}
    return [
        MetadataDocument.of(d)
        for d in sorted(
            documents, key=lambda d: (order.get(d.kind.value, len(order)), d.kind.value, d.id)
        )
    ]


@strawberry.type
class DocumentsQuery:
    metadata_documents: list[MetadataDocument] = strawberry.field(
        resolver=_metadata_documents,
        description="Documents of the current version (an earlier `version`: the tenant's own; or with `draft: true` the "
        "draft's, over the current kernel and plug-in documents), each with kind and owner.",
    )
