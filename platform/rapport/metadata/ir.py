"""The frozen intermediate representation every downstream compiler reads.

Documents (JSON Schema with ``x-`` keywords) are validated and turned into a :class:`Model` once;
DDL, the migration plan, GraphQL types, SQL queries and record validators are all derived from
it and never from the raw documents. Everything here is immutable: a metadata change builds a new
``Model`` and the tenant runtime is swapped, never patched.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

__all__ = [
    "SYSTEM_FIELDS",
    "EntityDef",
    "FieldDef",
    "FieldKind",
    "IndexDef",
    "JsonValue",
    "ManyToManyDef",
    "Model",
    "OnDelete",
    "RelationDef",
    "ReverseRelationDef",
    "SystemField",
    "freeze_json",
    "thaw_json",
]

JsonValue = Any  # a JSON value made immutable by freeze_json (tuples and MappingProxyType)


class FieldKind(StrEnum):
    """Field kinds of the entity dialect; each maps to one column type and one GraphQL type."""

    STRING = "string"  # single-line text           text          String
    TEXT = "text"  # long text                      text          String
    INTEGER = "integer"  #                          integer       Int
    DECIMAL = "decimal"  # exact number             numeric       Decimal (string on the wire)
    FLOAT = "float"  #                              double        Float
    BOOLEAN = "boolean"  #                          boolean       Boolean
    DATE = "date"  #                                date          Date
    DATETIME = "datetime"  #                        timestamptz   DateTime
    ENUM = "enum"  #                                text          <Entity><Field> enum
    MULTI_ENUM = "multi-enum"  #                    text[]        [<enum>!]
    JSON = "json"  #                                jsonb         JSON
    EMAIL = "email"  #                              text          String
    PHONE = "phone"  #                              text          String
    URL = "url"  #                                  text          String
    MONEY = "money"  # numeric(18,2)                numeric       Decimal
    RATING = "rating"  # 1..scale                   integer       Int
    FILE = "file"  # file reference object          jsonb         FileRef
    UUID = "uuid"  # plain uuid, not a relation     uuid          ID
    RELATION = "relation"  # many-to-one             uuid (<col>_id) <Target> + <name>Id: ID
    MANY_TO_MANY = "many-to-many"  # via link entity (no column)    connection of <Target>
    COMPUTED = "computed"  # expression over the record (no column), read-only


class OnDelete(StrEnum):
    RESTRICT = "restrict"
    CASCADE = "cascade"
    SET_NULL = "setNull"

    @property
    def sql(self) -> str:
        return {"restrict": "RESTRICT", "cascade": "CASCADE", "setNull": "SET NULL"}[self.value]


def freeze_json(value: Any) -> JsonValue:
    """Deep-freeze a JSON value: dicts become read-only mappings, lists become tuples."""
    if isinstance(value, Mapping):
        return MappingProxyType({k: freeze_json(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(freeze_json(v) for v in value)
    return value


def thaw_json(value: JsonValue) -> Any:
    """The plain ``dict``/``list`` form of a frozen JSON value (for json.dumps, validators)."""
    if isinstance(value, Mapping):
        return {k: thaw_json(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [thaw_json(v) for v in value]
    return value


@dataclass(frozen=True, slots=True)
class RelationDef:
    """A many-to-one reference held in this entity's ``<column>`` (a uuid foreign key)."""

    target: str  # entity id, e.g. "org/employee"
    on_delete: OnDelete = OnDelete.RESTRICT
    inverse: str | None = None  # name of the reverse field on the target (always set by builder)


@dataclass(frozen=True, slots=True)
class ManyToManyDef:
    """A many-to-many through a link entity holding two relations (to us and to the target)."""

    target: str  # entity id of the far side
    through: str  # entity id of the link entity
    source_field: str  # relation field on the link entity pointing at this entity
    target_field: str  # relation field on the link entity pointing at the target


