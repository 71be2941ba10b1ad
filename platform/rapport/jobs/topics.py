"""The job topics the outbox accepts: the vocabulary shared by enqueuers and handlers.

:func:`rapport.jobs.outbox.enqueue` refuses any other topic inside the business transaction
(an unknown topic is a mistake in metadata or code, not something a worker discovers later).
Each topic's handler is registered by its capability (rapport.capability); the kernel does not
compose unless the handled topics are exactly these.
"""

from __future__ import annotations

__all__ = ["TOPICS"]

TOPICS = frozenset(
    {
        # Record changes (rapport.notify.events) and workflow transitions fan out to webhooks.
        "entity.create",
        "entity.update",
        "entity.delete",
        "workflow.transition",
        "notification.created",
        "webhook.deliver",
        "notify.email",
    }
)
