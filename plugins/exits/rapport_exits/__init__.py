"""Rapport plug-in ``exits``: separations, handover, exit interviews and the analysis of reasons.

A separation (resignation, dismissal, mutual agreement, contract expiry, retirement) is checked
when it is recorded: the notice period (LCL art. 37: 30 days, 3 in probation; art. 40: 30 days
or a month's pay in lieu, :mod:`rapport_exits.notice`) and, for a dismissal or an expiry, the
protections of LCL arts. 42/45 (:mod:`rapport_exits.protections`, facts in, findings out).
Recording it schedules the exit interview, creates the handover checklist as ``core/task``
records and pushes the exit questionnaire to the leaver (:mod:`rapport_exits.scheduling`,
:mod:`rapport_exits.questionnaire`). Reasons are analysed by department and period with small
groups suppressed in SQL (:mod:`rapport_exits.analysis`).
"""

from __future__ import annotations

from rapport.plugins import PluginSpec
from rapport_exits.hooks import ExitHooks

__all__ = ["plugin"]

plugin = PluginSpec(
    name="exits",
    version="1.0.0",
    package=__name__,
    description="Separations with notice checks, handover tasks, exit interviews, reason analysis.",
    requires=("org>=1,<2",),
    platform=">=0.1,<1",
    hooks=ExitHooks(),
)