@dataclass(frozen=True, slots=True)
class FieldDef:
    name: str  # property name as written; the GraphQL field name
    kind: FieldKind
    column: str | None  # SQL column; None for many-to-many and computed fields
    required: bool = False
    default: JsonValue = None
    has_default: bool = False
    unique: bool = False
    sensitive: bool = False
    read_only: bool = False
    label: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    description: str | None = None
    enum_values: tuple[str, ...] = ()
    enum_labels: Mapping[str, Mapping[str, str]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    relation: RelationDef | None = None
    many_to_many: ManyToManyDef | None = None
    computed: JsonValue = None  # the x-computed expression (frozen JSON)
    computed_kind: FieldKind | None = None  # result kind of a computed field
    analyze: tuple[str, ...] = ()  # x-analyze, e.g. ("sentiment", "topics")
    schema: JsonValue = None  # the property's JSON Schema as written (frozen)

    @property
    def graphql_input_name(self) -> str:
        """Relations are written as ``<name>Id``; every other writable field by its name."""
        return f"{self.name}Id" if self.kind is FieldKind.RELATION else self.name

    @property
    def is_stored(self) -> bool:
        return self.column is not None

    @property
    def is_writable(self) -> bool:
        return self.is_stored and not self.read_only

    @property
    def nullable(self) -> bool:
        return not self.required


@dataclass(frozen=True, slots=True)
class SystemField:
    name: str  # GraphQL name
    column: str
    kind: FieldKind


# Every record has these; they are never declared in documents and never written by clients.
SYSTEM_FIELDS: tuple[SystemField, ...] = (
    SystemField("id", "id", FieldKind.UUID),
    SystemField("createdAt", "created_at", FieldKind.DATETIME),
    SystemField("updatedAt", "updated_at", FieldKind.DATETIME),
    SystemField("createdBy", "created_by", FieldKind.STRING),
    SystemField("version", "version", FieldKind.INTEGER),
)


@dataclass(frozen=True, slots=True)
class IndexDef:
    name: str  # SQL index name, deterministic from table + columns
    fields: tuple[str, ...]  # field names
    columns: tuple[str, ...]  # SQL columns
    unique: bool = False


@dataclass(frozen=True, slots=True)
class ReverseRelationDef:
    """The one-to-many side of a relation, shown on the relation's target as a connection."""

    name: str  # field name on the target entity (RelationDef.inverse)
    source: str  # entity id holding the relation
    source_field: str  # relation field name on the source entity


@dataclass(frozen=True, slots=True)
class EntityDef:
    id: str  # "training/course"
    namespace: str  # "training"
    name: str  # "course"
    type_name: str  # "Course"            GraphQL object type
    single_name: str  # "course"          query field for one record
    plural_name: str  # "courses"         query field for the connection
    table: str  # "training_course"       table inside the tenant schema
    title: str | None
    label: Mapping[str, str]
    description: str | None
    fields: tuple[FieldDef, ...]
    indexes: tuple[IndexDef, ...] = ()
    reverse_relations: tuple[ReverseRelationDef, ...] = ()
    workflow: str | None = None
    document: JsonValue = None  # the whole document as written (frozen), for export and forms

    def field(self, name: str) -> FieldDef:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"{self.id} has no field {name!r}")

    def has_field(self, name: str) -> bool:
        return any(f.name == name for f in self.fields)

    @property
    def stored_fields(self) -> tuple[FieldDef, ...]:
        return tuple(f for f in self.fields if f.is_stored)

    @property
    def unique_fields(self) -> tuple[FieldDef, ...]:
        return tuple(f for f in self.fields if f.unique)


@dataclass(frozen=True, slots=True)
class Model:
    """All entities of one tenant at one metadata version."""

    entities: tuple[EntityDef, ...]
    _by_id: Mapping[str, EntityDef] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", MappingProxyType({e.id: e for e in self.entities}))

    def entity(self, entity_id: str) -> EntityDef:
        try:
            return self._by_id[entity_id]
        except KeyError:
            raise KeyError(f"unknown entity {entity_id!r}") from None

    def has_entity(self, entity_id: str) -> bool:
        return entity_id in self._by_id

    def __iter__(self) -> Iterator[EntityDef]:
        return iter(self.entities)

    def __len__(self) -> int:
        return len(self.entities)
