"""File downloads a plug-in offers over HTTP (``Hooks.downloads()``): the handler's types.

A plug-in names its downloads — ``{"evidence": handler}`` — and each is served at
``GET /download/{plugin}/{name}/{id}`` (:mod:`rapport.downloads_http`) to a logged-in member
of a tenant that installed the plug-in; :mod:`rapport.plugins.handout` runs and audits them.
A handler gets a :class:`DownloadRequest`, decides who may have the file (raising
``Forbidden``/``NotFound``) and returns a :class:`Download`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rapport.db.database import Connection
from rapport.principal import Principal

if TYPE_CHECKING:
    from rapport.db.tenants import Tenant
    from rapport.metadata.bundle import TenantMetadata

__all__ = ["Download", "DownloadHandler", "DownloadRequest"]

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
