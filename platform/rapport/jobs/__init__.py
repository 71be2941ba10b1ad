"""Background jobs (DESIGN.md D9): the transactional outbox, its dispatcher, the arq worker."""

from __future__ import annotations

from rapport.jobs.outbox import enqueue

__all__ = ["enqueue"]
