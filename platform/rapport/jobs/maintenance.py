"""Housekeeping cron jobs of the outbox itself."""

from __future__ import annotations

import logging

from rapport.jobs.context import CronContext

__all__ = ["KEEP_PROCESSED_DAYS", "prune_outbox"]

log = logging.getLogger(__name__)

KEEP_PROCESSED_DAYS = 7  # processed rows stay this long, for operators tracing an effect


async def prune_outbox(ctx: CronContext) -> None:
    """Delete outbox rows processed more than :data:`KEEP_PROCESSED_DAYS` days ago."""
    status = await ctx.db.execute(
        "DELETE FROM rapport.outbox o USING rapport.processed p "
        "WHERE p.outbox_id = o.id AND p.processed_at < now() - make_interval(days => $1)",
        KEEP_PROCESSED_DAYS,
    )
    log.info("outbox prune: %s", status)
