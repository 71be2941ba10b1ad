"""The notifications capability: the inbox and webhook subscriptions in GraphQL, the outbox
events of every written change, and the jobs that deliver them (webhooks, e-mail)."""

from __future__ import annotations

from types import MappingProxyType

from rapport.capability import Capability, WriteStage
from rapport.notify.email import send as send_email
from rapport.notify.events import OutboxParticipant
from rapport.notify.graphql import contribute_notifications
from rapport.notify.webhooks import deliver, fan_out

__all__ = ["NOTIFICATIONS"]

NOTIFICATIONS = Capability(
    name="notifications",
    graphql=(contribute_notifications,),
    participants=MappingProxyType({WriteStage.EFFECTS: OutboxParticipant()}),
    handlers=MappingProxyType(
        {
            # Record changes (rapport.notify.events) and workflow transitions fan out to webhooks.
            "entity.create": fan_out,
            "entity.update": fan_out,
            "entity.delete": fan_out,
            "workflow.transition": fan_out,
            "notification.created": fan_out,
            "webhook.deliver": deliver,
            "notify.email": send_email,
        }
    ),
)
