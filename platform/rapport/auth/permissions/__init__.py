"""Permissions (DESIGN.md D7): permission documents compiled once per tenant version.

casbin (RBAC with domains, domain = tenant) decides role × entity × action; row rules and
field rules compile to SQL that every read path pushes into its one statement; the
:class:`~rapport.auth.permissions.participant.PermissionParticipant` checks every write (import
it from its module: it depends on the record writer, which depends on this package's compiler).
"""

from __future__ import annotations

from rapport.auth.permissions.access import Access, access_for, authorize, read_policy
from rapport.auth.permissions.attributes import (
    AttributeProvider,
    PrincipalAttributes,
    user_variables,
)
from rapport.auth.permissions.compiled import Permissions, compile_permissions
from rapport.auth.permissions.policy import MASK_TEXT, FieldAccess, ReadPolicy, WritePolicy
from rapport.auth.permissions.rules import Rule

__all__ = [
    "MASK_TEXT",
    "Access",
    "AttributeProvider",
    "FieldAccess",
    "Permissions",
    "PrincipalAttributes",
    "ReadPolicy",
    "Rule",
    "WritePolicy",
    "access_for",
    "authorize",
    "compile_permissions",
    "read_policy",
    "user_variables",
]
