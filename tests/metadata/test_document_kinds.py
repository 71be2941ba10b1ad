"""Document kinds as capabilities register them: compiled in order, read back typed, misfits
refused when the kernel is composed."""

from __future__ import annotations

from collections.abc import Sequence
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from rapport.auth.permissions.capability import CHECKED_PERMISSIONS_KIND
from rapport.auth.permissions.compiled import Permissions
from rapport.auth.permissions.kind import PERMISSIONS_KIND, permissions_of
from rapport.errors import MetadataInvalid, MetadataProblem
from rapport.forms.formset import FormSet
from rapport.forms.kind import FORMS_KIND, forms_of
from rapport.metadata.bundle import TenantMetadata, compile_tenant
from rapport.metadata.document_kinds import (
    KINDS_GROUP,
    Compiled,
    KindCompiler,
    kinds_from,
    order_kinds,
    registered_kinds,
)
from rapport.metadata.documents import Document, DocumentKind, documents_from_json, read_folder
from rapport.metadata.ir import Model
from rapport.workflow.document import WorkflowSet
from rapport.workflow.kind import WORKFLOWS_KIND, workflows_of
from tests.metadata.partner_kind import checklists_of

FIXTURES = Path(__file__).parent.parent / "fixtures" / "metadata"
ENTITIES = read_folder(FIXTURES)


def _ids(kind: DocumentKind) -> KindCompiler[tuple[str, ...]]:
    """A kind whose artifact is the ids of its documents; refuses an id ending in ``-bad``."""

    def compile_(
        documents: Sequence[Document], model: Model, compiled: Compiled
    ) -> tuple[tuple[str, ...], Sequence[MetadataProblem]]:
        mine = tuple(d.id for d in documents if d.kind == kind)
        bad = [MetadataProblem(i, "", "a bad id", "Rename it.") for i in mine if i.endswith("-bad")]
        return mine, bad

    return KindCompiler(kind=kind, meta_schema="x.schema.json", compile=compile_, empty=tuple)


def _docs(kind: str, *ids: str) -> tuple[Document, ...]:
    return documents_from_json([{"kind": kind, "body": {"$id": i}} for i in ids])


def test_a_registered_kind_compiles_its_documents_and_is_read_back_typed() -> None:
    # given a kind for workflow documents that keeps their ids
    kind = _ids(DocumentKind.WORKFLOW)

    # when the tenant compiles with it
    metadata = compile_tenant(ENTITIES + _docs("workflow", "a/one", "a/two"), kinds=(kind,))

    # then its artifact is there, under its kind
    assert metadata.compiled(kind) == ("a/one", "a/two")


def test_documents_of_a_kind_nothing_declares_are_refused() -> None:
    # given a form, and no form kind
    forms = _docs("form", "training/course")

    # when / then
    with pytest.raises(MetadataInvalid) as caught:
        compile_tenant(ENTITIES + forms, kinds=(_ids(DocumentKind.WORKFLOW),))
    assert [p.message for p in caught.value.problems] == [
        "form documents are not compiled by Rapport or any installed plug-in"
    ]


def test_every_kinds_problems_are_reported_together() -> None:
    # given two kinds, each with a bad document
    kinds = (_ids(DocumentKind.WORKFLOW), _ids(DocumentKind.FORM))
    docs = ENTITIES + _docs("workflow", "a/w-bad") + _docs("form", "a/f-bad")

    # when / then
    with pytest.raises(MetadataInvalid) as caught:
        compile_tenant(docs, kinds=kinds)
    assert [p.document for p in caught.value.problems] == ["a/w-bad", "a/f-bad"]


def test_a_kind_that_requires_another_compiles_after_it_and_sees_its_artifact() -> None:
    # given a form kind that reads the workflow kind's artifact, listed first
    workflows = _ids(DocumentKind.WORKFLOW)
    seen: list[tuple[str, ...]] = []

    def compile_forms(
        documents: Sequence[Document], model: Model, compiled: Compiled
    ) -> tuple[int, Sequence[MetadataProblem]]:
        seen.append(workflows.artifact(compiled))
        return 0, ()

    forms = KindCompiler(
        kind=DocumentKind.FORM,
        meta_schema="x.schema.json",
        compile=compile_forms,
        empty=int,
        requires=(DocumentKind.WORKFLOW,),
    )

    # when
    ordered = order_kinds((forms, workflows))
    compile_tenant(ENTITIES + _docs("workflow", "a/flow"), kinds=ordered)

    # then
    assert [k.kind for k in ordered] == [DocumentKind.WORKFLOW, DocumentKind.FORM]
    assert seen == [("a/flow",)]


