"""The audit log's part in a publish: one entry per version, in the publish transaction."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from rapport.audit.publishing import PUBLISH_EVIDENCE
from rapport.db.catalog import migrate
from rapport.db.database import Connection, Database
from rapport.db.tenants import get_tenant
from rapport.errors import PublishFailed
from rapport.metadata import lifecycle
from rapport.metadata.documents import read_folder
from rapport.metadata.publishing import (
    Publication,
    PublishParticipant,
    registered_publish_participants,
)
from rapport.metadata.tenants import create_tenant
from rapport.workflow.migration import STATE_MOVES

FIXTURES = Path(__file__).parent.parent / "fixtures" / "metadata"


@pytest.fixture(scope="module")
async def db(database: Database) -> AsyncIterator[Database]:
    await migrate(database)
    yield database


@pytest.fixture
async def slug(db: Database) -> str:
    name = f"pub_{secrets.token_hex(4)}"
    await create_tenant(db, name)
    return name


async def _publish_entries(db: Database, slug: str) -> list[dict[str, object]]:
    tenant = await get_tenant(db, slug)
    rows = await db.fetch(
        "SELECT actor, data FROM rapport.audit_entries WHERE tenant_id = $1::uuid "
        "AND action = 'metadata.publish' ORDER BY tenant_seq",
        tenant.id,
    )
    return [{"actor": r["actor"], **json.loads(r["data"])} for r in rows]


def test_the_kernel_declares_the_workflows_state_moves_and_the_audit_entry() -> None:
    # then: the workflows' moves in the plan, the audit entry in the transaction
    assert registered_publish_participants() == (PUBLISH_EVIDENCE, STATE_MOVES)


async def test_a_publish_leaves_its_entry_with_what_was_published(db: Database, slug: str) -> None:
    # when
    result = await lifecycle.publish(db, slug, read_folder(FIXTURES), actor="ada", note="courses")

    # then: creation published version 1, this call version 2; the entry names this version
    entries = await _publish_entries(db, slug)
    assert [e["version"] for e in entries] == [1, 2]
    latest = entries[-1]
    assert latest["actor"] == "ada" and latest["note"] == "courses"
    assert latest["kinds"] == ["entity"]
    assert latest["steps"] == [s.summary for s in result.plan.steps] and latest["steps"]
    stored = await db.fetchval(
        "SELECT documents::text FROM rapport.metadata_versions v JOIN rapport.tenants t "
        "ON t.id = v.tenant_id WHERE t.slug = $1 AND v.version = 2",
        slug,
    )
    assert latest["documents"] == hashlib.sha256(stored.encode()).hexdigest()
    schema = (await get_tenant(db, slug)).schema
    assert await db.fetchval("SELECT to_regclass($1)", f"{schema}.training_course") is not None


class _Refuses(PublishParticipant):
    async def published(self, conn: Connection, publication: Publication) -> None:
        raise PublishFailed(f"refused version {publication.version}", hint="Try again.")


async def test_a_participant_that_raises_rolls_the_whole_publish_back(
    db: Database, slug: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a participant after the audit log's that refuses
    participants = (*registered_publish_participants(), _Refuses())
    monkeypatch.setattr(lifecycle, "registered_publish_participants", lambda: participants)
    before = await get_tenant(db, slug)

    # when
    with pytest.raises(PublishFailed, match="refused version 2"):
        await lifecycle.publish(db, slug, read_folder(FIXTURES), actor="ada")

    # then: no version, no table, no audit entry
    after = await get_tenant(db, slug)
    assert after.metadata_version == before.metadata_version == 1
    assert [e["version"] for e in await _publish_entries(db, slug)] == [1]
    assert await db.fetchval("SELECT to_regclass($1)", f"{after.schema}.training_course") is None
