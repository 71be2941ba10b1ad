"""metadataDocuments on /graphql/admin over real HTTP: kinds and owners, draft, refusals."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from rapport.auth.tokens import issue_token
from rapport.db.catalog import migrate
from rapport.db.database import Database
from rapport.demo import demo_documents
from rapport.metadata.lifecycle import publish
from rapport.metadata.tenants import create_tenant
from rapport.settings import Settings
from tests.live_server import LiveServer, server_settings

DOCUMENTS = (
    "query($v: Int, $d: Boolean! = false) { metadataDocuments(version: $v, draft: $d) "
    "{ id kind source body } }"
)
SAVE_DRAFT = "mutation($d: JSON!) { saveDraft(documents: $d) }"
FORM = {
    "$id": "training/course-quick",
    "entity": "training/course",
}


@pytest.fixture(scope="module")
def settings(database_url: str) -> Settings:
    return server_settings(database_url)


@pytest.fixture(scope="module")
async def tenant(database: Database) -> str:
    await migrate(database)
    await create_tenant(database, "docs", actor="test")
    await publish(database, "docs", demo_documents(), actor="test")
    return "docs"


@pytest.fixture(scope="module")
def server(settings: Settings, tenant: str) -> Iterator[LiveServer]:
    with LiveServer(settings) as live:
        yield live


def call(server: LiveServer, token: str, query: str, variables: Any = None) -> dict[str, Any]:
    response = httpx.post(
        server.url + "/graphql/admin",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    body: dict[str, Any] = response.json()
    return body


def test_current_documents_carry_kind_and_owner(
    server: LiveServer, settings: Settings, tenant: str
) -> None:
    # given
    admin = issue_token(settings, tenant=tenant, subject="alice", roles=["admin"])
    # when
    documents = call(server, admin, DOCUMENTS)["data"]["metadataDocuments"]
    # then
    by_id = {d["id"]: d for d in documents}
    assert by_id["training/course"]["source"] == "tenant"
    assert by_id["training/course"]["kind"] == "ENTITY"
    assert by_id["training/course"]["body"]["$id"] == "training/course"
    assert any(d["source"] == "kernel" for d in documents)
    # an earlier version that does not exist is NOT_FOUND, not an empty answer
    missing = call(server, admin, DOCUMENTS, {"v": 99})
    assert missing["errors"][0]["extensions"]["code"] == "NOT_FOUND"


def test_the_draft_round_trips_with_its_kinds(
    server: LiveServer, settings: Settings, tenant: str
) -> None:
    # given
    admin = issue_token(settings, tenant=tenant, subject="alice", roles=["admin"])
    assert call(server, admin, DOCUMENTS, {"d": True})["data"]["metadataDocuments"] == []
    current = call(server, admin, DOCUMENTS)["data"]["metadataDocuments"]
    own = [
        {"kind": d["kind"].lower(), "body": d["body"]} for d in current if d["source"] == "tenant"
    ]
    # when: the editor sends back what it read, plus a form document
    saved = call(server, admin, SAVE_DRAFT, {"d": [*own, {"kind": "form", "body": FORM}]})
    assert "errors" not in saved, saved
    draft = call(server, admin, DOCUMENTS, {"d": True})["data"]["metadataDocuments"]
    # then
    kinds = {d["id"]: (d["kind"], d["source"]) for d in draft}
    assert kinds["training/course-quick"] == ("FORM", "tenant")
    assert kinds["training/course"] == ("ENTITY", "tenant")
    assert any(source == "kernel" for _kind, source in kinds.values())


def test_a_role_without_metadata_rights_is_refused(
    server: LiveServer, settings: Settings, tenant: str
) -> None:
    auditor = issue_token(settings, tenant=tenant, subject="aud", roles=["audit_admin"])
    refused = call(server, auditor, DOCUMENTS)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert refused.get("data") is None
