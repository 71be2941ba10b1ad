"""The static registry of job handlers and cron jobs: topic -> typed handler.

A topic is looked up here when it is enqueued (an unknown topic is refused in the business
transaction, not discovered by a worker) and when the worker starts. There is no dispatch by
dotted path: a capability adds its handler to :data:`HANDLERS` or :data:`CRON_JOBS` below.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from rapport.audit.held import audit_release_cron
from rapport.im.directory import SYNC_TOPIC, run_sync_job
from rapport.jobs.context import CronSpec, Handler
from rapport.jobs.maintenance import prune_outbox
from rapport.notify.app_delivery import APP_TOPIC
from rapport.notify.app_delivery import deliver as deliver_app_message
from rapport.notify.email import send as send_email
from rapport.notify.webhooks import deliver, fan_out
from rapport.workflow.sla import sla_cron

__all__ = ["CRON_JOBS", "HANDLERS"]

HANDLERS: Mapping[str, Handler] = MappingProxyType(
    {
        # Record changes (rapport.notify.events) and workflow transitions fan out to webhooks.
        "entity.create": fan_out,
        "entity.update": fan_out,
        "entity.delete": fan_out,
        "workflow.transition": fan_out,
        "notification.created": fan_out,
        "webhook.deliver": deliver,
        "notify.email": send_email,
        APP_TOPIC: deliver_app_message,  # WeCom and DingTalk app messages
        SYNC_TOPIC: run_sync_job,  # WeCom/DingTalk directory sync an admin asked for
    }
)

CRON_JOBS: tuple[CronSpec, ...] = (
    CronSpec("outbox.prune", prune_outbox, minute=frozenset({17}), second=frozenset({0})),
    # SLA reminders, breaches and date timers: every minute, once across all workers.
    CronSpec("workflow.sla", sla_cron),
    # Anonymous writes' audit entries join the log once their day is over (rapport.audit.held).
    CronSpec("audit.release", audit_release_cron, minute=frozenset({23}), second=frozenset({0})),
)
