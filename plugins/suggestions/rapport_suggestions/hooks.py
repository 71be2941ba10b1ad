"""The suggestions plug-in's hooks: rules every write obeys, whatever path it comes by."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from rapport.db.database import Connection
from rapport.errors import FieldError, ValidationFailed
from rapport.plugins import Hooks
from rapport.plugins.anonymity import ANONYMOUS_VIA
from rapport.records.change import PendingChange
from rapport.workflow.calendar import add_working_days
from rapport_suggestions.settings import box_settings

if TYPE_CHECKING:
    from rapport.graphql.contributions import Contributor

__all__ = ["SuggestionHooks"]

SUGGESTION = "suggestions/suggestion"
COMMENT = "suggestions/suggestion_comment"


class SuggestionHooks(Hooks):
    async def before_create(self, conn: Connection, change: PendingChange) -> PendingChange:
        if change.entity.id == SUGGESTION:
            return _named_or_anonymous(change)
        if change.entity.id == COMMENT and change.via != ANONYMOUS_VIA:
            if change.input.get("fromSubmitter"):
                raise ValidationFailed(
                    [FieldError((*change.path, "fromSubmitter"), "set only by the follow-up code")],
                    hint="Comment as yourself; the anonymous submitter comments with the code.",
                )
            employee = change.principal.attributes.get("employee")
            if change.input.get("authorId") is None and employee:
                return change.with_input({**change.input, "authorId": employee})
        return change

    async def before_update(self, conn: Connection, change: PendingChange) -> PendingChange:
        # Accepting a suggestion without a due date gives it one, in working days.
        if (
            change.entity.id != SUGGESTION
            or change.before is None
            or change.input.get("status") != "in_progress"
            or change.before.get("dueAt") is not None
        ):
            return change
        workflow = change.metadata.workflows.for_entity(SUGGESTION)
        if workflow is None:
            return change
        settings = await box_settings(conn, change.tenant.schema)
        due = add_working_days(dt.datetime.now(dt.UTC), settings.handling_days, workflow.calendar)
        return change.with_input({**change.input, "dueAt": due.isoformat()})

    def public_fields(self) -> frozenset[str]:
        # The anonymous path needs no login: a login would be the identity it must not keep.
        return frozenset(
            {
                "submitAnonymousSuggestion",
                "anonymousSuggestionStatus",
                "commentAnonymousSuggestion",
                "attachToAnonymousSuggestion",
            }
        )

    def graphql(self) -> tuple[Contributor, ...]:
        # Imported here: the GraphQL layer imports the plug-in registry, which imports us.
        from rapport_suggestions.graphql import contribute

        return (contribute,)


def _named_or_anonymous(change: PendingChange) -> PendingChange:
    anonymous = bool(change.input.get("anonymous"))
    if anonymous and change.via != ANONYMOUS_VIA:
        raise ValidationFailed(
            [FieldError((*change.path, "anonymous"), "anonymous suggestions have their own path")],
            hint="Use submitAnonymousSuggestion: it stores nothing that links the suggestion to you.",
        )
    if anonymous and change.input.get("submitterId") is not None:
        raise ValidationFailed(
            [FieldError((*change.path, "submitterId"), "an anonymous suggestion has no submitter")],
            hint="Leave submitterId empty, or submit the suggestion with your name.",
        )
    employee = change.principal.attributes.get("employee")
    if not anonymous and change.input.get("submitterId") is None and employee:
        return change.with_input({**change.input, "submitterId": employee})
    return change
