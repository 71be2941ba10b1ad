"""Typed document kinds: how a capability or a plug-in teaches the metadata layer a kind of
document.

Entity documents are the metadata layer's own: they compile into the
:class:`~rapport.metadata.ir.Model`. Every other kind (forms, workflows, permissions, a
partner's checklists) belongs to the package that gives it meaning, which declares one
:class:`KindCompiler`: the kind, its meta-schema, the compile step that turns the tenant's
documents of that kind into one frozen artifact checked against the Model, and the problems it
can still report when the entities do not compile. :func:`rapport.metadata.bundle.compile_tenant`
runs the registered compilers; it imports none of them.

A compiler may need the artifact of another kind (permissions check transition names against the
workflows): it names that kind in ``requires`` and finds the artifact in the ``compiled`` mapping
it is handed. :func:`order_kinds` puts every kind after the kinds it requires (otherwise keeping
the declared order) and refuses a kind registered twice, a missing requirement or a loop.

The process's kinds are declared as entry points of the group ``rapport.document_kinds``
(:mod:`rapport.metadata.entry_points`): Rapport's own ``pyproject.toml`` declares the form, workflow
and permission kinds, a partner's package declares its own the same way, and
:func:`registered_kinds` reads them once. The entry point's name is the kind's name.
"""

from __future__ import annotations

import functools
import importlib.metadata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from rapport.errors import MetadataProblem
from rapport.metadata.documents import Document, DocumentKind
from rapport.metadata.entry_points import declared
from rapport.metadata.ir import Model

__all__ = [
    "KINDS_GROUP",
    "Compiled",
    "KindCompiler",
    "kinds_from",
    "order_kinds",
    "registered_kinds",
]

T = TypeVar("T")

# The artifacts compiled so far in one compile_tenant call, by kind.
Compiled = Mapping[DocumentKind, object]


def _no_shapes(documents: Sequence[Document]) -> list[MetadataProblem]:
    return []


@dataclass(frozen=True, slots=True)
class KindCompiler(Generic[T]):
    """One document kind and how its documents compile into an artifact of type ``T``.

    ``compile`` gets every document of the tenant (it picks its own kind's; a form may read the
    entity it is for), the compiled Model and the artifacts of the kinds in ``requires``; it
    returns the artifact and every problem it found (the artifact is only used when no kind
    reports a problem). ``empty`` makes the artifact of a tenant with no documents of the kind,
    for metadata built from a bare Model. ``shapes`` reports meta-schema problems when the
    entities do not compile, so an admin still sees them in the same round.
    """

    kind: DocumentKind
    meta_schema: str  # the file in schemas/ a document of the kind is validated against
    compile: Callable[[Sequence[Document], Model, Compiled], tuple[T, Sequence[MetadataProblem]]]
    empty: Callable[[], T]
    shapes: Callable[[Sequence[Document]], Sequence[MetadataProblem]] = _no_shapes
    requires: tuple[DocumentKind, ...] = ()

    @property
    def suffix(self) -> str:
        """The file-name ending of a document of the kind (``.form.json``)."""
        return self.kind.suffix

    def artifact(self, compiled: Compiled) -> T:
        """The kind's artifact in ``compiled`` (the empty one when it is not there)."""
        found = compiled.get(self.kind)
        # compile_tenant stores under a kind only what that kind's compiler returned.
        return self.empty() if found is None else cast(T, found)


def order_kinds(kinds: Iterable[KindCompiler[Any]]) -> tuple[KindCompiler[Any], ...]:
    """The kinds in compile order: each after those it requires, otherwise as given.

    Raises RuntimeError (the process must not start) on a kind registered twice, on a kind that
    requires one nobody registers, or on kinds that require each other.
    """
    listed = tuple(kinds)
    problems: list[str] = []
    seen: set[DocumentKind] = set()
    for k in listed:
        if k.kind == DocumentKind.ENTITY:
            problems.append("entity documents are the metadata layer's own; no kind compiles them")
        elif k.kind in seen:
            problems.append(f"the document kind {k.kind.value!r} is registered twice")
        seen.add(k.kind)
    for k in listed:
        for needed in k.requires:
            if needed not in seen:
                problems.append(
                    f"the document kind {k.kind.value!r} requires {needed.value!r}, "
                    "which nothing registers"
                )
    if problems:
        raise RuntimeError("The document kinds do not fit: " + "; ".join(problems))
    ordered: list[KindCompiler[Any]] = []
    done: set[DocumentKind] = set()
    pending = list(listed)
    while pending:
        ready = next((k for k in pending if set(k.requires) <= done), None)
        if ready is None:
            names = ", ".join(repr(k.kind.value) for k in pending)
            raise RuntimeError(f"The document kinds {names} require each other")
        ordered.append(ready)
        done.add(ready.kind)
        pending.remove(ready)
    return tuple(ordered)


KINDS_GROUP = "rapport.document_kinds"


def kinds_from(
    entry_points: Iterable[importlib.metadata.EntryPoint] | None = None,
) -> tuple[KindCompiler[Any], ...]:
    """The kinds the entry points declare (None: the installed distributions'), in compile order.

    Raises RuntimeError when a declaration does not load, is not a KindCompiler, is named other
    than its kind, or when the kinds do not fit together (:func:`order_kinds`).
    """
    found = declared(KINDS_GROUP, KindCompiler, entry_points)
    misnamed = [
        f"{name!r} declares the kind {kind.kind.value!r}; name the entry point after its kind"
        for name, kind in found
        if name != kind.kind.value
    ]
    if misnamed:
        raise RuntimeError("The declared document kinds do not fit: " + "; ".join(misnamed))
    return order_kinds(kind for _, kind in found)


@functools.cache
def registered_kinds() -> tuple[KindCompiler[Any], ...]:
    """The installed distributions' document kinds, in compile order (read once per process)."""
    return kinds_from()
