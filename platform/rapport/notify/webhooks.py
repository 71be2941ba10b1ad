"""Outbound webhooks: tenant subscriptions to events, signed deliveries, a delivery log.

An event (``entity.create|update|delete`` from every record write, ``workflow.transition``,
``notification.created``) is an outbox job whose handler, :func:`fan_out`, writes one
``webhook.deliver`` outbox row per matching subscription — in its processed transaction, so
the fan-out happens once. Each delivery is its own job: retried with backoff until the receiver
answers 2xx, every attempt logged in ``rapport.webhook_deliveries`` (outside the job's
transaction, so failed attempts stay visible).

Formats: ``rapport`` (JSON event, ``X-Rapport-Signature: t=…,v1=HMAC-SHA256(secret,
"t." + body)``, see :mod:`rapport.notify.signing`), ``wecom`` and ``dingtalk`` (group robots,
a markdown summary; DingTalk calls are signed). Receivers dedupe on ``X-Rapport-Delivery``:
delivery is at least once.
"""

from __future__ import annotations

import fnmatch
import json
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from rapport.db.tenants import Queryable
from rapport.errors import DeliveryFailed, FieldError, NotFound, ValidationFailed
from rapport.jobs.context import JobContext
from rapport.jobs.outbox import enqueue
from rapport.notify import dingtalk, wecom
from rapport.notify.signing import SIGNATURE_HEADER, sign

__all__ = [
    "FORMATS",
    "Delivery",
    "Subscription",
    "create_subscription",
    "delete_subscription",
    "deliver",
    "fan_out",
    "list_deliveries",
    "list_subscriptions",
]

FORMATS = ("rapport", "wecom", "dingtalk")


@dataclass(frozen=True, slots=True)
class Subscription:
    id: str
    url: str
    format: str
    events: tuple[str, ...]
    entities: tuple[str, ...]
    active: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    subscription_id: str
    outbox_id: str
    topic: str
    attempt: int
    status_code: int | None
    error: str | None
    ok: bool
    duration_ms: int
    attempted_at: datetime


# --- managing subscriptions ----------------------------------------------------------------------


async def create_subscription(
    db: Queryable,
    *,
    tenant_id: str,
    url: str,
    events: Sequence[str],
    entities: Sequence[str] = (),
    format: str = "rapport",
    secret: str | None = None,
    actor: str | None = None,
) -> tuple[Subscription, str]:
    """Store a subscription; return it with its signing secret (shown to the admin once).

    For ``rapport`` a secret is generated unless given; for ``dingtalk`` it is the robot's
    加签 secret (may be empty); ``wecom`` robots need none (the key is in the URL).
    """
    problems: list[FieldError] = []
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        problems.append(FieldError(("url",), "must be an absolute http(s) URL"))
    if format not in FORMATS:
        problems.append(FieldError(("format",), f"must be one of {', '.join(FORMATS)}"))
    if not events or any(not e.strip() for e in events):
        problems.append(FieldError(("events",), "name at least one event, e.g. entity.*"))
    if problems:
        raise ValidationFailed(problems)
    if secret is None:
        secret = secrets.token_hex(32) if format == "rapport" else ""
    row = await db.fetchrow(
        """
        INSERT INTO rapport.webhook_subscriptions
               (tenant_id, url, format, secret, events, entities, created_by)
        VALUES ($1::uuid, $2, $3, $4, $5, $6, $7)
        RETURNING id::text AS id, url, format, events, entities, active, created_at
        """,
        tenant_id,
        url,
        format,
        secret,
        list(events),
        list(entities),
        actor,
    )
    if row is None:  # pragma: no cover - INSERT … RETURNING always returns the row
        raise RuntimeError("the subscription was not stored")
    return _subscription(row), secret


async def list_subscriptions(db: Queryable, tenant_id: str) -> list[Subscription]:
    rows = await db.fetch(
        "SELECT id::text AS id, url, format, events, entities, active, created_at "
        "FROM rapport.webhook_subscriptions WHERE tenant_id = $1::uuid ORDER BY created_at",
        tenant_id,
    )
    return [_subscription(r) for r in rows]


async def delete_subscription(db: Queryable, tenant_id: str, subscription_id: str) -> None:
    status = await db.execute(
        "DELETE FROM rapport.webhook_subscriptions WHERE tenant_id = $1::uuid AND id::text = $2",
        tenant_id,
        subscription_id,
    )
    if status.endswith(" 0"):
        raise NotFound(
            f"There is no webhook subscription {subscription_id!r} in this tenant.",
            hint="List them with the webhookSubscriptions query.",
        )


async def list_deliveries(
    db: Queryable, tenant_id: str, subscription_id: str | None = None, *, limit: int = 100
) -> list[Delivery]:
    rows = await db.fetch(
        """
        SELECT d.id, d.subscription_id::text AS subscription_id, d.outbox_id::text AS outbox_id,
               d.topic, d.attempt, d.status_code, d.error, d.ok, d.duration_ms, d.attempted_at
          FROM rapport.webhook_deliveries d
          JOIN rapport.webhook_subscriptions s ON s.id = d.subscription_id
         WHERE s.tenant_id = $1::uuid AND ($2::text IS NULL OR s.id::text = $2)
         ORDER BY d.attempted_at DESC, d.id DESC
         LIMIT $3
        """,
        tenant_id,
        subscription_id,
        limit,
    )
    return [Delivery(**dict(r)) for r in rows]


