"""Rapport plug-in ``suggestions``: the suggestion box, each suggestion a tracked task card.

A suggestion (title, body, category, the department it concerns, named or anonymous) moves
待受理 pending → 处理中 in_progress → 已解决 resolved or 已采纳 adopted, or is rejected with a
reason (``suggestions/suggestion-flow``: a first response within 3 working days, the owner's
due date in working days, breaches escalating to ``role:hr_manager``). HR chooses its
visibility (private, department, company); employees upvote (once each, stored as a keyed hash)
and comment; anonymous submitters follow their suggestion with a code
(:mod:`rapport_suggestions.anonymous`, on the shared :mod:`rapport.plugins.anonymity`); an
adopted suggestion gets follow-up ``core/task`` records (:mod:`rapport_suggestions.tasks`);
statistics suppress groups smaller than k (:mod:`rapport_suggestions.statistics`).
"""

from __future__ import annotations

from rapport.plugins import PluginSpec
from rapport_suggestions.hooks import SuggestionHooks

__all__ = ["plugin"]

plugin = PluginSpec(
    name="suggestions",
    version="1.0.0",
    package=__name__,
    description="Suggestion box: task cards with SLAs, upvotes, anonymous follow-up, statistics.",
    requires=("org>=1,<2",),
    platform=">=0.1,<1",
    hooks=SuggestionHooks(),
)
