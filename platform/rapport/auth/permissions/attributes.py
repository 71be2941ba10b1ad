"""Where ``$user.*`` comes from: an :class:`AttributeProvider`.

Row rules and filters see ``$user.id`` (the principal's subject), ``$user.roles`` and
``$user.<attribute>`` for each attribute the provider returns. The default reads the
attributes stored on the user and carried by the :class:`~rapport.principal.Principal`;
the org plug-in will supply departments and reporting lines through its own provider.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any, Protocol

from rapport.expr.variables import variables_for
from rapport.principal import Principal

__all__ = ["AttributeProvider", "PrincipalAttributes", "user_variables"]


class AttributeProvider(Protocol):
    """Supplies the ``$user.<attribute>`` values of a principal (must be cheap: it runs once
    per request that compiles an expression using ``$user``)."""

    def attributes(self, principal: Principal) -> Mapping[str, Any]: ...


class PrincipalAttributes:
    """The default: the attributes stored on the user, as the Principal carries them."""

    def attributes(self, principal: Principal) -> Mapping[str, Any]:
        return principal.attributes


DEFAULT_PROVIDER: AttributeProvider = PrincipalAttributes()


def user_variables(
    principal: Principal,
    *,
    now: dt.datetime,
    provider: AttributeProvider = DEFAULT_PROVIDER,
) -> dict[str, Any]:
    """The expression variables of ``principal``: ``user.id``, ``user.roles``, ``now`` and
    ``user.<attribute>`` for each attribute the provider returns."""
    attributes = provider.attributes(principal)
    if attributes is not principal.attributes:
        principal = dataclasses.replace(principal, attributes=attributes)
    return variables_for(principal, now=now)
