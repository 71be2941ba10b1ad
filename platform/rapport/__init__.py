"""Rapport: a metadata-driven GraphQL platform for Employee Relationship Management."""

__version__ = "0.1.0"