@pytest.mark.parametrize(
    ("kinds", "message"),
    [
        (
            (_ids(DocumentKind.FORM), _ids(DocumentKind.FORM)),
            "the document kind 'form' is registered twice",
        ),
        ((_ids(DocumentKind.ENTITY),), "entity documents are the metadata layer's own"),
        (
            (
                KindCompiler(
                    kind=DocumentKind.PERMISSION,
                    meta_schema="x.schema.json",
                    compile=_ids(DocumentKind.PERMISSION).compile,
                    empty=tuple,
                    requires=(DocumentKind.WORKFLOW,),
                ),
            ),
            "'permission' requires 'workflow', which nothing registers",
        ),
    ],
)
def test_kinds_that_do_not_fit_are_refused(
    kinds: tuple[KindCompiler[object], ...], message: str
) -> None:
    with pytest.raises(RuntimeError, match=message):
        order_kinds(kinds)


def test_kinds_that_require_each_other_are_refused() -> None:
    # given
    base = _ids(DocumentKind.FORM)
    a = KindCompiler(
        kind=DocumentKind.FORM,
        meta_schema="x.schema.json",
        compile=base.compile,
        empty=tuple,
        requires=(DocumentKind.WORKFLOW,),
    )
    b = KindCompiler(
        kind=DocumentKind.WORKFLOW,
        meta_schema="x.schema.json",
        compile=base.compile,
        empty=tuple,
        requires=(DocumentKind.FORM,),
    )

    # when / then
    with pytest.raises(RuntimeError, match="'form', 'workflow' require each other"):
        order_kinds((a, b))


def test_the_kernel_declares_its_kinds_workflows_before_permissions() -> None:
    # then: permission rules check transition names against the compiled workflows
    kinds = registered_kinds()
    assert [k.kind for k in kinds] == [
        DocumentKind.FORM,
        DocumentKind.WORKFLOW,
        DocumentKind.PERMISSION,
    ]
    assert [k.meta_schema for k in kinds] == [
        "form.schema.json",
        "workflow.schema.json",
        "permission.schema.json",
    ]
    assert kinds[2] is CHECKED_PERMISSIONS_KIND


TICKET = [
    {
        "$id": "hr/ticket",
        "type": "object",
        "properties": {"status": {"enum": ["open", "done"]}},
        "x-workflow": "hr/ticket-flow",
    },
    {
        "kind": "workflow",
        "body": {
            "$id": "hr/ticket-flow",
            "entity": "hr/ticket",
            "field": "status",
            "initial": "open",
            "states": {"open": {}, "done": {"final": True}},
            "transitions": [{"name": "close", "from": ["open"], "to": "done"}],
        },
    },
    {
        "kind": "permission",
        "body": {
            "$id": "p/ticket",
            "role": "agent",
            "entity": "hr/ticket",
            "actions": ["read", "transition:reopen"],
        },
    },
]


def test_the_declared_permission_kind_checks_transitions_against_the_workflows() -> None:
    # given a rule naming a transition the ticket's workflow does not have
    docs = ENTITIES + documents_from_json(TICKET)

    # when the permission kind is not handed the transitions, it cannot check them
    unwired = compile_tenant(docs, kinds=(WORKFLOWS_KIND, PERMISSIONS_KIND, FORMS_KIND))

    # then; the kernel's declared kind refuses the rule
    assert [r.entity for r in permissions_of(unwired).rules] == ["hr/ticket"]
    with pytest.raises(MetadataInvalid) as caught:
        compile_tenant(docs)
    assert [(p.document, p.pointer) for p in caught.value.problems] == [("p/ticket", "/actions/1")]


def test_metadata_of_a_bare_model_has_every_kind_empty() -> None:
    # when
    metadata = TenantMetadata.of(compile_tenant(ENTITIES).model)

    # then the typed accessors and the old attribute names agree
    assert isinstance(forms_of(metadata), FormSet) and len(forms_of(metadata)) == 0
    assert workflows_of(metadata) == WorkflowSet()
    assert isinstance(permissions_of(metadata), Permissions)
    assert metadata.workflows is workflows_of(metadata)
    assert metadata.forms is metadata.compiled(FORMS_KIND)
    assert metadata.permissions is permissions_of(metadata)


