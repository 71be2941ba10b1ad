"""A tenant's GraphQL schema as SDL, printed deterministically for review in diffs.

Types, fields, arguments and enum values are sorted by name (graphql-core's
``lexicographic_sort_schema``), so the text changes only when the API does. The committed
snapshot of the demo tenant, ``docs/demo-schema.graphql``, is printed with this.
"""

from __future__ import annotations

from collections.abc import Sequence

from graphql import lexicographic_sort_schema, print_schema

from rapport.graphql.contributions import Contributor
from rapport.graphql.schema_builder import build_schema
from rapport.metadata.bundle import TenantMetadata

__all__ = ["schema_sdl"]


def schema_sdl(metadata: TenantMetadata, contributors: Sequence[Contributor]) -> str:
    """The SDL of ``metadata``'s schema with these contributors, sorted, ending in a newline."""
    schema = build_schema(metadata, contributors=contributors)
    return print_schema(lexicographic_sort_schema(schema)) + "\n"
