"""Plug-in downloads (rapport.plugins.handout): a file handed out leaves an audit entry with
its SHA-256 in the same transaction; a refusal or an unknown download leaves none. The HTTP
route is exercised end to end by the contracts plug-in's acceptance test."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets

import pytest

from rapport.db.catalog import migrate
from rapport.db.database import Database
from rapport.errors import Forbidden, NotFound
from rapport.metadata.lifecycle import load_published
from rapport.metadata.tenants import create_tenant
from rapport.plugins.downloads import Download, DownloadRequest
from rapport.plugins.handout import find_download, run_download
from rapport.principal import ClientFacts, Principal

NOW = dt.datetime(2026, 12, 3, 12, tzinfo=dt.UTC)


async def _handed(request: DownloadRequest) -> Download:
    if request.record_id == "secret":
        raise Forbidden("Not yours.")
    body = f"report {request.record_id} for {request.principal.subject}".encode()
    return Download("report ä 1.txt", "text/plain", body, "acme/report", request.record_id)


async def test_a_download_is_audited_and_a_refusal_is_not(database: Database) -> None:
    await migrate(database)
    slug = f"dl_{secrets.token_hex(3)}"
    await create_tenant(database, slug, actor="test")
    tenant, metadata = await load_published(database, slug)
    who = Principal(
        tenant=slug, subject="u-1", roles=frozenset({"hr"}),
        client=ClientFacts(address="10.0.0.7", user_agent="test"),
    )  # fmt: skip
    common = {"plugin": "acme", "name": "report", "tenant": tenant, "metadata": metadata,
              "principal": who, "now": NOW}  # fmt: skip

    file = await run_download(database, _handed, record_id="r-1", **common)
    assert file.content == b"report r-1 for u-1" and file.safe_filename == "report_1.txt"
    entries = await database.fetch(
        "SELECT actor, action, entity, record_id, data FROM rapport.audit_entries "
        "WHERE tenant_id = $1::uuid AND action = 'download'",
        tenant.id,
    )
    assert [(e["actor"], e["entity"], e["record_id"]) for e in entries] == [
        ("u-1", "acme/report", "r-1")
    ]
    assert json.loads(entries[0]["data"]) == {
        "plugin": "acme", "download": "report", "filename": "report ä 1.txt",
        "bytes": len(file.content), "sha256": hashlib.sha256(file.content).hexdigest(),
        "clientAddress": "10.0.0.7",
    }  # fmt: skip

    with pytest.raises(Forbidden):
        await run_download(database, _handed, record_id="secret", **common)
    with pytest.raises(NotFound, match="offers no download 'report'"):
        await run_download(database, None, record_id="r-2", **common)
    assert (
        await database.fetchval(
            "SELECT count(*) FROM rapport.audit_entries WHERE tenant_id = $1::uuid AND action = 'download'",
            tenant.id,
        )
        == 1
    )
    # a plug-in that is not installed in the tenant offers nothing there
    assert find_download(metadata, "contracts", "evidence") is None
