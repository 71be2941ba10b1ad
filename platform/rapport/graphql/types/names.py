"""GraphQL names of the types and root fields generated for one entity.

``naming`` owns the entity-level names (``Course``, ``course``, ``courses``); this module adds
the per-kind suffixes so every generator and the planner spell them the same way.
"""

from __future__ import annotations

import functools

from rapport.metadata.ir import EntityDef, FieldDef
from rapport.naming import pascal_case as _pascal_case

# Schemas of hundreds of entities ask for the same few hundred names many times.
pascal_case = functools.lru_cache(maxsize=4096)(_pascal_case)

__all__ = [
    "aggregate_field",
    "aggregate_functions_type",
    "aggregate_group_type",
    "aggregate_type",
    "connection_type",
    "create_input",
    "create_many_field",
    "edge_type",
    "enum_filter",
    "enum_type",
    "group_field_enum",
    "group_key_type",
    "list_where",
    "order_by",
    "unique_key_enum",
    "update_input",
    "where",
]


def enum_type(entity: EntityDef, field: FieldDef) -> str:
    """``Course`` + ``level`` -> ``CourseLevel`` (enum and multi-enum fields)."""
    return f"{entity.type_name}{pascal_case(field.name)}"


def enum_filter(entity: EntityDef, field: FieldDef) -> str:
    return f"{enum_type(entity, field)}Filter"


def where(entity: EntityDef) -> str:
    return f"{entity.type_name}Where"


def list_where(entity: EntityDef) -> str:
    return f"{entity.type_name}ListWhere"


def order_by(entity: EntityDef) -> str:
    return f"{entity.type_name}OrderBy"


def edge_type(entity: EntityDef) -> str:
    return f"{entity.type_name}Edge"


def connection_type(entity: EntityDef) -> str:
    return f"{entity.type_name}Connection"


def aggregate_type(entity: EntityDef) -> str:
    return f"{entity.type_name}Aggregate"


def aggregate_group_type(entity: EntityDef) -> str:
    return f"{entity.type_name}AggregateGroup"


def aggregate_functions_type(entity: EntityDef, function: str) -> str:
    """``CourseSumFields``, ``CourseAvgFields``, ``CourseMinFields``, ``CourseMaxFields``."""
    return f"{entity.type_name}{pascal_case(function)}Fields"


def group_key_type(entity: EntityDef) -> str:
    return f"{entity.type_name}GroupKey"


def group_field_enum(entity: EntityDef) -> str:
    return f"{entity.type_name}GroupField"


def create_input(entity: EntityDef) -> str:
    return f"{entity.type_name}CreateInput"


def update_input(entity: EntityDef) -> str:
    return f"{entity.type_name}UpdateInput"


def unique_key_enum(entity: EntityDef) -> str:
    return f"{entity.type_name}UniqueKey"


def aggregate_field(entity: EntityDef) -> str:
    """Root field ``coursesAggregate``."""
    return f"{entity.plural_name}Aggregate"


def create_many_field(entity: EntityDef) -> str:
    """Root field ``createCourses``."""
    return f"create{pascal_case(entity.plural_name)}"
