"""Directory sync: read the platform's departments and members, link them to Rapport users.

WeCom: ``department/list`` then ``user/list`` per department. DingTalk: ``department/listsub``
walked from the root, then ``v2/user/list`` per department, page by page (``next_cursor``).
A member of several departments is one account. Every account is recorded and, where the
app's rules find exactly one user, linked (:mod:`rapport.im.identities`) — in one transaction,
after the whole directory was read, so a platform failure half-way links nothing.

Running it again changes nothing that is already linked (idempotent). The report says what it
linked now, what was linked before, what it could not link and why, and which linked accounts
are no longer in the directory (they left: an admin decides what to do with them). Each run
is kept in ``rapport.im_sync_runs``; the job ``im.sync`` runs it for the admin API.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import httpx

from rapport.crypto.keys import KeyRing
from rapport.db.database import Database
from rapport.errors import PlatformError
from rapport.im.apps import keyring_for, platform_named, require_app
from rapport.im.identities import link_account
from rapport.im.platform import DirectoryPage, PlatformUser
from rapport.im.tokens import with_token
from rapport.jobs.context import JobContext
from rapport.settings import ImSettings

__all__ = ["SYNC_TOPIC", "SyncReport", "run_sync_job", "sync_directory"]

SYNC_TOPIC = "im.sync"
MAX_PAGES = 10_000  # per department: a cursor that never ends is a platform bug, not a loop


@dataclass(frozen=True, slots=True)
class SyncReport:
    platform: str
    departments: int
    accounts: int
    already_linked: int
    linked: tuple[Mapping[str, str], ...] = ()  # {platformUserId, userId, rule}
    not_linked: tuple[Mapping[str, str], ...] = ()  # {platformUserId, name, reason}
    departed: tuple[str, ...] = ()  # linked accounts no longer in the directory
    run_id: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "departments": self.departments,
            "accounts": self.accounts,
            "alreadyLinked": self.already_linked,
            "linked": [dict(x) for x in self.linked],
            "notLinked": [dict(x) for x in self.not_linked],
            "departed": list(self.departed),
        }


async def sync_directory(
    db: Database,
    keyring: KeyRing,
    http: httpx.AsyncClient,
    urls: ImSettings,
    tenant_id: str,
    platform_name: str,
) -> SyncReport:
    platform = platform_named(platform_name)
    config, app = await require_app(db, keyring, tenant_id, platform.name)
    run_id = int(
        await db.fetchval(
            "INSERT INTO rapport.im_sync_runs (tenant_id, platform) VALUES ($1::uuid, $2) "
            "RETURNING id",
            tenant_id,
            platform.name,
        )
    )
    try:
        departments = await with_token(
            db, keyring, http, urls, tenant_id, app,
            lambda token: platform.departments(http, urls, token),
        )  # fmt: skip
        accounts: dict[str, PlatformUser] = {}
        for department in departments:
            cursor = ""
            for _ in range(MAX_PAGES):

                async def page(
                    token: str, department: int = department, cursor: str = cursor
                ) -> DirectoryPage:
                    return await platform.department_users(http, urls, token, department, cursor)

                result = await with_token(db, keyring, http, urls, tenant_id, app, page)
                for account in result.users:
                    if account.user_id:
                        accounts.setdefault(account.user_id, account)
                if result.next_cursor is None:
                    break
                cursor = result.next_cursor
        report = await _link_all(
            db, tenant_id, platform.name, config.link_by, departments, accounts
        )
    except PlatformError as exc:
        await db.execute(
            "UPDATE rapport.im_sync_runs SET finished_at = now(), ok = false, error = $2 "
            "WHERE id = $1",
            run_id,
            exc.message,
        )
        raise
    await db.execute(
        "UPDATE rapport.im_sync_runs SET finished_at = now(), ok = true, report = $2::jsonb "
        "WHERE id = $1",
        run_id,
        json.dumps(report.as_json(), ensure_ascii=False),
    )
    return replace(report, run_id=run_id)


async def _link_all(
    db: Database,
    tenant_id: str,
    platform: str,
    rules: tuple[str, ...],
    departments: tuple[int, ...],
    accounts: Mapping[str, PlatformUser],
) -> SyncReport:
    linked: list[Mapping[str, str]] = []
    not_linked: list[Mapping[str, str]] = []
    already = 0
    async with db.transaction() as conn:
        for account in accounts.values():
            outcome = await link_account(conn, tenant_id, platform, account, rules)
            if outcome.new_link and outcome.user_id is not None:
                linked.append(
                    {"platformUserId": account.user_id, "userId": outcome.user_id,
                     "rule": outcome.rule or ""}
                )  # fmt: skip
            elif outcome.user_id is not None:
                already += 1
            else:
                not_linked.append(
                    {"platformUserId": account.user_id, "name": account.name,
                     "reason": outcome.reason or "unmatched"}
                )  # fmt: skip
        # Rows this transaction did not touch keep an older seen_at: not in the directory now.
        rows = await conn.fetch(
            "SELECT platform_user_id FROM rapport.im_identities WHERE tenant_id = $1::uuid "
            "AND platform = $2 AND user_id IS NOT NULL AND seen_at < now() "
            "ORDER BY platform_user_id",
            tenant_id,
            platform,
        )
    return SyncReport(
        platform=platform,
        departments=len(departments),
        accounts=len(accounts),
        already_linked=already,
        linked=tuple(linked),
        not_linked=tuple(not_linked),
        departed=tuple(r["platform_user_id"] for r in rows),
    )


async def run_sync_job(ctx: JobContext, payload: Mapping[str, Any]) -> None:
    """The ``im.sync`` job an admin requests; a failure is kept in its run and retried."""
    await sync_directory(
        ctx.db,
        keyring_for(ctx.settings),
        ctx.http,
        ctx.settings.im,
        ctx.job.tenant_id,
        str(payload["platform"]),
    )
