"""Rapport plug-in ``discussions``: boards, topics, replies, Q&A, moderation.

Boards (culture, benefits, …) have moderators; topics are discussions or questions; replies are
threaded one level; reactions are one of each kind per person (stored as a keyed hash);
``@name`` mentions notify the colleague (:mod:`rapport_discussions.mentions`). A question's
answer by HR or a manager is marked official and answers it; the author may accept an answer;
a question addressed to HR unanswered after the board's working days escalates to HR
management (``discussions/topic-flow``). Moderators hide, unhide, lock and unlock, and anyone
may report abuse (:mod:`rapport_discussions.moderation`). Boards may allow anonymous posts,
written by :mod:`rapport.plugins.anonymity` exactly as anonymous complaints and suggestions.
"""

from __future__ import annotations

from rapport.plugins import PluginSpec
from rapport_discussions.hooks import DiscussionHooks

__all__ = ["plugin"]

plugin = PluginSpec(
    name="discussions",
    version="1.0.0",
    package=__name__,
    description="Discussion boards and Q&A: threads, reactions, mentions, answer SLAs, moderation.",
    requires=("org>=1,<2",),
    platform=">=0.1,<1",
    hooks=DiscussionHooks(),
)
