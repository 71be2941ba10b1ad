"""Typed document kinds: how a capability teaches the metadata layer a kind of document.

Entity documents are the metadata layer's own: they compile into the
:class:`~rapport.metadata.ir.Model`. Every other kind (forms, workflows, permissions) belongs to
the capability that gives it meaning, which registers one :class:`KindCompiler` in its
``Capability.documents``: the kind, its meta-schema, the compile step that turns the tenant's
documents of that kind into one frozen artifact checked against the Model, and the problems it
can still report when the entities do not compile. :func:`rapport.metadata.bundle.compile_tenant`
runs the registered compilers; it imports none of them.

A compiler may need the artifact of another kind (permissions check transition names against the
workflows): it names that kind in ``requires`` and finds the artifact in the ``compiled`` mapping
it is handed. :func:`order_kinds` puts every kind after the kinds it requires (otherwise keeping
the capabilities' order) and refuses a kind registered twice, a missing requirement or a loop.

The process's kinds are installed once, by the composition root (:mod:`rapport.composition`):
the lifecycle, the runtime and the tools then compile with exactly the kernel's kinds. A process
that asks before importing it has the composition root loaded by name on first need (the
metadata layer may not import it); if that still installs nothing (asked while the root itself
is being imported), compiling fails and says so, rather than silently ignoring every form,
workflow and permission.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from rapport.errors import MetadataProblem
from rapport.metadata.documents import Document, DocumentKind
from rapport.metadata.ir import Model

__all__ = [
    "Compiled",
    "KindCompiler",
    "install_kinds",
    "installed_kinds",
    "order_kinds",
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
        if k.kind is DocumentKind.ENTITY:
            problems.append("entity documents are the metadata layer's own; no kind compiles them")
        elif k.kind in seen:
            problems.append(f"two capabilities register the document kind {k.kind.value!r}")
        seen.add(k.kind)
    for k in listed:
        for needed in k.requires:
            if needed not in seen:
                problems.append(
                    f"the document kind {k.kind.value!r} requires {needed.value!r}, "
                    "which no capability registers"
                )
    if problems:
        raise RuntimeError("The kernel's document kinds do not fit: " + "; ".join(problems))
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


_installed: tuple[KindCompiler[Any], ...] | None = None


def install_kinds(kinds: Iterable[KindCompiler[Any]]) -> None:
    """Make ``kinds`` the process's document kinds (the composition root does this once).

    Installing the same kinds again is harmless (the worker composes its own kernel from the
    same capabilities); installing different ones is refused: one process, one set of kinds.
    """
    global _installed
    ordered = order_kinds(kinds)
    if _installed is not None and _installed != ordered:
        raise RuntimeError("The process's document kinds are already installed, and differ")
    _installed = ordered


def installed_kinds() -> tuple[KindCompiler[Any], ...]:
    """The kinds the composition root installed, in compile order."""
    if _installed is None:
        _load_composition_root()
    if _installed is None:
        raise RuntimeError(
            "No document kinds are installed: import rapport.composition (the composition "
            "root) before compiling metadata, or pass the kinds to compile_tenant."
        )
    return _installed


# The module that installs the kernel's parts. Named, not imported: it sits at the top of the
# package, and a process that never imported it (a plug-in's own tests calling
# rapport.plugins.build_registry, a script compiling a folder) still gets the kernel's parts.
COMPOSITION_ROOT = "rapport.composition"


def _load_composition_root() -> None:
    # Importing it installs; while it is itself being imported, nothing is installed yet and the
    # caller gets the error below instead of a half-built kernel.
    importlib.import_module(COMPOSITION_ROOT)
