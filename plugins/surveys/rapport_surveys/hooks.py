"""The surveys plug-in's hooks: checks on surveys and campaigns, and the life of waves.

A survey's definition is compiled as a form document on every write (problems refused with
their paths). A campaign is checked (dates, k2 ≥ k1) and, once launched, its privacy mode,
survey and thresholds are frozen — results already shown under k1 must not be re-cut under a
smaller one. Launching resolves the audience (nobody: refused, nothing written) and starts the
first wave; a wave opening invites, a wave closing releases its held answers and, for a
recurring campaign, enqueues the next wave (:mod:`rapport_surveys.waves`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rapport_org.audience import resolve_audience

from rapport.db.database import Connection
from rapport.errors import FieldError, ValidationFailed
from rapport.naming import qualified
from rapport.plugins import Hooks
from rapport.plugins.held import release_now
from rapport.plugins.jobs import enqueue_job
from rapport.records.change import Change, PendingChange
from rapport_surveys.builder import compile_definition
from rapport_surveys.waves import CAMPAIGN, RESPONSE, WAVE, System, invite, start_first_wave

if TYPE_CHECKING:
    from rapport.graphql.contributions import Contributor

__all__ = ["SurveyHooks"]

SURVEY, LIBRARY = "surveys/survey", "surveys/library_question"
FROZEN = ("mode", "surveyId", "minResponses", "minComments")


class SurveyHooks(Hooks):
    async def before_create(self, conn: Connection, change: PendingChange) -> PendingChange:
        entity = change.entity.id
        if entity == SURVEY:
            compile_definition(_json(change.input.get("definition")))
        elif entity == LIBRARY:
            question = _json(change.input.get("question"))
            key = change.input.get("key")
            compile_definition({"questions": [{**(question or {}), "key": key}]})
        elif entity == CAMPAIGN:
            _check_campaign(change, {})
        return change

    async def before_update(self, conn: Connection, change: PendingChange) -> PendingChange:
        entity, before, input = change.entity.id, change.before or {}, change.input
        if entity == SURVEY and "definition" in input:
            compile_definition(_json(input["definition"]))
            used = await conn.fetchval(
                f"SELECT count(*) FROM {qualified(change.tenant.schema, 'surveys_campaign')}"
                " WHERE survey_id = $1::uuid AND status <> 'draft'",
                change.record_id,
            )
            if used:
                raise ValidationFailed(
                    [FieldError((*change.path, "definition"), "a launched campaign uses it")],
                    hint="Results compare answers to the same questions: copy the survey and "
                    "change the copy.",
                )
        elif entity == CAMPAIGN:
            _check_campaign(change, before)
            if input.get("status") == "active" and before.get("status") == "draft":
                await _check_launch(conn, change, {**before, **input})
        return change

    async def after_update(self, conn: Connection, change: Change) -> None:
        if change.before is None or change.after is None:
            return
        entity, before, after = change.entity.id, change.before, change.after
        if after.get("status") == before.get("status"):
            return
        system = System(change.tenant, change.metadata)
        if entity == CAMPAIGN and after.get("status") == "active":
            await start_first_wave(conn, system, after)
        elif entity == WAVE and after.get("status") == "open":
            await invite(conn, system, after)
        elif entity == WAVE and after.get("status") == "closed":
            await release_now(conn, change.tenant.id, RESPONSE, f"wave:{change.record_id}")
            from rapport_surveys import plugin  # the spec, for its declared job

            await enqueue_job(
                conn,
                plugin,
                "next_wave",
                tenant_id=change.tenant.id,
                payload={"wave": change.record_id},
                dedupe_key=f"surveys.next_wave:{change.record_id}",
            )

    def graphql(self) -> tuple[Contributor, ...]:
        # Imported here: the GraphQL layer imports the plug-in registry, which imports us.
        from rapport_surveys.graphql import contribute

        return (contribute,)


def _check_campaign(change: PendingChange, before: Mapping[str, Any]) -> None:
    merged = {**before, **change.input}
    errors: list[FieldError] = []
    opens, closes = _time(merged.get("opensAt")), _time(merged.get("closesAt"))
    if opens and closes and closes <= opens:
        errors.append(FieldError((*change.path, "closesAt"), "must be after opensAt"))
    k1, k2 = int(merged.get("minResponses") or 5), int(merged.get("minComments") or 10)
    if k2 < k1:
        errors.append(
            FieldError((*change.path, "minComments"), f"must be at least minResponses ({k1})")
        )
    if before and before.get("status") != "draft":
        for name in FROZEN:
            if name in change.input and change.input[name] != before.get(name):
                errors.append(
                    FieldError((*change.path, name), "cannot change once the campaign launched")
                )
    if errors:
        raise ValidationFailed(
            errors,
            hint="Thresholds, privacy mode and survey are fixed at launch (results already "
            "shown must not be re-cut); dates must leave the wave open for a while.",
        )


async def _check_launch(
    conn: Connection, change: PendingChange, campaign: Mapping[str, Any]
) -> None:
    errors: list[FieldError] = []
    closes = _time(campaign.get("closesAt"))
    if closes is not None and closes <= dt.datetime.now(dt.UTC):
        errors.append(FieldError((*change.path, "closesAt"), "is in the past"))
    invitees = await resolve_audience(conn, change.tenant, _json(campaign.get("audience")))
    if not invitees:
        errors.append(FieldError((*change.path, "audience"), "the audience resolves to nobody"))
    if errors:
        raise ValidationFailed(
            errors,
            hint="Give a closing time in the future and an audience of people who can sign "
            "in (roles, departments, projects, employees, tenure bands), then launch again.",
        )


def _time(value: Any) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value))


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value