def _subscription(row: Any) -> Subscription:
    return Subscription(
        id=row["id"],
        url=row["url"],
        format=row["format"],
        events=tuple(row["events"]),
        entities=tuple(row["entities"]),
        active=row["active"],
        created_at=row["created_at"],
    )


# --- job handlers --------------------------------------------------------------------------------


async def fan_out(ctx: JobContext, payload: Mapping[str, Any]) -> None:
    """One ``webhook.deliver`` job per subscription that wants this event."""
    topic = ctx.job.topic
    entity = payload.get("entity")
    formats = payload.get("formats")  # notification.created: only the requested robot kinds
    rows = await ctx.conn.fetch(
        "SELECT id::text AS id, format, events, entities FROM rapport.webhook_subscriptions "
        "WHERE tenant_id = $1::uuid AND active",
        ctx.job.tenant_id,
    )
    event = {
        "id": ctx.job.id,
        "topic": topic,
        "tenantId": ctx.job.tenant_id,
        "data": dict(payload),
    }
    for row in rows:
        if not any(fnmatch.fnmatchcase(topic, pattern) for pattern in row["events"]):
            continue
        if row["entities"] and entity not in row["entities"]:
            continue
        if formats is not None and row["format"] not in formats:
            continue
        await enqueue(
            ctx.conn,
            tenant_id=ctx.job.tenant_id,
            topic="webhook.deliver",
            payload={"subscription": row["id"], "event": event},
            dedupe_key=f"{ctx.job.id}:{row['id']}",
        )


async def deliver(ctx: JobContext, payload: Mapping[str, Any]) -> None:
    """POST one event to one subscription; raise DeliveryFailed to be retried."""
    row = await ctx.conn.fetchrow(
        "SELECT id::text AS id, url, format, secret, active FROM rapport.webhook_subscriptions "
        "WHERE id::text = $1",
        payload["subscription"],
    )
    if row is None or not row["active"]:
        return  # deleted or paused since: nothing to deliver
    event: Mapping[str, Any] = payload["event"]
    url, body, headers = _request(row["format"], row["url"], row["secret"], event, ctx.job.id)
    started = time.monotonic()
    status: int | None = None
    error: str | None = None
    try:
        response = await ctx.http.post(url, content=body, headers=headers)
        status = response.status_code
        error = _refusal(row["format"], response)
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"
    duration = int((time.monotonic() - started) * 1000)
    await ctx.db.execute(
        """
        INSERT INTO rapport.webhook_deliveries
               (subscription_id, outbox_id, topic, attempt, status_code, error, ok, duration_ms)
        VALUES ($1::uuid, $2::uuid, $3, $4, $5, $6, $7, $8)
        """,
        row["id"],
        ctx.job.id,
        str(event.get("topic", "")),
        ctx.job.attempt,
        status,
        error,
        error is None,
        duration,
    )
    if error is not None:
        raise DeliveryFailed(
            f"Webhook {row['url']} refused event {event.get('id')}: {error}",
            hint="The delivery is retried with backoff; see webhookDeliveries.",
        )


def _request(
    format: str, url: str, secret: str, event: Mapping[str, Any], delivery_id: str
) -> tuple[str, bytes, dict[str, str]]:
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "Rapport"}
    if format == "rapport":
        body = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
        headers[SIGNATURE_HEADER] = sign(secret, int(time.time()), body)
        headers["X-Rapport-Event"] = str(event.get("topic", ""))
        headers["X-Rapport-Delivery"] = delivery_id
        return url, body, headers
    title, text = summary(event)
    if format == "wecom":
        return url, _json(wecom.message(title, text)), headers
    return (
        dingtalk.signed_url(url, secret, int(time.time() * 1000)),
        _json(dingtalk.message(title, text)),
        headers,
    )


def summary(event: Mapping[str, Any]) -> tuple[str, str]:
    """A human title and markdown text for robot messages."""
    data: Mapping[str, Any] = event.get("data") or {}
    if "title" in data:  # a notification
        text = str(data.get("body") or "")
        if data.get("link"):
            text += f"\n[{data['link']}]({data['link']})"
        return str(data["title"]), text
    topic = str(event.get("topic", "event"))
    lines = [
        f"- {key}: {data[key]}"
        for key in ("entity", "recordId", "actor", "transition")
        if data.get(key)
    ]
    return topic, "\n".join(lines)


def _refusal(format: str, response: httpx.Response) -> str | None:
    if not 200 <= response.status_code < 300:
        return f"HTTP {response.status_code}: {response.text[:200]}"
    if format in ("wecom", "dingtalk"):
        try:
            answer = response.json()
        except ValueError:
            return f"not a robot answer: {response.text[:200]}"
        if not isinstance(answer, dict) or answer.get("errcode") != 0:
            return f"robot error: {json.dumps(answer, ensure_ascii=False)[:200]}"
    return None


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()
