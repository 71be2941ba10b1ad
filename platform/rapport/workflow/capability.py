"""The workflow capability: transitions and approvals in GraphQL, the state rules of every
write, the SLA timers (reminders, breaches, date timers) as a cron job. The workflow document kind
and the state moves a publish makes are declared as entry points (pyproject.toml)."""

from __future__ import annotations

from types import MappingProxyType

from rapport.capability import Capability, WriteStage
from rapport.jobs.context import CronSpec
from rapport.workflow.graphql import contribute
from rapport.workflow.participant import WorkflowParticipant
from rapport.workflow.sla import sla_cron

__all__ = ["WORKFLOWS"]

WORKFLOWS = Capability(
    name="workflows",
    graphql=(contribute,),
    participants=MappingProxyType({WriteStage.ADJUST: WorkflowParticipant()}),
    # Every minute, once across all workers.
    cron_jobs=(CronSpec("workflow.sla", sla_cron),),
)
