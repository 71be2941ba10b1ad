"""Linking entities: relation targets, reverse relations and many-to-many through link entities.

Every relation gets a reverse field on its target: ``x-relation.inverse`` when given, else the
camelCase plural of the source entity's name (plus ``By<Field>`` when the source holds more than
one relation to that target). A many-to-many names a link entity that must hold exactly one
relation to each side. Problems are reported against the document that declares the relation.
"""

from __future__ import annotations

import difflib
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from rapport.metadata.ir import (
    SYSTEM_FIELDS,
    EntityDef,
    FieldDef,
    FieldKind,
    ManyToManyDef,
    OnDelete,
    RelationDef,
    ReverseRelationDef,
)
from rapport.metadata.kinds import mapping
from rapport.metadata.problems import Problems, pointer
from rapport.naming import GRAPHQL_NAME, camel_case, pascal_case, pluralize

__all__ = ["graphql_field_names", "link"]


def graphql_field_names(entity: EntityDef) -> set[str]:
    """Names the entity's GraphQL object type already uses (system, declared, ``<relation>Id``)."""
    names = {s.name for s in SYSTEM_FIELDS}
    for f in entity.fields:
        names.add(f.name)
        if f.kind is FieldKind.RELATION:
            names.add(f.graphql_input_name)
    return names


