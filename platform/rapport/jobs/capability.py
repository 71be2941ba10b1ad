"""The jobs capability's own upkeep: processed outbox rows are pruned once an hour."""

from __future__ import annotations

from rapport.capability import Capability
from rapport.jobs.context import CronSpec
from rapport.jobs.maintenance import prune_outbox

__all__ = ["JOBS"]

JOBS = Capability(
    name="jobs",
    cron_jobs=(
        CronSpec("outbox.prune", prune_outbox, minute=frozenset({17}), second=frozenset({0})),
    ),
)
