"""Platform accounts and the Rapport users they belong to (``rapport.im_identities``).

An account is linked once — by directory sync, by its first login, or by an admin — and from
then on found by its platform user id. Linking looks for exactly one active Rapport user, by
the app's rules in order (``link_by``):

- ``employee_number``: the account's employee number (DingTalk ``job_number``; WeCom's userid,
  which enterprises set to the employee number) equals a user's login, or the ``externalId``
  of an org employee (plug-in ``org``) whose ``userId`` is the user;
- ``mobile``: the account's mobile equals a user's login or ``attributes.mobile`` (digits
  compared, a +86 country code ignored).

Several users matching one rule is a refusal (``ambiguous``), never a guess; so is a user
already linked to another account of the same platform (``taken``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from rapport.db.database import Connection
from rapport.db.tenants import Queryable
from rapport.errors import NotFound
from rapport.im.platform import PlatformUser
from rapport.naming import qualified

__all__ = [
    "Identity",
    "Outcome",
    "link",
    "link_account",
    "list_identities",
    "normalized_mobile",
    "unlink",
]

_DIGITS = (
    r"regexp_replace(regexp_replace(coalesce({x}, ''), '\D', '', 'g'), '^86(\d{{11}})$', '\1')"
)


@dataclass(frozen=True, slots=True)
class Identity:
    platform: str
    platform_user_id: str
    user_id: str | None
    display_name: str
    linked_by: str | None
    linked_at: datetime | None
    seen_at: datetime


@dataclass(frozen=True, slots=True)
class Outcome:
    """What linking one account came to."""

    user_id: str | None
    new_link: bool = False  # linked just now
    rule: str | None = None  # the rule that matched
    reason: str | None = None  # why not linked: unmatched, ambiguous, taken


def normalized_mobile(mobile: str) -> str:
    digits = "".join(c for c in mobile if c.isdigit())
    return digits[2:] if len(digits) == 13 and digits.startswith("86") else digits


async def link_account(
    conn: Connection, tenant_id: str, platform: str, account: PlatformUser, rules: Sequence[str]
) -> Outcome:
    """Record the account (name, last seen) and make sure it is linked, if a rule allows."""
    row = await conn.fetchrow(
        """
        INSERT INTO rapport.im_identities (tenant_id, platform, platform_user_id, display_name)
        VALUES ($1::uuid, $2, $3, $4)
        ON CONFLICT (tenant_id, platform, platform_user_id) DO UPDATE
           SET display_name = EXCLUDED.display_name, seen_at = now()
        RETURNING user_id::text AS user_id
        """,
        tenant_id,
        platform,
        account.user_id,
        account.name,
    )
    if row is not None and row["user_id"] is not None:
        return Outcome(user_id=row["user_id"])
    for rule in rules:
        found = await _candidates(conn, tenant_id, rule, account)
        if len(found) > 1:
            return Outcome(user_id=None, rule=rule, reason="ambiguous")
        if len(found) == 1:
            if await _taken(conn, tenant_id, platform, found[0]):
                return Outcome(user_id=None, rule=rule, reason="taken")
            try:
                async with conn.transaction():  # a savepoint: a lost race leaves the rest intact
                    await link(conn, tenant_id, platform, account.user_id, found[0], rule)
            except asyncpg.UniqueViolationError:
                return Outcome(user_id=None, rule=rule, reason="taken")
            return Outcome(user_id=found[0], new_link=True, rule=rule)
    return Outcome(user_id=None, reason="unmatched")


async def _candidates(
    conn: Connection, tenant_id: str, rule: str, account: PlatformUser
) -> list[str]:
    if rule == "employee_number" and account.employee_number:
        schema = await conn.fetchval(
            "SELECT schema_name FROM rapport.tenants WHERE id = $1::uuid", tenant_id
        )
        employees = qualified(str(schema), "org_employee")
        has_org = await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", employees)
        via_org = (
            f"OR u.id::text IN (SELECT e.user_id FROM {employees} e WHERE e.external_id = $2)"
            if has_org
            else ""
        )
        rows = await conn.fetch(
            f"SELECT u.id::text AS id FROM rapport.users u WHERE u.tenant_id = $1::uuid "
            f"AND u.status = 'active' AND (lower(u.login) = lower($2) {via_org})",
            tenant_id,
            account.employee_number,
        )
        return [r["id"] for r in rows]
    if rule == "mobile" and normalized_mobile(account.mobile):
        login, attribute = _DIGITS.format(x="u.login"), _DIGITS.format(x="u.attributes->>'mobile'")
        rows = await conn.fetch(
            f"SELECT u.id::text AS id FROM rapport.users u WHERE u.tenant_id = $1::uuid "
            f"AND u.status = 'active' AND ({login} = $2 OR {attribute} = $2)",
            tenant_id,
            normalized_mobile(account.mobile),
        )
        return [r["id"] for r in rows]
    return []


async def _taken(conn: Connection, tenant_id: str, platform: str, user_id: str) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT true FROM rapport.im_identities WHERE tenant_id = $1::uuid "
            "AND platform = $2 AND user_id = $3::uuid",
            tenant_id,
            platform,
            user_id,
        )
    )


async def link(
    db: Queryable, tenant_id: str, platform: str, platform_user_id: str, user_id: str, rule: str
) -> None:
    await db.execute(
        """
        INSERT INTO rapport.im_identities
               (tenant_id, platform, platform_user_id, user_id, linked_by, linked_at)
        VALUES ($1::uuid, $2, $3, $4::uuid, $5, now())
        ON CONFLICT (tenant_id, platform, platform_user_id) DO UPDATE
           SET user_id = EXCLUDED.user_id, linked_by = EXCLUDED.linked_by, linked_at = now()
        """,
        tenant_id,
        platform,
        platform_user_id,
        user_id,
        rule,
    )


async def unlink(db: Queryable, tenant_id: str, platform: str, platform_user_id: str) -> None:
    status = await db.execute(
        "UPDATE rapport.im_identities SET user_id = NULL, linked_by = NULL, linked_at = NULL "
        "WHERE tenant_id = $1::uuid AND platform = $2 AND platform_user_id = $3",
        tenant_id,
        platform,
        platform_user_id,
    )
    if status.endswith(" 0"):
        raise NotFound(
            f"There is no {platform} account {platform_user_id!r} in this tenant.",
            hint="List them with imIdentities.",
        )


async def list_identities(
    db: Queryable, tenant_id: str, platform: str, *, linked: bool | None = None, limit: int = 100
) -> list[Identity]:
    rows = await db.fetch(
        """
        SELECT platform, platform_user_id, user_id::text AS user_id, display_name, linked_by,
               linked_at, seen_at
          FROM rapport.im_identities
         WHERE tenant_id = $1::uuid AND platform = $2
           AND ($3::boolean IS NULL OR (user_id IS NOT NULL) = $3)
         ORDER BY platform_user_id LIMIT $4
        """,
        tenant_id,
        platform,
        linked,
        limit,
    )
    return [Identity(**dict(r)) for r in rows]
