"""The write participants every record write goes through, in this order.

Permission checks come first (refuse early), then rules that adjust the input (workflows),
then the evidence and side effects of a written change (audit log, outbox events), last.
Each capability adds its participant here; the tuple is static and frozen.
"""

from __future__ import annotations

from rapport.audit.participant import AuditParticipant
from rapport.auth.permissions.participant import PermissionParticipant
from rapport.notify.events import OutboxParticipant
from rapport.plugins.participant import PluginHooksParticipant
from rapport.records.change import WriteParticipant
from rapport.workflow.participant import WorkflowParticipant

__all__ = ["PARTICIPANTS"]

# Plug-in hooks run after the workflow has adjusted the input and before evidence is written.
# The audit entry comes after every participant that may still adjust or refuse the change.
PARTICIPANTS: tuple[WriteParticipant, ...] = (
    PermissionParticipant(),
    WorkflowParticipant(),
    PluginHooksParticipant(),
    AuditParticipant(),
    OutboxParticipant(),  # last: only a change every other participant accepted leaves
)
