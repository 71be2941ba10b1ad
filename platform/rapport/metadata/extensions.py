"""Tenant extensions of entities they do not own: ``x-extends`` documents.

A tenant adds fields to a plug-in's (or the kernel's) entity without copying it: it publishes
its own entity document ``{"$id": "acme/employee-extra", "x-extends": "org/employee",
"properties": {...}}``. Before compiling, each extension is merged onto its target: its
properties, ``required`` names and ``x-indexes`` are added to the target's. The extension stays
a separate document owned by the tenant, so when the plug-in publishes a new version of its
entity the tenant's fields are merged onto the new version: customisations survive upgrades.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from rapport.errors import MetadataInvalid, MetadataProblem
from rapport.metadata.documents import Document, DocumentKind
from rapport.metadata.ir import freeze_json

__all__ = ["EXTENDS", "apply_extensions", "is_extension"]

EXTENDS = "x-extends"
# What an extension may say: anything else (a title, a workflow) would change the target's
# meaning rather than add to it.
_ALLOWED = frozenset({"$id", EXTENDS, "description", "properties", "required", "x-indexes"})


def is_extension(doc: Document) -> bool:
    return doc.kind == DocumentKind.ENTITY and isinstance(doc.body, Mapping) and EXTENDS in doc.body


def apply_extensions(documents: Iterable[Document]) -> tuple[Document, ...]:
    """``documents`` with every extension merged onto its target and removed.

    Raises MetadataInvalid listing every problem: an unknown target, a property the target
    already has (or another extension added), a key an extension may not use.
    """
    docs = tuple(documents)
    extensions = [d for d in docs if is_extension(d)]
    if not extensions:
        return docs
    problems: list[MetadataProblem] = []
    bodies: dict[str, dict[str, Any]] = {
        d.id: d.as_json() for d in docs if d.kind == DocumentKind.ENTITY and not is_extension(d)
    }
    for ext in sorted(extensions, key=lambda d: d.id):
        body = ext.as_json()
        target_id = body.get(EXTENDS)
        for key in sorted(set(body) - _ALLOWED):
            problems.append(
                MetadataProblem(
                    ext.id,
                    f"/{key}",
                    f"an extension may not set {key!r}",
                    "An extension only adds properties, required names and indexes; "
                    "allowed keys: " + ", ".join(sorted(_ALLOWED)) + ".",
                )
            )
        target = bodies.get(target_id) if isinstance(target_id, str) else None
        if target is None:
            problems.append(
                MetadataProblem(
                    ext.id,
                    f"/{EXTENDS}",
                    f"extends {target_id!r}, which is not an entity of this tenant",
                    "Name an entity the tenant has (its own, the kernel's or an installed "
                    "plug-in's), or remove the extension before uninstalling the plug-in.",
                )
            )
            continue
        properties = target.setdefault("properties", {})
        for name, schema in dict(body.get("properties", {})).items():
            if name in properties:
                problems.append(
                    MetadataProblem(
                        ext.id,
                        f"/properties/{name}",
                        f"{target_id} already has a property {name!r}",
                        "Choose another name: an extension adds fields, it never replaces one.",
                    )
                )
                continue
            properties[name] = schema
        target["required"] = [*target.get("required", []), *body.get("required", [])]
        if body.get("x-indexes"):
            target["x-indexes"] = [*target.get("x-indexes", []), *body["x-indexes"]]
        if not target["required"]:
            del target["required"]
    if problems:
        raise MetadataInvalid(problems)
    merged = []
    for doc in docs:
        if is_extension(doc):
            continue
        if doc.id in bodies and doc.kind == DocumentKind.ENTITY:
            doc = Document(doc.id, freeze_json(bodies[doc.id]), doc.source, doc.location, doc.kind)
        merged.append(doc)
    return tuple(merged)
