"""Pushing the exit questionnaire to the leaver, behind one small seam.

:class:`QuestionnairePush` is what scheduling calls: given the leaver and the interview it
delivers a questionnaire and answers what it pushed (stored on the interview as
``questionnaireForm``). Today :class:`FormQuestionnaire` sends the form ``exits/questionnaire``
through the notification channels (in-app, plus each leaver's preferred channels: email, WeCom,
DingTalk); the surveys plug-in can provide another implementation (a survey with its own
anonymity and reminders) and :func:`questionnaire_push` will choose it, without any change to
scheduling.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from rapport.composition import KERNEL
from rapport.db.database import Connection
from rapport.db.tenants import Tenant
from rapport.metadata.bundle import TenantMetadata
from rapport.notify import notify

__all__ = ["FORM", "FormQuestionnaire", "PushTarget", "QuestionnairePush", "questionnaire_push"]

FORM = "exits/questionnaire"


@dataclass(frozen=True, slots=True)
class PushTarget:
    tenant: Tenant
    metadata: TenantMetadata
    user_id: str  # the leaver's platform user
    interview_id: str
    last_working_day: str


class QuestionnairePush(Protocol):
    async def push(self, conn: Connection, target: PushTarget) -> str:
        """Deliver the questionnaire in ``conn``'s transaction; answer its reference."""
        ...


class FormQuestionnaire:
    """The form ``exits/questionnaire``, announced through the notification channels."""

    async def push(self, conn: Connection, target: PushTarget) -> str:
        await notify(
            conn,
            tenant_id=target.tenant.id,
            recipients=[target.user_id],
            title="请填写离职问卷 / Please answer the exit questionnaire",
            body=(
                f"感谢您的付出。请在最后工作日（{target.last_working_day}）前填写离职问卷，"
                "直属上级不会看到您的答卷。 / Thank you for your work with us. Please answer "
                f"the exit questionnaire before your last day ({target.last_working_day}); your "
                "line manager will not see your answers."
            ),
            link=f"forms/{FORM}?interview={target.interview_id}",
            metadata=(target.tenant, target.metadata),
            participants=KERNEL.participants,
        )
        return FORM


def questionnaire_push(metadata: TenantMetadata) -> QuestionnairePush:
    """The push for this tenant: the form, until a survey implementation is available."""
    return FormQuestionnaire()
