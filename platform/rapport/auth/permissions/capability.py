"""The permissions capability: every record write is authorized before anything else runs, and
permission documents compile into each version's rules.

The permission kind checks transition actions against the workflows when it is given their
transitions; the composition root wires that (``permissions_capability(workflow_transitions)``),
so this capability does not import the workflow one.
"""

from __future__ import annotations

from types import MappingProxyType

from rapport.auth.permissions.kind import Transitions, permissions_kind
from rapport.auth.permissions.participant import PermissionParticipant
from rapport.capability import Capability, WriteStage
from rapport.metadata.documents import DocumentKind

__all__ = ["PERMISSIONS", "permissions_capability"]


def permissions_capability(transitions: Transitions | None = None) -> Capability:
    """The capability; ``transitions`` reads the workflows' transition names (then the
    workflow kind compiles before the permission kind)."""
    after = None if transitions is None else DocumentKind.WORKFLOW
    return Capability(
        name="permissions",
        participants=MappingProxyType({WriteStage.AUTHORIZE: PermissionParticipant()}),
        documents=(permissions_kind(transitions, after=after),),
    )


PERMISSIONS = permissions_capability()
