"""The complaints plug-in's hooks: rules every write of a complaint obeys, whatever path."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rapport.db.database import Connection
from rapport.errors import FieldError, ValidationFailed
from rapport.plugins import Hooks
from rapport.records.change import PendingChange

if TYPE_CHECKING:
    from rapport.graphql.contributions import Contributor

__all__ = ["ComplaintHooks"]


class ComplaintHooks(Hooks):
    async def before_create(self, conn: Connection, change: PendingChange) -> PendingChange:
        if change.entity.id != "complaints/complaint":
            return change
        # An anonymous complaint must not name its submitter, whoever writes it.
        if change.input.get("anonymous") and change.input.get("submitterId") is not None:
            raise ValidationFailed(
                [
                    FieldError(
                        (*change.path, "submitterId"), "an anonymous complaint has no submitter"
                    )
                ],
                hint="Leave submitterId empty, or submit the complaint with your name.",
            )
        return change

    def public_fields(self) -> frozenset[str]:
        # The anonymous path needs no login: a login would be the identity it must not keep.
        return frozenset(
            {
                "submitAnonymousComplaint",
                "anonymousComplaintStatus",
                "addAnonymousComplaintInformation",
                "rateAnonymousComplaint",
            }
        )

    def graphql(self) -> tuple[Contributor, ...]:
        # Imported here: the GraphQL layer imports the plug-in registry, which imports us.
        from rapport_complaints.graphql import contribute

        return (contribute,)
