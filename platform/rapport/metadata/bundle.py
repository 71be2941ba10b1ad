"""All of one tenant's metadata at one version, compiled together.

Entity documents compile into the :class:`~rapport.metadata.ir.Model`; documents of the other
kinds compile, each by the :class:`~rapport.metadata.document_kinds.KindCompiler` its package
registered, into one frozen artifact per kind, checked against the Model.
:func:`compile_tenant` is the one place that runs every compiler, so an admin sees the problems
of all documents of all kinds in one :class:`MetadataInvalid`, at plan time, and the tenant
runtime is built from exactly what was validated. Callers read an artifact through its kind
(``metadata.compiled(FORMS_KIND)``, or the capability's accessor such as
:func:`rapport.forms.kind.forms_of`), typed.

A kind that nothing declares is refused rather than ignored: a document that is stored
but has no effect would be a silent failure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, TypeVar

from rapport.errors import MetadataInvalid, MetadataProblem
from rapport.metadata.builder import compile_model
from rapport.metadata.document_kinds import KindCompiler, registered_kinds
from rapport.metadata.documents import Document, DocumentKind
from rapport.metadata.ir import Model

__all__ = ["TenantMetadata", "compile_tenant"]

T = TypeVar("T")


def _no_artifacts() -> Mapping[DocumentKind, object]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class TenantMetadata:
    """The compiled metadata of one tenant version; frozen, shared by every request."""

    model: Model
    documents: tuple[Document, ...] = ()
    # kind -> the artifact its compiler built; read through compiled() (typed)
    artifacts: Mapping[DocumentKind, object] = field(default_factory=_no_artifacts)

    @classmethod
    def of(cls, model: Model, kinds: Iterable[KindCompiler[Any]] | None = None) -> TenantMetadata:
        """Metadata with entities only (tests, benchmarks, schema tools): every kind empty."""
        listed = registered_kinds() if kinds is None else tuple(kinds)
        return cls(model=model, artifacts=MappingProxyType({k.kind: k.empty() for k in listed}))

    def compiled(self, kind: KindCompiler[T]) -> T:
        """The artifact of ``kind`` (its empty artifact when this metadata has none)."""
        return kind.artifact(self.artifacts)

    def documents_of(self, kind: DocumentKind) -> tuple[Document, ...]:
        return tuple(d for d in self.documents if d.kind == kind)

    # The kernel's kinds by their old attribute names, for plug-ins written before the kinds
    # were registered (``metadata.workflows.for_entity(...)``). Untyped: the metadata layer may
    # not name the capabilities' types; kernel code uses the typed accessors instead.
    @property
    def workflows(self) -> Any:
        return self._by_kind(DocumentKind.WORKFLOW)

    @property
    def permissions(self) -> Any:
        return self._by_kind(DocumentKind.PERMISSION)

    @property
    def forms(self) -> Any:
        return self._by_kind(DocumentKind.FORM)

    def _by_kind(self, kind: DocumentKind) -> object:
        # Metadata is built by compile_tenant or of(), which store every kind they compile.
        found = self.artifacts.get(kind)
        if found is None:
            raise AttributeError(f"this metadata was compiled without the {kind.value} kind")
        return found


def compile_tenant(
    documents: Iterable[Document], kinds: Iterable[KindCompiler[Any]] | None = None
) -> TenantMetadata:
    """Compile every document; raise one MetadataInvalid listing all problems of all kinds.

    ``kinds``: the document kinds to compile, in compile order (None: the installed
    distributions' declared kinds, :func:`rapport.metadata.document_kinds.registered_kinds`).
    """
    docs = tuple(documents)
    listed = registered_kinds() if kinds is None else tuple(kinds)
    known = {DocumentKind.ENTITY, *(k.kind for k in listed)}
    problems = [
        MetadataProblem(
            d.id,
            "",
            f"{d.kind.value} documents are not compiled by Rapport or any installed plug-in",
            "Remove the document, or install the plug-in that declares this document kind.",
        )
        for d in docs
        if d.kind not in known
    ]
    try:
        model = compile_model(docs)
    except MetadataInvalid as invalid:
        # Without a model only the shape of the other kinds can be checked.
        shapes = [p for k in listed for p in k.shapes(docs)]
        raise MetadataInvalid([*invalid.problems, *problems, *shapes]) from None
    artifacts: dict[DocumentKind, object] = {}
    for kind in listed:
        artifact, kind_problems = kind.compile(docs, model, MappingProxyType(dict(artifacts)))
        artifacts[kind.kind] = artifact
        problems.extend(kind_problems)
    if problems:
        raise MetadataInvalid(problems)
    return TenantMetadata(model=model, documents=docs, artifacts=MappingProxyType(artifacts))
