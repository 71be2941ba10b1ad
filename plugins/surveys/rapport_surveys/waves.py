"""Waves: a campaign's first wave at launch, invitations when a wave opens, the next pulse.

A wave opens at ``opensAt`` (the ``open-at`` timer of ``surveys/wave-flow``, or at once when
launched late) and closes at ``closesAt`` (``close-at``, or HR's ``close``). Opening resolves
the campaign's audience and writes one participation per invitee — with the reminder time, so
the participation workflow's ``remind`` timer reminds those who have not answered, and only
them — and notifies them through the notification channels (in-app plus each person's WeCom,
DingTalk or email). Closing a wave of a recurring campaign enqueues the job ``next_wave``, which
schedules the next period's wave; closing also lets the wave's held anonymous answers go out at
once (rapport.plugins.held).
"""

from __future__ import annotations

import calendar as _calendar
import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rapport_org.audience import resolve_audience

from rapport.composition import KERNEL
from rapport.crypto.sealing import KeyRingSealers
from rapport.db.database import Connection
from rapport.db.tenants import Tenant
from rapport.jobs.context import JobContext
from rapport.metadata.bundle import TenantMetadata
from rapport.metadata.lifecycle import load_published
from rapport.naming import qualified
from rapport.notify import notify
from rapport.principal import ADMIN_ROLE, Principal
from rapport.records.writer import RecordWriter
from rapport.workflow.calendar import add_working_days
from rapport.workflow.context import WorkflowContext
from rapport.workflow.document import Calendar
from rapport.workflow.engine import transition

__all__ = [
    "CAMPAIGN",
    "PARTICIPATION",
    "RESPONSE",
    "SUBJECT",
    "WAVE",
    "System",
    "invite",
    "next_wave_job",
    "start_first_wave",
]

CAMPAIGN, WAVE = "surveys/campaign", "surveys/wave"
PARTICIPATION, RESPONSE = "surveys/participation", "surveys/response"
SUBJECT = "system:surveys"
_PERIODS = {"weekly": 7, "biweekly": 14}
_MONTHS = {"monthly": 1, "quarterly": 3}


@dataclass(frozen=True, slots=True)
class System:
    """The plug-in's own writer and principal for a tenant version (bookkeeping writes)."""

    tenant: Tenant
    metadata: TenantMetadata
    writer: RecordWriter = field(init=False)
    principal: Principal = field(init=False)

    def __post_init__(self) -> None:
        writer = RecordWriter(
            self.tenant, self.metadata, participants=KERNEL.participants, sealers=KeyRingSealers()
        )
        principal = Principal(
            tenant=self.tenant.slug, subject=SUBJECT, roles=frozenset({ADMIN_ROLE})
        )
        object.__setattr__(self, "writer", writer)
        object.__setattr__(self, "principal", principal)

    def entity(self, entity_id: str) -> Any:
        return self.metadata.model.entity(entity_id)

    async def transition(self, conn: Connection, entity_id: str, record_id: str, name: str) -> None:
        context = WorkflowContext(
            self.tenant, self.metadata, self.writer, self.principal, dt.datetime.now(dt.UTC)
        )
        await transition(conn, context, self.entity(entity_id), record_id, name)


def _time(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value))


