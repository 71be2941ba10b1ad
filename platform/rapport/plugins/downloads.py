"""File downloads a plug-in offers over HTTP (``Hooks.downloads()``), permission-checked and audited.

A plug-in names its downloads — ``{"contract-evidence": handler}`` — and each is served at
``GET /download/{plugin}/{name}/{id}`` (:mod:`rapport.downloads_http`) to a logged-in member
of a tenant that installed the plug-in. :func:`run_download` calls the handler in one
transaction with the request's principal; the handler decides who may have the file (raising
``Forbidden``/``NotFound``) and builds it. In the same transaction the kernel appends an audit
entry ``download`` naming who took which file, its size and SHA-256, so a file leaves the
system only with a trace; a handler that refuses leaves none (nothing was handed out).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rapport.audit.log import append_entry
from rapport.db.database import Connection, Database
from rapport.errors import NotFound
from rapport.plugins.loader import installed_registry
from rapport.principal import Principal

if TYPE_CHECKING:
    from rapport.db.tenants import Tenant
    from rapport.metadata.bundle import TenantMetadata

__all__ = ["Download", "DownloadHandler", "DownloadRequest", "find_download", "run_download"]

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True, slots=True)
class DownloadRequest:
    """What a download handler gets: the transaction, who asks, in which tenant, for which id."""

    conn: Connection
    tenant: Tenant
    metadata: TenantMetadata
    principal: Principal
    record_id: str
    now: dt.datetime


@dataclass(frozen=True, slots=True)
class Download:
    """The file a handler hands out; ``entity``/``record_id`` name what the audit entry is about."""

    filename: str
    media_type: str
    content: bytes
    entity: str
    record_id: str

    @property
    def safe_filename(self) -> str:
        """The name for ``Content-Disposition``: ASCII letters, digits, ``._-`` only."""
        return _SAFE_NAME.sub("_", self.filename).strip("_") or "download"


DownloadHandler = Callable[[DownloadRequest], Awaitable[Download]]


def find_download(metadata: TenantMetadata, plugin: str, name: str) -> DownloadHandler | None:
    """The handler of ``plugin``'s download ``name``, if that plug-in is installed in the tenant
    whose metadata this is (an uninstalled plug-in offers nothing there)."""
    if not any(d.source == f"plugin:{plugin}" for d in metadata.documents):
        return None
    loaded = installed_registry().owner_of(f"plugin:{plugin}")
    return None if loaded is None else loaded.spec.hooks.downloads().get(name)


async def run_download(
    db: Database,
    handler: DownloadHandler | None,
    *,
    plugin: str,
    name: str,
    tenant: Tenant,
    metadata: TenantMetadata,
    principal: Principal,
    record_id: str,
    now: dt.datetime,
) -> Download:
    """The file, built and audited in one transaction (``handler`` None: no such download)."""
    if handler is None:
        raise NotFound(
            f"The plug-in {plugin!r} offers no download {name!r} in this tenant.",
            hint="Use a download the plug-in documents; it must be installed in your tenant.",
        )
    async with db.transaction() as conn:
        request = DownloadRequest(conn, tenant, metadata, principal, record_id, now)
        file = await handler(request)
        await append_entry(
            conn,
            tenant_id=tenant.id,
            actor=principal.subject,
            action="download",
            entity=file.entity,
            record_id=file.record_id,
            data={
                "plugin": plugin,
                "download": name,
                "filename": file.filename,
                "bytes": len(file.content),
                "sha256": hashlib.sha256(file.content).hexdigest(),
                "clientAddress": principal.client.address if principal.client else None,
            },
        )
    return file
