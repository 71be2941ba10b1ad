"""Rapport plug-in ``announcements``: targeted announcements with read receipts.

An announcement (title, body, translations, attachments (``announcement_attachment``), pinned,
must-acknowledge) moves draft → scheduled → published → archived
(``announcements/announcement-flow``; a scheduled one publishes itself at ``publishAt``).
Publishing resolves the audience — roles, departments with every department below them,
projects, employees, minus exclusions (:mod:`rapport_org.audience`) — and stores it as
one receipt per recipient (:mod:`rapport_announcements.publishing`); an audience of nobody is
refused. Receipts record reading and acknowledging with times; who has not read after N working
days is reminded (``announcements/receipt-flow`` timers). Editing a published announcement
starts a new revision and keeps the old receipts. Statistics per department:
:mod:`rapport_announcements.statistics`.
"""

from __future__ import annotations

from rapport.plugins import PluginSpec
from rapport_announcements.hooks import AnnouncementHooks

__all__ = ["plugin"]

plugin = PluginSpec(
    name="announcements",
    version="1.0.0",
    package=__name__,
    description="Targeted announcements: audiences, read receipts, acknowledgements, reminders.",
    requires=("org>=1,<2",),
    platform=">=0.1,<1",
    hooks=AnnouncementHooks(),
)
