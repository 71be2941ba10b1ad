"""Rapport plug-in ``discipline``: the handbook rules and disciplinary cases decided fairly.

The rules library (``discipline/handbook_rule``: code, text, severity, the sanctions allowed,
the evidence needed) is what a case is reported under. A case is investigated (evidence files,
interviews), the employee is heard (a statement before a deadline that the case cannot skip),
the decision goes through the line manager and HR management in turn (a workflow approval),
the employee may appeal within the appeal period, and the case is archived. A decided case
leaves a ``discipline/sanction`` record with its effective date and expiry; a dismissal-level
sanction is refused for a protected employee with the article cited (the check of
:mod:`rapport_exits.protections`), and a decided dismissal records the separation in ``exits``.
The rules every write obeys are in :mod:`rapport_discipline.rules`.
"""

from __future__ import annotations

from rapport.plugins import PluginSpec
from rapport_discipline.hooks import DisciplineHooks

__all__ = ["plugin"]

plugin = PluginSpec(
    name="discipline",
    version="1.0.0",
    package=__name__,
    description="Handbook rules, disciplinary cases with statements, approvals, appeals, sanctions.",
    requires=("org>=1,<2", "exits>=1,<2"),
    platform=">=0.1,<1",
    hooks=DisciplineHooks(),
)