def _unknown_entity_hint(target: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(target, known, n=1)
    if close:
        return f"Did you mean {close[0]!r}?"
    return (
        "Name an entity defined in these documents (namespace/name), or install the plug-in "
        "that defines it first."
    )


@dataclass(frozen=True, slots=True)
class _Reverse:
    name: str
    source: EntityDef
    field: FieldDef
    explicit: bool


def _reverse_name(source: EntityDef, field: FieldDef, relations_to_target: int) -> str:
    base = camel_case(pluralize(source.name))
    return base + "By" + pascal_case(field.name) if relations_to_target > 1 else base


def _check_relation(
    entity: EntityDef,
    field: FieldDef,
    relation: RelationDef,
    by_id: Mapping[str, EntityDef],
    problems: Problems,
) -> bool:
    """Report problems of one many-to-one relation; True when its target exists."""
    where = pointer("properties", field.name, "x-relation")
    ok = relation.target in by_id
    if not ok:
        problems.add(
            entity.id,
            where + "/entity",
            f"relation `{field.name}` points at unknown entity {relation.target!r}",
            _unknown_entity_hint(relation.target, sorted(by_id)),
        )
    if relation.on_delete is OnDelete.SET_NULL and field.required:
        problems.add(
            entity.id,
            where + "/onDelete",
            f"relation `{field.name}` is required, so deleting its target cannot set it to null",
            'Use "onDelete": "restrict" or "cascade", or remove the field from `required`.',
        )
    return ok


def _collect_reverses(
    entities: Sequence[EntityDef], by_id: Mapping[str, EntityDef], problems: Problems
) -> dict[str, list[_Reverse]]:
    reverses: dict[str, list[_Reverse]] = defaultdict(list)
    for entity in entities:
        relations = [(f, f.relation) for f in entity.fields if f.relation is not None]
        per_target: dict[str, int] = defaultdict(int)
        for _, relation in relations:
            per_target[relation.target] += 1
        for f, relation in relations:
            if not _check_relation(entity, f, relation, by_id, problems):
                continue
            explicit = relation.inverse
            name = explicit or _reverse_name(entity, f, per_target[relation.target])
            reverses[relation.target].append(_Reverse(name, entity, f, explicit is not None))
    return reverses


def _reverse_pointer(rev: _Reverse) -> str:
    where = pointer("properties", rev.field.name, "x-relation")
    return where + "/inverse" if rev.explicit else where


def _what(rev: _Reverse) -> str:
    return "inverse" if rev.explicit else "automatic reverse field name"


def _fix(rev: _Reverse) -> str:
    if rev.explicit:
        return "Choose another `inverse` name."
    return 'Set "inverse" in `x-relation` to a name the target does not use yet.'


def _check_reverses(
    reverses: Mapping[str, list[_Reverse]], by_id: Mapping[str, EntityDef], problems: Problems
) -> None:
    for target_id, items in reverses.items():
        target = by_id[target_id]
        taken = graphql_field_names(target)
        seen: dict[str, _Reverse] = {}
        for rev in items:
            where, what, fix = _reverse_pointer(rev), _what(rev), _fix(rev)
            if not GRAPHQL_NAME.match(rev.name):
                continue  # only an explicit inverse can be malformed; the dialect check says so
            if rev.name in taken:
                problems.add(
                    rev.source.id,
                    where,
                    f"{what} {rev.name!r} of relation `{rev.field.name}` clashes with field "
                    f"`{rev.name}` of {target_id}",
                    fix,
                )
            elif rev.name in seen:
                other = seen[rev.name]
                for one, two in ((other, rev), (rev, other)):
                    problems.add(
                        one.source.id,
                        _reverse_pointer(one),
                        f"{_what(one)} {one.name!r} of relation `{one.field.name}` clashes with "
                        f"the reverse field of {two.source.id}.{two.field.name} on {target_id}",
                        _fix(one),
                    )
            else:
                seen[rev.name] = rev


def _link_relations(
    entity: EntityDef,
    field: FieldDef,
    by_id: Mapping[str, EntityDef],
    problems: Problems,
) -> ManyToManyDef | None:
    """Check one many-to-many field and return its definition when it is sound."""
    where = pointer("properties", field.name, "x-relation")
    relation = mapping(field.schema, "x-relation") or {}
    target, through = relation.get("entity"), relation.get("through")
    if not isinstance(target, str) or not isinstance(through, str):
        return None  # the dialect check reports the malformed x-relation
    known = sorted(by_id)
    if target not in by_id:
        problems.add(
            entity.id,
            where + "/entity",
            f"many-to-many `{field.name}` points at unknown entity {target!r}",
            _unknown_entity_hint(target, known),
        )
    if through not in by_id:
        problems.add(
            entity.id,
            where + "/through",
            f"many-to-many `{field.name}` goes through unknown entity {through!r}",
            _unknown_entity_hint(through, known),
        )
    if "inverse" in relation:
        problems.add(
            entity.id,
            where + "/inverse",
            f"many-to-many `{field.name}` cannot name an inverse",
            "Remove `inverse`; the link entity's relations carry the reverse fields.",
        )
    if target not in by_id or through not in by_id:
        return None
    if target == entity.id:
        problems.add(
            entity.id,
            where + "/entity",
            f"many-to-many `{field.name}` links {entity.id} to itself, which is not supported",
            f"Use the relations of the link entity {through} directly.",
        )
        return None
    link = by_id[through]
    sides = {}
    for side in (entity.id, target):
        holders = [f for f in link.fields if f.relation is not None and f.relation.target == side]
        if len(holders) != 1:
            problems.add(
                entity.id,
                where + "/through",
                f"link entity {through} must hold exactly one relation to {side} for "
                f"many-to-many `{field.name}`, but holds {len(holders)}",
                f"Give {through} one field with "
                f'"x-relation": {{"entity": "{side}"}} (format uuid).',
            )
            return None
        sides[side] = holders[0].name
    return ManyToManyDef(
        target=target, through=through, source_field=sides[entity.id], target_field=sides[target]
    )


def link(entities: Sequence[EntityDef], problems: Problems) -> tuple[EntityDef, ...]:
    """Entities with inverses, reverse relations and many-to-many definitions filled in."""
    by_id = {e.id: e for e in entities}
    reverses = _collect_reverses(entities, by_id, problems)
    _check_reverses(reverses, by_id, problems)
    inverse_of = {(r.source.id, r.field.name): r.name for items in reverses.values() for r in items}
    linked = []
    for entity in entities:
        fields = []
        for f in entity.fields:
            if f.relation is not None and (entity.id, f.name) in inverse_of:
                inverse = inverse_of[(entity.id, f.name)]
                f = replace(f, relation=replace(f.relation, inverse=inverse))
            elif f.kind is FieldKind.MANY_TO_MANY:
                f = replace(f, many_to_many=_link_relations(entity, f, by_id, problems))
            fields.append(f)
        reverse = sorted(
            (
                ReverseRelationDef(name=r.name, source=r.source.id, source_field=r.field.name)
                for r in reverses.get(entity.id, ())
            ),
            key=lambda r: (r.name, r.source, r.source_field),
        )
        linked.append(replace(entity, fields=tuple(fields), reverse_relations=tuple(reverse)))
    return tuple(linked)
