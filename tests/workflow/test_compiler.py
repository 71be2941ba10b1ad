"""Workflow documents compile with the entities; every problem is reported at once."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest

from rapport.errors import MetadataInvalid
from rapport.metadata.bundle import compile_tenant
from rapport.metadata.documents import kernel_documents
from rapport.workflow.document import ApprovalMode, Calendar
from rapport.workflow.durations import parse_duration
from tests.workflow.world import CASE, FLOW, documents


def _problems(**overrides: Any) -> list[str]:
    with pytest.raises(MetadataInvalid) as invalid:
        compile_tenant(kernel_documents() + documents(**overrides))
    return [f"{p.document}#{p.pointer}: {p.message}" for p in invalid.value.problems]


def test_the_world_compiles_into_a_frozen_workflow() -> None:
    # when
    metadata = compile_tenant(kernel_documents() + documents())
    # then
    flow = metadata.workflows.for_entity("hr/case")
    assert flow is not None and flow.id == "hr/case-flow"
    assert flow.states["submitted"].sla == dt.timedelta(days=2)
    assert flow.states["investigating"].working_days == 15
    assert flow.states["archived"].final
    assert flow.calendar is Calendar.CN
    resolve = flow.transition("resolve")
    assert resolve is not None and resolve.approval is not None
    assert resolve.approval.mode is ApprovalMode.ALL and resolve.approval.quorum == 2
    accept = flow.transition("accept")
    assert accept is not None and accept.guard is not None and accept.requires == ("assignee",)
    assert flow.timers[0].offset == dt.timedelta(days=30)


def test_every_problem_of_a_bad_document_is_reported_together() -> None:
    # given
    flow = copy.deepcopy(FLOW)
    flow["initial"] = "nowhere"
    flow["states"]["submitted"]["sla"] = "P1M"
    flow["transitions"][0]["from"] = ["limbo"]
    flow["transitions"][0]["guard"] = {"severity": {"_like": 3}}
    flow["transitions"][0]["requires"] = ["ghost"]
    flow["transitions"][1]["approval"]["by"] = ["$record.submitter.boss"]
    flow["transitions"][2]["approval"]["quorum"] = 7
    flow["transitions"][4]["effects"] = [{"set": {"status": "archived"}}]
    # when
    problems = "\n".join(_problems(flow=flow))
    # then
    assert "#/initial: 'nowhere' is not a state" in problems
    assert "/states/submitted/sla" in problems
    assert "'limbo' is not a state" in problems
    assert "/transitions/0/guard" in problems
    assert "no field 'ghost'" in problems
    assert "org/person has no field 'boss'" in problems
    assert "quorum 7 of 3" in problems
    assert "may not set the state field" in problems or "no writable field" in problems


def test_the_state_field_must_be_an_enum_of_exactly_the_state_names() -> None:
    case = copy.deepcopy(CASE)
    case["properties"]["status"] = {"enum": ["submitted", "investigating", "resolved"]}
    problems = "\n".join(_problems(case=case))
    assert "states not in the enum: ['archived']" in problems
    case["properties"]["status"] = {"type": "string"}
    assert "not an enum" in "\n".join(_problems(case=case))


def test_an_x_workflow_may_precede_its_document_but_a_shape_error_is_a_problem() -> None:
    # the entity names a workflow that is not published yet: valid, no workflow attached
    metadata = compile_tenant(kernel_documents() + documents(flow=None))
    assert metadata.workflows.for_entity("hr/case") is None
    flow = copy.deepcopy(FLOW)
    flow["transitions"][0]["effects"] = [{"explode": True}]
    assert "/transitions/0/effects/0" in "\n".join(_problems(flow=flow))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("P2D", dt.timedelta(days=2)),
        ("PT4H", dt.timedelta(hours=4)),
        ("P1W2DT30M", dt.timedelta(days=9, minutes=30)),
        ("P", None),
        ("PT", None),
        ("P1Y", None),
        ("2D", None),
    ],
)
def test_durations(text: str, expected: dt.timedelta | None) -> None:
    assert parse_duration(text) == expected


def test_a_notify_effect_with_its_own_text_needs_a_title_of_non_empty_texts() -> None:
    # given a message with no title, and one whose English title is empty
    flow = copy.deepcopy(FLOW)
    flow["transitions"][0]["effects"] = [
        {"notify": {"to": "submitter", "body": {"en": "Accepted."}}},
        {"notify": {"to": ["submitter"], "title": {"zh": "已受理", "en": ""}}},
    ]
    # when
    problems = "\n".join(_problems(flow=flow))
    # then both are named at their effect
    assert "/transitions/0/effects/0/notify" in problems
    assert "/transitions/0/effects/1/notify" in problems
