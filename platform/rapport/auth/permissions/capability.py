"""The permissions capability: every record write is authorized before anything else runs; and
the permission document kind as the kernel declares it.

A permission rule may name workflow transitions as actions. The declared kind
(:data:`CHECKED_PERMISSIONS_KIND`, entry point ``permission`` of ``rapport.document_kinds``)
checks them against the tenant's compiled workflows, so it compiles after the workflow kind.
"""

from __future__ import annotations

from types import MappingProxyType

from rapport.auth.permissions.kind import permissions_kind
from rapport.auth.permissions.participant import PermissionParticipant
from rapport.capability import Capability, WriteStage
from rapport.metadata.documents import DocumentKind
from rapport.workflow.kind import workflow_transitions

__all__ = ["CHECKED_PERMISSIONS_KIND", "PERMISSIONS"]

PERMISSIONS = Capability(
    name="permissions",
    participants=MappingProxyType({WriteStage.AUTHORIZE: PermissionParticipant()}),
)

CHECKED_PERMISSIONS_KIND = permissions_kind(workflow_transitions, after=DocumentKind.WORKFLOW)
