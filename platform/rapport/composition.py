"""The composition root: every capability of the kernel, listed once, composed once.

The app factory (rapport.app), the worker (rapport.cli.worker) and the tools that write records
take their :class:`~rapport.capability.Kernel` from here; nothing below this module imports a
capability to find its fields, participants or jobs. The order is the GraphQL schema's field
order (forms, workflows, notifications, audit, then the plug-ins' fields); write participants
are ordered by their :class:`~rapport.capability.WriteStage`.
"""

from __future__ import annotations

from rapport.audit.capability import AUDIT
from rapport.auth.permissions.capability import PERMISSIONS
from rapport.capability import Kernel, compose
from rapport.forms.capability import FORMS
from rapport.jobs.capability import JOBS
from rapport.notify.capability import NOTIFICATIONS
from rapport.plugins.capability import PLUGINS
from rapport.workflow.capability import WORKFLOWS

__all__ = ["KERNEL"]

KERNEL: Kernel = compose((PERMISSIONS, JOBS, FORMS, WORKFLOWS, NOTIFICATIONS, AUDIT, PLUGINS))
