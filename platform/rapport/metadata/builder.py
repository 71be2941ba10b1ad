"""Documents -> validated, frozen :class:`~rapport.metadata.ir.Model`.

The one orchestrator of the metadata compiler, run in a fixed order: the dialect (meta-schema)
check of every document, duplicate ids, a draft IR per document, the per-entity semantic checks,
the cross-document name checks, linking relations, then the computed expressions against the
linked model. Problems from every step are collected and raised together in one
:class:`~rapport.errors.MetadataInvalid`; a Model is returned only when there are none.
"""

from __future__ import annotations

from collections.abc import Iterable

from rapport.errors import MetadataInvalid
from rapport.metadata.checks import check_entity
from rapport.metadata.clashes import check_clashes, check_duplicate_ids
from rapport.metadata.computed import check_computed
from rapport.metadata.dialect import check_dialect
from rapport.metadata.documents import Document, DocumentKind
from rapport.metadata.draft import draft_entity
from rapport.metadata.extensions import apply_extensions
from rapport.metadata.ir import EntityDef, Model
from rapport.metadata.problems import Problems
from rapport.metadata.relations import link

__all__ = ["compile_model"]


def compile_model(documents: Iterable[Document]) -> Model:
    """Validate the entity documents among ``documents`` together and compile them into one
    Model (entities sorted by id). Documents of other kinds are left to their own compilers.

    Raises :class:`MetadataInvalid` with every problem found, each located by document id and
    JSON pointer, with a hint.
    """
    # Tenant extensions (x-extends) are merged onto their targets first: see metadata.extensions.
    docs = sorted(
        (d for d in apply_extensions(documents) if d.kind == DocumentKind.ENTITY),
        key=lambda d: (d.id, d.source, d.location),
    )
    problems = Problems()
    for doc in docs:
        problems.extend(check_dialect(doc))
    check_duplicate_ids(docs, problems)
    drafts: dict[str, EntityDef] = {}
    for doc in docs:
        if doc.id not in drafts and (entity := draft_entity(doc)) is not None:
            drafts[doc.id] = entity
    for entity in drafts.values():
        check_entity(entity, problems)
    check_clashes(tuple(drafts.values()), problems)
    model = Model(entities=link(tuple(drafts.values()), problems))
    check_computed(model, problems)
    if problems:
        raise MetadataInvalid(problems.as_list())
    return model
