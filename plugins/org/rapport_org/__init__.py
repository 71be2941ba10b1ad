"""Rapport plug-in ``org``: the organisation every ERM module builds on.

Employees, departments (a tree), positions, projects and memberships, reporting lines (line
manager, HR business partner), employment status and dates, and the link from an employee to
the platform user who signs in. Permission rules see ``$user.employee``,
``$user.departments`` and ``$user.managedEmployees`` (see :mod:`rapport_org.hooks`).
"""

from __future__ import annotations

from rapport.plugins import PluginSpec
from rapport_org.hooks import OrgHooks

__all__ = ["plugin"]

plugin = PluginSpec(
    name="org",
    version="1.0.0",
    package=__name__,
    description="Employees, departments, positions, projects and reporting lines.",
    platform=">=0.1,<1",
    hooks=OrgHooks(),
)
