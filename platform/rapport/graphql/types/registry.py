"""The keyed type registry the generators fill and read, in the order the orchestrator runs them."""

from __future__ import annotations

from typing import TypeVar

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLNamedType,
    GraphQLObjectType,
)

from rapport.errors import MetadataInvalid, MetadataProblem

__all__ = ["TypeRegistry"]

T = TypeVar("T", bound=GraphQLNamedType)


class TypeRegistry:
    """GraphQL named types by name; a second type under a taken name is a metadata error."""

    __slots__ = ("_origins", "_types")

    def __init__(self) -> None:
        self._types: dict[str, GraphQLNamedType] = {}
        self._origins: dict[str, str] = {}

    def add(self, type_: T, *, origin: str) -> T:
        """Register ``type_``; ``origin`` names the entity (or "kernel") it was generated for."""
        if type_.name in self._types:
            first = self._origins[type_.name]
            raise MetadataInvalid(
                [
                    MetadataProblem(
                        document=origin,
                        pointer="",
                        message=f"the GraphQL type name {type_.name} is generated twice "
                        f"(for {first} and for {origin})",
                        hint="Rename the entity or the field that produces it (an enum field "
                        "`x` of entity `T` is named `Tx`), or set a different title.",
                    )
                ]
            )
        self._types[type_.name] = type_
        self._origins[type_.name] = origin
        return type_

    def has(self, name: str) -> bool:
        return name in self._types

    def object(self, name: str) -> GraphQLObjectType:
        return self._typed(name, GraphQLObjectType)

    def input(self, name: str) -> GraphQLInputObjectType:
        return self._typed(name, GraphQLInputObjectType)

    def enum(self, name: str) -> GraphQLEnumType:
        return self._typed(name, GraphQLEnumType)

    def _typed(self, name: str, cls: type[T]) -> T:
        type_ = self._types[name]
        if not isinstance(type_, cls):
            raise TypeError(f"{name} is a {type(type_).__name__}, not a {cls.__name__}")
        return type_

    def types(self) -> list[GraphQLNamedType]:
        return list(self._types.values())
