"""Comments (open-text answers): shown only from k2, shuffled, never narrowed below it.

The comments of one question in a wave are returned for the whole scope or one group (a
department or tenure band) only when that set holds at least k2 comments, and a group is
refused when the comments left out number fewer than k2 (the scope's comments minus the
group's would otherwise be the few). They come in random order (``ORDER BY random()``) with no
date, group or id: their order says nothing about who wrote them or when.

Sentiment and topics come from a :class:`CommentInsights`; until the insights plug-in offers
one, :class:`NoInsights` answers none (``sentiment``/``topics`` are null) and nothing else
changes — :func:`comment_insights` is the seam it will fill.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from rapport.db.database import Connection
from rapport.errors import FieldError, ValidationFailed
from rapport.metadata.bundle import TenantMetadata
from rapport_surveys.analysis import GROUP_KEYS, RESPONSE_FILTER, Scope, check_filter

__all__ = ["CommentInsights", "Insight", "NoInsights", "comment_insights", "comments"]


@dataclass(frozen=True, slots=True)
class Insight:
    sentiment: str | None  # "positive" | "neutral" | "negative"
    topics: tuple[str, ...]


class CommentInsights(Protocol):
    async def analyse(self, texts: Sequence[str]) -> list[Insight | None]: ...


class NoInsights:
    async def analyse(self, texts: Sequence[str]) -> list[Insight | None]:
        return [None for _ in texts]


def comment_insights(metadata: TenantMetadata) -> CommentInsights:
    """The tenant's comment analysis: none until the insights plug-in provides one."""
    return NoInsights()


async def comments(
    conn: Connection,
    scope: Scope,
    key: str,
    group: str | None,
    insights: CommentInsights,
) -> dict[str, Any]:
    if key not in scope.survey.comments:
        raise ValidationFailed(
            [FieldError(("question",), f"{key!r} is not an open-text question of the survey")],
            hint="Name one of: " + ", ".join(scope.survey.comments) + ".",
        )
    await check_filter(conn, scope, scope.wave_id, scope.k2)
    g = GROUP_KEYS[scope.group_by]
    counts = await conn.fetchrow(
        f"""SELECT count(*) AS everyone, count(*) FILTER (WHERE $5::text IS NULL OR {g} = $5) AS kept
        FROM {scope.table("surveys_response")} AS r
        WHERE r.wave_id = $1::uuid AND {RESPONSE_FILTER} AND coalesce(r.answers->>$4, '') <> ''""",
        scope.wave_id,
        list(scope.departments),
        list(scope.tenure_bands),
        key,
        group,
    )
    everyone, kept = (int(counts["everyone"]), int(counts["kept"])) if counts else (0, 0)
    if kept < scope.k2 or (group is not None and 0 < everyone - kept < scope.k2):
        return {"minComments": scope.k2, "suppressed": True, "count": None, "comments": []}
    rows = await conn.fetch(
        f"""SELECT r.answers->>$4 AS text FROM {scope.table("surveys_response")} AS r
        WHERE r.wave_id = $1::uuid AND {RESPONSE_FILTER} AND coalesce(r.answers->>$4, '') <> ''
          AND ($5::text IS NULL OR {g} = $5)
        ORDER BY random()""",
        scope.wave_id,
        list(scope.departments),
        list(scope.tenure_bands),
        key,
        group,
    )
    texts = [r["text"] for r in rows]
    found = await insights.analyse(texts)
    return {
        "minComments": scope.k2,
        "suppressed": False,
        "count": len(texts),
        "comments": [
            {
                "text": text,
                "sentiment": insight.sentiment if insight else None,
                "topics": list(insight.topics) if insight else None,
            }
            for text, insight in zip(texts, found, strict=True)
        ],
    }
