"""The compiled form of workflow documents: frozen, shared by every request of a tenant version."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from enum import StrEnum
from types import MappingProxyType

from rapport.expr.ast import Expr
from rapport.metadata.ir import JsonValue

__all__ = [
    "Approval",
    "ApprovalMode",
    "Calendar",
    "Effect",
    "Reminder",
    "StateDef",
    "Timer",
    "Transition",
    "Workflow",
    "WorkflowSet",
]


class ApprovalMode(StrEnum):
    ALL = "all"  # every approver slot approves (parallel)
    ANY = "any"  # the first approval suffices
    SEQUENTIAL = "sequential"  # slots decide one after the other, in order
    QUORUM = "quorum"  # n of the m slots


class Calendar(StrEnum):
    """How working days are counted when a duration says ``workingDays``."""

    CN = "cn"  # PRC statutory holidays and 调休 make-up workdays (chinesecalendar)
    WEEKDAYS = "weekdays"  # Monday to Friday, no holiday calendar


@dataclass(frozen=True, slots=True)
class Effect:
    """One effect: ``kind`` is set | create | notify | webhook | enqueue; ``value`` as written."""

    kind: str
    value: JsonValue


@dataclass(frozen=True, slots=True)
class Reminder:
    before: dt.timedelta  # fire this long before the breach
    effects: tuple[Effect, ...]


@dataclass(frozen=True, slots=True)
class StateDef:
    name: str
    sla: dt.timedelta | None = None  # calendar time, or working days when working_days
    working_days: int | None = None  # an SLA counted in working days (then sla is None)
    on_breach: tuple[Effect, ...] = ()
    remind: tuple[Reminder, ...] = ()
    final: bool = False
    editable: tuple[str, ...] | None = None  # None: every writable field


@dataclass(frozen=True, slots=True)
class Approval:
    by: tuple[str, ...]  # "role:x", "$record.a.b", or a literal user id
    mode: ApprovalMode
    quorum: int
    allow_self: bool = False


@dataclass(frozen=True, slots=True)
class Transition:
    name: str
    sources: tuple[str, ...]  # from-states
    target: str
    roles: tuple[str, ...] = ()  # empty: any authenticated user of the tenant
    guard: Expr | None = None
    requires: tuple[str, ...] = ()  # fields that must hold a value after the transition
    effects: tuple[Effect, ...] = ()
    approval: Approval | None = None


@dataclass(frozen=True, slots=True)
class Timer:
    """A date-based timer: fires ``offset`` before (negative: after) the date in ``field``."""

    name: str
    field: str
    offset: dt.timedelta  # subtracted from the date: "before": "P30D" -> 30 days
    effects: tuple[Effect, ...]
    states: tuple[str, ...] = ()  # only armed while the record is in one of these; () = any


@dataclass(frozen=True, slots=True)
class Workflow:
    id: str
    entity: str
    field: str
    initial: str
    states: Mapping[str, StateDef]
    transitions: tuple[Transition, ...]
    timers: tuple[Timer, ...] = ()
    calendar: Calendar = Calendar.CN
    state_map: Mapping[str, str] = dataclass_field(default_factory=lambda: MappingProxyType({}))

    def transition(self, name: str) -> Transition | None:
        return next((t for t in self.transitions if t.name == name), None)


@dataclass(frozen=True, slots=True)
class WorkflowSet:
    """Every compiled workflow of a tenant version, by id and by the entity it governs."""

    workflows: tuple[Workflow, ...] = ()

    def for_entity(self, entity_id: str) -> Workflow | None:
        return next((w for w in self.workflows if w.entity == entity_id), None)

    def by_id(self, workflow_id: str) -> Workflow | None:
        return next((w for w in self.workflows if w.id == workflow_id), None)
