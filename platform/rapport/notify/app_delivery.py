"""The WeCom and DingTalk app-message channels: the ``notify.app`` job.

``notify`` writes one such job per notification and platform the tenant has an app on and
some recipient receives on. :func:`deliver` maps the Rapport users to their platform accounts
(``rapport.im_identities``), builds the app's message kind (text, markdown, card) and sends it
through the platform's API with the shared access token, in batches the platform accepts.

Every attempt is logged in ``rapport.im_deliveries`` outside the job's transaction: counts,
the users without a platform account, the accounts the platform refused, an error code and
our own description — never the message body nor the platform's raw answer. A platform that is
down or refuses the call fails the attempt (retried with backoff, then a failed job); a
message nobody may receive (no mapped account, WeCom 81013) is logged and not retried.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rapport.db.database import Connection
from rapport.db.tenants import Queryable
from rapport.errors import DeliveryFailed, PlatformError
from rapport.im.apps import credentials, keyring_for, platform_named
from rapport.im.platform import SendResult
from rapport.im.tokens import with_token
from rapport.jobs.context import JobContext

__all__ = ["APP_CHANNELS", "APP_TOPIC", "AppDelivery", "deliver", "list_app_deliveries"]

log = logging.getLogger(__name__)

APP_TOPIC = "notify.app"
APP_CHANNELS = ("wecom", "dingtalk")
NOBODY_MAY_RECEIVE = 81013  # WeCom: every recipient is outside the app's visible range


@dataclass(frozen=True, slots=True)
class AppDelivery:
    id: int
    outbox_id: str
    platform: str
    attempt: int
    recipients: int
    sent: int
    unmapped_users: tuple[str, ...]
    rejected: tuple[str, ...]
    errcode: int | None
    error: str | None
    ok: bool
    duration_ms: int
    attempted_at: datetime


async def deliver(ctx: JobContext, payload: Mapping[str, Any]) -> None:
    platform = platform_named(str(payload["platform"]))
    tenant_id = ctx.job.tenant_id
    users = [str(u) for u in payload.get("users", ())]
    keyring = keyring_for(ctx.settings)
    started = time.monotonic()
    found = await credentials(ctx.conn, keyring, tenant_id, platform.name)
    if found is None:
        await _log(ctx, platform.name, users, [], SendResult(), 0, started, None,
                   f"the tenant has no {platform.label} app (removed after the notification)")  # fmt: skip
        return
    config, app = found
    accounts = await _accounts(ctx.conn, tenant_id, platform.name, users)
    unmapped = [u for u in users if u not in accounts]
    targets = [accounts[u] for u in users if u in accounts]
    if not targets:
        await _log(ctx, platform.name, users, unmapped, SendResult(), 0, started, None,
                   "no recipient has a linked platform account")  # fmt: skip
        return
    link = _absolute(payload.get("link"), config.link_base)
    message = platform.message(
        config.message_kind, str(payload.get("title", "")), str(payload.get("body", "")), link
    )
    rejected: list[str] = []
    sent = 0
    try:
        for start in range(0, len(targets), platform.batch_size):
            batch = targets[start : start + platform.batch_size]

            async def send(token: str, batch: Sequence[str] = batch) -> SendResult:
                return await platform.send(ctx.http, ctx.settings.im, token, app, batch, message)

            result = await with_token(
                ctx.db, keyring, ctx.http, ctx.settings.im, tenant_id, app, send
            )
            rejected.extend(result.rejected)
            sent += len(batch) - len(result.rejected)
    except PlatformError as exc:
        errcode = exc.details.get("errcode")
        log.warning("app message %s (%s) failed: %s", ctx.job.id, platform.name, exc)
        await _log(ctx, platform.name, users, unmapped, SendResult(tuple(rejected)), sent,
                   started, errcode, exc.message)  # fmt: skip
        if errcode == NOBODY_MAY_RECEIVE:
            return  # retrying cannot help; the log says what to change
        raise DeliveryFailed(
            f"{platform.label} did not take app message {ctx.job.id}: {exc.message}",
            hint=exc.hint or "The delivery is retried with backoff; see imDeliveries.",
        ) from None
    await _log(ctx, platform.name, users, unmapped, SendResult(tuple(rejected)), sent, started,
               None, None)  # fmt: skip


async def _accounts(
    conn: Connection, tenant_id: str, platform: str, users: Sequence[str]
) -> dict[str, str]:
    rows = await conn.fetch(
        "SELECT user_id::text AS user_id, platform_user_id FROM rapport.im_identities "
        "WHERE tenant_id = $1::uuid AND platform = $2 AND user_id::text = ANY($3::text[])",
        tenant_id,
        platform,
        list(users),
    )
    return {r["user_id"]: r["platform_user_id"] for r in rows}


def _absolute(link: object, base: str) -> str | None:
    """Platforms open absolute URLs only: a relative link is joined to the app's link base."""
    if not isinstance(link, str) or not link:
        return None
    if link.startswith(("https://", "http://")):
        return link
    return f"{base}/{link.lstrip('/')}" if base else None


async def _log(
    ctx: JobContext,
    platform: str,
    users: Sequence[str],
    unmapped: Sequence[str],
    result: SendResult,
    sent: int,
    started: float,
    errcode: object,
    error: str | None,
) -> None:
    await ctx.db.execute(
        """
        INSERT INTO rapport.im_deliveries (tenant_id, outbox_id, platform, attempt, recipients,
               sent, unmapped_users, rejected, errcode, error, ok, duration_ms)
        VALUES ($1::uuid, $2::uuid, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
        """,
        ctx.job.tenant_id,
        ctx.job.id,
        platform,
        ctx.job.attempt,
        len(users),
        sent,
        list(unmapped),
        list(result.rejected),
        errcode if isinstance(errcode, int) else None,
        error,
        error is None,
        int((time.monotonic() - started) * 1000),
    )


async def list_app_deliveries(
    db: Queryable, tenant_id: str, *, limit: int = 100
) -> list[AppDelivery]:
    rows = await db.fetch(
        """
        SELECT id, outbox_id::text AS outbox_id, platform, attempt, recipients, sent,
               unmapped_users, rejected, errcode, error, ok, duration_ms, attempted_at
          FROM rapport.im_deliveries WHERE tenant_id = $1::uuid
         ORDER BY attempted_at DESC, id DESC LIMIT $2
        """,
        tenant_id,
        limit,
    )
    return [
        AppDelivery(
            **{
                **dict(r),
                "unmapped_users": tuple(r["unmapped_users"]),
                "rejected": tuple(r["rejected"]),
            }
        )
        for r in rows
    ]
