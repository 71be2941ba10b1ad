"""Answering a wave: checked like a form, then kept apart from the one who answered.

In one transaction, for the signed-in invitee: their participation is locked (no invitation,
or already answered: refused), the wave must be open, and the answers must pass the survey's
compiled form (rules, types, required questions: every problem named, nothing written). Then
the participation moves to ``answered`` and:

- **anonymous** campaigns: the answers, the wave, and the department and tenure band taken at
  invitation are *held* (:func:`rapport.plugins.held.hold_anonymous`, batch = the wave, minimum
  = the campaign's k1, deadline = the wave's close). The response record is written later by
  the release, in a shuffled batch, as the principal ``anonymous`` with day-coarse times — in
  another transaction than the participation, so no ``xmin``, time, sequence or order joins
  them, and nothing of the caller (user, session, address) is stored anywhere with it;
- **confidential** campaigns: the response is written at once with its respondent; no role
  may read that field, and the analysis obeys the same thresholds.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from rapport.db.database import Connection
from rapport.errors import FieldError, Forbidden, NotFound, ValidationFailed
from rapport.naming import qualified
from rapport.plugins.held import hold_anonymous
from rapport.principal import Principal
from rapport_surveys.builder import compile_definition
from rapport_surveys.waves import PARTICIPATION, RESPONSE, System

__all__ = ["Submitted", "load_wave", "submit"]


@dataclass(frozen=True, slots=True)
class Submitted:
    mode: str
    released_by: dt.datetime  # anonymous: the latest the answers are stored and counted


async def load_wave(conn: Connection, schema: str, wave_id: str) -> Any:
    row = await conn.fetchrow(
        f"SELECT w.id::text AS id, w.status, w.opens_at, w.closes_at, c.id::text AS campaign,"
        f" c.mode, c.min_responses, s.definition"
        f" FROM {qualified(schema, 'surveys_wave')} AS w"
        f" JOIN {qualified(schema, 'surveys_campaign')} AS c ON c.id = w.campaign_id"
        f" JOIN {qualified(schema, 'surveys_survey')} AS s ON s.id = c.survey_id"
        " WHERE w.id = $1::uuid",
        wave_id,
    )
    if row is None:
        raise NotFound(f"There is no survey wave {wave_id}.", hint="Open the link you were sent.")
    return row


async def submit(
    conn: Connection, system: System, principal: Principal, wave_id: str, answers: Any
) -> Submitted:
    schema = system.tenant.schema
    wave = await load_wave(conn, schema, wave_id)
    participation = await conn.fetchrow(
        f"SELECT id::text AS id, status, employee_id::text AS employee,"
        f" department_id::text AS department, tenure_band"
        f" FROM {qualified(schema, 'surveys_participation')}"
        " WHERE wave_id = $1::uuid AND user_id = $2 FOR UPDATE",
        wave_id,
        principal.subject,
    )
    if participation is None:
        raise Forbidden(
            "You are not invited to this survey wave.",
            hint="Only the people a campaign was sent to can answer it.",
        )
    if participation["status"] == "answered":
        raise ValidationFailed(
            [FieldError(("waveId",), "you have already answered this wave", "ALREADY_ANSWERED")],
            hint="Each invitee answers a wave once; answers cannot be changed afterwards.",
        )
    now = dt.datetime.now(dt.UTC)
    if wave["status"] != "open" or now >= wave["closes_at"]:
        raise ValidationFailed(
            [FieldError(("waveId",), f"the wave is {wave['status']}", "WAVE_NOT_OPEN")],
            hint="Answers are accepted only while the wave is open.",
        )
    survey = compile_definition(_json(wave["definition"]))
    errors = survey.validator.validate(answers, path_prefix=("answers",))
    if errors:
        raise ValidationFailed(errors, hint="Fix the answers named; nothing was stored.")
    await system.transition(conn, PARTICIPATION, participation["id"], "answer")
    input: dict[str, Any] = {
        "waveId": wave_id,
        "answers": dict(answers),
        "tenureBand": participation["tenure_band"] or "unknown",
    }
    if participation["department"]:
        input["departmentId"] = participation["department"]
    if wave["mode"] == "confidential":
        await system.writer.create(
            conn,
            system.entity(RESPONSE),
            {**input, "respondentId": participation["employee"]},
            principal=system.principal,
            via="surveys",
        )
        return Submitted("confidential", now)
    await hold_anonymous(
        conn,
        system.writer,
        system.entity(RESPONSE),
        input,
        batch=f"wave:{wave_id}",
        minimum=int(wave["min_responses"] or 5),
        release_by=wave["closes_at"],
    )
    return Submitted("anonymous", wave["closes_at"])


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value
