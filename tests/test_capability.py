"""Composing capabilities into the kernel: order by stage, and misfits refused at start-up."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import pytest

from rapport.capability import Capability, WriteStage, compose
from rapport.jobs.context import CronContext, CronSpec, JobContext
from rapport.jobs.topics import TOPICS
from rapport.records.change import WriteParticipant


async def _handle(ctx: JobContext, payload: Mapping[str, Any]) -> None:
    return None


async def _tick(ctx: CronContext) -> None:
    return None


class _Named(WriteParticipant):
    def __init__(self, name: str) -> None:
        self.name = name


ALL_TOPICS = Capability(name="topics", handlers=MappingProxyType(dict.fromkeys(TOPICS, _handle)))


def test_participants_run_by_stage_then_in_capability_order() -> None:
    # given
    first = Capability(
        name="first",
        participants=MappingProxyType(
            {WriteStage.EFFECTS: _Named("effects"), WriteStage.ADJUST: _Named("adjust-1")}
        ),
    )
    second = Capability(
        name="second",
        participants=MappingProxyType(
            {WriteStage.ADJUST: _Named("adjust-2"), WriteStage.AUTHORIZE: _Named("authorize")}
        ),
    )

    # when
    kernel = compose((first, second, ALL_TOPICS))

    # then
    names = [p.name for p in kernel.participants if isinstance(p, _Named)]
    assert names == ["authorize", "adjust-1", "adjust-2", "effects"]


def test_contributors_and_cron_jobs_keep_the_capability_order() -> None:
    # given
    def one(*_: Any) -> Any:
        raise NotImplementedError

    def two(*_: Any) -> Any:
        raise NotImplementedError

    a = Capability(name="a", graphql=(two,), cron_jobs=(CronSpec("a.tick", _tick),))
    b = Capability(name="b", graphql=(one,), cron_jobs=(CronSpec("b.tick", _tick),))

    # when
    kernel = compose((a, b, ALL_TOPICS))

    # then
    assert kernel.contributors == (two, one)
    assert [c.name for c in kernel.cron_jobs] == ["a.tick", "b.tick"]
    assert dict(kernel.handlers) == dict.fromkeys(TOPICS, _handle)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (Capability(name="topics"), "two capabilities register the capability 'topics'"),
        (
            Capability(name="again", handlers=MappingProxyType({"notify.email": _handle})),
            "two capabilities register the job topic 'notify.email'",
        ),
        (
            Capability(name="unlisted", handlers=MappingProxyType({"made.up": _handle})),
            "topic(s) made.up are handled but missing from rapport.jobs.topics",
        ),
    ],
)
def test_a_misfit_stops_the_kernel_from_composing(extra: Capability, message: str) -> None:
    # when / then
    with pytest.raises(RuntimeError, match="do not fit") as caught:
        compose((ALL_TOPICS, Capability(name="forms"), extra))
    assert message in str(caught.value)


def test_a_topic_without_a_handler_stops_the_kernel_from_composing() -> None:
    # given
    crons = (CronSpec("x", _tick), CronSpec("x", _tick))

    # when / then
    with pytest.raises(RuntimeError) as caught:
        compose((Capability(name="c", cron_jobs=crons),))
    assert "no capability handles the topic(s) entity.create" in str(caught.value)
    assert "two capabilities register the cron job 'x'" in str(caught.value)
