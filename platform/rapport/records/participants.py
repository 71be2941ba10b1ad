"""The write participants every record write goes through, in this order.

Permission checks come first (refuse early), then rules that adjust the input (workflows),
then the evidence and side effects of a written change (audit log, outbox events), last.
Each capability adds its participant here; the tuple is static and frozen.
"""

from __future__ import annotations

from rapport.records.change import WriteParticipant

__all__ = ["PARTICIPANTS"]

PARTICIPANTS: tuple[WriteParticipant, ...] = ()
