"""The permissions capability: every record write is authorized before anything else runs."""

from __future__ import annotations

from types import MappingProxyType

from rapport.auth.permissions.participant import PermissionParticipant
from rapport.capability import Capability, WriteStage

__all__ = ["PERMISSIONS"]

PERMISSIONS = Capability(
    name="permissions",
    participants=MappingProxyType({WriteStage.AUTHORIZE: PermissionParticipant()}),
)
