"""What every generator receives: the model being compiled and the registry being filled."""

from __future__ import annotations

from dataclasses import dataclass, field

from graphql import GraphQLArgument

from rapport.graphql.types.registry import TypeRegistry
from rapport.metadata.ir import Model

__all__ = ["BuildContext"]


@dataclass(frozen=True, slots=True)
class BuildContext:
    model: Model
    registry: TypeRegistry
    # The arguments of connections of each entity (entity id -> args), built once: an entity
    # listed by a root field and by many reverse relations shares one set.
    connection_args: dict[str, dict[str, GraphQLArgument]] = field(default_factory=dict)
