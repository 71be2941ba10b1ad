"""Tenants: rows of the catalog table ``rapport.tenants`` and their PostgreSQL schemas."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = ["Tenant"]


@dataclass(frozen=True, slots=True)
class Tenant:
    id: str  # uuid as text
    slug: str  # matches naming.SLUG; appears in tokens and URLs
    name: str
    schema: str  # PostgreSQL schema with the tenant's tables: naming.tenant_schema(slug)
    metadata_version: int  # 0 until the first publish
    created_at: datetime
