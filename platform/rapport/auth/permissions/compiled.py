"""A tenant version's compiled permissions: rules, the casbin enforcer, cached policies.

Built once per tenant metadata version by :func:`compile_permissions` (the permission document
kind's compile step, :mod:`rapport.auth.permissions.kind`) and frozen; the caches inside fill on
first use per (role set, entity, action) — a handful of entries per tenant version — so requests
only look policies up.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

from rapport.auth.permissions.computed import restrict_computed
from rapport.auth.permissions.enforcer import build_enforcer
from rapport.auth.permissions.policy import (
    ReadPolicy,
    WritePolicy,
    read_policy_of,
    write_policy_of,
)
from rapport.auth.permissions.rules import Rule, compile_rules
from rapport.errors import MetadataProblem
from rapport.metadata.documents import Document
from rapport.metadata.ir import EntityDef, Model

if TYPE_CHECKING:
    import casbin

__all__ = ["Permissions", "compile_permissions"]

Roles = frozenset[str]


@dataclass(frozen=True, slots=True)
class Permissions:
    """Every permission rule of one tenant version, by entity."""

    rules: tuple[Rule, ...] = ()
    # The model the rules were compiled against: computed fields' expressions are read in it.
    model: Model | None = None
    by_entity: Mapping[str, tuple[Rule, ...]] = field(default_factory=lambda: MappingProxyType({}))
    # Filled lazily; the object itself never changes meaning.
    _enforcers: dict[str, casbin.FastEnforcer] = field(default_factory=dict, compare=False)
    _decisions: dict[tuple[str, Roles, str, str], bool] = field(default_factory=dict, compare=False)
    _reads: dict[tuple[str, Roles, str, str], ReadPolicy] = field(
        default_factory=dict, compare=False
    )
    _writes: dict[tuple[str, Roles, str, str], WritePolicy] = field(
        default_factory=dict, compare=False
    )

    def enforcer(self, domain: str) -> casbin.FastEnforcer:
        found = self._enforcers.get(domain)
        if found is None:
            found = build_enforcer(self.rules, domain)
            self._enforcers[domain] = found
        return found

    def allows(self, domain: str, roles: Roles, entity: str, action: str) -> bool:
        """casbin's decision for any of ``roles`` (cached per role set)."""
        key = (domain, roles, entity, action)
        found = self._decisions.get(key)
        if found is None:
            enforcer = self.enforcer(domain)
            found = any(enforcer.enforce(role, domain, entity, action) for role in sorted(roles))
            self._decisions[key] = found
        return found

    def _granting(self, domain: str, roles: Roles, entity: str, action: str) -> list[Rule]:
        """The rules of ``roles`` on ``entity`` that carry ``action`` — for the roles casbin
        allows it to."""
        enforcer = self.enforcer(domain)
        allowed = {r for r in roles if enforcer.enforce(r, domain, entity, action)}
        return [r for r in self.by_entity.get(entity, ()) if r.role in allowed and r.allows(action)]

    def read_policy(self, domain: str, roles: Roles, entity: EntityDef, action: str) -> ReadPolicy:
        key = (domain, roles, entity.id, action)
        found = self._reads.get(key)
        if found is None:
            found = self._base_read(domain, roles, entity, action)
            if self.model is not None:
                model = self.model

                def related(target: EntityDef) -> ReadPolicy:
                    return self._base_read(domain, roles, target, "read")

                found = restrict_computed(found, model, related)
            self._reads[key] = found
        return found

    def _base_read(self, domain: str, roles: Roles, entity: EntityDef, action: str) -> ReadPolicy:
        """The policy as the rules grant it, before computed fields are narrowed."""
        return read_policy_of(entity, action, self._granting(domain, roles, entity.id, action))

    def write_policy(
        self, domain: str, roles: Roles, entity: EntityDef, action: str
    ) -> WritePolicy:
        key = (domain, roles, entity.id, action)
        found = self._writes.get(key)
        if found is None:
            rules = self._granting(domain, roles, entity.id, action)
            found = write_policy_of(entity, action, rules)
            self._writes[key] = found
        return found


def compile_permissions(
    documents: Iterable[Document],
    model: Model,
    transitions: Mapping[str, frozenset[str]] | None = None,
) -> tuple[Permissions, list[MetadataProblem]]:
    """The compiled permissions and every problem of every permission document
    (``transitions``: each workflow-governed entity's transition names)."""
    rules, problems = compile_rules(documents, model, transitions)
    by_entity: dict[str, list[Rule]] = {}
    for rule in rules:
        by_entity.setdefault(rule.entity, []).append(rule)
    permissions = Permissions(
        rules=rules,
        model=model,
        by_entity=MappingProxyType({k: tuple(v) for k, v in by_entity.items()}),
    )
    return permissions, problems
