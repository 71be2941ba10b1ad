"""The job topics the outbox accepts: the vocabulary shared by enqueuers and handlers.

:func:`rapport.jobs.outbox.enqueue` refuses any other topic inside the business transaction
(an unknown topic is a mistake in metadata or code, not something a worker discovers later).
Each topic's handler is registered by its capability (rapport.capability); the kernel does not
compose unless the handled topics are exactly these. A plug-in's jobs (``PluginSpec.jobs``) have
topics of their own, ``plugin:<plug-in>.<job>``: they are the plug-in's vocabulary, checked
against its spec where it enqueues them (:func:`rapport.plugins.jobs.enqueue_job`).
"""

from __future__ import annotations

__all__ = ["PLUGIN_PREFIX", "TOPICS", "is_plugin_topic", "plugin_topic"]

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
        "notify.app",  # WeCom and DingTalk app messages (rapport.notify.app_delivery)
        "im.sync",  # the WeCom/DingTalk directory sync an admin asked for (rapport.im.directory)
    }
)

PLUGIN_PREFIX = "plugin:"


def plugin_topic(plugin: str, job: str) -> str:
    """The outbox topic of a plug-in's job."""
    return f"{PLUGIN_PREFIX}{plugin}.{job}"


def is_plugin_topic(topic: str) -> bool:
    return topic.startswith(PLUGIN_PREFIX)
