"""Plug-in jobs: a plug-in's own background work, run by the worker like the kernel's.

A plug-in declares ``PluginSpec.jobs = {"digest": send_digest}``; :func:`enqueue_job` writes
an outbox row of the topic ``plugin:<name>.digest`` in the plug-in's transaction (so the job
exists exactly when the change commits), and the worker, whose kernel the composition root
builds with :func:`plugin_jobs` of the installed plug-ins, runs the handler at least once with
the same :class:`~rapport.jobs.context.JobContext` as a kernel job (idempotent handlers, retries,
``rapport jobs failed``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

from rapport.capability import Capability
from rapport.db.tenants import Queryable
from rapport.errors import FieldError, ValidationFailed
from rapport.jobs.outbox import enqueue
from rapport.jobs.topics import plugin_topic
from rapport.plugins.registry import Registry
from rapport.plugins.spec import PluginSpec

__all__ = ["enqueue_job", "plugin_jobs"]


async def enqueue_job(
    conn: Queryable,
    spec: PluginSpec,
    job: str,
    *,
    tenant_id: str,
    payload: Mapping[str, Any],
    dedupe_key: str | None = None,
    not_before: datetime | None = None,
) -> str:
    """Write the outbox row of ``spec``'s job ``job`` in the caller's transaction; its id."""
    if job not in spec.jobs:
        declared = ", ".join(sorted(spec.jobs)) or "none"
        raise ValidationFailed(
            [FieldError(("job",), f"plug-in {spec.name!r} declares no job {job!r}")],
            hint=f"Use one of its jobs ({declared}), or add it to PluginSpec.jobs.",
        )
    return await enqueue(
        conn,
        tenant_id=tenant_id,
        topic=plugin_topic(spec.name, job),
        payload=payload,
        dedupe_key=dedupe_key,
        not_before=not_before,
    )


def plugin_jobs(registry: Registry) -> Capability:
    """The jobs of every plug-in of ``registry``, as one capability of the worker's kernel."""
    return Capability(
        name="plugin-jobs",
        handlers=MappingProxyType(
            {
                plugin_topic(loaded.spec.name, job): handler
                for loaded in registry
                for job, handler in loaded.spec.jobs.items()
            }
        ),
    )
