"""What a capability adds to the kernel, and the frozen :class:`Kernel` they compose into.

Forms, workflows, notifications, the audit log, permissions, background jobs and the installed
plug-ins are each one :class:`Capability`: the GraphQL root fields it contributes, the write
participants every record write runs through, its job handlers and cron jobs, the catalog
columns of sealed values it owns (re-sealed by ``rapport keys rotate --reencrypt``). The
composition root (:mod:`rapport.composition`, used by the app factory and the worker) lists
them in one place and :func:`compose` checks and freezes them into a :class:`Kernel`; the layers
below take the kernel's parts as arguments and import no capability.

A partner plug-in reaches the kernel through the same types: its ``Hooks.graphql()`` returns
:data:`~rapport.graphql.contributions.Contributor` values like a capability's ``graphql``, and
the ``plugins`` capability (:mod:`rapport.plugins.capability`) carries the contributors and
record hooks of every plug-in a tenant installed. A capability is a built-in plug-in whose
registration is checked when the process starts instead of per tenant.

What a capability or a plug-in adds to the metadata layer — document kinds
(:class:`~rapport.metadata.document_kinds.KindCompiler`) and publish participants
(:class:`~rapport.metadata.publishing.PublishParticipant`) — is declared as entry points by the
distribution that provides it (:mod:`rapport.metadata.entry_points`), the kernel's in Rapport's
``pyproject.toml`` and a partner's in its own, since metadata is compiled below this layer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from types import MappingProxyType

from rapport.crypto.rotation import SealedColumn
from rapport.graphql.contributions import Contributor
from rapport.jobs.context import CronSpec, Handler
from rapport.jobs.topics import TOPICS, is_plugin_topic
from rapport.records.change import WriteParticipant

__all__ = ["Capability", "Kernel", "WriteStage", "compose"]


class WriteStage(IntEnum):
    """Where a write participant runs; participants of one stage run in capability order."""

    AUTHORIZE = 10  # refuse early: permission checks see the input as the caller sent it
    ADJUST = 20  # rules that change the input (workflow states)
    HOOKS = 30  # plug-in record hooks, on the adjusted input
    EVIDENCE = 40  # the audit entry, after every participant that may still adjust or refuse
    EFFECTS = 50  # outbox events: only a change every other participant accepted leaves


def _no_participants() -> Mapping[WriteStage, WriteParticipant]:
    return MappingProxyType({})


def _no_handlers() -> Mapping[str, Handler]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Capability:
    """One capability's registration; every part is optional."""

    name: str
    graphql: tuple[Contributor, ...] = ()
    participants: Mapping[WriteStage, WriteParticipant] = field(default_factory=_no_participants)
    handlers: Mapping[str, Handler] = field(default_factory=_no_handlers)  # topic -> handler
    cron_jobs: tuple[CronSpec, ...] = ()
    sealed: tuple[SealedColumn, ...] = ()  # catalog columns `rapport keys rotate` re-seals


@dataclass(frozen=True, slots=True)
class Kernel:
    """The capabilities of this process, composed: what the lower layers are given."""

    capabilities: tuple[Capability, ...]
    contributors: tuple[Contributor, ...]  # in capability order: the schema's field order
    participants: tuple[WriteParticipant, ...]  # by stage, then capability order
    handlers: Mapping[str, Handler]
    cron_jobs: tuple[CronSpec, ...]
    sealed: tuple[SealedColumn, ...]


def compose(capabilities: Iterable[Capability]) -> Kernel:
    """Check the capabilities fit together and freeze them; a misfit is a programming error.

    Raises RuntimeError (the process must not start) when two capabilities share a name, a job
    topic or a cron job name, or when the handlers and the outbox's topics
    (:data:`rapport.jobs.topics.TOPICS`) differ; plug-in job topics (``plugin:…``) come on top.
    """
    listed = tuple(capabilities)
    problems: list[str] = []
    _unique(problems, "capability", [c.name for c in listed])
    _unique(problems, "job topic", [t for c in listed for t in c.handlers])
    _unique(problems, "cron job", [j.name for c in listed for j in c.cron_jobs])
    handlers = {topic: h for c in listed for topic, h in c.handlers.items()}
    if missing := sorted(TOPICS - handlers.keys()):
        problems.append(f"no capability handles the topic(s) {', '.join(missing)}")
    if unlisted := sorted(t for t in handlers.keys() - TOPICS if not is_plugin_topic(t)):
        problems.append(
            f"topic(s) {', '.join(unlisted)} are handled but missing from rapport.jobs.topics"
        )
    if problems:
        raise RuntimeError("The kernel's capabilities do not fit: " + "; ".join(problems))
    staged = sorted(
        ((stage, i, p) for i, c in enumerate(listed) for stage, p in c.participants.items()),
        key=lambda item: (item[0], item[1]),
    )
    return Kernel(
        capabilities=listed,
        contributors=tuple(f for c in listed for f in c.graphql),
        participants=tuple(p for _, _, p in staged),
        handlers=MappingProxyType(handlers),
        cron_jobs=tuple(j for c in listed for j in c.cron_jobs),
        sealed=tuple(s for c in listed for s in c.sealed),
    )


def _unique(problems: list[str], what: str, names: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            problems.append(f"two capabilities register the {what} {name!r}")
        seen.add(name)
