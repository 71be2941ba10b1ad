"""Generators of a tenant's GraphQL types, one module per GraphQL kind (see schema_builder)."""
