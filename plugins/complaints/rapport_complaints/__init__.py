"""Rapport plug-in ``complaints``: grievances and appeals (ERM.md: grievance handling).

A complaint or appeal with its category, description, parties involved (org employees),
evidence files (metadata and SHA-256; bytes in a :class:`~rapport_complaints.files.FileStore`),
confidentiality level, a workflow with SLAs and escalation, and the submitter's satisfaction
rating. Anonymous submission (PIPL art. 73) goes through :mod:`rapport_complaints.anonymous`.
"""

from __future__ import annotations

from rapport.plugins import PluginSpec
from rapport_complaints.hooks import ComplaintHooks

__all__ = ["plugin"]

plugin = PluginSpec(
    name="complaints",
    version="1.0.0",
    package=__name__,
    description="Complaints, grievances and appeals, with anonymous submission and follow-up.",
    requires=("org>=1,<2",),
    platform=">=0.1,<1",
    hooks=ComplaintHooks(),
)
