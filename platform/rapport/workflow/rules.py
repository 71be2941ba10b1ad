"""The transition rule hook: plug-ins check a transition before it runs.

A rule (e.g. the compliance plug-in's labour-law checks) implements :class:`TransitionRule`
and is listed in the static :data:`RULES` tuple. It runs inside the transition's transaction,
after the engine's own checks, and answers with a :class:`RuleVerdict`: reasons block the
transition (they are reported together with the engine's own reasons), warnings are returned
to the caller with the successful result.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from rapport.db.database import Connection
from rapport.metadata.ir import EntityDef
from rapport.workflow.context import WorkflowContext
from rapport.workflow.document import Transition, Workflow

__all__ = ["RULES", "RuleVerdict", "TransitionCheck", "TransitionRule"]


@dataclass(frozen=True, slots=True)
class TransitionCheck:
    """The transition about to run: the record is locked and as stored before it."""

    context: WorkflowContext
    workflow: Workflow
    entity: EntityDef
    transition: Transition
    record: Mapping[str, Any]
    comment: str | None


@dataclass(frozen=True, slots=True)
class RuleVerdict:
    blocks: tuple[str, ...] = ()  # reasons that refuse the transition
    warnings: tuple[str, ...] = ()  # returned to the caller; the transition still runs


class TransitionRule(Protocol):
    """One rule; ``name`` prefixes its reasons so an admin knows which rule spoke."""

    @property
    def name(self) -> str: ...

    async def check(self, conn: Connection, check: TransitionCheck) -> RuleVerdict: ...


# Every installed rule, in the order they run. Static: plug-ins are added here, not at run time.
RULES: tuple[TransitionRule, ...] = ()
