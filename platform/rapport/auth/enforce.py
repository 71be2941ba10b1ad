"""Applying the duty model (:mod:`rapport.auth.duties`) to one admin API request.

A refused act answers FORBIDDEN with a hint and leaves a ``duty.refused`` audit entry, committed
in its own transaction (the act itself changes nothing). The actor's performer role is checked
before the target account is looked up, so a caller without the duty learns nothing about which
logins exist.
"""

from __future__ import annotations

from collections.abc import Iterable

from rapport.auth.auditing import audit
from rapport.auth.duties import Act, performs, refusal
from rapport.auth.users import User, get_user
from rapport.db.database import Database
from rapport.db.tenants import get_tenant
from rapport.errors import Forbidden
from rapport.principal import Principal

__all__ = ["authorize", "refuse"]

_HINT = (
    "The separation of duties (三员分立) decides who may do this (README, 'Separation of "
    "duties'); ask an administrator who holds that duty."
)


async def authorize(
    db: Database,
    principal: Principal,
    act: Act,
    *,
    login: str | None = None,
    granted: Iterable[str] = (),
) -> User | None:
    """The target user (when ``login`` is given) if the duty model allows ``act``; else refuse."""
    if principal.tenant is None:
        raise Forbidden("This field acts on a tenant's accounts.", hint=_HINT)
    granted = tuple(granted)
    if not performs(principal.roles, act):
        reason = refusal(principal.roles, act)
        await refuse(db, principal, act, reason or act, target=login, granted=granted)
    target = None
    if login is not None:
        target = await get_user(db, (await get_tenant(db, principal.tenant)).id, login)
    reason = refusal(
        principal.roles,
        act,
        target_roles=target.roles if target is not None else (),
        granted=granted,
        on_self=target is not None and target.id == principal.subject,
    )
    if reason is not None:
        await refuse(db, principal, act, reason, target=login, granted=granted)
    return target


async def refuse(
    db: Database,
    principal: Principal,
    act: str,
    reason: str,
    *,
    target: str | None = None,
    granted: Iterable[str] = (),
) -> None:
    """Audit the refusal of ``act``, then raise FORBIDDEN saying why."""
    tenant_id = None
    if principal.tenant is not None:
        tenant_id = (await get_tenant(db, principal.tenant)).id
    async with db.transaction() as conn:
        await audit(
            conn,
            tenant_id=tenant_id,
            actor=principal.subject,
            action="duty.refused",
            data={
                "act": str(act),
                "target": target,
                "granted": sorted(granted),
                "actorRoles": sorted(principal.roles),
                "reason": reason,
            },
        )
    raise Forbidden(reason, hint=_HINT)
