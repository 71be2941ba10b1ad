"""The composition root: every capability of the kernel, listed once, composed once.

The app factory (rapport.app), the worker (rapport.cli.worker) and the tools that write records
take their :class:`~rapport.capability.Kernel` from here; nothing below this module imports a
capability to find its fields, participants, jobs, document kinds or publish participants. The
order is the GraphQL schema's field order (forms, workflows, notifications, WeCom/DingTalk,
audit, then the plug-ins' fields); write participants are ordered by their
:class:`~rapport.capability.WriteStage`, document kinds by what each requires.
"""

from __future__ import annotations

from rapport.audit.capability import AUDIT
from rapport.auth.permissions.capability import PERMISSIONS
from rapport.capability import Kernel, compose
from rapport.forms.capability import FORMS
from rapport.im.capability import IM
from rapport.jobs.capability import JOBS
from rapport.notify.capability import NOTIFICATIONS
from rapport.plugins.capability import PLUGINS
from rapport.plugins.jobs import plugin_jobs
from rapport.plugins.registry import Registry
from rapport.workflow.capability import WORKFLOWS

__all__ = ["KERNEL", "worker_kernel"]

KERNEL: Kernel = compose((PERMISSIONS, JOBS, FORMS, WORKFLOWS, NOTIFICATIONS, IM, AUDIT, PLUGINS))


def worker_kernel(registry: Registry) -> Kernel:
    """The worker's kernel: every capability's, plus the jobs of the installed plug-ins.

    Built when the worker starts rather than at import: loading the plug-ins imports their
    packages, which may take their write participants from :data:`KERNEL`.
    """
    return compose((*KERNEL.capabilities, plugin_jobs(registry)))
