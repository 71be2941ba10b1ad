"""The permission document kind (``*.permission.json``), registered by the permissions
capability.

A permission rule may name workflow transitions as actions; they are checked against the
tenant's workflows when the kind is given a ``transitions`` source (the composition root hands
it :func:`rapport.workflow.kind.workflow_transitions`), and then the kind requires the workflow
kind to be compiled first. :func:`permissions_of` is the typed way to a version's permissions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from rapport.auth.permissions.compiled import Permissions, compile_permissions
from rapport.errors import MetadataProblem
from rapport.metadata.bundle import TenantMetadata
from rapport.metadata.document_kinds import Compiled, KindCompiler
from rapport.metadata.documents import Document, DocumentKind
from rapport.metadata.ir import Model

__all__ = ["PERMISSIONS_KIND", "Transitions", "permissions_kind", "permissions_of"]

# Each workflow-governed entity's transition names, read from the kinds compiled before.
Transitions = Callable[[Compiled], Mapping[str, frozenset[str]]]


def permissions_kind(
    transitions: Transitions | None = None, *, after: DocumentKind | None = None
) -> KindCompiler[Permissions]:
    """The permission kind; ``transitions`` (from the kind ``after``) checks transition actions.

    Without ``transitions`` a transition action is accepted for any entity with a workflow
    field, unchecked (what metadata built outside a kernel gets).
    """

    def compile_(
        documents: Sequence[Document], model: Model, compiled: Compiled
    ) -> tuple[Permissions, Sequence[MetadataProblem]]:
        known = None if transitions is None else transitions(compiled)
        return compile_permissions(documents, model, known)

    return KindCompiler(
        kind=DocumentKind.PERMISSION,
        meta_schema="permission.schema.json",
        compile=compile_,
        empty=Permissions,
        requires=() if after is None else (after,),
    )


PERMISSIONS_KIND = permissions_kind()


def permissions_of(metadata: TenantMetadata) -> Permissions:
    """The tenant version's compiled permissions (their caches are per version)."""
    return metadata.compiled(PERMISSIONS_KIND)
