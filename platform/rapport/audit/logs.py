"""Which audit log a row belongs to: a tenant's (its id) or the operator log (``None``).

Catalog-level events without a tenant (operator acts) have their own log, stored with
``tenant_id`` NULL; SQL must then say ``IS NULL`` (``=`` never matches NULL, and ``IS NOT
DISTINCT FROM`` cannot use an index).
"""

from __future__ import annotations

__all__ = ["LogId", "log_label", "log_where"]

LogId = str | None  # a tenant id, or None for the operator log


def log_where(tenant_id: LogId, param: int = 1) -> str:
    """A condition selecting the rows of ``tenant_id``'s log; the caller passes ``tenant_id``
    as parameter ``$param`` either way, so placeholders number the same for both kinds."""
    if tenant_id is None:
        return f"(tenant_id IS NULL AND ${param}::uuid IS NULL)"
    return f"tenant_id = ${param}::uuid"


def log_label(tenant_id: LogId) -> str:
    return "operator" if tenant_id is None else f"tenant {tenant_id}"
