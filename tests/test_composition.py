"""The kernel this process runs: every capability once, in the order the product relies on."""

from __future__ import annotations

from rapport.audit.participant import AuditParticipant
from rapport.auth.permissions.participant import PermissionParticipant
from rapport.composition import KERNEL
from rapport.jobs.topics import TOPICS
from rapport.notify.events import OutboxParticipant
from rapport.plugins.participant import PluginHooksParticipant
from rapport.workflow.participant import WorkflowParticipant


def test_writes_are_authorized_first_and_leave_through_the_outbox_last() -> None:
    # when
    kinds = [type(p) for p in KERNEL.participants]

    # then
    assert kinds == [
        PermissionParticipant,
        WorkflowParticipant,
        PluginHooksParticipant,
        AuditParticipant,
        OutboxParticipant,
    ]


def test_every_outbox_topic_has_its_handler_and_the_cron_jobs_are_the_products() -> None:
    # then
    assert set(KERNEL.handlers) == TOPICS
    assert [c.name for c in KERNEL.cron_jobs] == [
        "outbox.prune",
        "workflow.sla",
        "audit.release",
        "anonymity.release",
    ]


def test_the_schema_lists_the_capabilities_fields_in_a_fixed_order() -> None:
    # then: forms, workflows, notifications, WeCom/DingTalk, audit, and the plug-ins' fields last
    assert [c.__module__ for c in KERNEL.contributors] == [
        "rapport.forms.graphql",
        "rapport.workflow.graphql",
        "rapport.notify.graphql",
        "rapport.im.graphql",
        "rapport.audit.graphql",
        "rapport.plugins.graphql",
    ]
