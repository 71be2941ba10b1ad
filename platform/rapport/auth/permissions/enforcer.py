"""casbin decides role × entity × action (RBAC with domains, domain = tenant).

The policy lines are ``p, <role>, <tenant>, <entity>, <action>`` — one per action of each
permission document; ``transition:*`` grants every transition. A :class:`casbin.FastEnforcer`
filters the policy by (role, tenant) before matching. The tenant runtime asks it once per
(role set, entity, action) and caches the answer (:mod:`rapport.auth.permissions.compiled`):
authorization never runs per row or per field.
"""

from __future__ import annotations

from collections.abc import Iterable

import casbin
from casbin.model import FastModel

from rapport.auth.permissions.rules import Rule

__all__ = ["MODEL", "build_enforcer"]

MODEL = """
[request_definition]
r = sub, dom, obj, act

[policy_definition]
p = sub, dom, obj, act

[role_definition]
g = _, _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = r.sub == p.sub && r.dom == p.dom && r.obj == p.obj && (r.act == p.act || p.act == "transition:*" && keyMatch(r.act, p.act))
"""

# Policy fields the FastEnforcer pre-filters on: subject (role) and domain (tenant).
_CACHE_KEY_ORDER = (0, 1)


def build_enforcer(rules: Iterable[Rule], domain: str) -> casbin.FastEnforcer:
    """An enforcer holding every rule's actions in ``domain`` (the tenant's slug)."""
    model = FastModel(list(_CACHE_KEY_ORDER))
    model.load_model_from_text(MODEL)
    enforcer = casbin.FastEnforcer(model, None, cache_key_order=list(_CACHE_KEY_ORDER))
    lines = sorted(
        {(rule.role, domain, rule.entity, action) for rule in rules for action in rule.actions}
    )
    if lines:
        enforcer.add_policies([list(line) for line in lines])
    return enforcer
