"""All of one tenant's metadata at one version, compiled together.

Entity documents compile into the :class:`~rapport.metadata.ir.Model`; documents of the other
kinds (forms, permissions, workflows) compile into their own frozen artifacts, each checked
against the Model. :func:`compile_tenant` is the one place that runs every compiler, so an admin
sees the problems of all documents of all kinds in one :class:`MetadataInvalid`, at plan time,
and the tenant runtime is built from exactly what was validated.

A kind that has no compiler yet is refused rather than ignored: a document that is stored but
has no effect would be a silent failure.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from rapport.auth.permissions.compiled import Permissions, compile_permissions
from rapport.errors import MetadataInvalid, MetadataProblem
from rapport.forms.compiler import compile_forms
from rapport.forms.formset import FormSet
from rapport.metadata.builder import compile_model
from rapport.metadata.documents import Document, DocumentKind
from rapport.metadata.ir import Model
from rapport.workflow.compiler import compile_workflows, workflow_shapes
from rapport.workflow.document import WorkflowSet

__all__ = ["TenantMetadata", "compile_tenant"]

# Kinds whose compilers exist; the others are reported as unsupported.
SUPPORTED_KINDS = frozenset(
    {DocumentKind.ENTITY, DocumentKind.WORKFLOW, DocumentKind.PERMISSION, DocumentKind.FORM}
)


@dataclass(frozen=True, slots=True)
class TenantMetadata:
    """The compiled metadata of one tenant version; frozen, shared by every request."""

    model: Model
    documents: tuple[Document, ...] = ()
    workflows: WorkflowSet = field(default_factory=WorkflowSet)
    permissions: Permissions = field(default_factory=Permissions)  # caches: one per model
    forms: FormSet = field(default_factory=FormSet)

    @classmethod
    def of(cls, model: Model) -> TenantMetadata:
        """Metadata with entities only (tests, benchmarks, schema tools)."""
        return cls(model=model)

    def documents_of(self, kind: DocumentKind) -> tuple[Document, ...]:
        return tuple(d for d in self.documents if d.kind is kind)


def compile_tenant(documents: Iterable[Document]) -> TenantMetadata:
    """Compile every document; raise one MetadataInvalid listing all problems of all kinds."""
    docs = tuple(documents)
    problems = [
        MetadataProblem(
            d.id,
            "",
            f"{d.kind.value} documents are not supported by this version of Rapport",
            "Remove the document, or upgrade Rapport to a version that supports this kind.",
        )
        for d in docs
        if d.kind not in SUPPORTED_KINDS
    ]
    try:
        model = compile_model(docs)
    except MetadataInvalid as invalid:
        # Without a model only the shape of the other kinds can be checked.
        raise MetadataInvalid([*invalid.problems, *problems, *workflow_shapes(docs)]) from None
    workflows, workflow_problems = compile_workflows(docs, model)
    problems.extend(workflow_problems)
    transitions = {w.entity: frozenset(t.name for t in w.transitions) for w in workflows.workflows}
    permissions, permission_problems = compile_permissions(docs, model, transitions)
    problems.extend(permission_problems)
    forms, form_problems = compile_forms(docs, model)
    problems.extend(form_problems)
    if problems:
        raise MetadataInvalid(problems)
    return TenantMetadata(
        model=model, documents=docs, workflows=workflows, permissions=permissions, forms=forms
    )
