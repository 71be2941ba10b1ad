"""The audit capability: the audit queries, the audit entry of every write (that of every metadata
publish is a declared publish participant, rapport.audit.publishing), and the release of anonymous writes' held entries once their day is over
(rapport.audit.held)."""

from __future__ import annotations

from types import MappingProxyType

from rapport.audit.graphql import contribute_audit
from rapport.audit.held import audit_release_cron
from rapport.audit.participant import AuditParticipant
from rapport.capability import Capability, WriteStage
from rapport.jobs.context import CronSpec

__all__ = ["AUDIT"]

AUDIT = Capability(
    name="audit",
    graphql=(contribute_audit,),
    participants=MappingProxyType({WriteStage.EVIDENCE: AuditParticipant()}),
    cron_jobs=(
        CronSpec(
            "audit.release", audit_release_cron, minute=frozenset({23}), second=frozenset({0})
        ),
    ),
)
