from __future__ import annotations

import hashlib
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from rapport_complaints import plugin as complaints_plugin
from rapport_complaints.files import LocalFileStore, attach_evidence
from rapport_org import plugin as org_plugin

from rapport.composition import KERNEL
from rapport.crypto.sealing import KeyRingSealers
from rapport.db.catalog import migrate
from rapport.db.database import Database
from rapport.errors import NotFound, ValidationFailed
from rapport.metadata.lifecycle import load_published
from rapport.metadata.tenants import create_tenant
from rapport.plugins import build_registry
from rapport.plugins.lifecycle import install
from rapport.plugins.subscriptions import assign_plan, put_plan
from rapport.principal import ADMIN_ROLE, Principal
from rapport.records.writer import RecordWriter

REGISTRY = build_registry([org_plugin, complaints_plugin])


@pytest.fixture(scope="module")
async def writer(database: Database) -> AsyncIterator[tuple[Database, RecordWriter]]:
    await migrate(database)
    slug = f"ev_{secrets.token_hex(4)}"
    await create_tenant(database, slug, actor="test")
    await put_plan(database, "erm", ["org", "complaints"])
    await assign_plan(database, slug, "erm", actor="test")
    await install(database, slug, "org", actor="test", registry=REGISTRY)
    await install(database, slug, "complaints", actor="test", registry=REGISTRY)
    tenant, metadata = await load_published(database, slug)
    yield (
        database,
        RecordWriter(tenant, metadata, participants=KERNEL.participants, sealers=KeyRingSealers()),
    )


async def test_evidence_is_stored_with_its_checksum(
    writer: tuple[Database, RecordWriter], tmp_path: Path
) -> None:
    # given a complaint
    db, w = writer
    admin = Principal(tenant=w.tenant.slug, subject="hr", roles=frozenset({ADMIN_ROLE}))
    store = LocalFileStore(tmp_path)
    async with db.transaction() as conn:
        complaint = await w.create(
            conn,
            w.metadata.model.entity("complaints/complaint"),
            {"category": "safety", "title": "Exit", "description": "Blocked."},
            principal=admin,
        )

    # when a file is attached
    data = b"%PDF-1.7 photo of the blocked exit"
    async with db.transaction() as conn:
        evidence = await attach_evidence(
            conn,
            w,
            store,
            complaint_id=complaint,
            file_name="exit.pdf",
            content_type="application/pdf",
            data=data,
            principal=admin,
        )

    # then the record holds the checksum and the store the bytes
    row = await db.fetchrow(
        f'SELECT sha256, size, storage_key FROM "{w.tenant.schema}".complaints_evidence '
        "WHERE id = $1::uuid",
        evidence,
    )
    assert row is not None
    assert row["sha256"] == hashlib.sha256(data).hexdigest()
    assert row["size"] == len(data)
    assert store.get(row["storage_key"]) == data


async def test_a_refused_record_leaves_no_file(
    writer: tuple[Database, RecordWriter], tmp_path: Path
) -> None:
    db, w = writer
    admin = Principal(tenant=w.tenant.slug, subject="hr", roles=frozenset({ADMIN_ROLE}))
    store = LocalFileStore(tmp_path)
    async with db.transaction() as conn:
        with pytest.raises(ValidationFailed):
            await attach_evidence(
                conn,
                w,
                store,
                complaint_id="not-a-uuid",
                file_name="x.txt",
                content_type="text/plain",
                data=b"x",
                principal=admin,
            )
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
    with pytest.raises(NotFound):
        store.get("../../etc/passwd")


async def test_the_plugin_hook_refuses_an_anonymous_complaint_with_a_submitter(
    writer: tuple[Database, RecordWriter],
) -> None:
    # given an employee
    db, w = writer
    admin = Principal(tenant=w.tenant.slug, subject="hr", roles=frozenset({ADMIN_ROLE}))
    async with db.transaction() as conn:
        employee = await w.create(
            conn, w.metadata.model.entity("org/employee"), {"name": "Li Lei"}, principal=admin
        )

    # when a write through the RecordWriter names them on an anonymous complaint
    async with db.transaction() as conn:
        with pytest.raises(ValidationFailed) as refused:
            await w.create(
                conn,
                w.metadata.model.entity("complaints/complaint"),
                {
                    "category": "pay",
                    "title": "x",
                    "description": "y",
                    "anonymous": True,
                    "submitterId": employee,
                },
                principal=admin,
            )

    # then ComplaintHooks.before_create (run by the plug-in participant) refused it
    assert refused.value.errors[0].path == ("input", "submitterId")