def add_period(moment: dt.datetime, recurrence: str) -> dt.datetime:
    if recurrence in _PERIODS:
        return moment + dt.timedelta(days=_PERIODS[recurrence])
    months = moment.month - 1 + _MONTHS[recurrence]
    year, month = moment.year + months // 12, months % 12 + 1
    day = min(moment.day, _calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


async def start_first_wave(conn: Connection, system: System, campaign: Mapping[str, Any]) -> str:
    return await _create_wave(
        conn, system, campaign["id"], 1, _time(campaign["opensAt"]), _time(campaign["closesAt"])
    )


async def _create_wave(
    conn: Connection,
    system: System,
    campaign_id: str,
    number: int,
    opens: dt.datetime,
    closes: dt.datetime,
) -> str:
    wave_id = await system.writer.create(
        conn,
        system.entity(WAVE),
        {
            "campaignId": campaign_id,
            "number": number,
            "opensAt": opens.isoformat(),
            "closesAt": closes.isoformat(),
        },
        principal=system.principal,
        via="surveys",
    )
    if opens <= dt.datetime.now(dt.UTC):  # due already: open now rather than at the next sweep
        await system.transition(conn, WAVE, wave_id, "open")
    return wave_id


async def invite(conn: Connection, system: System, wave: Mapping[str, Any]) -> int:
    """Invite the campaign's audience to an opening wave; how many were invited."""
    schema = system.tenant.schema
    campaign = await conn.fetchrow(
        f"SELECT audience, remind_after_days, title FROM {qualified(schema, 'surveys_campaign')}"
        " WHERE id = $1::uuid",
        str(wave["campaignId"]),
    )
    if campaign is None:
        return 0
    invitees = await resolve_audience(conn, system.tenant, _json(campaign["audience"]))
    now = dt.datetime.now(dt.UTC)
    workflow = system.metadata.workflows.for_entity(PARTICIPATION)
    days = int(campaign["remind_after_days"] or 3)
    remind = add_working_days(now, days, workflow.calendar if workflow else Calendar.CN)
    closes = _time(wave["closesAt"])
    if remind >= closes:  # a short pulse: remind the day before it closes
        remind = max(now, closes - dt.timedelta(days=1))
    if invitees:
        await system.writer.create_many(
            conn,
            system.entity(PARTICIPATION),
            [
                {
                    "waveId": str(wave["id"]),
                    "employeeId": i.employee_id,
                    "userId": i.user_id,
                    "tenureBand": i.tenure_band,
                    "remindAt": remind.isoformat(),
                    **({"departmentId": i.department_id} if i.department_id else {}),
                }
                for i in invitees
            ],
            principal=system.principal,
            paths=[("invitees", n) for n in range(len(invitees))],
            via="surveys",
        )
        await notify(
            conn,
            tenant_id=system.tenant.id,
            recipients=[i.user_id for i in invitees],
            title=f"调查邀请 / Survey: {campaign['title']}"[:200],
            body=(
                f"请在 {closes.date().isoformat()} 前填写。 / Please answer by "
                f"{closes.date().isoformat()}."
            ),
            link=f"surveys/waves/{wave['id']}",
            metadata=(system.tenant, system.metadata),
            participants=KERNEL.participants,
        )
    return len(invitees)


async def next_wave_job(ctx: JobContext, payload: Mapping[str, Any]) -> None:
    """Schedule the wave after ``payload["wave"]`` of a recurring, still active campaign."""
    slug = await ctx.conn.fetchval(
        "SELECT slug FROM rapport.tenants WHERE id = $1::uuid", ctx.job.tenant_id
    )
    tenant, metadata = await load_published(ctx.conn, slug)
    system = System(tenant, metadata)
    schema = tenant.schema
    row = await ctx.conn.fetchrow(
        f"SELECT w.number, w.opens_at, w.closes_at, c.id::text AS campaign, c.recurrence, c.status"
        f" FROM {qualified(schema, 'surveys_wave')} AS w"
        f" JOIN {qualified(schema, 'surveys_campaign')} AS c ON c.id = w.campaign_id"
        " WHERE w.id = $1::uuid",
        str(payload["wave"]),
    )
    if row is None or row["status"] != "active" or row["recurrence"] in (None, "none"):
        return
    exists = await ctx.conn.fetchval(
        f"SELECT 1 FROM {qualified(schema, 'surveys_wave')}"
        " WHERE campaign_id = $1::uuid AND number = $2",
        row["campaign"],
        row["number"] + 1,
    )
    if exists:  # at least once: a second run finds the wave the first one made
        return
    opens = add_period(row["opens_at"], row["recurrence"])
    closes = opens + (row["closes_at"] - row["opens_at"])
    await _create_wave(ctx.conn, system, row["campaign"], row["number"] + 1, opens, closes)


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value
