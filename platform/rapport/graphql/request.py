"""A GraphQL request as the HTTP layer hands it to an executor, and what comes back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["ExecutionOutcome", "GraphQLRequest"]


@dataclass(frozen=True, slots=True)
class GraphQLRequest:
    query: str
    operation_name: str | None = None
    variables: Mapping[str, Any] | None = None
    # GET requests may only run queries (GraphQL over HTTP): a mutation raises MethodNotAllowed.
    allow_mutations: bool = True


@dataclass(frozen=True, slots=True)
class ExecutionOutcome:
    """The serialized response. ``body`` is the complete JSON document as UTF-8 bytes."""

    body: bytes
    # True when the request failed before execution (parse error, validation error, unknown
    # operation, bad variables): GraphQL-over-HTTP answers those with 400 under
    # application/graphql-response+json.
    request_error: bool = False
