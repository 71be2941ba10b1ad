"""The metadata lifecycle of a tenant: draft, plan, publish, rollback, export, versions.

What the CLI and the admin API call. A tenant's *documents* are its own (``source`` neither
``"kernel"`` nor ``"plugin:<name>"``); they are always compiled together with the kernel's
documents and those of the plug-ins installed in the tenant (:mod:`rapport.plugins.lifecycle`). Every published
version stores all documents it was built from, the kernel's included, so
:func:`load_published` compiles exactly the model whose schema is in the database.

``publish`` is one transaction on one connection: an advisory lock per tenant, the plan computed
inside it against fresh counts, every DDL step, the version row, the version bump, the
``NOTIFY`` (delivered at commit) and the removal of the draft. Any failure rolls all of it back.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from rapport.db.database import Connection, Database
from rapport.db.tenants import (
    Queryable,
    Tenant,
    get_tenant,
    lock_tenant,
    notify_metadata,
)
from rapport.errors import DestructiveChange, MetadataConflict, NotFound, PublishFailed
from rapport.metadata.builder import compile_model
from rapport.metadata.bundle import TenantMetadata, compile_tenant
from rapport.metadata.diff import plan_changes
from rapport.metadata.documents import Document, DocumentKind, kernel_documents
from rapport.metadata.ir import Model, freeze_json
from rapport.metadata.plan import Plan, count_queries
from rapport.metadata.publishing import (
    Publication,
    participants_plan,
    registered_publish_participants,
)

__all__ = [
    "PublishResult",
    "VersionInfo",
    "current_documents",
    "export",
    "get_draft",
    "load_published",
    "plan",
    "plugin_documents_of",
    "publish",
    "publish_on",
    "rollback",
    "save_draft",
    "versions",
]

KERNEL_SOURCE = "kernel"
PLUGIN_SOURCE = "plugin:"  # prefix of the source of an installed plug-in's documents
DDL_LOCK_TIMEOUT = "10s"  # longest wait of one plan step for a table lock


@dataclass(frozen=True, slots=True)
class PublishResult:
    version: int  # the tenant's metadata version after the call
    plan: Plan  # the steps that ran (empty when nothing changed)
    changed: bool  # False: the documents equal the current version; nothing was created


@dataclass(frozen=True, slots=True)
class VersionInfo:
    version: int
    published_at: datetime
    published_by: str | None
    note: str | None
    steps: int  # plan steps that produced this version
    destructive: bool  # whether any of them was destructive


# --- drafts -------------------------------------------------------------------------------------


async def save_draft(
    db: Database | Connection, slug: str, documents: Sequence[Document], *, actor: str
) -> None:
    """Store ``documents`` as the tenant's draft, replacing any earlier one.

    The documents are compiled (with the kernel's) first: MetadataInvalid lists every problem
    and nothing is saved.
    """
    docs = _tenant_documents(documents)
    async with db.transaction() as conn:
        tenant = await get_tenant(conn, slug)
        current = await _version_documents(conn, tenant, tenant.metadata_version)
        compile_tenant(kernel_documents() + plugin_documents_of(current or ()) + docs)
        await conn.execute(
            """
            INSERT INTO rapport.metadata_drafts (tenant_id, documents, updated_by)
            VALUES ($1::uuid, $2::json, $3)
            ON CONFLICT (tenant_id) DO UPDATE
               SET documents = EXCLUDED.documents, updated_at = now(),
                   updated_by = EXCLUDED.updated_by
            """,
            tenant.id,
            _dump_documents(docs),
            actor,
        )


async def get_draft(db: Queryable, slug: str) -> tuple[Document, ...] | None:
    tenant = await get_tenant(db, slug)
    return await _draft(db, tenant)


# --- plan and publish ---------------------------------------------------------------------------


async def plan(
    db: Queryable,
    slug: str,
    documents: Sequence[Document] | None = None,
    *,
    plugin_documents: Sequence[Document] | None = None,
) -> Plan:
    """What publishing ``documents`` (None: the stored draft) would do, without doing it.

    ``plugin_documents`` as in :func:`publish_on` (None: keep the installed plug-ins').
    """
    tenant = await get_tenant(db, slug)
    docs = await _documents_or_draft(db, tenant, documents)
    current = await _version_documents(db, tenant, tenant.metadata_version)
    plugins = _plugins_or_current(plugin_documents, current)
    new_metadata = compile_tenant(kernel_documents() + plugins + docs)
    new = new_metadata.model
    old = compile_model(current) if current is not None else None
    steps = await _plan(db, tenant.schema, old, new)
    return await participants_plan(db, tenant, current, new_metadata, steps)


async def publish(
    db: Database | Connection,
    slug: str,
    documents: Sequence[Document] | None = None,
    *,
    allow_destructive: bool = False,
    actor: str,
    note: str | None = None,
    expected_version: int | None = None,
) -> PublishResult:
    """Apply ``documents`` (None: the stored draft) as the tenant's next metadata version.

    Raises MetadataConflict when ``expected_version`` is not the current version,
    MetadataInvalid when the documents do not compile, DestructiveChange when the plan has
    destructive steps and ``allow_destructive`` is False, PublishFailed when a step is refused
    or fails in the database. In every error case nothing has changed.
    """
    async with db.transaction() as conn:
        return await publish_on(
            conn,
            slug,
            documents,
            allow_destructive=allow_destructive,
            actor=actor,
            note=note,
            expected_version=expected_version,
        )


async def rollback(
    db: Database | Connection,
    slug: str,
    to_version: int,
    *,
    allow_destructive: bool = False,
    actor: str,
) -> PublishResult:
    """Publish the documents of an earlier version as a new version (with today's kernel)."""
    async with db.transaction() as conn:
        await lock_tenant(conn, slug)
        tenant = await get_tenant(conn, slug)
        stored = await _version_documents(conn, tenant, to_version)
        if stored is None:
            raise _no_version(tenant, to_version)
        return await publish_on(
            conn,
            slug,
            _tenant_documents(stored),
            allow_destructive=allow_destructive,
            actor=actor,
            note=f"rollback to version {to_version}",
        )


async def publish_on(
    conn: Connection,
    slug: str,
    documents: Sequence[Document] | None,
    *,
    allow_destructive: bool = False,
    actor: str,
    note: str | None = None,
    expected_version: int | None = None,
    plugin_documents: Sequence[Document] | None = None,
) -> PublishResult:
    """:func:`publish` inside the caller's open transaction on ``conn`` (e.g. tenant creation).

    No savepoint of its own: after an error the caller's transaction must be rolled back (as
    ``async with db.transaction()`` does when the error propagates).

    ``plugin_documents`` (source ``plugin:<name>``) replace the installed plug-ins' documents;
    None keeps those of the current version, so publishing the tenant's own documents never
    removes a plug-in (only :mod:`rapport.plugins.lifecycle` passes them).
    """
    await lock_tenant(conn, slug)
    tenant = await get_tenant(conn, slug)
    if expected_version is not None and expected_version != tenant.metadata_version:
        raise MetadataConflict(
            f"Tenant {slug!r} is at metadata version {tenant.metadata_version}, "
            f"not {expected_version}: someone published in between.",
            hint="Plan again against the current version, review the plan, then publish with "
            f"expected version {tenant.metadata_version}.",
            details={"currentVersion": tenant.metadata_version},
        )
    docs = await _documents_or_draft(conn, tenant, documents)
    current = await _version_documents(conn, tenant, tenant.metadata_version)
    all_docs = kernel_documents() + _plugins_or_current(plugin_documents, current) + docs
    new_metadata = compile_tenant(all_docs)
    new = new_metadata.model
    if current is not None and _canonical(current) == _canonical(all_docs):
        return PublishResult(tenant.metadata_version, Plan(), changed=False)
    old = compile_model(current) if current is not None else None

    steps = await _plan(conn, tenant.schema, old, new)
    # What the version does to the capabilities' data (records in workflow states it removes:
    # moved per x-stateMap, or refused).
    steps = await participants_plan(conn, tenant, current, new_metadata, steps)
    if steps.refused_steps:
        raise PublishFailed(
            f"The plan for tenant {slug!r} cannot be applied to its data:\n"
            + "\n".join(f"  - {s.summary}: {s.reason}" for s in steps.refused_steps),
            hint="Change the documents as each reason says, plan again, then publish.",
            details={"steps": [s.as_dict() for s in steps.refused_steps]},
        )
    if steps.destructive_steps and not allow_destructive:
        raise DestructiveChange([f"{s.summary}: {s.reason}" for s in steps.destructive_steps])
    await _run_steps(conn, slug, steps)

    version = tenant.metadata_version + 1
    dumped = _dump_documents(all_docs)
    await conn.execute(
        """
        INSERT INTO rapport.metadata_versions
            (tenant_id, version, documents, plan, published_by, note)
        VALUES ($1::uuid, $2, $3::json, $4::jsonb, $5, $6)
        """,
        tenant.id,
        version,
        dumped,
        json.dumps(steps.as_dict()),
        actor,
        note,
    )
    await conn.execute(
        "UPDATE rapport.tenants SET metadata_version = $2 WHERE id = $1::uuid", tenant.id, version
    )
    publication = Publication(
        tenant=tenant,
        version=version,
        actor=actor,
        note=note,
        documents=tuple(all_docs),
        digest=hashlib.sha256(dumped.encode()).hexdigest(),
        plan=steps,
    )
    for participant in registered_publish_participants():
        # D4/D8: the publish and its evidence (the audit entry) commit together or not at all.
        await participant.published(conn, publication)
    await notify_metadata(conn, slug, version)
    await conn.execute("DELETE FROM rapport.metadata_drafts WHERE tenant_id = $1::uuid", tenant.id)
    return PublishResult(version, steps, changed=True)


async def _run_steps(conn: Connection, slug: str, steps: Plan) -> None:
    # DDL waits for an exclusive lock on its table, and every query on that table queues behind
    # the waiting DDL: a bounded wait keeps a busy table from stalling the tenant.
    previous = await conn.fetchval("SELECT current_setting('lock_timeout')")
    await conn.execute("SELECT set_config('lock_timeout', $1, true)", DDL_LOCK_TIMEOUT)
    for step in steps.steps:
        if not step.sql:
            continue
        try:
            await conn.execute(step.sql)
        except asyncpg.PostgresError as exc:
            detail = getattr(exc, "detail", None)
            busy = isinstance(exc, asyncpg.LockNotAvailableError)
            raise PublishFailed(
                f"Publishing tenant {slug!r} failed at step '{step.summary}': {exc}"
                + (f" ({detail})" if detail else ""),
                hint="Nothing was changed. "
                + (
                    "The table was busy (long-running queries hold it); publish again later."
                    if busy
                    else "Fix the data the step trips over (or change the documents), then "
                    "publish again."
                ),
                details={"step": step.summary, "databaseMessage": str(exc)},
            ) from exc
    # On failure the (sub)transaction's rollback restores the setting; on success we do.
    await conn.execute("SELECT set_config('lock_timeout', $1, true)", previous)


# --- reading versions ---------------------------------------------------------------------------


async def export(db: Queryable, slug: str, version: int | None = None) -> tuple[Document, ...]:
    """The tenant's own documents (not the kernel's) of the current or a given version."""
    tenant = await get_tenant(db, slug)
    wanted = tenant.metadata_version if version is None else version
    stored = await _version_documents(db, tenant, wanted)
    if stored is None:
        if version is None:
            return ()
        raise _no_version(tenant, version)
    return _tenant_documents(stored)


async def versions(db: Queryable, slug: str) -> list[VersionInfo]:
    """Every published version of the tenant, oldest first."""
    tenant = await get_tenant(db, slug)
    rows = await db.fetch(
        """
        SELECT version, published_at, published_by, note,
               jsonb_array_length(plan) AS steps,
               EXISTS (SELECT 1 FROM jsonb_array_elements(plan) AS s
                        WHERE (s ->> 'destructive')::boolean) AS destructive
          FROM rapport.metadata_versions
         WHERE tenant_id = $1::uuid
         ORDER BY version
        """,
        tenant.id,
    )
    return [
        VersionInfo(
            version=row["version"],
            published_at=row["published_at"],
            published_by=row["published_by"],
            note=row["note"],
            steps=row["steps"],
            destructive=row["destructive"],
        )
        for row in rows
    ]


async def load_published(db: Queryable, slug: str) -> tuple[Tenant, TenantMetadata]:
    """The tenant and the compiled metadata of its current version (what the runtime serves)."""
    tenant = await get_tenant(db, slug)
    # A version's documents never change, so reading them after the tenant row is consistent.
    stored = await _version_documents(db, tenant, tenant.metadata_version)
    if stored is None:
        return tenant, TenantMetadata.of(Model(entities=()))
    return tenant, compile_tenant(stored)


# --- helpers ------------------------------------------------------------------------------------


async def _plan(db: Queryable, schema: str, old: Model | None, new: Model) -> Plan:
    row_counts: dict[str, int] = {}
    value_counts: dict[str, int] = {}
    for query in count_queries(schema, old, new):
        try:
            count = int(await db.fetchval(query.sql, *query.args))
        except asyncpg.PostgresError as exc:
            raise PublishFailed(
                f"Reading the data of schema {schema} for the plan failed: {exc}",
                hint="The schema no longer matches its published metadata (was it changed by "
                "hand?); restore it, or roll back to the version that built it.",
                details={"databaseMessage": str(exc)},
            ) from exc
        (row_counts if query.kind == "rows" else value_counts)[query.key] = count
    return plan_changes(schema, old, new, row_counts, value_counts)


async def _documents_or_draft(
    db: Queryable, tenant: Tenant, documents: Sequence[Document] | None
) -> tuple[Document, ...]:
    if documents is not None:
        return _tenant_documents(documents)
    draft = await _draft(db, tenant)
    if draft is None:
        raise NotFound(
            f"Tenant {tenant.slug!r} has no draft to plan or publish.",
            hint="Save a draft first, or pass the documents (e.g. "
            f"`rapport metadata publish --tenant {tenant.slug} FOLDER`).",
        )
    return draft


async def _draft(db: Queryable, tenant: Tenant) -> tuple[Document, ...] | None:
    raw = await db.fetchval(
        "SELECT documents FROM rapport.metadata_drafts WHERE tenant_id = $1::uuid", tenant.id
    )
    return None if raw is None else _load_documents(raw)


async def _version_documents(
    db: Queryable, tenant: Tenant, version: int
) -> tuple[Document, ...] | None:
    raw = await db.fetchval(
        "SELECT documents FROM rapport.metadata_versions WHERE tenant_id = $1::uuid "
        "AND version = $2",
        tenant.id,
        version,
    )
    return None if raw is None else _load_documents(raw)


def _no_version(tenant: Tenant, version: int) -> NotFound:
    return NotFound(
        f"Tenant {tenant.slug!r} has no metadata version {version}.",
        hint=f"Versions run from 1 to {tenant.metadata_version}; list them with the "
        "admin API's metadata versions.",
    )


def _tenant_documents(documents: Iterable[Document]) -> tuple[Document, ...]:
    return tuple(
        d for d in documents if d.source != KERNEL_SOURCE and not d.source.startswith(PLUGIN_SOURCE)
    )


async def current_documents(db: Queryable, tenant: Tenant) -> tuple[Document, ...]:
    """Every document of the tenant's current version (kernel, plug-ins, its own)."""
    return await _version_documents(db, tenant, tenant.metadata_version) or ()


def plugin_documents_of(documents: Iterable[Document]) -> tuple[Document, ...]:
    """The installed plug-ins' documents among a version's documents."""
    return tuple(d for d in documents if d.source.startswith(PLUGIN_SOURCE))


def _plugins_or_current(
    given: Sequence[Document] | None, current: Sequence[Document] | None
) -> tuple[Document, ...]:
    if given is not None:
        return tuple(given)
    return plugin_documents_of(current or ())


def _document_items(documents: Iterable[Document]) -> list[dict[str, Any]]:
    return [{"source": d.source, "kind": d.kind.value, "body": d.as_json()} for d in documents]


def _dump_documents(documents: Iterable[Document]) -> str:
    return json.dumps(_document_items(documents), ensure_ascii=False)


def _load_documents(raw: str) -> tuple[Document, ...]:
    items = json.loads(raw)
    return tuple(
        Document(
            id=str(item["body"]["$id"]),
            body=freeze_json(item["body"]),
            source=str(item["source"]),
            kind=DocumentKind(item.get("kind", DocumentKind.ENTITY.value)),
        )
        for item in items
    )


def _canonical(documents: Iterable[Document]) -> str:
    """The documents as one canonical JSON text: equal text, equal documents."""
    items = sorted(
        _document_items(documents), key=lambda i: (i["body"].get("$id"), i["kind"], i["source"])
    )
    return json.dumps(items, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
