"""The GraphQL layer: per-tenant schema, compiled execution, HTTP endpoint, admin API."""
