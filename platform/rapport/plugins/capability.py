"""The plug-ins capability: what the plug-ins a tenant installed add to its kernel.

Their ``Hooks.graphql()`` contributors (rapport.plugins.graphql) and their record hooks
(rapport.plugins.participant) reach the kernel here, through the same registration as every
built-in capability; which plug-ins apply is read per tenant from its metadata. The hourly
``anonymity.release`` writes the anonymous records plug-ins held back (rapport.plugins.held).
"""

from __future__ import annotations

from types import MappingProxyType

from rapport.capability import Capability, WriteStage
from rapport.jobs.context import CronSpec
from rapport.plugins.graphql import contribute_plugins
from rapport.plugins.held import anonymity_release_cron
from rapport.plugins.participant import PluginHooksParticipant

__all__ = ["PLUGINS"]

PLUGINS = Capability(
    name="plugins",
    graphql=(contribute_plugins,),
    participants=MappingProxyType({WriteStage.HOOKS: PluginHooksParticipant()}),
    cron_jobs=(
        CronSpec(
            "anonymity.release",
            anonymity_release_cron,
            minute=frozenset({41}),
            second=frozenset({0}),
        ),
    ),
)