def test_the_compiled_artifacts_are_what_the_accessors_return() -> None:
    # when
    metadata = compile_tenant(ENTITIES)

    # then every entity has its default form, and the old names read the same objects
    assert forms_of(metadata).get("training/course") is not None
    assert metadata.forms is forms_of(metadata)
    assert metadata.compiled(WORKFLOWS_KIND) is metadata.workflows


def _entry(name: str, value: str) -> EntryPoint:
    return EntryPoint(name=name, value=value, group=KINDS_GROUP)


KERNEL_KINDS = (
    _entry("form", "rapport.forms.kind:FORMS_KIND"),
    _entry("workflow", "rapport.workflow.kind:WORKFLOWS_KIND"),
    _entry("permission", "rapport.auth.permissions.capability:CHECKED_PERMISSIONS_KIND"),
)
PARTNER = _entry("checklist", "tests.metadata.partner_kind:CHECKLIST_KIND")


def test_a_partner_declares_a_kind_the_way_the_kernel_does(tmp_path: Path) -> None:
    # given a partner's kind declared beside the kernel's, and a folder with one of its documents
    kinds = kinds_from((*KERNEL_KINDS, PARTNER))
    folder = tmp_path / "hr"
    folder.mkdir()
    (folder / "onboarding.checklist.json").write_text(
        '{"$id": "hr/onboarding", "items": ["laptop", "badge"]}', encoding="utf-8"
    )

    # when the tenant's documents are read and compiled with those kinds
    docs = ENTITIES + read_folder(tmp_path)
    metadata = compile_tenant(docs, kinds=kinds)

    # then the file name said the kind, and the partner reads its artifact typed
    assert [k.kind.value for k in kinds] == ["checklist", "form", "workflow", "permission"]
    assert checklists_of(metadata) == {"hr/onboarding": ("laptop", "badge")}


def test_a_partner_kinds_document_is_refused_without_the_partners_package(tmp_path: Path) -> None:
    # given the partner's document, and only the kernel's kinds installed
    (tmp_path / "onboarding.checklist.json").write_text('{"$id": "hr/onboarding"}', "utf-8")

    # when / then
    with pytest.raises(MetadataInvalid) as caught:
        compile_tenant(ENTITIES + read_folder(tmp_path), kinds=kinds_from(KERNEL_KINDS))
    (problem,) = caught.value.problems
    assert problem.message == (
        "checklist documents are not compiled by Rapport or any installed plug-in"
    )
    assert "install the plug-in that declares this document kind" in problem.hint


def test_a_partner_kinds_problems_are_reported_with_everyone_elses() -> None:
    # given a checklist without items
    docs = ENTITIES + _docs("checklist", "hr/empty")

    # when / then
    with pytest.raises(MetadataInvalid) as caught:
        compile_tenant(docs, kinds=kinds_from((*KERNEL_KINDS, PARTNER)))
    assert [(p.document, p.pointer) for p in caught.value.problems] == [("hr/empty", "/items")]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            _entry("list", "tests.metadata.partner_kind:CHECKLIST_KIND"),
            "'list' declares the kind 'checklist'; name the entry point after its kind",
        ),
        (
            _entry("checklist", "tests.metadata.partner_kind:NOT_A_KIND"),
            "is a str, not a KindCompiler",
        ),
        (
            _entry("checklist", "tests.metadata.no_such_module:KIND"),
            "does not load: ModuleNotFoundError",
        ),
    ],
)
def test_a_declaration_that_does_not_fit_stops_the_process(entry: EntryPoint, message: str) -> None:
    with pytest.raises(RuntimeError, match="do not fit") as caught:
        kinds_from((*KERNEL_KINDS, entry))
    assert message in str(caught.value)


def test_a_kind_declared_twice_is_refused() -> None:
    with pytest.raises(RuntimeError, match="'form' is registered twice"):
        kinds_from((*KERNEL_KINDS, _entry("form", "rapport.forms.kind:FORMS_KIND")))


@pytest.mark.parametrize("name", ["Form", "2fa", "a_b", "", "x.y"])
def test_a_kind_name_is_lowercase_letters_digits_and_dashes(name: str) -> None:
    with pytest.raises(ValueError, match="is not a document kind name"):
        DocumentKind(name)


def test_a_file_name_that_does_not_say_a_kind_is_reported(tmp_path: Path) -> None:
    (tmp_path / "course.V2.json").write_text('{"$id": "training/course"}', encoding="utf-8")
    with pytest.raises(MetadataInvalid) as caught:
        read_folder(tmp_path)
    (problem,) = caught.value.problems
    assert problem.document == "course.V2.json"
    assert "does not say a document kind" in problem.message
