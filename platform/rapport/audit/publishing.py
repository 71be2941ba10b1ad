"""The audit log's part in a publish: one entry per published metadata version.

Declared as a publish participant (entry point ``audit-evidence``), so the entry is appended inside
the publish transaction: the version and its evidence commit together or not at all (D4/D8).
"""

from __future__ import annotations

from rapport.audit.log import append_entry
from rapport.db.database import Connection
from rapport.metadata.publishing import Publication, PublishParticipant

__all__ = ["PUBLISH_EVIDENCE", "PublishEvidence"]


class PublishEvidence(PublishParticipant):
    """Appends ``metadata.publish`` to the tenant's log: what was published, by whom, how."""

    async def published(self, conn: Connection, publication: Publication) -> None:
        await append_entry(
            conn,
            tenant_id=publication.tenant.id,
            actor=publication.actor,
            action="metadata.publish",
            data={
                "version": publication.version,
                "note": publication.note,
                "documents": publication.digest,
                "kinds": sorted(
                    {d.kind.value for d in publication.documents if d.source != "kernel"}
                ),
                "steps": [s.summary for s in publication.plan.steps],
                "destructive": len(publication.plan.destructive_steps),
            },
        )


PUBLISH_EVIDENCE = PublishEvidence()
