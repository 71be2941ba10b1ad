"""The workflow document kind (``*.workflow.json``), registered by the workflow capability.

:data:`WORKFLOWS_KIND` compiles workflow documents (and reports their meta-schema problems even
when the entities do not compile); :func:`workflows_of` is the typed way to a tenant version's
workflows, and :func:`workflow_transitions` what the permissions kind checks transition names
against (wired by the composition root, so neither capability imports the other).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rapport.errors import MetadataProblem
from rapport.metadata.bundle import TenantMetadata
from rapport.metadata.document_kinds import Compiled, KindCompiler
from rapport.metadata.documents import Document, DocumentKind
from rapport.metadata.ir import Model
from rapport.workflow.compiler import compile_workflows, workflow_shapes
from rapport.workflow.document import WorkflowSet

__all__ = ["WORKFLOWS_KIND", "workflow_transitions", "workflows_of"]


def _compile(
    documents: Sequence[Document], model: Model, compiled: Compiled
) -> tuple[WorkflowSet, Sequence[MetadataProblem]]:
    return compile_workflows(documents, model)


WORKFLOWS_KIND: KindCompiler[WorkflowSet] = KindCompiler(
    kind=DocumentKind.WORKFLOW,
    meta_schema="workflow.schema.json",
    compile=_compile,
    empty=WorkflowSet,
    shapes=workflow_shapes,
)


def workflows_of(metadata: TenantMetadata) -> WorkflowSet:
    """The tenant version's compiled workflows."""
    return metadata.compiled(WORKFLOWS_KIND)


def workflow_transitions(compiled: Compiled) -> Mapping[str, frozenset[str]]:
    """Each workflow-governed entity's transition names, from the compiled workflows."""
    workflows = WORKFLOWS_KIND.artifact(compiled)
    return {w.entity: frozenset(t.name for t in w.transitions) for w in workflows.workflows}
