"""A partner's document kind, as a plug-in package would declare it: checklists, each a list of
item names. Used by tests/metadata/test_document_kinds.py through entry points."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

from rapport.errors import MetadataProblem
from rapport.metadata.bundle import TenantMetadata
from rapport.metadata.document_kinds import Compiled, KindCompiler
from rapport.metadata.documents import Document, DocumentKind
from rapport.metadata.ir import Model

Checklists = Mapping[str, tuple[str, ...]]
CHECKLIST = DocumentKind("checklist")


def _compile(
    documents: Sequence[Document], model: Model, compiled: Compiled
) -> tuple[Checklists, Sequence[MetadataProblem]]:
    found: dict[str, tuple[str, ...]] = {}
    problems: list[MetadataProblem] = []
    for doc in documents:
        if doc.kind != CHECKLIST:
            continue
        items = doc.as_json().get("items")
        if not isinstance(items, list) or not items or not all(isinstance(i, str) for i in items):
            problems.append(
                MetadataProblem(doc.id, "/items", "a checklist needs items", "List item names.")
            )
            continue
        found[doc.id] = tuple(items)
    return MappingProxyType(found), problems


def _empty() -> Checklists:
    return MappingProxyType({})


CHECKLIST_KIND: KindCompiler[Checklists] = KindCompiler(
    kind=CHECKLIST, meta_schema="checklist.schema.json", compile=_compile, empty=_empty
)
NOT_A_KIND = "checklist"


def checklists_of(metadata: TenantMetadata) -> Checklists:
    return metadata.compiled(CHECKLIST_KIND)
