"""The documents the workflow tests publish: people with managers, cases with a workflow."""

from __future__ import annotations

import copy
from typing import Any

from rapport.metadata.documents import Document, documents_from_json

PERSON: dict[str, Any] = {
    "$id": "org/person",
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "login": {"type": "string"},
        "manager": {"type": "string", "format": "uuid", "x-relation": {"entity": "org/person"}},
    },
    "required": ["name"],
}

NOTE: dict[str, Any] = {
    "$id": "hr/note",
    "type": "object",
    "properties": {
        "text": {"type": "string"},
        "case": {"type": "string", "format": "uuid", "x-relation": {"entity": "hr/case"}},
    },
}

CASE: dict[str, Any] = {
    "$id": "hr/case",
    "type": "object",
    "properties": {
        "title": {"type": "string"},
        "status": {"enum": ["submitted", "investigating", "resolved", "archived"]},
        "assignee": {"type": "string"},
        "severity": {"type": "integer"},
        "resolution": {"type": "string"},
        "submitter": {"type": "string", "format": "uuid", "x-relation": {"entity": "org/person"}},
        "dueDate": {"type": "string", "format": "date"},
    },
    "required": ["title"],
    "x-workflow": "hr/case-flow",
}

FLOW: dict[str, Any] = {
    "$id": "hr/case-flow",
    "entity": "hr/case",
    "field": "status",
    "initial": "submitted",
    "states": {
        "submitted": {
            "sla": "P2D",
            "remind": [{"before": "PT12H", "effects": [{"set": {"resolution": "reminded"}}]}],
            "onBreach": [{"set": {"severity": 9}}, {"notify": "role:hr_manager"}],
            "editable": ["title", "assignee", "severity", "submitter", "dueDate"],
        },
        "investigating": {"sla": "P15D", "workingDays": True},
        "resolved": {},
        "archived": {"final": True},
    },
    "transitions": [
        {
            "name": "accept",
            "from": ["submitted"],
            "to": "investigating",
            "roles": ["hr"],
            "requires": ["assignee"],
            "guard": {"_or": [{"severity": {"_is_null": True}}, {"severity": {"_lte": 5}}]},
            "effects": [{"set": {"resolution": "$user.id"}}, {"notify": "submitter"}],
        },
        {
            "name": "resolve",
            "from": ["investigating"],
            "to": "resolved",
            "approval": {"by": ["$record.submitter.manager.login", "role:hr_manager"]},
        },
        {
            "name": "escalate",
            "from": ["submitted", "investigating"],
            "to": "resolved",
            "approval": {"by": ["u1", "u2", "u3"], "mode": "quorum", "quorum": 2},
        },
        {
            "name": "review",
            "from": ["investigating"],
            "to": "resolved",
            "approval": {"by": ["u1", "u2"], "mode": "sequential"},
        },
        {
            "name": "archive",
            "from": ["resolved"],
            "to": "archived",
            "effects": [
                {
                    "create": {
                        "entity": "hr/note",
                        "values": {"text": "$record.title", "case": "$record.id"},
                    }
                },
                {"webhook": "case.archived"},
            ],
        },
    ],
    "timers": [
        {
            "name": "due-soon",
            "field": "dueDate",
            "before": "P30D",
            "effects": [{"set": {"severity": 7}}],
        }
    ],
}


# Roles that may read cases (a transition needs the record to be readable); "outsider" may not.
READERS = ("hr", "hr_manager", "employee")


def documents(**overrides: Any) -> tuple[Document, ...]:
    """The world's documents; ``flow=`` / ``case=`` replace a body."""
    flow = overrides.get("flow", FLOW)
    case = overrides.get("case", CASE)
    items = [copy.deepcopy(PERSON), copy.deepcopy(NOTE), copy.deepcopy(case)]
    if flow is not None:
        items.append({"kind": "workflow", "body": copy.deepcopy(flow)})
    for role in READERS:
        body = {
            "$id": f"hr/{role}-reads-cases",
            "role": role,
            "entity": "hr/case",
            "actions": ["read"],
        }
        items.append({"kind": "permission", "body": body})
    # A role the document's `roles` does not name, granted one transition by permission.
    clerk = {
        "$id": "hr/clerk-accepts",
        "role": "clerk",
        "entity": "hr/case",
        "actions": ["read", "transition:accept"],
    }
    items.append({"kind": "permission", "body": clerk})
    return documents_from_json(items)
