"""Handing out a plug-in's file: find its download in a tenant, build it, audit it.

:func:`run_download` calls the handler in one transaction with the request's principal. In
the same transaction it appends an audit entry ``download`` naming who took which file, its
size and SHA-256, so a file leaves the system only with a trace; a handler that refuses leaves
none (nothing was handed out).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import TYPE_CHECKING

from rapport.audit.log import append_entry
from rapport.db.database import Database
from rapport.errors import NotFound
from rapport.plugins.downloads import Download, DownloadHandler, DownloadRequest
from rapport.plugins.loader import installed_registry
from rapport.principal import Principal

if TYPE_CHECKING:
    from rapport.db.tenants import Tenant
    from rapport.metadata.bundle import TenantMetadata

__all__ = ["find_download", "run_download"]


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
